-- For-You ranked ahead of the request (issue 19 item 4): the viewer-independent part of
-- the For-You score (freshness and engagement, policies.ranking.for_you_base) of the
-- newest public videos, as of the last refresh (a periodic job rewrites the table in one
-- transaction). A request reads it in rank order through for_you_candidates_rank_idx,
-- filters what the viewer may not see or has seen and adds the friend signal.
-- depends: 20261207_51_push_claims

CREATE TABLE for_you_candidates (
    video_id bigint PRIMARY KEY REFERENCES videos (id) ON DELETE CASCADE,
    base     float8 NOT NULL
);

CREATE INDEX for_you_candidates_rank_idx ON for_you_candidates (base DESC, video_id DESC);

-- One row: when the table was last refreshed (the time its scores are measured at).
CREATE TABLE for_you_refresh (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    refreshed_at timestamptz NOT NULL
);
