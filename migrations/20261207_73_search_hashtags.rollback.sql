-- The extension stays: other databases' objects of the cluster's users may use it, and
-- CREATE EXTENSION IF NOT EXISTS takes it as it is when the migration runs again.
DROP INDEX users_nickname_trgm_idx;
DROP TABLE video_hashtags;
ALTER TABLE videos DROP COLUMN search_words;
