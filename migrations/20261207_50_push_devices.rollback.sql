DROP TABLE notification_settings;
DROP TRIGGER sessions_revoked_forget_devices ON sessions;
DROP FUNCTION push_devices_forget_revoked();
DROP TABLE push_devices;
