-- Undo 20261127_04_engagement: drop its tables (dependents first; their indexes and
-- triggers go with them), the trigger functions and the counters on videos.

DROP TABLE IF EXISTS notifications;
DROP TABLE IF EXISTS comment_likes;
DROP TABLE IF EXISTS comments;
DROP TABLE IF EXISTS reactions;
DROP FUNCTION IF EXISTS comment_likes_count();
DROP FUNCTION IF EXISTS comments_count();
DROP FUNCTION IF EXISTS reactions_count();
ALTER TABLE videos
    DROP COLUMN IF EXISTS heart_count,
    DROP COLUMN IF EXISTS flame_count,
    DROP COLUMN IF EXISTS funny_count,
    DROP COLUMN IF EXISTS angry_count,
    DROP COLUMN IF EXISTS comment_count;
