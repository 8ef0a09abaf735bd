DROP TABLE removed_contents;
DROP INDEX videos_author_content_key;
ALTER TABLE videos DROP COLUMN content_hash;
