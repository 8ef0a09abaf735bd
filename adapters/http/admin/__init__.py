"""Administration: users, roles, the audit trail and the runtime settings."""
