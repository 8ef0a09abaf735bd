-- Undo 20261127_02_videos: drop its tables (dependents first) and the users index.

DROP TABLE IF EXISTS jobs;
DROP TABLE IF EXISTS uploads;
DROP TABLE IF EXISTS videos;
DROP INDEX IF EXISTS users_avatar_key_idx;
