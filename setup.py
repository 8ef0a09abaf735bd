"""Only what pyproject.toml cannot say: the packages, with migrations/ shipped inside the
wheel as ``adapters.postgres.migrations`` (adapters/postgres/migrate.py finds either)."""

from setuptools import find_namespace_packages, setup

setup(
    packages=[
        *find_namespace_packages(include=["momentic_core*", "adapters*"],
                                 exclude=["*.__pycache__"]),
        "adapters.postgres.migrations",
    ],
    package_dir={"adapters.postgres.migrations": "migrations"},
)
