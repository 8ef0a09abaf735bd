DROP INDEX IF EXISTS jobs_dead_idx;
