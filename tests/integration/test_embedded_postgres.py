"""The embedded default: start the wheel's server, reach it over its unix socket with
yoyo (psycopg) and asyncpg, stop it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import asyncpg

from adapters.postgres.embedded import start_embedded, stop_embedded
from adapters.postgres.migrate import apply_migrations


async def test_start_migrate_connect_stop(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"  # made on demand, like ./var on a fresh clone
    try:
        url = start_embedded(data_dir)
        parts = urlsplit(url)
        assert parts.path == "/momentic"
        socket_dir = Path(parse_qs(parts.query)["host"][0])
        assert (data_dir / "postgres" / "PG_VERSION").exists()
        assert any(p.is_socket() for p in socket_dir.glob(".s.PGSQL.*"))

        assert start_embedded(data_dir) == url  # joining a running server is fine
        assert "20261127_01_accounts" in apply_migrations(url)
        conn = await asyncpg.connect(url)
        try:
            assert await conn.fetchval("SELECT current_database()") == "momentic"
            assert await conn.fetchval("SELECT count(*) FROM users") == 0
        finally:
            await conn.close()

        stop_embedded(data_dir)
        assert not any(p.exists() for p in socket_dir.glob(".s.PGSQL.*"))
    finally:
        stop_embedded(data_dir)  # a no-op once stopped
