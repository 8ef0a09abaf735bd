"""The ``momentic`` command: serve, migrate and admin tasks."""
