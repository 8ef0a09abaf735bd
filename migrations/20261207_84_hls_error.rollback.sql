ALTER TABLE videos DROP COLUMN hls_error;
