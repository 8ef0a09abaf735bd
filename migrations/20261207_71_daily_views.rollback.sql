DROP TRIGGER video_daily_views_count ON video_daily_views;
DROP FUNCTION video_daily_views_count();
DROP TABLE video_daily_views;
ALTER TABLE videos DROP COLUMN watched_ms;
ALTER TABLE videos DROP COLUMN completed_views;
ALTER TABLE videos DROP COLUMN view_count;
