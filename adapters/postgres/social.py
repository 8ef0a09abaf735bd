# ruff: noqa: S608 -- queries interpolate only this module's fixed fragments (column lists,
# conditions, the marked subqueries); every value travels as a $n parameter.
"""asyncpg adapters for friendships, friend requests, blocks and the feeds.

``PostgresSocialRepository`` and ``PostgresFeedRepository`` are bound to the connection of
a ``PostgresUnitOfWork``. Friendships are stored in both directions. ``add_block`` is one
statement that also deletes the friendship and the requests between the two users.

Every feed page is one statement that joins the author (no N+1) and leaves out videos that
are not ready, authors blocked either way, banned authors and authors whose suspension is
in force, authors the viewer muted, and friends-only videos of non-friends. Lists are
keyset-paginated on (created_at, id), newest first; a page of newer items
(``newer=True``) is fetched ascending from the cursor and handed back newest first.

The statements are module constants (or built by the ``*_sql`` helpers from fixed
fragments, so that the planner sees plain conditions: a keyset becomes a range on an
index, not a filter), and ``tests/integration/test_feed_plans.py`` EXPLAINs exactly them.
In every feed-item statement ``$1`` is the viewer and ``v`` the video:

- ``ITEM_ENGAGEMENT`` is the one place that reads reaction counts, my reaction and the
  comment count of an item; ``FOR_YOU_SIGNALS`` the one place that reads reactions,
  comments and friends' interactions for the For-You score (with ``FRIENDS_ENGAGED``,
  computed once per ranking). The counts come from the video row (the engagement
  triggers keep them, migration 20261127_04); my reaction is one primary-key lookup.
- ``rank_for_you`` computes ``momentic_core.policies.ranking.for_you_score`` in SQL, with
  the same float operations in the same order, at ``as_of``.

Whether a suspension is in force is judged at the injected clock's time (``as_of`` for
the ranking), never the database's ``now()``, so tests can move time.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

import asyncpg
import attrs

from momentic_core.errors import Conflict, NotFound
from momentic_core.model.accounts import FeedAuthor, Person
from momentic_core.model.engagement import REACTION_KINDS
from momentic_core.model.social import (
    Contact,
    FeedItem,
    FeedSettings,
    FriendRequest,
    Keyset,
    Relation,
)
from momentic_core.model.videos import Video
from momentic_core.ports import Clock

from .repositories import PERSON_COLUMNS, SHOWN_USER, Repository, _affected, _person
from .videos import _VIDEO_ROW, UtcClock, _video


def _select(columns: str, alias: str) -> str:
    """``a.x AS a_x, a.y AS a_y, ...`` for a comma-separated column list."""
    return ", ".join(f"{alias}.{c} AS {alias}_{c}" for c in columns.replace("\n", " ").split(", "))


class _Prefixed:
    """The columns of one alias of a joined row, under their own names, so the row
    mappers of the sibling repositories read them."""

    def __init__(self, row: asyncpg.Record, alias: str) -> None:
        self._row = row
        self._prefix = alias + "_"

    def __getitem__(self, key: str) -> Any:
        return self._row[self._prefix + key]


def _person_u(row: asyncpg.Record) -> Person:
    """The public part of the user ``u`` of a joined row (``_PERSON``'s columns)."""
    return _person(row, "u_")


def _feed_video(row: asyncpg.Record) -> Video:
    return _video(row, "v_")


# What a feed item shows of its author: model.accounts.FeedAuthor's fields, each the
# users column of its name. Their public part only, never the email, the password hash or
# the account's state (the statements judge that in SQL, _ACTIVE, and bring none of it
# to the process).
_FEED_AUTHOR_COLUMNS = ", ".join(f.name for f in attrs.fields(FeedAuthor))
_FEED_AUTHOR_KEYS = tuple(f"u_{f.name}" for f in attrs.fields(FeedAuthor))


def _feed_author(row: asyncpg.Record) -> FeedAuthor:
    return FeedAuthor(*[row[key] for key in _FEED_AUTHOR_KEYS])


_PERSON = _select(PERSON_COLUMNS, "u")  # the user u's public part, for _person_u
_V = _select(_VIDEO_ROW, "v")

# The author ``u`` is someone to others (verified, neither banned nor suspended) then.
_ACTIVE = SHOWN_USER

# Neither of the viewer and ``other`` blocked the other. Two NOT EXISTS (not one with
# an OR) so that each is an anti-join on a primary key or the blocked_id index.
_UNBLOCKED = (
    "NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $1 AND b.blocked_id = {other})"
    " AND NOT EXISTS "
    "(SELECT 1 FROM blocks b WHERE b.blocker_id = {other} AND b.blocked_id = $1)"
)

# The viewer ($1) has not muted ``other``: an anti-join on mutes_pkey. Feeds only (a
# muted user is still found by search, and still a friend).
_UNMUTED = (
    "NOT EXISTS (SELECT 1 FROM mutes m WHERE m.muter_id = $1 AND m.muted_id = {other})"
)

# ---- ENGAGEMENT of a feed item -------------------------------------------------------
# Reaction counts per kind, the viewer's ($1) reaction and the comment count of video
# ``v``: the counters of its row, and my reaction by a reactions_pkey lookup.
ITEM_ENGAGEMENT = """
    SELECT v.heart_count AS heart, v.flame_count AS flame, v.funny_count AS funny,
           v.angry_count AS angry,
           (SELECT r.kind FROM reactions r WHERE r.video_id = v.id AND r.user_id = $1)
               AS my_reaction,
           v.comment_count AS comment_count
"""

# ---- FOR-YOU SIGNALS of a candidate ---------------------------------------------------
# Reactions and comments on video ``v`` (its counters), and how many of the viewer's ($1)
# friends reacted to or commented on it, each friend once however they engaged: ``fe``,
# FRIENDS_ENGAGED's row for ``v`` (none: no friend engaged).
FOR_YOU_SIGNALS = """
    SELECT v.heart_count + v.flame_count + v.funny_count + v.angry_count AS reactions,
           v.comment_count AS comments,
           v.view_count AS views, v.completed_views AS completed,
           coalesce(fe.friends, 0) AS friend_interactions
"""

# The pool's videos that the viewer's ($1) friends reacted to or commented on, with how
# many distinct friends did: computed once per ranking, from the friends' side. For each
# friend, a range of reactions_user_id_idx and of comments_author_id_idx from the pool's
# smallest video id on (every pool video is at or above it; as ids grow with time, that
# is about the friend's engagement of the window), joined to the pool. The cost follows
# the friends' recent activity, not the candidates' popularity (probing every candidate
# for every friend costs ~25x more at 5,000 engaged candidates).
def friends_engaged_sql(pool: str, key: str) -> str:
    """FRIENDS_ENGAGED over the candidates ``pool`` (a CTE or table) keyed by ``key``."""
    return f"""
    SELECT e.video_id, count(DISTINCT e.who) AS friends
    FROM (
        SELECT r.video_id, r.user_id AS who
        FROM friendships f
        JOIN reactions r ON r.user_id = f.friend_id
                        AND r.video_id >= (SELECT min({key}) FROM {pool})
        WHERE f.user_id = $1
        UNION ALL
        SELECT c.video_id, c.author_id
        FROM friendships f
        JOIN comments c ON c.author_id = f.friend_id
                       AND c.video_id >= (SELECT min({key}) FROM {pool})
        WHERE f.user_id = $1
    ) e
    JOIN {pool} p ON p.{key} = e.video_id
    GROUP BY e.video_id
"""


FRIENDS_ENGAGED = friends_engaged_sql("pool", "id")

# ---- FOR-YOU ELIGIBILITY of a candidate ------------------------------------------------
# The feeds' visibility rule for a public candidate ``v`` by author ``u``, for the viewer
# ($1) at {now}: not mine, not seen, the author someone to others and not blocked either
# way. The one place both rankings (at request time and ahead of it) take it from.
FOR_YOU_ELIGIBLE = (
    "v.author_id <> $1"
    " AND NOT EXISTS (SELECT 1 FROM video_views w WHERE w.user_id = $1 AND w.video_id = v.id)"
    " AND " + _ACTIVE + " AND " + _UNBLOCKED.format(other="v.author_id")
    + " AND " + _UNMUTED.format(other="v.author_id")
)

# A feed item's row: the video, its author's public part, the engagement.
_ITEM_COLUMNS = (
    f"{_V}, {_select(_FEED_AUTHOR_COLUMNS, 'u')}, "
    "e.heart, e.flame, e.funny, e.angry, e.my_reaction, e.comment_count"
)


def _item(row: asyncpg.Record) -> FeedItem:
    return FeedItem(
        video=_feed_video(row),
        author=_feed_author(row),
        reactions={kind: int(row[kind]) for kind in REACTION_KINDS},
        my_reaction=row["my_reaction"],
        comment_count=int(row["comment_count"]),
    )


def _keyset_condition(cursor: bool, newer: bool, first: int) -> tuple[str, str]:
    """(condition, order) for a keyset page whose cursor travels as parameters ``$first``
    (created_at) and ``$first+1`` (id): older items newest first, or newer items oldest
    first (the ones right after the cursor; the caller reverses them)."""
    if not cursor:
        return "", "v.created_at DESC, v.id DESC"
    if newer:
        return f"AND (v.created_at, v.id) > (${first}, ${first + 1})", "v.created_at, v.id"
    return (
        f"AND (v.created_at, v.id) < (${first}, ${first + 1})",
        "v.created_at DESC, v.id DESC",
    )


def friends_feed_sql(*, cursor: bool, newer: bool) -> str:
    """The friends feed. $1 viewer, $2 since, $3 until, $4 limit, $5 now, [$6 created_at,
    $7 id of the cursor]. For each friend, a range scan of videos_author_created_idx (a
    LATERAL join over the viewer's friendships, at most $4 rows each), then a top-N sort."""
    keyset, order = _keyset_condition(cursor, newer, 6)
    return f"""
        SELECT {_ITEM_COLUMNS}
        FROM friendships f
        JOIN users u ON u.id = f.friend_id
        CROSS JOIN LATERAL (
            SELECT * FROM videos v
            WHERE v.author_id = f.friend_id
              AND v.created_at >= $2 AND v.created_at < $3
              {keyset}
              AND v.status = 'ready'
            ORDER BY {order}
            LIMIT $4
        ) v
        CROSS JOIN LATERAL ({ITEM_ENGAGEMENT}) e
        WHERE f.user_id = $1
          AND {_ACTIVE.format(now="$5")}
          AND {_UNBLOCKED.format(other="f.friend_id")}
          AND {_UNMUTED.format(other="f.friend_id")}
        ORDER BY {order}
        LIMIT $4
    """


def global_feed_sql(*, cursor: bool, newer: bool) -> str:
    """The global feed. $1 viewer, $2 limit, $3 now, [$4 created_at, $5 id of the cursor].
    A range scan of the partial index videos_ready_public_idx, joined to the author."""
    keyset, order = _keyset_condition(cursor, newer, 4)
    return f"""
        SELECT {_ITEM_COLUMNS}
        FROM videos v
        JOIN users u ON u.id = v.author_id
        CROSS JOIN LATERAL ({ITEM_ENGAGEMENT}) e
        WHERE v.status = 'ready' AND v.visibility = 'public'
          {keyset}
          AND {_ACTIVE.format(now="$3")}
          AND {_UNBLOCKED.format(other="v.author_id")}
          AND {_UNMUTED.format(other="v.author_id")}
        ORDER BY {order}
        LIMIT $2
    """


# ---- FOR-YOU SCORE ------------------------------------------------------------------
# policies.ranking.for_you_base term by term, with the same float operations in the same
# order, for candidate ``v`` whose age is ``a.hours`` (FOR_YOU_AGE at {as_of}) and whose
# signals are ``s`` (``reactions``, ``comments``, ``views``, ``completed``); the weights
# are parameters. Adding the friend term to it afterwards gives the very float of
# for_you_score.
FOR_YOU_AGE = """
    SELECT greatest(0.0::float8,
                    extract(epoch FROM {as_of}::timestamptz - v.created_at)::float8 / 3600.0)
           AS hours
"""
FOR_YOU_BASE = (
    "{wf}::float8 * power(0.5::float8, a.hours / {half}::float8)"
    " + {we}::float8 * (({rw}::float8 * s.reactions + {cw}::float8 * s.comments)"
    " / (a.hours + 1.0))"
    " + {wc}::float8 * (s.completed::float8 / (s.views::float8 + 1.0))"
)

# $1 viewer, $2 as_of, $3 as_of - candidate_window, $4 candidate_limit, $5 weight_freshness,
# $6 freshness_half_life_hours, $7 weight_engagement, $8 reaction_weight,
# $9 comment_weight, $10 weight_friends, $11 candidate_pool, $12 weight_completion. The
# score is policies.ranking.for_you_score, term
# by term: age_hours = seconds / 3600 (as timedelta.total_seconds() / 3600 in Python).
RANK_FOR_YOU_SQL = f"""
    WITH pool AS MATERIALIZED (  -- the newest public videos, read off the partial index,
        -- with the counters FOR_YOU_SIGNALS reads
        SELECT id, author_id, created_at,
               heart_count, flame_count, funny_count, angry_count, comment_count,
               view_count, completed_views
        FROM videos
        WHERE status = 'ready' AND visibility = 'public'
          AND created_at >= $3 AND created_at <= $2
        ORDER BY created_at DESC, id DESC
        LIMIT $11
    ), friends_engaged AS MATERIALIZED (
        {FRIENDS_ENGAGED}
    )
    SELECT v.id
    FROM pool v
    JOIN users u ON u.id = v.author_id
    LEFT JOIN friends_engaged fe ON fe.video_id = v.id
    CROSS JOIN LATERAL ({FOR_YOU_SIGNALS}) s
    CROSS JOIN LATERAL ({FOR_YOU_AGE.format(as_of="$2")}) a
    WHERE {FOR_YOU_ELIGIBLE.format(now="$2")}
    ORDER BY
        {FOR_YOU_BASE.format(wf="$5", half="$6", we="$7", rw="$8", cw="$9", wc="$12")}
        + $10::float8 * s.friend_interactions DESC,
        v.id DESC
    LIMIT $4
"""

# $1 viewer, $2 snapshot id, $3 after rank, $4 limit, $5 now. One row with a NULL rank
# when the snapshot exists but has nothing more to show; no row when it is unknown or
# someone else's.
SNAPSHOT_PAGE_SQL = f"""
    SELECT i.*
    FROM feed_snapshots sn
    LEFT JOIN LATERAL (
        SELECT r.n + $3 AS rank, {_ITEM_COLUMNS}
        FROM unnest(sn.video_ids[$3 + 1:]) WITH ORDINALITY AS r (video_id, n)
        JOIN videos v ON v.id = r.video_id
        JOIN users u ON u.id = v.author_id
        CROSS JOIN LATERAL ({ITEM_ENGAGEMENT}) e
        WHERE v.status = 'ready'
          AND (v.visibility = 'public' OR v.author_id = $1 OR EXISTS (
                SELECT 1 FROM friendships f WHERE f.user_id = $1 AND f.friend_id = v.author_id))
          AND {_ACTIVE.format(now="$5")}
          AND {_UNBLOCKED.format(other="v.author_id")}
          AND {_UNMUTED.format(other="v.author_id")}
        ORDER BY r.n
        LIMIT $4
    ) i ON true
    WHERE sn.id = $2 AND sn.user_id = $1
"""

# kind -> (table, the owner's column, the other user's column)
_CONTACT_TABLES = {
    "friends": ("friendships", "user_id", "friend_id"),
    "incoming": ("friend_requests", "to_id", "from_id"),
    "outgoing": ("friend_requests", "from_id", "to_id"),
    "blocked": ("blocks", "blocker_id", "blocked_id"),
    "muted": ("mutes", "muter_id", "muted_id"),
}
_SHOWS_HIDDEN = ("blocked", "muted")  # lists that keep banned and suspended users


def contacts_sql(kind: str, *, after: bool) -> str:
    """$1 user, $2 limit, [$3 since, $4 user id of the keyset], then (but for the blocked
    and muted lists, which show banned users too) the time a suspension is judged at."""
    table, owner, other = _CONTACT_TABLES[kind]
    keyset = f"AND (c.created_at, c.{other}) < ($3, $4)" if after else ""
    now = "$5" if after else "$3"
    active = "" if kind in _SHOWS_HIDDEN else f"AND {_ACTIVE.format(now=now)}"
    return f"""
        SELECT c.created_at AS since, {_PERSON}
        FROM {table} c
        JOIN users u ON u.id = c.{other}
        WHERE c.{owner} = $1 {keyset} {active}
        ORDER BY c.created_at DESC, c.{other} DESC
        LIMIT $2
    """


def search_sql(*, after: bool) -> str:
    """$1 viewer, $2 LIKE pattern (escaped prefix + '%'), $3 prefix, $4 the first string
    after every match, $5 limit, $6 now, [$7 nickname to start after].

    ``~>=~`` / ``~<~`` are the operators of users_nickname_key (text_pattern_ops, byte
    order): the range keeps the index in use in generic plans (a LIKE with a parameter
    pattern becomes an index range only in custom plans), and the order matches the
    keyset's whatever the database collation."""
    keyset = "AND lower(u.nickname) ~>~ $7" if after else ""
    return f"""
        SELECT {_PERSON}
        FROM users u
        WHERE lower(u.nickname) ~>=~ $3 AND lower(u.nickname) ~<~ $4
          AND lower(u.nickname) LIKE $2
          {keyset}
          AND u.id <> $1
          AND {_ACTIVE.format(now="$6")}
          AND {_UNBLOCKED.format(other="u.id")}
        ORDER BY lower(u.nickname) USING ~<~
        LIMIT $5
    """


def like_prefix(prefix: str) -> str:
    """A LIKE pattern for "starts with ``prefix``" (backslash is LIKE's escape)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def _after_prefix(prefix: str) -> str:
    """The least string greater than every string that starts with ``prefix``, in byte
    (code point) order."""
    if not prefix:
        return "\U0010ffff"
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


# ---- (statement, arguments) exactly as the repositories run them --------------------
# tests/integration/test_feed_plans.py EXPLAINs these, so what it checks is what runs.

Query = tuple[str, list[Any]]


def friends_feed_query(
    viewer: int,
    since: datetime,
    until: datetime,
    cursor: Keyset | None,
    newer: bool,
    limit: int,
    now: datetime,
) -> Query:
    args: list[Any] = [viewer, since, until, max(0, limit), now]
    if cursor is not None:
        args += [cursor.created_at, cursor.id]
    return friends_feed_sql(cursor=cursor is not None, newer=newer), args


def global_feed_query(
    viewer: int, cursor: Keyset | None, newer: bool, limit: int, now: datetime
) -> Query:
    args: list[Any] = [viewer, max(0, limit), now]
    if cursor is not None:
        args += [cursor.created_at, cursor.id]
    return global_feed_sql(cursor=cursor is not None, newer=newer), args


def rank_for_you_query(viewer: int, as_of: datetime, settings: FeedSettings) -> Query:
    return RANK_FOR_YOU_SQL, [
        viewer,
        as_of,
        as_of - settings.candidate_window,
        max(0, settings.candidate_limit),
        float(settings.weight_freshness),
        float(settings.freshness_half_life_hours),
        float(settings.weight_engagement),
        float(settings.reaction_weight),
        float(settings.comment_weight),
        float(settings.weight_friends),
        max(0, settings.candidate_pool),
        float(settings.weight_completion),
    ]


def snapshot_page_query(
    snapshot_id: int, viewer: int, after_rank: int, limit: int, now: datetime
) -> Query:
    return SNAPSHOT_PAGE_SQL, [viewer, snapshot_id, max(0, after_rank), max(0, limit), now]


def search_query(viewer: int, prefix: str, after: str | None, limit: int, now: datetime) -> Query:
    value = prefix.lower()
    args: list[Any] = [viewer, like_prefix(value), value, _after_prefix(value), max(0, limit), now]
    if after is not None:
        args.append(after.lower())
    return search_sql(after=after is not None), args


class PostgresSocialRepository(Repository):
    def __init__(self, conn: asyncpg.Connection, clock: Clock | None = None) -> None:
        super().__init__(conn)
        self._clock: Clock = clock or UtcClock()

    async def relation(self, me: int, other: int) -> Relation:
        if me == other:
            return Relation.SELF
        row = await self._fetchrow(
            """
            SELECT
                EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2)
                    AS blocked,
                EXISTS (SELECT 1 FROM friendships WHERE user_id = $1 AND friend_id = $2)
                    AS friends,
                EXISTS (SELECT 1 FROM friend_requests WHERE from_id = $1 AND to_id = $2)
                    AS sent,
                EXISTS (SELECT 1 FROM friend_requests WHERE from_id = $2 AND to_id = $1)
                    AS received
            """,
            me,
            other,
        )
        assert row is not None
        if row["blocked"]:
            return Relation.BLOCKED
        if row["friends"]:
            return Relation.FRIENDS
        if row["sent"]:
            return Relation.REQUEST_SENT
        if row["received"]:
            return Relation.REQUEST_RECEIVED
        return Relation.NONE

    async def blocked_ids(self, user_id: int) -> set[int]:
        rows = await self._fetch(
            "SELECT blocked_id AS id FROM blocks WHERE blocker_id = $1 "
            "UNION SELECT blocker_id FROM blocks WHERE blocked_id = $1",
            user_id,
        )
        return {r["id"] for r in rows}

    async def blocked_either_way(self, a: int, b: int) -> bool:
        return bool(
            await self._fetchval(
                """
                SELECT EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2)
                    OR EXISTS (SELECT 1 FROM blocks WHERE blocker_id = $2 AND blocked_id = $1)
                """,
                a,
                b,
            )
        )

    async def add_request(self, request: FriendRequest) -> None:
        """Raises Conflict(code="request_exists"), NotFound(code="user_not_found")."""
        added = await self._fetchval(
            """
            INSERT INTO friend_requests (from_id, to_id, created_at) VALUES ($1, $2, $3)
            ON CONFLICT (from_id, to_id) DO NOTHING
            RETURNING true
            """,
            request.from_id,
            request.to_id,
            request.created_at,
        )
        if not added:
            raise Conflict("You asked already.", code="request_exists")

    async def delete_request(self, from_id: int, to_id: int) -> bool:
        status = await self._execute(
            "DELETE FROM friend_requests WHERE from_id = $1 AND to_id = $2", from_id, to_id
        )
        return _affected(status) > 0

    async def lock_pair(self, a: int, b: int) -> None:
        # A transaction-level advisory lock on a hash of the unordered pair: it needs no
        # row (a request may not exist yet) and conflicts with nothing else. Two pairs
        # sharing a hash only wait for each other.
        await self._execute(
            "SELECT pg_advisory_xact_lock(hashtextextended("
            "'friends:' || least($1::bigint, $2::bigint) || ':' || greatest($1, $2), 0))",
            a,
            b,
        )

    async def add_friendship(self, a: int, b: int, at: datetime) -> None:
        # One statement: the friendship both ways, and the end of any request between us.
        await self._execute(
            """
            WITH unrequest AS (
                DELETE FROM friend_requests
                WHERE (from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1)
            )
            INSERT INTO friendships (user_id, friend_id, created_at)
            VALUES ($1, $2, $3), ($2, $1, $3)
            ON CONFLICT (user_id, friend_id) DO NOTHING
            """,
            a,
            b,
            at,
        )

    async def remove_friendship(self, a: int, b: int) -> bool:
        status = await self._execute(
            """
            DELETE FROM friendships
            WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)
            """,
            a,
            b,
        )
        return _affected(status) > 0

    async def add_block(self, blocker: int, blocked: int, at: datetime) -> None:
        # One statement: the block, and the end of any friendship and request between us.
        await self._execute(
            """
            WITH unfriend AS (
                DELETE FROM friendships
                WHERE (user_id = $1 AND friend_id = $2) OR (user_id = $2 AND friend_id = $1)
            ), unrequest AS (
                DELETE FROM friend_requests
                WHERE (from_id = $1 AND to_id = $2) OR (from_id = $2 AND to_id = $1)
            )
            INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3)
            ON CONFLICT (blocker_id, blocked_id) DO NOTHING
            """,
            blocker,
            blocked,
            at,
        )

    async def remove_block(self, blocker: int, blocked: int) -> bool:
        status = await self._execute(
            "DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2", blocker, blocked
        )
        return _affected(status) > 0

    async def add_mute(self, muter: int, muted: int, at: datetime) -> None:
        """Raises NotFound(code="user_not_found")."""
        await self._execute(
            """
            INSERT INTO mutes (muter_id, muted_id, created_at) VALUES ($1, $2, $3)
            ON CONFLICT (muter_id, muted_id) DO NOTHING
            """,
            muter,
            muted,
            at,
        )

    async def remove_mute(self, muter: int, muted: int) -> bool:
        status = await self._execute(
            "DELETE FROM mutes WHERE muter_id = $1 AND muted_id = $2", muter, muted
        )
        return _affected(status) > 0

    async def muted_ids(self, user_id: int) -> set[int]:
        rows = await self._fetch("SELECT muted_id FROM mutes WHERE muter_id = $1", user_id)
        return {r["muted_id"] for r in rows}

    async def has_muted(self, muter: int, muted: int) -> bool:
        return bool(
            await self._fetchval(
                "SELECT EXISTS (SELECT 1 FROM mutes WHERE muter_id = $1 AND muted_id = $2)",
                muter,
                muted,
            )
        )

    async def list_contacts(
        self, user_id: int, kind: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[Contact]:
        if kind not in _CONTACT_TABLES:
            raise ValueError(f"unknown contact list {kind!r}")
        args: list[Any] = [user_id, max(0, limit)]
        if after is not None:
            args += [after[0], after[1]]
        if kind not in _SHOWS_HIDDEN:
            args.append(self._clock.now())
        rows = await self._fetch(contacts_sql(kind, after=after is not None), *args)
        return [Contact(user=_person_u(row), since=row["since"]) for row in rows]

    async def friend_count(self, user_id: int) -> int:
        return int(
            await self._fetchval("SELECT count(*) FROM friendships WHERE user_id = $1", user_id)
        )

    async def search(self, viewer: int, prefix: str, after: str | None, limit: int) -> list[Person]:
        sql, args = search_query(viewer, prefix, after, limit, self._clock.now())
        return [_person_u(row) for row in await self._fetch(sql, *args)]


class PostgresFeedRepository(Repository):
    def __init__(self, conn: asyncpg.Connection, clock: Clock | None = None) -> None:
        super().__init__(conn)
        self._clock: Clock = clock or UtcClock()

    async def _page(self, query: Query, cursor: Keyset | None, newer: bool) -> list[FeedItem]:
        sql, args = query
        items = [_item(row) for row in await self._fetch(sql, *args)]
        if cursor is not None and newer:
            items.reverse()  # fetched oldest first, from the cursor on
        return items

    async def friends_feed(
        self,
        viewer: int,
        since: datetime,
        until: datetime,
        cursor: Keyset | None,
        newer: bool,
        limit: int,
    ) -> list[FeedItem]:
        query = friends_feed_query(viewer, since, until, cursor, newer, limit, self._clock.now())
        return await self._page(query, cursor, newer)

    async def global_feed(
        self, viewer: int, cursor: Keyset | None, newer: bool, limit: int
    ) -> list[FeedItem]:
        query = global_feed_query(viewer, cursor, newer, limit, self._clock.now())
        return await self._page(query, cursor, newer)

    async def rank_for_you(self, viewer: int, as_of: datetime, settings: FeedSettings) -> list[int]:
        sql, args = rank_for_you_query(viewer, as_of, settings)
        return [int(row["id"]) for row in await self._fetch(sql, *args)]

    async def save_snapshot(
        self, viewer: int, video_ids: list[int], at: datetime, *, keep: int
    ) -> int:
        """Raises NotFound(code="user_not_found") for an unknown viewer."""
        snapshot_id = await self._fetchval(
            """
            INSERT INTO feed_snapshots (user_id, created_at, video_ids)
            VALUES ($1, $2, $3::bigint[])
            RETURNING id
            """,
            viewer,
            at,
            list(video_ids),
        )
        # feed_snapshots_user_id_idx: a handful of rows per viewer.
        await self._execute(
            """
            DELETE FROM feed_snapshots
            WHERE user_id = $1 AND id NOT IN (
                SELECT id FROM feed_snapshots WHERE user_id = $1 ORDER BY id DESC LIMIT $2)
            """,
            viewer,
            max(1, keep),
        )
        return int(snapshot_id)

    async def latest_snapshot(self, viewer: int, after: datetime) -> int | None:
        found = await self._fetchval(
            "SELECT max(id) FROM feed_snapshots WHERE user_id = $1 AND created_at > $2",
            viewer,
            after,
        )
        return None if found is None else int(found)

    async def lock_snapshots(self, viewer: int) -> None:
        # A transaction-level advisory lock: it needs no row and ends with the unit of work.
        await self._execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('for_you:' || $1::bigint, 0))",
            viewer,
        )

    async def snapshot_page(
        self, snapshot_id: int, viewer: int, after_rank: int, limit: int
    ) -> list[tuple[int, FeedItem]]:
        sql, args = snapshot_page_query(snapshot_id, viewer, after_rank, limit, self._clock.now())
        rows = await self._fetch(sql, *args)
        if not rows:
            raise NotFound("That ranking has expired; start again.", code="snapshot_expired")
        return [(int(row["rank"]), _item(row)) for row in rows if row["rank"] is not None]

    async def delete_snapshots(self, created_before: datetime) -> int:
        status = await self._execute(
            "DELETE FROM feed_snapshots WHERE created_at < $1", created_before
        )
        return _affected(status)

    async def record_view(self, viewer: int, video_id: int, at: datetime) -> bool:
        """Raises NotFound(code="user_not_found" | "video_not_found")."""
        added = await self._fetchval(
            """
            INSERT INTO video_views (user_id, video_id, viewed_at) VALUES ($1, $2, $3)
            ON CONFLICT (user_id, video_id) DO NOTHING
            RETURNING true
            """,
            viewer,
            video_id,
            at,
        )
        return bool(added)

    async def latest_post(self, user_id: int, since: datetime, until: datetime) -> datetime | None:
        # videos_author_created_idx, newest first from ``until``: stops at the first ready one.
        found = await self._fetchval(
            """
            SELECT max(created_at) FROM videos
            WHERE author_id = $1 AND created_at >= $2 AND created_at < $3
              AND status = 'ready'
            """,
            user_id,
            since,
            until,
        )
        return cast(datetime | None, found)
