# ruff: noqa: S608 -- queries interpolate only fixed fragments (this module's and the feeds'
# visibility fragments of social.py); every value travels as a $n parameter.
"""asyncpg adapter for hashtag pages, trending tags and text search.

Every page is one statement built from the feeds' fragments (``adapters.postgres.social``:
the item columns and ``ITEM_ENGAGEMENT``, ``SHOWN_USER`` as ``_ACTIVE``, ``_UNBLOCKED``),
so a result is what the feeds would show the viewer: ready videos of authors who are
someone to others and not blocked either way, public, the viewer's own or a friend's
(the visibility in force: a private account's videos are friends-only). The search words
and hashtags were written with the description (``search_index``).

- A hashtag page is a range of ``video_hashtags_tag_idx`` (tag, created_at, video id),
  newest first, joined to its video and author.
- Text search over descriptions: ``videos.search_words @@`` a tsquery of the query's
  words as prefixes (``'word':*``, joined by ``&``), through ``videos_search_words_idx``
  (GIN); newest first, keyset on (created_at, id) like the feeds.
- Nicknames: ``lower(nickname) LIKE 'prefix%'`` or pg_trgm's ``%`` (with
  ``similarity >= rules.TRIGRAM_THRESHOLD`` too, whatever the server's
  ``pg_trgm.similarity_threshold`` below it), both through ``users_nickname_trgm_idx``;
  best similarity first, then the nickname in byte order.
- Trending: the tags of the window's rows of ``video_hashtags_created_idx`` whose videos
  are ready and public, counted per tag (one row per video and tag: distinct videos).

The ``*_query`` helpers give (statement, arguments) exactly as the repository runs them:
``tests/integration/test_search_plans.py`` EXPLAINs them at a million videos.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from momentic_core.model.search import TrendingTag, UserKeyset, UserMatch
from momentic_core.model.social import FeedItem, Keyset
from momentic_core.policies import rules
from momentic_core.ports import Clock

from .repositories import Repository
from .social import (
    _ACTIVE,
    _ITEM_COLUMNS,
    _PERSON,
    _UNBLOCKED,
    _UNMUTED,
    ITEM_ENGAGEMENT,
    Query,
    _item,
    _person_u,
    like_prefix,
)
from .videos import UtcClock

# Video ``v`` by author ``u`` is one the viewer ($1) may find, judged at {now}: the feeds'
# rule (SNAPSHOT_PAGE_SQL's, for any visibility; authors the viewer muted left out).
_FINDABLE = (
    "v.status = 'ready'"
    " AND (v.visibility = 'public' OR v.author_id = $1 OR EXISTS ("
    "SELECT 1 FROM friendships f WHERE f.user_id = $1 AND f.friend_id = v.author_id))"
    " AND " + _ACTIVE + " AND " + _UNBLOCKED.format(other="v.author_id")
    + " AND " + _UNMUTED.format(other="v.author_id")
)


# The author of ``v`` looked up by users_pkey, one row per video read. OFFSET 0 keeps the
# planner from pulling the subquery up into a join, which at a million videos it would
# make a hash join over a sequential scan of users (it cannot know, for a generic plan,
# that a rare word matches a handful of videos); the lookup costs one index probe per
# row, and a page reads few.
_AUTHOR = "CROSS JOIN LATERAL (SELECT * FROM users WHERE users.id = v.author_id OFFSET 0) u"


def _keyset(created_at: str, ident: str, cursor: bool, newer: bool, first: int) -> tuple[str, str]:
    """(condition, order) of a newest-first keyset page on (``created_at``, ``ident``) whose
    cursor travels as ``$first`` and ``$first+1``; newer items come oldest first (the
    caller reverses them), as in social._keyset_condition."""
    desc = f"{created_at} DESC, {ident} DESC"
    if not cursor:
        return "", desc
    if newer:
        return f"AND ({created_at}, {ident}) > (${first}, ${first + 1})", f"{created_at}, {ident}"
    return f"AND ({created_at}, {ident}) < (${first}, ${first + 1})", desc


def hashtag_videos_sql(*, cursor: bool, newer: bool) -> str:
    """$1 viewer, $2 tag, $3 limit, $4 now, [$5 created_at, $6 id of the cursor]."""
    keyset, order = _keyset("h.created_at", "h.video_id", cursor, newer, 5)
    return f"""
        SELECT {_ITEM_COLUMNS}
        FROM video_hashtags h
        JOIN videos v ON v.id = h.video_id
        JOIN users u ON u.id = v.author_id
        CROSS JOIN LATERAL ({ITEM_ENGAGEMENT}) e
        WHERE h.tag = $2
          {keyset}
          AND {_FINDABLE.format(now="$4")}
        ORDER BY {order}
        LIMIT $3
    """


def video_search_sql(*, cursor: bool, newer: bool) -> str:
    """$1 viewer, $2 tsquery, $3 limit, $4 now, [$5 created_at, $6 id of the cursor]."""
    keyset, order = _keyset("v.created_at", "v.id", cursor, newer, 5)
    return f"""
        SELECT {_ITEM_COLUMNS}
        FROM videos v
        {_AUTHOR}
        CROSS JOIN LATERAL ({ITEM_ENGAGEMENT}) e
        WHERE v.search_words @@ $2::tsquery
          {keyset}
          AND {_FINDABLE.format(now="$4")}
        ORDER BY {order}
        LIMIT $3
    """


def user_search_sql(*, after: bool) -> str:
    """$1 viewer, $2 query, $3 LIKE prefix pattern, $4 threshold, $5 limit, $6 now,
    [$7 score, $8 nickname to continue after]."""
    keyset = (
        'AND (s.score < $7::real OR (s.score = $7::real AND lower(u.nickname) COLLATE "C" > $8))'
        if after else ""
    )
    return f"""
        SELECT {_PERSON}, s.score
        FROM users u
        CROSS JOIN LATERAL (SELECT similarity(lower(u.nickname), $2) AS score) s
        WHERE (lower(u.nickname) LIKE $3
               OR (lower(u.nickname) % $2 AND s.score::float8 >= $4::float8))
          {keyset}
          AND u.id <> $1
          AND {_ACTIVE.format(now="$6")}
          AND {_UNBLOCKED.format(other="u.id")}
        ORDER BY s.score DESC, lower(u.nickname) COLLATE "C"
        LIMIT $5
    """


# $1 viewer, $2 since, $3 until, $4 limit, $5 now.
TRENDING_SQL = f"""
    SELECT h.tag, count(*) AS video_count
    FROM video_hashtags h
    -- The window's rows, each video by videos_pkey (not a hash of every video: see
    -- _AUTHOR for why OFFSET 0).
    CROSS JOIN LATERAL (SELECT * FROM videos WHERE videos.id = h.video_id OFFSET 0) v
    {_AUTHOR}
    WHERE h.created_at >= $2 AND h.created_at < $3
      AND v.status = 'ready' AND v.visibility = 'public'
      AND {_ACTIVE.format(now="$5")}
      AND {_UNBLOCKED.format(other="v.author_id")}
    GROUP BY h.tag
    ORDER BY count(*) DESC, h.tag COLLATE "C"
    LIMIT $4
"""


def tsquery(words: tuple[str, ...]) -> str:
    """Every word as a prefix: ``'a':* & 'b':*``. Words are word characters only
    (policies.search), so no quote or backslash needs escaping."""
    return " & ".join(f"'{w}':*" for w in words)


def _cursor_args(cursor: Keyset | None) -> list[Any]:
    return [] if cursor is None else [cursor.created_at, cursor.id]


def hashtag_videos_query(
    viewer: int, tag: str, cursor: Keyset | None, newer: bool, limit: int, now: datetime
) -> Query:
    args: list[Any] = [viewer, tag, max(0, limit), now, *_cursor_args(cursor)]
    return hashtag_videos_sql(cursor=cursor is not None, newer=newer), args


def video_search_query(
    viewer: int,
    words: tuple[str, ...],
    cursor: Keyset | None,
    newer: bool,
    limit: int,
    now: datetime,
) -> Query:
    args: list[Any] = [viewer, tsquery(words), max(0, limit), now, *_cursor_args(cursor)]
    return video_search_sql(cursor=cursor is not None, newer=newer), args


def user_search_query(
    viewer: int, query: str, after: UserKeyset | None, limit: int, now: datetime
) -> Query:
    args: list[Any] = [
        viewer, query, like_prefix(query), rules.TRIGRAM_THRESHOLD, max(0, limit), now,
    ]
    if after is not None:
        args += [after[0], after[1]]
    return user_search_sql(after=after is not None), args


def trending_query(
    viewer: int, since: datetime, until: datetime, limit: int, now: datetime
) -> Query:
    return TRENDING_SQL, [viewer, since, until, max(0, limit), now]


class PostgresSearchRepository(Repository):
    def __init__(self, conn: asyncpg.Connection, clock: Clock | None = None) -> None:
        super().__init__(conn)
        self._clock: Clock = clock or UtcClock()

    async def _items(self, query: Query, cursor: Keyset | None, newer: bool) -> list[FeedItem]:
        sql, args = query
        items = [_item(row) for row in await self._fetch(sql, *args)]
        if cursor is not None and newer:
            items.reverse()  # fetched oldest first, from the cursor on
        return items

    async def hashtag_videos(
        self, viewer: int, tag: str, cursor: Keyset | None, newer: bool, limit: int
    ) -> list[FeedItem]:
        query = hashtag_videos_query(viewer, tag, cursor, newer, limit, self._clock.now())
        return await self._items(query, cursor, newer)

    async def videos(
        self, viewer: int, words: tuple[str, ...], cursor: Keyset | None, newer: bool,
        limit: int,
    ) -> list[FeedItem]:
        if not words:
            return []
        query = video_search_query(viewer, words, cursor, newer, limit, self._clock.now())
        return await self._items(query, cursor, newer)

    async def users(
        self, viewer: int, query: str, after: UserKeyset | None, limit: int
    ) -> list[UserMatch]:
        if not query:
            return []
        sql, args = user_search_query(viewer, query, after, limit, self._clock.now())
        return [
            UserMatch(user=_person_u(row), score=float(row["score"]))
            for row in await self._fetch(sql, *args)
        ]

    async def trending(
        self, viewer: int, since: datetime, until: datetime, limit: int
    ) -> list[TrendingTag]:
        sql, args = trending_query(viewer, since, until, limit, self._clock.now())
        return [
            TrendingTag(tag=row["tag"], video_count=int(row["video_count"]))
            for row in await self._fetch(sql, *args)
        ]
