"""Hashtags and text search."""
