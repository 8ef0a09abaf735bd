-- Undo 20261127_06_moderation: drop its tables (dependents first; their indexes and
-- triggers go with them), the trigger function, the hidden flag on comments, and give
-- users_email_key and videos_status_check back their earlier form.
--
-- Lossy by nature: the moderation history goes, hidden comments show again, and held
-- or removed videos become 'rejected' (still hidden from everyone, but no longer
-- restorable by an appeal) so that the earlier status check holds.

DROP TABLE IF EXISTS app_settings;
DROP TABLE IF EXISTS audit_log;
DROP FUNCTION IF EXISTS audit_log_refuse();
DROP TABLE IF EXISTS strikes;
DROP TABLE IF EXISTS appeals;
DROP TABLE IF EXISTS reports;
DROP TABLE IF EXISTS cases;

DROP INDEX users_email_key;
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

ALTER TABLE comments DROP COLUMN IF EXISTS hidden;

ALTER TABLE videos DROP CONSTRAINT videos_status_check;
UPDATE videos SET status = 'rejected',
                  status_reason = coalesce(status_reason, 'removed by moderation')
WHERE status IN ('held', 'removed');
ALTER TABLE videos ADD CONSTRAINT videos_status_check
    CHECK (status IN ('uploading', 'processing', 'ready', 'rejected', 'failed'));
