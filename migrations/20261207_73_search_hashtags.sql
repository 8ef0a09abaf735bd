-- Search and hashtags (issue 20 item 5).
--
-- videos.search_words: the search words of the description (policies.search.search_words,
-- computed in Python so that the memory adapter matches alike), as a tsvector of those
-- lexemes verbatim (array_to_tsvector); a query is a tsquery of its words as prefixes.
-- NULL: not indexed yet (a video from before this migration, until the search.reindex
-- job reaches it). videos_search_words_idx (GIN) finds the matches.
--
-- video_hashtags: the hashtags of each video's description (policies.search.hashtags),
-- written with the description in the same unit of work (PostgresVideoRepository.add
-- and .update); created_at is the video's, so a tag's page is a range of
-- video_hashtags_tag_idx and the trending count a range of video_hashtags_created_idx.
-- A deleted video takes its rows with it.
--
-- users_nickname_trgm_idx: pg_trgm trigrams of the nickname, for the fuzzy (similarity)
-- and prefix matches of GET /v1/search?type=users.
-- depends: 20261207_70_for_you_candidates

CREATE EXTENSION IF NOT EXISTS pg_trgm;

ALTER TABLE videos ADD COLUMN search_words tsvector;
CREATE INDEX videos_search_words_idx ON videos USING gin (search_words);

CREATE TABLE video_hashtags (
    video_id   bigint NOT NULL REFERENCES videos (id) ON DELETE CASCADE,
    tag        text NOT NULL CHECK (tag <> ''),
    created_at timestamptz NOT NULL,
    PRIMARY KEY (video_id, tag)
);
CREATE INDEX video_hashtags_tag_idx ON video_hashtags (tag, created_at DESC, video_id DESC);
CREATE INDEX video_hashtags_created_idx ON video_hashtags (created_at);

CREATE INDEX users_nickname_trgm_idx ON users USING gin (lower(nickname) gin_trgm_ops);
