-- Duplicates by content (issue 20 item 3): a video keeps the SHA-256 of the file as it
-- was uploaded (hex; NULL for videos uploaded before, whose bytes were never hashed).
-- One author has at most one video of given bytes among those that hold them
-- (momentic_core.model.videos.CONTENT_STATUSES: processing, ready, held, removed): the
-- upload routes answer the same file again with that video, and of two concurrent
-- uploads the unique index lets one win (videos_author_content_key -> Conflict
-- "duplicate_content", adapters/postgres/db.py). Rejected and failed videos hold
-- nothing, so their bytes may be tried again.
--
-- removed_contents: bytes of a video a moderator removed and its author then deleted;
-- they stay refused to that author ("content_removed"), as they are while the removed
-- video exists. Gone with the account.
-- depends: 20261207_75_hls

ALTER TABLE videos ADD COLUMN content_hash text
    CONSTRAINT videos_content_hash_check CHECK (content_hash ~ '^[0-9a-f]{64}$');

CREATE UNIQUE INDEX videos_author_content_key ON videos (author_id, content_hash)
    WHERE content_hash IS NOT NULL AND status IN ('processing', 'ready', 'held', 'removed');

CREATE TABLE removed_contents (
    author_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content_hash text NOT NULL CHECK (content_hash ~ '^[0-9a-f]{64}$'),
    removed_at   timestamptz NOT NULL,
    PRIMARY KEY (author_id, content_hash)
);
