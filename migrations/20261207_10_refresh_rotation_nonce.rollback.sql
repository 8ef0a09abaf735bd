-- Undo 20261207_10_refresh_rotation_nonce: spent tokens forget their rotation's nonce.

ALTER TABLE refresh_tokens DROP COLUMN rotation_nonce;
