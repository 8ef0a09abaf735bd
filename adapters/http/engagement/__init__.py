"""Reactions, comments, comment likes and notifications."""
