"""Videos: uploads, reading and managing them, avatars, limits, the media route."""
