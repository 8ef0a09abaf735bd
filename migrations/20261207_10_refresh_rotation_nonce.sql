-- A refresh token keeps the nonce its rotation used (issue 15, finding 5). The successor
-- is HMAC-SHA256(key = the spent token, message = this nonce): a retry of the same token
-- within the grace (a double submit, an answer lost on a flaky network) derives the same
-- successor again instead of revoking the session, and only the holder of the spent token
-- can derive it (the table keeps token hashes only). NULL for a token not yet spent, or
-- spent before this column existed (no grace for those).
-- depends: 20261207_03_hidden_comments_uncounted

ALTER TABLE refresh_tokens ADD COLUMN rotation_nonce text;
