-- Undo 20261127_03_social: drop its tables (their indexes go with them).

DROP TABLE IF EXISTS feed_snapshots;
DROP TABLE IF EXISTS video_views;
DROP TABLE IF EXISTS blocks;
DROP TABLE IF EXISTS friend_requests;
DROP TABLE IF EXISTS friendships;
