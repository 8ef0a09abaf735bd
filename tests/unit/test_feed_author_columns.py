"""Every statement on PostgreSQL that shows other users brings their public part into the
process, and nothing else of them: no email, no password hash, no account state (the
statements judge that in SQL). Feed statements (friends, global, For-You pages, hashtag,
video search) map their author to ``FeedAuthor``; comments, reactors, notifications,
contact lists, both user searches and the leaderboards map theirs to ``Person``, field
for field. The single-video read (``get_for_viewer``) needs the author's state to decide
who may see the video, so it reads the author's columns but the email and the password
hash, and the viewer's public part only."""

from __future__ import annotations

import itertools
import re
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
import attrs
import pytest

from adapters.memory.clock import ManualClock
from adapters.postgres.engagement import (
    PostgresCommentRepository,
    PostgresNotificationRepository,
    PostgresReactionRepository,
)
from adapters.postgres.ranking import PostgresRankingRepository
from adapters.postgres.repositories import _USER_COLUMNS
from adapters.postgres.search import hashtag_videos_sql, user_search_sql, video_search_sql
from adapters.postgres.social import (
    _CONTACT_TABLES,
    SNAPSHOT_PAGE_SQL,
    contacts_sql,
    friends_feed_sql,
    global_feed_sql,
    search_sql,
)
from adapters.postgres.videos import PostgresVideoRepository
from momentic_core.errors import NotFound
from momentic_core.model.accounts import FeedAuthor, Person
from momentic_core.model.ranking import BoardKey, Scope

SECRETS = ("email", "password_hash", "token_version", "status", "role")
PERSON = set(attrs.fields_dict(Person))
_KEYSETS = list(itertools.product((False, True), (False, True)))
STATEMENTS = {
    **{f"friends {c}/{n}": friends_feed_sql(cursor=c, newer=n) for c, n in _KEYSETS},
    **{f"global {c}/{n}": global_feed_sql(cursor=c, newer=n) for c, n in _KEYSETS},
    **{f"hashtag {c}/{n}": hashtag_videos_sql(cursor=c, newer=n) for c, n in _KEYSETS},
    **{f"search {c}/{n}": video_search_sql(cursor=c, newer=n) for c, n in _KEYSETS},
    "for-you page": SNAPSHOT_PAGE_SQL,
}


def _public_part_only(sql: str, fields: set[str]) -> None:
    selected = set(re.findall(r"\bu\.(\w+) AS u_\1\b", sql))
    assert selected == fields
    assert "u.*" not in sql
    for secret in SECRETS:
        assert not re.search(rf"\bAS u_{secret}\b", sql), secret


@pytest.mark.parametrize("sql", STATEMENTS.values(), ids=STATEMENTS.keys())
def test_a_feed_row_holds_the_authors_public_part_only(sql: str) -> None:
    _public_part_only(sql, set(attrs.fields_dict(FeedAuthor)))


class RecordingConnection:
    """Stands in for asyncpg's connection: keeps each statement, finds nothing."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    async def fetch(self, sql: str, *args: Any) -> list[Any]:
        self.statements.append(sql)
        return []

    async def fetchrow(self, sql: str, *args: Any) -> None:
        self.statements.append(sql)

    async def fetchval(self, sql: str, *args: Any) -> int:
        self.statements.append(sql)
        return 0


async def _statements_of_people() -> dict[str, str]:
    """Each statement that lists other users, as the repositories send it."""
    conn = RecordingConnection()
    db, clock = cast(asyncpg.Connection, conn), ManualClock()
    at = (datetime(2026, 1, 1, tzinfo=UTC), 1)
    found: dict[str, str] = {}

    async def record(name: str, call: Any) -> None:
        del conn.statements[:]
        try:
            await call
        except NotFound:
            pass  # a single row that is not there: the statement went
        [found[name]] = conn.statements

    reactions = PostgresReactionRepository(db, clock)
    comments = PostgresCommentRepository(db, clock)
    notifications = PostgresNotificationRepository(db, clock)
    for after in (None, at):
        await record(f"reactors {after}", reactions.list(1, 2, after, 9))
        await record(f"comments {after}", comments.list(1, None, 2, after, 9))
        await record(f"replies {after}", comments.list(1, 3, 2, after, 9))
    await record("comment view", comments.view(1, 2))
    await record("comments by author", comments.by_author(1, None, 9))
    await record("notifications", notifications.list(1, None, 9))
    await record("notifications before", notifications.list(1, 5, 9))
    for kind, keyset in itertools.product(_CONTACT_TABLES, (False, True)):
        found[f"contacts {kind} {keyset}"] = contacts_sql(kind, after=keyset)
    for keyset in (False, True):
        found[f"nickname prefix {keyset}"] = search_sql(after=keyset)
        found[f"user search {keyset}"] = user_search_sql(after=keyset)
    return found


async def test_lists_of_other_users_hold_their_public_part_only() -> None:
    statements = await _statements_of_people()
    assert len(statements) == 10 + 2 * len(_CONTACT_TABLES) + 4
    for name, sql in statements.items():
        try:
            _public_part_only(sql, PERSON)
        except AssertionError as e:
            raise AssertionError(f"{name}: {e}") from e


async def test_a_leaderboard_entry_holds_the_users_public_part_only() -> None:
    conn = RecordingConnection()
    ranking = PostgresRankingRepository(cast(asyncpg.Connection, conn), ManualClock())
    key = BoardKey(10, 1)
    for scope, since in itertools.product(Scope, (None, datetime(2026, 1, 1, tzinfo=UTC))):
        await ranking.board(1, scope, since, None, 9)
        await ranking.board(1, scope, since, key, 9)
        await ranking.above(1, scope, since, key, 2)
    assert len(conn.statements) == 12
    for sql in conn.statements:
        [columns] = re.findall(r"SELECT (.*?), (?:u\.rating AS points|t\.points) FROM", sql)
        # (the entries' columns are all the statement brings: it selects e.* of them)
        assert set(re.findall(r"\bu\.(\w+)", columns)) == PERSON, sql
        assert "u.*" not in sql


async def test_the_single_video_read_has_the_authors_state_and_no_secret() -> None:
    conn = RecordingConnection()
    videos = PostgresVideoRepository(cast(asyncpg.Connection, conn))
    with pytest.raises(NotFound):
        await videos.get_for_viewer(1, 2)
    [sql] = conn.statements
    author = set(re.findall(r"\ba\.(\w+) AS a_\1\b", sql))
    assert author == set(_USER_COLUMNS.split(", ")) - {"email", "password_hash"}
    assert "'' AS a_email" in sql and "NULL AS a_password_hash" in sql
    assert set(re.findall(r"\bv\.(\w+) AS v_\1\b", sql)) == PERSON
    assert not re.search(r"\b[av]\.(email|password_hash)\b", sql)
