"""Mail adapters: SMTP for production, the log for the embedded default."""
