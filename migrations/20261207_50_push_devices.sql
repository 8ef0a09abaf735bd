-- Push devices and notification preferences (issue 17, items 1 and 5).
-- A token belongs to one account at a time (unique); a device goes with its user
-- (deleted account) and with its session, when the session is deleted or revoked
-- (signing out, "sign out everywhere", a password change, a ban or suspension).
-- depends: 20261207_20_friend_requests_settle

CREATE TABLE push_devices (
    id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id          bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    session_id       bigint NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    platform         text NOT NULL CHECK (platform IN ('ios', 'android')),
    token            text NOT NULL,
    app_version      text,
    locale           text,
    apns_environment text CHECK (apns_environment IN ('sandbox', 'production')),
    created_at       timestamptz NOT NULL,
    last_seen_at     timestamptz NOT NULL,
    CONSTRAINT push_devices_token_key UNIQUE (token),
    CHECK ((platform = 'ios') = (apns_environment IS NOT NULL))
);

CREATE INDEX push_devices_user_id_idx ON push_devices (user_id, id);
CREATE INDEX push_devices_session_id_idx ON push_devices (session_id);

-- A revoked session keeps its row (for the data export and reuse detection); its
-- devices go at the moment it is revoked, whichever statement revokes it.
CREATE FUNCTION push_devices_forget_revoked() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM push_devices WHERE session_id = NEW.id;
    RETURN NULL;
END;
$$;

CREATE TRIGGER sessions_revoked_forget_devices
AFTER UPDATE OF revoked_at ON sessions
FOR EACH ROW
WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
EXECUTE FUNCTION push_devices_forget_revoked();

CREATE TABLE notification_settings (
    user_id     bigint PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    disabled    text[] NOT NULL DEFAULT '{}',  -- the push kinds switched off
    quiet_start time,
    quiet_end   time,
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);
