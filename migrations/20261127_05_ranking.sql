-- Ratings, streaks, the daily moment and statistics.
--
-- users.rating, current_streak, max_streak and max_reactions (from 01) are written only
-- by adapters/postgres/ranking.py: by deltas in the transaction of the event that earns
-- them, or rebuilt from the rows by a recompute. rating_points holds the same points by
-- UTC day, for the leaderboards of a day, week or month.
-- depends: 20261127_04_engagement

-- The last local day counted in the user's streak.
ALTER TABLE users ADD COLUMN last_post_day date;

-- The all-time leaderboard: most points first, ties by smaller id, as one ascending
-- key, so a keyset page is a range scan.
CREATE INDEX users_board_idx ON users ((-rating), id);
-- The daily job that stores broken streaks looks at users with a streak only.
CREATE INDEX users_streak_idx ON users (id) WHERE current_streak > 0;
-- The moment is announced per time zone.
CREATE INDEX users_time_zone_idx ON users (time_zone, id);
-- New users per day (admin statistics).
CREATE INDEX users_created_at_idx ON users (created_at);

-- The daily moment a post answers, and whether it came within the window.
ALTER TABLE videos
    ADD COLUMN moment_at timestamptz,
    ADD COLUMN on_time   boolean NOT NULL DEFAULT false;

-- The weights of the rating formula (momentic_core.policies.rating): one row. Its
-- values here are momentic_core.model.ranking.RankingWeights' defaults (a test checks).
CREATE TABLE ranking_weights (
    id         integer PRIMARY KEY CONSTRAINT ranking_weights_one_row CHECK (id = 1),
    heart      integer NOT NULL CHECK (heart BETWEEN 0 AND 1000),
    flame      integer NOT NULL CHECK (flame BETWEEN 0 AND 1000),
    funny      integer NOT NULL CHECK (funny BETWEEN 0 AND 1000),
    angry      integer NOT NULL CHECK (angry BETWEEN 0 AND 1000),
    comment    integer NOT NULL CHECK (comment BETWEEN 0 AND 1000),
    on_time    integer NOT NULL CHECK (on_time BETWEEN 0 AND 1000),
    streak_day integer NOT NULL CHECK (streak_day BETWEEN 0 AND 1000)
);
INSERT INTO ranking_weights VALUES (1, 2, 3, 2, 0, 3, 10, 5);

-- Points earned per user and UTC day (the rating without the streak term).
CREATE TABLE rating_points (
    user_id bigint NOT NULL
            CONSTRAINT rating_points_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    day     date NOT NULL,
    points  integer NOT NULL,
    CONSTRAINT rating_points_pkey PRIMARY KEY (user_id, day)
);
-- A period's board sums the days since its start.
CREATE INDEX rating_points_day_idx ON rating_points (day, user_id) INCLUDE (points);

-- Who was active on which UTC day (daily, weekly and monthly active users).
CREATE TABLE user_activity (
    day     date NOT NULL,
    user_id bigint NOT NULL
            CONSTRAINT user_activity_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT user_activity_pkey PRIMARY KEY (day, user_id)
);
CREATE INDEX user_activity_user_id_idx ON user_activity (user_id);
