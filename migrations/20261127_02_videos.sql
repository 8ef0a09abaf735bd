-- Videos, resumable uploads and the background job queue.
--
-- Constraint and index names are part of the contract: adapters/postgres/db.py turns
-- foreign-key violations into NotFound codes by these names, and
-- adapters/postgres/videos.py names jobs_dedupe_key_idx's predicate in ON CONFLICT.
-- depends: 20261127_01_accounts

CREATE TABLE videos (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- videos_author_id_fkey -> "user_not_found"
    author_id        bigint NOT NULL
                     CONSTRAINT videos_author_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    description      text NOT NULL DEFAULT '',
    visibility       text NOT NULL
                     CONSTRAINT videos_visibility_check CHECK (visibility IN ('friends', 'public')),
    status           text NOT NULL
                     CONSTRAINT videos_status_check
                     CHECK (status IN ('uploading', 'processing', 'ready', 'rejected', 'failed')),
    status_reason    text,
    source_key       text,
    playback_key     text,
    thumbnail_key    text,
    size_bytes       bigint,
    duration_seconds double precision,
    width            integer,
    height           integer,
    container        text,
    video_codec      text,
    audio_codec      text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    ready_at         timestamptz
);

-- A user's videos, newest first (keyset on created_at, id); also serves the cascade.
CREATE INDEX videos_author_created_idx ON videos (author_id, created_at DESC, id DESC);

-- Ready public videos, newest first: the public feed.
CREATE INDEX videos_ready_public_idx ON videos (created_at DESC, id DESC)
    WHERE status = 'ready' AND visibility = 'public';

-- The janitor asks which blob keys a row still points at (referenced_keys).
CREATE INDEX videos_source_key_idx ON videos (source_key) WHERE source_key IS NOT NULL;
CREATE INDEX videos_playback_key_idx ON videos (playback_key) WHERE playback_key IS NOT NULL;
CREATE INDEX videos_thumbnail_key_idx ON videos (thumbnail_key) WHERE thumbnail_key IS NOT NULL;
CREATE INDEX users_avatar_key_idx ON users (avatar_key) WHERE avatar_key IS NOT NULL;

CREATE TABLE uploads (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- uploads_user_id_fkey -> "user_not_found"
    user_id      bigint NOT NULL
                 CONSTRAINT uploads_user_id_fkey REFERENCES users (id) ON DELETE CASCADE,
    key          text NOT NULL CONSTRAINT uploads_key_key UNIQUE,
    backend_id   text NOT NULL,
    size_bytes   bigint NOT NULL CONSTRAINT uploads_size_bytes_check CHECK (size_bytes > 0),
    content_type text NOT NULL,
    part_size    bigint NOT NULL CONSTRAINT uploads_part_size_check CHECK (part_size > 0),
    description  text NOT NULL DEFAULT '',
    visibility   text NOT NULL
                 CONSTRAINT uploads_visibility_check CHECK (visibility IN ('friends', 'public')),
    created_at   timestamptz NOT NULL,
    -- uploads_video_id_fkey -> "video_not_found"
    video_id     bigint
                 CONSTRAINT uploads_video_id_fkey REFERENCES videos (id) ON DELETE SET NULL,
    completed_at timestamptz
);

CREATE INDEX uploads_user_id_idx ON uploads (user_id);
CREATE INDEX uploads_video_id_idx ON uploads (video_id) WHERE video_id IS NOT NULL;
-- The janitor's abandoned uploads, oldest first.
CREATE INDEX uploads_abandoned_idx ON uploads (created_at) WHERE completed_at IS NULL;

-- Background jobs, taken with FOR UPDATE SKIP LOCKED (see PostgresJobRunner).
CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL,
    payload      jsonb NOT NULL DEFAULT '{}',
    status       text NOT NULL DEFAULT 'queued'
                 CONSTRAINT jobs_status_check
                 CHECK (status IN ('queued', 'running', 'done', 'dead')),
    attempts     integer NOT NULL DEFAULT 0,
    max_attempts integer NOT NULL DEFAULT 5
                 CONSTRAINT jobs_max_attempts_check CHECK (max_attempts >= 1),
    run_at       timestamptz NOT NULL,
    locked_until timestamptz,
    last_error   text,
    dedupe_key   text,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL
);

-- Due queued jobs, oldest first.
CREATE INDEX jobs_due_idx ON jobs (run_at, id) WHERE status = 'queued';
-- Running jobs whose lease may have run out (their worker died).
CREATE INDEX jobs_leased_idx ON jobs (locked_until) WHERE status = 'running';
-- At most one live job per dedupe key; enqueue names this predicate in ON CONFLICT.
CREATE UNIQUE INDEX jobs_dedupe_key_idx ON jobs (dedupe_key)
    WHERE status IN ('queued', 'running');
