-- Undo 20261127_05_ranking.
DROP TABLE user_activity;
DROP TABLE rating_points;
DROP TABLE ranking_weights;
ALTER TABLE videos DROP COLUMN on_time, DROP COLUMN moment_at;
DROP INDEX users_created_at_idx;
DROP INDEX users_time_zone_idx;
DROP INDEX users_streak_idx;
DROP INDEX users_board_idx;
ALTER TABLE users DROP COLUMN last_post_day;
