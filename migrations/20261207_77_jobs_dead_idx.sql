-- The metrics' job backlog (adapters/postgres/videos.py _BACKLOG) reads the queued,
-- running and dead jobs of every kind through partial indexes; dead ones had none.
CREATE INDEX jobs_dead_idx ON jobs (kind) WHERE status = 'dead';
