"""At 100,000 videos the feeds read videos through indexes, never a sequential scan.

A fresh database gets the migrations, 2,000 users (some banned or suspended), 20
friends each (stored both ways), a few blocks and 100,000 videos over 30 days, then
ANALYZE. Each feed statement, built by the very helpers the repository runs
(``adapters.postgres.social.*_query``), is EXPLAINed twice:

- as the repository sends it (parameters bound: the planner sees their values, as in
  a custom plan), and
- as a generic plan (``PREPARE`` + ``plan_cache_mode = force_generic_plan``), which is
  what a prepared statement may switch to after five executions.

Neither may contain a Seq Scan on videos, and the videos must be read through the index
meant for the feed.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from adapters.postgres.for_you import rank_query, refresh_query
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.social import (
    friends_feed_query,
    global_feed_query,
    rank_for_you_query,
    search_query,
    snapshot_page_query,
)
from momentic_core.model.social import FeedSettings, Keyset
from tests.plan_support import explain, nodes

VIDEOS = 100_000
USERS = 2_000
FRIENDS_EACH_WAY = 10  # each user befriends the next 10: 20 friends each
END = datetime(2026, 1, 31, tzinfo=UTC)  # the newest video
VIEWER = 7

SEED = f"""
INSERT INTO users (email, nickname, created_at, email_verified, status, suspended_until)
SELECT 'u' || g || '@example.com', 'user' || g, timestamptz '2026-01-01', true,
       CASE WHEN g % 97 = 0 THEN 'banned' WHEN g % 89 = 0 THEN 'suspended' ELSE 'active' END,
       CASE WHEN g % 89 = 0 THEN timestamptz '2030-01-01' END
FROM generate_series(1, {USERS}) g;

INSERT INTO friendships (user_id, friend_id, created_at)
SELECT a, b, timestamptz '2026-01-01'
FROM generate_series(1, {USERS}) a, generate_series(1, {FRIENDS_EACH_WAY}) k,
     LATERAL (SELECT ((a + k - 1) % {USERS}) + 1 AS b) o
UNION ALL
SELECT ((a + k - 1) % {USERS}) + 1, a, timestamptz '2026-01-01'
FROM generate_series(1, {USERS}) a, generate_series(1, {FRIENDS_EACH_WAY}) k;

INSERT INTO blocks (blocker_id, blocked_id, created_at)
SELECT g, g + 500, timestamptz '2026-01-01' FROM generate_series(1, 50) g;

-- One video every 26 s for 30 days back from END; a third friends-only, about 15% not
-- ready; authors round-robin.
INSERT INTO videos (author_id, description, visibility, status, created_at, updated_at)
SELECT (g % {USERS}) + 1, '',
       CASE WHEN g % 3 = 0 THEN 'friends' ELSE 'public' END,
       CASE WHEN g % 10 = 0 THEN 'processing' WHEN g % 17 = 0 THEN 'failed' ELSE 'ready' END,
       timestamptz '{END.isoformat()}' - g * interval '26 seconds',
       timestamptz '{END.isoformat()}' - g * interval '26 seconds'
FROM generate_series(1, {VIDEOS}) g;

INSERT INTO feed_snapshots (user_id, created_at, video_ids)
SELECT {VIEWER}, timestamptz '{END.isoformat()}', array_agg(g ORDER BY g DESC)
FROM generate_series({VIDEOS} - 499, {VIDEOS}) g;

ANALYZE;
"""


@pytest.fixture(scope="module")
def seeded_url(make_database: Callable[[], str]) -> Iterator[str]:
    url = make_database()
    apply_migrations(url)
    yield url


@pytest.fixture(scope="module")
async def conn(seeded_url: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(seeded_url)
    try:
        await connection.execute(SEED)
        assert await connection.fetchval("SELECT count(*) FROM videos") == VIDEOS
        yield connection
    finally:
        await connection.close()


def _videos_access(plan: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(node types that read videos, indexes of videos they use)."""
    kinds: set[str] = set()
    indexes: set[str] = set()
    for node in nodes(plan["Plan"]):
        if node.get("Relation Name") == "videos":
            kinds.add(node["Node Type"])
            if "Index Name" in node:
                indexes.add(node["Index Name"])
            for child in nodes(node):
                if child["Node Type"] == "Bitmap Index Scan":
                    indexes.add(child["Index Name"])
    return kinds, indexes


def _summary(plan: dict[str, Any]) -> str:
    return " > ".join(
        f"{n['Node Type']}{' ' + n['Relation Name'] if 'Relation Name' in n else ''}"
        f"{' ' + n['Index Name'] if 'Index Name' in n else ''}"
        for n in nodes(plan["Plan"])
    )


def _rows(plan: dict[str, Any]) -> int:
    return int(plan["Plan"]["Actual Rows"])


_DAY = (END - timedelta(days=1), END)
_CURSOR = Keyset(END - timedelta(hours=6), 10**9)
_DEEP = Keyset(END - timedelta(days=20), 10**9)  # far down the global feed


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
@pytest.mark.parametrize(
    ("cursor", "newer"),
    [(None, False), (_CURSOR, False), (_CURSOR, True)],
    ids=["first", "older", "newer"],
)
async def test_the_friends_feed_scans_each_friends_index_range(
    conn: asyncpg.Connection, cursor: Keyset | None, newer: bool, generic: bool
) -> None:
    query = friends_feed_query(VIEWER, *_DAY, cursor, newer, 21, END)
    plan = await explain(conn, query, generic)
    kinds, indexes = _videos_access(plan)
    assert "Seq Scan" not in kinds, _summary(plan)
    assert kinds and kinds <= {"Index Scan", "Bitmap Heap Scan", "Index Only Scan"}
    assert indexes == {"videos_author_created_idx"}, _summary(plan)
    assert _rows(plan) > 0


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
@pytest.mark.parametrize(
    ("cursor", "newer"),
    [(None, False), (_CURSOR, False), (_CURSOR, True), (_DEEP, False), (_DEEP, True)],
    ids=["first", "older", "newer", "deep-older", "deep-newer"],
)
async def test_the_global_feed_walks_the_ready_public_index(
    conn: asyncpg.Connection, cursor: Keyset | None, newer: bool, generic: bool
) -> None:
    query = global_feed_query(VIEWER, cursor, newer, 21, END)
    plan = await explain(conn, query, generic)
    kinds, indexes = _videos_access(plan)
    assert kinds == {"Index Scan"}, _summary(plan)
    assert indexes == {"videos_ready_public_idx"}, _summary(plan)
    assert _rows(plan) == 21
    # A page reads about a page of index entries, however deep the cursor.
    [scan] = [n for n in nodes(plan["Plan"]) if n.get("Relation Name") == "videos"]
    assert scan["Actual Rows"] * scan["Actual Loops"] < 100, _summary(plan)


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
async def test_for_you_candidates_and_snapshot_pages_use_indexes(
    conn: asyncpg.Connection, generic: bool
) -> None:
    rank = await explain(conn, rank_for_you_query(VIEWER, END, FeedSettings()), generic)
    kinds, indexes = _videos_access(rank)
    assert "Seq Scan" not in kinds, _summary(rank)
    assert indexes == {"videos_ready_public_idx"}, _summary(rank)
    assert _rows(rank) == FeedSettings().candidate_limit
    snapshot_id = await conn.fetchval("SELECT min(id) FROM feed_snapshots")
    page = await explain(conn, snapshot_page_query(snapshot_id, VIEWER, 100, 21, END), generic)
    kinds, indexes = _videos_access(page)
    assert "Seq Scan" not in kinds, _summary(page)
    assert indexes == {"videos_pkey"}, _summary(page)
    assert _rows(page) > 0


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
async def test_for_you_ahead_reads_the_first_candidates_in_rank_order(
    conn: asyncpg.Connection, generic: bool
) -> None:
    """The ranking ahead of the request (adapters/postgres/for_you.py) reads about
    ``candidate_limit`` entries of for_you_candidates_rank_idx, not the whole pool, and
    each candidate's video by its primary key."""
    s = FeedSettings()
    async with conn.transaction():
        await conn.execute("DELETE FROM for_you_candidates")
        sql, args = refresh_query(END, s)
        await conn.execute(sql, *args)
        await conn.execute(
            "INSERT INTO for_you_refresh VALUES (true, $1) ON CONFLICT (id) DO UPDATE"
            " SET refreshed_at = excluded.refreshed_at", END)
    assert await conn.fetchval("SELECT count(*) FROM for_you_candidates") == s.candidate_pool
    await conn.execute("ANALYZE for_you_candidates")
    query = rank_query(VIEWER, END, s)
    plan = await explain(conn, query, generic)
    kinds, indexes = _videos_access(plan)
    assert "Seq Scan" not in kinds, _summary(plan)
    assert indexes == {"videos_pkey"}, _summary(plan)
    [top] = [n for n in nodes(plan["Plan"])
             if n.get("Index Name") == "for_you_candidates_rank_idx"]
    assert top["Actual Rows"] * top["Actual Loops"] < 2 * s.candidate_limit, _summary(plan)
    ids = await conn.fetchval(query[0], *query[1])
    assert len(ids) == s.candidate_limit


@pytest.mark.parametrize("generic", [False, True], ids=["custom", "generic"])
@pytest.mark.parametrize("after", [None, "user15"])
async def test_search_uses_the_nickname_index(
    conn: asyncpg.Connection, after: str | None, generic: bool
) -> None:
    plan = await explain(conn, search_query(VIEWER, "user1", after, 20, END), generic)
    used = {n.get("Index Name") for n in nodes(plan["Plan"])}
    scans = {n["Node Type"] for n in nodes(plan["Plan"]) if n.get("Relation Name") == "users"}
    assert "users_nickname_key" in used, _summary(plan)
    assert "Seq Scan" not in scans, _summary(plan)
    assert _rows(plan) == 20
