"""Entities and value objects, one module per area."""
