-- Accounts: users, verification codes, sessions with their refresh tokens,
-- linked Apple/Google identities, and the shared rate-limit counters.
--
-- Constraint and index names are part of the contract: adapters/postgres/db.py
-- turns unique violations into Conflict codes by these names.

CREATE TABLE users (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text NOT NULL,
    nickname        text NOT NULL,
    password_hash   text,
    email_verified  boolean NOT NULL DEFAULT false,
    role            text NOT NULL DEFAULT 'user'
                    CONSTRAINT users_role_check CHECK (role IN ('user', 'moderator', 'admin')),
    status          text NOT NULL DEFAULT 'active'
                    CONSTRAINT users_status_check CHECK (status IN ('active', 'suspended', 'banned')),
    suspended_until timestamptz,
    token_version   integer NOT NULL DEFAULT 1,
    name            text,
    surname         text,
    bio             text,
    time_zone       text NOT NULL DEFAULT 'UTC',
    avatar_key      text,
    rating          integer NOT NULL DEFAULT 0,
    current_streak  integer NOT NULL DEFAULT 0,
    max_streak      integer NOT NULL DEFAULT 0,
    max_reactions   integer NOT NULL DEFAULT 0,
    created_at      timestamptz NOT NULL DEFAULT now()
);

-- Email and nickname are unique whatever their case (users_email_key -> "email_taken").
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- users_nickname_key -> "nickname_taken". text_pattern_ops keeps equality working and
-- also serves prefix search (lower(nickname) LIKE 'abc%') whatever the database
-- collation, so one index does both jobs.
CREATE UNIQUE INDEX users_nickname_key ON users (lower(nickname) text_pattern_ops);

-- count_with_role('admin') and moderation lists look at the few non-plain users.
CREATE INDEX users_role_idx ON users (role) WHERE role <> 'user';

CREATE TABLE verification_codes (
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    text NOT NULL
               CONSTRAINT verification_codes_purpose_check
               CHECK (purpose IN ('verify_email', 'reset_password')),
    code_hash  text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    attempts   integer NOT NULL DEFAULT 0,
    CONSTRAINT verification_codes_pkey PRIMARY KEY (user_id, purpose)
);

CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL,
    last_used_at timestamptz NOT NULL,
    device_name  text,
    ip           text,
    revoked_at   timestamptz
);

-- Serves the cascade from users and "my sessions, most recently used first".
CREATE INDEX sessions_user_id_idx ON sessions (user_id, last_used_at DESC);

CREATE TABLE refresh_tokens (
    token_hash text PRIMARY KEY,
    session_id bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);

CREATE TABLE external_identities (
    provider   text NOT NULL,
    subject    text NOT NULL,
    user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email      text,
    created_at timestamptz NOT NULL,
    -- external_identities_pkey -> "identity_linked"
    CONSTRAINT external_identities_pkey PRIMARY KEY (provider, subject)
);

CREATE INDEX external_identities_user_id_idx ON external_identities (user_id);

-- Fixed-window counters shared by every app instance (see PostgresRateLimiter).
CREATE TABLE rate_limits (
    key          text PRIMARY KEY,
    window_start timestamptz NOT NULL,
    count        integer NOT NULL
);
