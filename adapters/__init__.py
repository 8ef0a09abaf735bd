"""Adapters: the outside world behind momentic_core's ports."""
