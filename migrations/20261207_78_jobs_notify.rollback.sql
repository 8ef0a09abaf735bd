DROP TRIGGER IF EXISTS jobs_notify_update ON jobs;
DROP TRIGGER IF EXISTS jobs_notify_insert ON jobs;
DROP FUNCTION IF EXISTS momentic_jobs_notify();
