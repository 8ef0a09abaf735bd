"""Signing up and in: accounts, tokens, social sign-in, password reset, two-factor
authentication (mfa.py) and changing the email address (email_change.py)."""
