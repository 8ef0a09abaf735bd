"""Momentic's domain: models, ports and use cases, in pure Python (stdlib + attrs)."""
