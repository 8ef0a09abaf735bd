-- Two-factor authentication (issue 21 item 1): one TOTP authenticator per account, its
-- secret sealed by the application (never in clear here), the time step of the last code
-- accepted (a code is never accepted twice) and the hashes of the unused recovery codes.
-- depends: 20261207_51_push_claims

CREATE TABLE user_totp (
    user_id      bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret       text NOT NULL,
    created_at   timestamptz NOT NULL,
    confirmed_at timestamptz,
    last_step    bigint NOT NULL DEFAULT -1,
    recovery     text[] NOT NULL DEFAULT '{}'
);
