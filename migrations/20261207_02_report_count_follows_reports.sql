-- A case's report_count is how many reports it holds: when a reporter's account goes (and
-- with it, by ON DELETE CASCADE, their report), the case's count goes down with it, so the
-- queue's order and "N reports" agree with the reports a moderator can read. The reasons
-- stay as they were said.
-- depends: 20261127_06_moderation

CREATE FUNCTION reports_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE cases SET report_count = report_count - 1 WHERE id = OLD.case_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER reports_count
    AFTER DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION reports_count();

UPDATE cases c SET report_count = (SELECT count(*) FROM reports r WHERE r.case_id = c.id)
WHERE report_count <> (SELECT count(*) FROM reports r WHERE r.case_id = c.id);
