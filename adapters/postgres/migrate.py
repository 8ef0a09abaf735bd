"""Apply (and, for tests, roll back) the yoyo migrations in the repository's migrations/.

The schema is owned by these SQL files, never by code. Migrations run under yoyo's
lock, so several app instances starting at once apply each migration exactly once.

yoyo is synchronous (it talks through psycopg 3). From async code, run these functions
in a thread: ``await asyncio.to_thread(apply_migrations, url)``.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from yoyo import get_backend, read_migrations
from yoyo.backends import DatabaseBackend

from momentic_core.errors import Unavailable


def _migrations_dir() -> Path:
    """An installed wheel carries them as adapters/postgres/migrations (setup.py); a source
    tree (and its editable install) keeps them at the top, beside the packages."""
    here = Path(__file__).resolve().parent
    packaged = here / "migrations"
    return packaged if packaged.is_dir() else here.parents[1] / "migrations"


MIGRATIONS_DIR = _migrations_dir()

_SCHEMES = {"postgres", "postgresql", "postgresql+psycopg"}


def yoyo_url(database_url: str) -> str:
    """The yoyo (psycopg 3) form of an asyncpg/libpq URL.

    ``postgresql://u:p@host:5432/db`` -> ``postgresql+psycopg://u:p@host:5432/db``; the
    unix-socket form ``postgresql://u:@/db?host=/run/dir`` keeps its query, which yoyo
    hands to psycopg as connection parameters."""
    parts = urlsplit(database_url)
    if parts.scheme not in _SCHEMES:
        raise ValueError(f"not a PostgreSQL URL: scheme {parts.scheme!r}")
    return urlunsplit(parts._replace(scheme="postgresql+psycopg"))


def _backend(database_url: str) -> DatabaseBackend:
    import psycopg  # yoyo's driver; imported here so that importing this module is cheap

    try:
        return get_backend(yoyo_url(database_url))
    except psycopg.OperationalError as exc:
        raise Unavailable("Cannot reach the database to migrate it.") from exc


def apply_migrations(database_url: str, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration; return the ids applied (empty when up to date).

    Blocking: from async code use ``asyncio.to_thread``. Raises Unavailable when the
    database cannot be reached, yoyo's LockTimeout when another process holds the lock
    for too long."""
    backend = _backend(database_url)
    try:
        migrations = read_migrations(str(migrations_dir.resolve()))
        with backend.lock():
            pending = backend.to_apply(migrations)
            backend.apply_migrations(pending)
        return [m.id for m in pending]
    finally:
        backend.connection.close()


def rollback_all(database_url: str, migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Roll back every applied migration, newest first; return the ids rolled back.

    For tests and development: it drops every table the migrations made. Blocking."""
    backend = _backend(database_url)
    try:
        migrations = read_migrations(str(migrations_dir.resolve()))
        with backend.lock():
            applied = backend.to_rollback(migrations)
            backend.rollback_migrations(applied)
        return [m.id for m in applied]
    finally:
        backend.connection.close()


def migration_status(
    database_url: str, migrations_dir: Path = MIGRATIONS_DIR
) -> list[tuple[str, bool]]:
    """(id, applied) for every migration, oldest first. Blocking."""
    backend = _backend(database_url)
    try:
        migrations = read_migrations(str(migrations_dir.resolve()))
        pending = {m.id for m in backend.to_apply(migrations)}
        return [(m.id, m.id not in pending) for m in migrations]
    finally:
        backend.connection.close()


def rollback_latest(
    database_url: str, count: int = 1, migrations_dir: Path = MIGRATIONS_DIR
) -> list[str]:
    """Roll back the ``count`` newest applied migrations (their .rollback.sql), newest
    first, under yoyo's lock; return their ids. Blocking."""
    if count < 1:
        raise ValueError("count must be at least 1")
    backend = _backend(database_url)
    try:
        migrations = read_migrations(str(migrations_dir.resolve()))
        with backend.lock():
            latest = backend.to_rollback(migrations)[:count]
            backend.rollback_migrations(latest)
        return [m.id for m in latest]
    finally:
        backend.connection.close()
