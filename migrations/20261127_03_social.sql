-- Friends and feeds: friendships (one row per direction), friend requests, blocks,
-- For-You impressions (video_views) and For-You ranking snapshots.
--
-- Constraint names are part of the contract: adapters/postgres/db.py turns foreign-key
-- violations into NotFound codes by these names.
--
-- Reactions and comments are not here yet (their issue adds them); the feed queries in
-- adapters/postgres/social.py read zeros for them in one marked place each.
-- depends: 20261127_02_videos

-- A friendship is stored in both directions, so "my friends" is a range on the primary
-- key and "is b my friend" one key lookup, whichever side asked.
CREATE TABLE friendships (
    user_id    bigint NOT NULL
               CONSTRAINT friendships_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    friend_id  bigint NOT NULL
               CONSTRAINT friendships_friend_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    CONSTRAINT friendships_pkey PRIMARY KEY (user_id, friend_id),
    CONSTRAINT friendships_not_self CHECK (user_id <> friend_id)
);

-- Serves the cascade from users through friend_id.
CREATE INDEX friendships_friend_id_idx ON friendships (friend_id);

CREATE TABLE friend_requests (
    from_id    bigint NOT NULL
               CONSTRAINT friend_requests_from_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    to_id      bigint NOT NULL
               CONSTRAINT friend_requests_to_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    CONSTRAINT friend_requests_pkey PRIMARY KEY (from_id, to_id),
    CONSTRAINT friend_requests_not_self CHECK (from_id <> to_id)
);

-- My incoming requests, newest first; also serves the cascade through to_id.
CREATE INDEX friend_requests_to_id_idx ON friend_requests (to_id, created_at);

CREATE TABLE blocks (
    blocker_id bigint NOT NULL
               CONSTRAINT blocks_blocker_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    blocked_id bigint NOT NULL
               CONSTRAINT blocks_blocked_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    CONSTRAINT blocks_pkey PRIMARY KEY (blocker_id, blocked_id),
    CONSTRAINT blocks_not_self CHECK (blocker_id <> blocked_id)
);

-- "Did they block me": the other half of every blocked-either-way check; and the cascade.
CREATE INDEX blocks_blocked_id_idx ON blocks (blocked_id);

-- One impression per user and video: For-You skips what I have seen.
CREATE TABLE video_views (
    user_id   bigint NOT NULL
              CONSTRAINT video_views_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    video_id  bigint NOT NULL
              CONSTRAINT video_views_video_id_fkey REFERENCES videos (id) ON DELETE CASCADE,
    viewed_at timestamptz NOT NULL,
    CONSTRAINT video_views_pkey PRIMARY KEY (user_id, video_id)
);

-- Serves the cascade from videos.
CREATE INDEX video_views_video_id_idx ON video_views (video_id);

-- A For-You ranking kept for paging: video_ids in rank order (rank = 1-based position).
CREATE TABLE feed_snapshots (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id    bigint NOT NULL
               CONSTRAINT feed_snapshots_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    video_ids  bigint[] NOT NULL
);

CREATE INDEX feed_snapshots_user_id_idx ON feed_snapshots (user_id);
-- The janitor drops snapshots older than their time to live.
CREATE INDEX feed_snapshots_created_at_idx ON feed_snapshots (created_at);
