"""Push devices and notification settings."""
