"""My account (/v1/me), others' public profiles, sessions and my data export."""
