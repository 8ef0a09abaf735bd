-- Workers wake on NOTIFY (issue 18 item 5): a job queued (a new one, or one handed back
-- by a stopping worker) and due now tells every instance on channel momentic_jobs, with
-- its kind as the payload, when its transaction commits. adapters/postgres/live.py
-- PostgresJobSignal listens; workers still look every few seconds for jobs that become
-- due later (retries, scheduled runs).
CREATE FUNCTION momentic_jobs_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('momentic_jobs', kind)
    FROM (SELECT DISTINCT kind FROM changed WHERE status = 'queued' AND run_at <= now()) AS k;
    RETURN NULL;
END
$$;

CREATE TRIGGER jobs_notify_insert AFTER INSERT ON jobs
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION momentic_jobs_notify();

CREATE TRIGGER jobs_notify_update AFTER UPDATE ON jobs
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION momentic_jobs_notify();
