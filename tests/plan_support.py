"""EXPLAIN helpers of the plan tests (tests/integration/test_feed_plans.py and
test_search_plans.py): a statement's plan as PostgreSQL would run it with the values bound
(custom) or as a prepared statement's generic plan, and every node of a plan."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import asyncpg

from adapters.postgres.social import Query


def _literal(value: Any) -> str:
    """A SQL literal for EXECUTE (whose arguments cannot be bound parameters)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise TypeError(type(value))


async def explain(conn: asyncpg.Connection, query: Query, generic: bool) -> dict[str, Any]:
    """EXPLAIN (ANALYZE, FORMAT JSON) of ``query``, custom or generic."""
    sql, args = query
    if not generic:
        text = await conn.fetchval("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, *args)
        plan: dict[str, Any] = json.loads(text)[0]
        return plan
    statement = await conn.prepare(sql)
    types = ", ".join(
        t.name if t.schema == "pg_catalog" else f"{t.schema}.{t.name}"
        for t in statement.get_parameters()
    )
    await conn.execute(f"PREPARE plan_probe ({types}) AS {sql}")
    try:
        await conn.execute("SET plan_cache_mode = force_generic_plan")
        values = ", ".join(_literal(a) for a in args)
        text = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE plan_probe({values})")
        plan = json.loads(text)[0]
        return plan
    finally:
        await conn.execute("RESET plan_cache_mode")
        await conn.execute("DEALLOCATE plan_probe")


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)
