-- Renditions and HLS (issue 20 item 1): a ready video names the master playlist of its
-- HLS presentation; every file of the presentation (media playlists, initialization
-- segments, segments) is in that playlist's folder, so the janitor keeps a file under
-- <folder>/hls/ while a video names <folder>/hls/master.m3u8. Videos processed before
-- have none (hls_url null) and keep their MP4.
-- depends: 20261127_02_videos

ALTER TABLE videos ADD COLUMN hls_key text;
CREATE INDEX videos_hls_key_idx ON videos (hls_key) WHERE hls_key IS NOT NULL;
