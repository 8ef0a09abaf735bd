# ruff: noqa: S608 -- queries interpolate only the fixed fragments of .social; every value
# travels as a $n parameter.
"""The For-You ranking ahead of the request on PostgreSQL (migration 20261207_70).

``refresh`` rewrites ``for_you_candidates`` in one transaction: the pool that
``RANK_FOR_YOU_SQL`` scores (the newest ``candidate_pool`` ready public videos of the
window) with ``FOR_YOU_BASE`` at the refresh time. Readers see the old table or the new
one, never a mix (MVCC); refreshes take an advisory lock, so two never interleave.

``rank`` is one statement: the first ``limit`` candidates in index order
(for_you_candidates_rank_idx) that pass ``FOR_YOU_ELIGIBLE`` and the video's own state
now (still ready and public), united with every eligible candidate a friend engaged with
(from the friends' side, ``friends_engaged_sql``), ordered by ``base + weight_friends *
friends``. A candidate outside the first ``limit`` by base that no friend engaged with
can never reach the top ``limit``, so the result is the full ranking's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from momentic_core.model.social import FeedSettings

from .repositories import Repository
from .social import FOR_YOU_AGE, FOR_YOU_BASE, FOR_YOU_ELIGIBLE, Query, friends_engaged_sql

# $1 as_of, $2 as_of - candidate_window, $3 candidate_pool, $4 weight_freshness,
# $5 freshness_half_life_hours, $6 weight_engagement, $7 reaction_weight, $8 comment_weight,
# $9 weight_completion.
REFRESH_SQL = f"""
    INSERT INTO for_you_candidates (video_id, base)
    SELECT v.id,
        {FOR_YOU_BASE.format(wf="$4", half="$5", we="$6", rw="$7", cw="$8", wc="$9")}
    FROM (
        SELECT id, created_at,
               heart_count, flame_count, funny_count, angry_count, comment_count,
               view_count, completed_views
        FROM videos
        WHERE status = 'ready' AND visibility = 'public'
          AND created_at >= $2 AND created_at <= $1
        ORDER BY created_at DESC, id DESC
        LIMIT $3
    ) v
    CROSS JOIN LATERAL (
        SELECT v.heart_count + v.flame_count + v.funny_count + v.angry_count AS reactions,
               v.comment_count AS comments,
               v.view_count AS views, v.completed_views AS completed
    ) s
    CROSS JOIN LATERAL ({FOR_YOU_AGE.format(as_of="$1")}) a
"""

# Candidate ``c`` passes, now: its video still ready and public and FOR_YOU_ELIGIBLE for
# the viewer. A LATERAL with LIMIT 1 is never flattened into a join, so each candidate is
# probed by primary keys as the index walk reaches it, and the walk stops at the limit
# (a hash join would read every candidate's video first).
_CANDIDATE_NOW = f"""
    CROSS JOIN LATERAL (
        SELECT 1 FROM videos v JOIN users u ON u.id = v.author_id
        WHERE v.id = c.video_id AND v.status = 'ready' AND v.visibility = 'public'
          AND {FOR_YOU_ELIGIBLE.format(now="$2")}
        LIMIT 1
    ) ok
"""

# $1 viewer, $2 now, $3 refreshed after (now - candidate_stale_after), $4 candidate_limit,
# $5 weight_friends. No row: never refreshed; ids NULL: stale.
RANK_SQL = f"""
    SELECT CASE WHEN r.refreshed_at > $3 THEN ARRAY(
        WITH friends_engaged AS MATERIALIZED (
            {friends_engaged_sql("for_you_candidates", "video_id")}
        ), top AS (
            SELECT c.video_id, c.base, 0 AS friends
            FROM for_you_candidates c
            {_CANDIDATE_NOW}
            ORDER BY c.base DESC, c.video_id DESC
            LIMIT $4
        ), engaged AS (
            SELECT c.video_id, c.base, fe.friends
            FROM friends_engaged fe
            JOIN for_you_candidates c ON c.video_id = fe.video_id
            {_CANDIDATE_NOW}
        )
        SELECT x.video_id
        FROM (SELECT * FROM top UNION ALL SELECT * FROM engaged) x
        GROUP BY x.video_id, x.base  -- a top candidate a friend engaged with: both rows
        ORDER BY x.base + $5::float8 * max(x.friends) DESC, x.video_id DESC
        LIMIT $4
    ) END AS ids
    FROM for_you_refresh r
"""


def refresh_query(as_of: datetime, settings: FeedSettings) -> Query:
    return REFRESH_SQL, [
        as_of,
        as_of - settings.candidate_window,
        max(0, settings.candidate_pool),
        float(settings.weight_freshness),
        float(settings.freshness_half_life_hours),
        float(settings.weight_engagement),
        float(settings.reaction_weight),
        float(settings.comment_weight),
        float(settings.weight_completion),
    ]


def rank_query(viewer: int, now: datetime, settings: FeedSettings) -> Query:
    args: list[Any] = [
        viewer,
        now,
        now - settings.candidate_stale_after,
        max(0, settings.candidate_limit),
        float(settings.weight_friends),
    ]
    return RANK_SQL, args


class PostgresForYouCandidates(Repository):
    async def refresh(self, as_of: datetime, settings: FeedSettings) -> int:
        await self._execute(
            "SELECT pg_advisory_xact_lock(hashtextextended('for_you_candidates', 0))"
        )
        await self._execute("DELETE FROM for_you_candidates")
        sql, args = refresh_query(as_of, settings)
        status = await self._execute(sql, *args)
        await self._execute(
            """
            INSERT INTO for_you_refresh (id, refreshed_at) VALUES (true, $1)
            ON CONFLICT (id) DO UPDATE SET refreshed_at = excluded.refreshed_at
            """,
            as_of,
        )
        return int(status.rsplit(" ", 1)[-1])

    async def rank(
        self, viewer: int, now: datetime, settings: FeedSettings
    ) -> list[int] | None:
        sql, args = rank_query(viewer, now, settings)
        row = await self._fetchrow(sql, *args)
        if row is None or row["ids"] is None:
            return None
        return [int(i) for i in row["ids"]]
