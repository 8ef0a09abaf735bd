-- Engagement: reactions, comments (with one level of replies), comment likes and
-- notifications, and the counters the API shows.
--
-- Constraint names are part of the contract: adapters/postgres/db.py turns foreign-key
-- violations into NotFound codes by these names, and adapters/postgres/engagement.py
-- names notifications_dedupe_key's columns in ON CONFLICT.
--
-- Counters. videos.{heart,flame,funny,angry}_count (reactions per kind),
-- videos.comment_count (comments and replies), comments.reply_count and
-- comments.like_count are kept by AFTER ROW triggers on reactions, comments and
-- comment_likes, in the transaction and statement that change the rows. So every path
-- keeps counts equal to rows: the repositories, hand-written SQL, and ON DELETE CASCADE
-- when a user, a video or a comment with replies goes.
--
-- - AFTER, not BEFORE: the counter moves once the row change has happened (an upsert
--   that did nothing moves nothing), and a BEFORE trigger that updates the parent of a
--   row being cascaded away would fail ("tuple to be updated was already modified by an
--   operation triggered by the current command").
-- - When the parent itself is going (a video deleted with its reactions and comments, a
--   comment deleted with its replies and likes), the cascade deletes the children after
--   the parent, so the children's triggers update a row that is gone: the UPDATE matches
--   nothing, and there is nothing left to count. No error, no special case.
-- - A counter UPDATE takes the parent's row lock (FOR NO KEY UPDATE; foreign-key checks
--   take FOR KEY SHARE, which does not conflict) and adds to the newest committed value,
--   so concurrent writers of one video queue on its row and never lose a count. The
--   repositories take that same lock first where they report counts back (a reaction's
--   previous kind and the counts after, a comment's like count).
-- - The UPDATE triggers act only when what is counted moved (a reaction's kind or video,
--   a comment's video or parent, a like's comment); the counter updates themselves do
--   not fire the comments trigger's work.
-- - The application never writes a counter (PostgresVideoRepository.update leaves them
--   out); CHECK (... >= 0) turns a counting bug into an error instead of a lie.
-- - TRUNCATE skips row triggers: truncate these tables only together with their parents.
-- depends: 20261127_03_social

ALTER TABLE videos
    ADD COLUMN heart_count   integer NOT NULL DEFAULT 0
        CONSTRAINT videos_heart_count_check CHECK (heart_count >= 0),
    ADD COLUMN flame_count   integer NOT NULL DEFAULT 0
        CONSTRAINT videos_flame_count_check CHECK (flame_count >= 0),
    ADD COLUMN funny_count   integer NOT NULL DEFAULT 0
        CONSTRAINT videos_funny_count_check CHECK (funny_count >= 0),
    ADD COLUMN angry_count   integer NOT NULL DEFAULT 0
        CONSTRAINT videos_angry_count_check CHECK (angry_count >= 0),
    ADD COLUMN comment_count integer NOT NULL DEFAULT 0
        CONSTRAINT videos_comment_count_check CHECK (comment_count >= 0);

-- One reaction per user and video.
CREATE TABLE reactions (
    -- reactions_video_id_fkey -> "video_not_found"
    video_id   bigint NOT NULL
               CONSTRAINT reactions_video_id_fkey REFERENCES videos (id) ON DELETE CASCADE,
    -- reactions_user_id_fkey -> "user_not_found"
    user_id    bigint NOT NULL
               CONSTRAINT reactions_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL
               CONSTRAINT reactions_kind_check CHECK (kind IN ('heart', 'flame', 'funny', 'angry')),
    created_at timestamptz NOT NULL,
    CONSTRAINT reactions_pkey PRIMARY KEY (video_id, user_id)
);

-- Reactions by user: the cascade from users, and "did my friend react to this video"
-- (For-You friend signals) as one key lookup.
CREATE INDEX reactions_user_id_idx ON reactions (user_id, video_id);
-- Who reacted to a video, newest first (keyset on created_at, user_id).
CREATE INDEX reactions_video_created_idx ON reactions (video_id, created_at DESC, user_id DESC);

CREATE TABLE comments (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- comments_video_id_fkey -> "video_not_found"
    video_id    bigint NOT NULL
                CONSTRAINT comments_video_id_fkey REFERENCES videos (id) ON DELETE CASCADE,
    -- comments_author_id_fkey -> "user_not_found"
    author_id   bigint NOT NULL
                CONSTRAINT comments_author_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    -- A reply to this top-level comment; replies go with it.
    -- comments_parent_id_fkey -> "comment_not_found"
    parent_id   bigint
                CONSTRAINT comments_parent_id_fkey REFERENCES comments (id) ON DELETE CASCADE,
    body        text NOT NULL CONSTRAINT comments_body_check CHECK (body <> ''),
    created_at  timestamptz NOT NULL,
    edited_at   timestamptz,
    like_count  integer NOT NULL DEFAULT 0
                CONSTRAINT comments_like_count_check CHECK (like_count >= 0),
    reply_count integer NOT NULL DEFAULT 0
                CONSTRAINT comments_reply_count_check CHECK (reply_count >= 0)
);

-- A video's threads, oldest first (keyset on created_at, id): the top-level comments
-- (parent_id IS NULL, which a btree searches like any value) and the replies to one of
-- them, from one index; its leading column also serves the cascade from videos.
CREATE INDEX comments_thread_idx ON comments (video_id, parent_id, created_at, id);
-- The cascade from a deleted comment to its replies.
CREATE INDEX comments_parent_id_idx ON comments (parent_id) WHERE parent_id IS NOT NULL;
-- The cascade from users, and "did my friend comment on this video" (For-You).
CREATE INDEX comments_author_id_idx ON comments (author_id, video_id);

CREATE TABLE comment_likes (
    -- comment_likes_comment_id_fkey -> "comment_not_found"
    comment_id bigint NOT NULL
               CONSTRAINT comment_likes_comment_id_fkey REFERENCES comments (id)
               ON DELETE CASCADE,
    -- comment_likes_user_id_fkey -> "user_not_found"
    user_id    bigint NOT NULL
               CONSTRAINT comment_likes_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    CONSTRAINT comment_likes_pkey PRIMARY KEY (comment_id, user_id)
);

-- Serves the cascade from users.
CREATE INDEX comment_likes_user_id_idx ON comment_likes (user_id);

CREATE TABLE notifications (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Who is notified. notifications_user_id_fkey -> "user_not_found"
    user_id    bigint NOT NULL
               CONSTRAINT notifications_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    kind       text NOT NULL
               CONSTRAINT notifications_kind_check CHECK (kind IN (
                   'friend_request', 'friend_accepted', 'reaction', 'comment', 'reply',
                   'video_ready', 'video_rejected', 'moderation')),
    -- Who caused it (NULL: the system); a notification goes with what it is about.
    actor_id   bigint
               CONSTRAINT notifications_actor_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    video_id   bigint
               CONSTRAINT notifications_video_id_fkey REFERENCES videos (id) ON DELETE CASCADE,
    comment_id bigint
               CONSTRAINT notifications_comment_id_fkey REFERENCES comments (id)
               ON DELETE CASCADE,
    text       text,
    created_at timestamptz NOT NULL,
    read_at    timestamptz,
    -- One notification per key and user (NULL keys are distinct: no deduplication).
    dedupe_key text,
    CONSTRAINT notifications_dedupe_key UNIQUE (user_id, dedupe_key)
);

-- My notifications, newest first (keyset on id); also the cascade from users.
CREATE INDEX notifications_user_id_idx ON notifications (user_id, id DESC);
-- My unread count.
CREATE INDEX notifications_unread_idx ON notifications (user_id) WHERE read_at IS NULL;
-- The cascades from actors, videos and comments.
CREATE INDEX notifications_actor_id_idx ON notifications (actor_id) WHERE actor_id IS NOT NULL;
CREATE INDEX notifications_video_id_idx ON notifications (video_id) WHERE video_id IS NOT NULL;
CREATE INDEX notifications_comment_id_idx ON notifications (comment_id)
    WHERE comment_id IS NOT NULL;

-- ---- counter triggers (see the header) -----------------------------------------------

CREATE FUNCTION reactions_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.video_id = NEW.video_id THEN
        IF OLD.kind <> NEW.kind THEN
            UPDATE videos SET
                heart_count = heart_count + (NEW.kind = 'heart')::int - (OLD.kind = 'heart')::int,
                flame_count = flame_count + (NEW.kind = 'flame')::int - (OLD.kind = 'flame')::int,
                funny_count = funny_count + (NEW.kind = 'funny')::int - (OLD.kind = 'funny')::int,
                angry_count = angry_count + (NEW.kind = 'angry')::int - (OLD.kind = 'angry')::int
            WHERE id = NEW.video_id;
        END IF;
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE videos SET
            heart_count = heart_count - (OLD.kind = 'heart')::int,
            flame_count = flame_count - (OLD.kind = 'flame')::int,
            funny_count = funny_count - (OLD.kind = 'funny')::int,
            angry_count = angry_count - (OLD.kind = 'angry')::int
        WHERE id = OLD.video_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE videos SET
            heart_count = heart_count + (NEW.kind = 'heart')::int,
            flame_count = flame_count + (NEW.kind = 'flame')::int,
            funny_count = funny_count + (NEW.kind = 'funny')::int,
            angry_count = angry_count + (NEW.kind = 'angry')::int
        WHERE id = NEW.video_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER reactions_count
    AFTER INSERT OR DELETE OR UPDATE OF video_id, kind ON reactions
    FOR EACH ROW EXECUTE FUNCTION reactions_count();

CREATE FUNCTION comments_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.video_id = NEW.video_id
            AND OLD.parent_id IS NOT DISTINCT FROM NEW.parent_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE videos SET comment_count = comment_count - 1 WHERE id = OLD.video_id;
        IF OLD.parent_id IS NOT NULL THEN
            UPDATE comments SET reply_count = reply_count - 1 WHERE id = OLD.parent_id;
        END IF;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE videos SET comment_count = comment_count + 1 WHERE id = NEW.video_id;
        IF NEW.parent_id IS NOT NULL THEN
            UPDATE comments SET reply_count = reply_count + 1 WHERE id = NEW.parent_id;
        END IF;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER comments_count
    AFTER INSERT OR DELETE OR UPDATE OF video_id, parent_id ON comments
    FOR EACH ROW EXECUTE FUNCTION comments_count();

CREATE FUNCTION comment_likes_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.comment_id = NEW.comment_id THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE comments SET like_count = like_count - 1 WHERE id = OLD.comment_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE comments SET like_count = like_count + 1 WHERE id = NEW.comment_id;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER comment_likes_count
    AFTER INSERT OR DELETE OR UPDATE OF comment_id ON comment_likes
    FOR EACH ROW EXECUTE FUNCTION comment_likes_count();
