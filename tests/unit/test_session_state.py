"""Pooled PostgreSQL connections go back to the pool without a reset query
(``adapters.postgres.db.PooledConnection``), so no SQL of the adapters may leave session
state behind on one: session-level settings, session advisory locks, LISTEN outside the
live source's own connection, or cursors held past their transaction."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

SOURCES = sorted((Path(__file__).parents[2] / "adapters" / "postgres").glob("*.py"))

# What would outlive a transaction on a pooled connection.
SESSION_STATE = {
    "a session-level SET": re.compile(
        r"""["'(]\s*SET\s+(?!LOCAL\b)(?!TRANSACTION\b)\w""", re.IGNORECASE
    ),
    "set_config(..., false)": re.compile(r"set_config\([^)]*,\s*false\s*\)", re.IGNORECASE),
    "a session advisory lock": re.compile(r"pg_(try_)?advisory_lock", re.IGNORECASE),
    "a held cursor": re.compile(r"WITH\s+HOLD", re.IGNORECASE),
    "a prepared transaction": re.compile(r"PREPARE\s+TRANSACTION", re.IGNORECASE),
    "a temporary table": re.compile(r"CREATE\s+TEMP", re.IGNORECASE),
}


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name)
def test_no_sql_leaves_session_state(source: Path) -> None:
    text = source.read_text()
    for what, pattern in SESSION_STATE.items():
        found = pattern.search(text)
        assert found is None, f"{source.name}: {what}: {found.group(0)!r}" if found else ""
    if source.name != "live/routes.py":
        assert not re.search(r"""["'(]\s*LISTEN\b""", text), (
            f"{source.name}: LISTEN belongs on the live source's own connection"
        )


def test_the_patterns_catch_what_they_name() -> None:
    caught = {
        "a session-level SET": "await conn.execute('SET statement_timeout = 0')",
        "set_config(..., false)": "SELECT set_config('x', 'y', false)",
        "a session advisory lock": "SELECT pg_advisory_lock(1)",
        "a held cursor": "DECLARE c CURSOR WITH HOLD FOR SELECT 1",
        "a prepared transaction": "PREPARE TRANSACTION 'x'",
        "a temporary table": "CREATE TEMP TABLE t (x int)",
    }
    for what, sql in caught.items():
        assert SESSION_STATE[what].search(sql), what
    fine = "await conn.execute('SET LOCAL plan_cache_mode = force_custom_plan')"
    assert not SESSION_STATE["a session-level SET"].search(fine)
    assert not SESSION_STATE["a session advisory lock"].search("pg_advisory_xact_lock(1)")


async def test_pooled_connections_skip_the_reset_query(pg_pool: asyncpg.Pool) -> None:
    async with pg_pool.acquire() as conn:
        assert conn.get_reset_query() == ""
