DROP INDEX videos_hls_key_idx;
ALTER TABLE videos DROP COLUMN hls_key;
