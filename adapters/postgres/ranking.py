# ruff: noqa: S608 -- queries interpolate only fixed fragments (column lists, the weight
# names, the board conditions and table names of this module); values travel as $n.
"""PostgreSQL ratings, leaderboards, activity and statistics.

- A change of weights takes an exclusive transaction-level advisory lock; every event
  that reads the weights takes it shared (cheap, no row lock, no MultiXact churn on the
  weights row). So a change waits for the events in flight, and the recompute job it
  queues sees all of them.
- ``facts`` locks the users' rows (in id order) before it reads: an event that commits
  meanwhile either came first (and is in the facts) or waits and adds its delta on top
  of the rebuilt rating.
- Leaderboards order by one ascending key (-points, id): the all-time board is a range
  scan of users_board_idx; a period's board sums rating_points since its first day.
- Whether a ban or suspension is in force is judged at the injected clock's time.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from momentic_core.model.accounts import Person
from momentic_core.model.engagement import REACTION_KINDS, no_reactions
from momentic_core.model.ranking import (
    WEIGHT_FIELDS,
    BoardKey,
    DayFacts,
    RankingWeights,
    RatingFacts,
    Scope,
    StatsPoint,
    StreakState,
)
from momentic_core.ports import Clock

from .repositories import PERSON_COLUMNS, SHOWN_USER, Repository, _person

WEIGHTS_LOCK = 0x6D6F6D656E74  # "moment": the advisory lock key of the weights
_ACTIVE = SHOWN_USER  # verified, neither banned nor suspended
_TOTAL = "(v.heart_count + v.flame_count + v.funny_count + v.angry_count)"
# A board entry's user: their public part only (repositories.PERSON_COLUMNS).
_PERSON = ", ".join(f"u.{c}" for c in PERSON_COLUMNS.split(", "))


def _utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def _whole_seconds(microseconds: float | None) -> int | None:
    """A duration in microseconds (a whole number or a half), in whole seconds rounded
    down."""
    return None if microseconds is None else math.floor(microseconds) // 1_000_000


class PostgresRankingRepository(Repository):
    def __init__(self, conn: asyncpg.Connection, clock: Clock) -> None:
        super().__init__(conn)
        self._clock = clock

    async def weights(self) -> RankingWeights:
        row = await self._fetchrow(
            f"SELECT pg_advisory_xact_lock_shared({WEIGHTS_LOCK}), "
            f"{', '.join(WEIGHT_FIELDS)} FROM ranking_weights WHERE id = 1"
        )
        if row is None:
            return RankingWeights()
        return RankingWeights(**{name: row[name] for name in WEIGHT_FIELDS})

    async def set_weights(self, weights: RankingWeights) -> None:
        await self._execute(f"SELECT pg_advisory_xact_lock({WEIGHTS_LOCK})")
        columns = ", ".join(WEIGHT_FIELDS)
        values = ", ".join(f"${i}" for i in range(1, len(WEIGHT_FIELDS) + 1))
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in WEIGHT_FIELDS)
        await self._execute(
            f"INSERT INTO ranking_weights (id, {columns}) VALUES (1, {values}) "
            f"ON CONFLICT (id) DO UPDATE SET {updates}",
            *(getattr(weights, c) for c in WEIGHT_FIELDS),
        )

    async def add_points(
        self, user_id: int, points: int, at: datetime | None, *, max_reactions: int = 0
    ) -> None:
        if at is None:
            await self._execute(
                "UPDATE users SET rating = rating + $2, "
                "max_reactions = greatest(max_reactions, $3) WHERE id = $1",
                user_id,
                points,
                max_reactions,
            )
            return
        await self._execute(
            """
            WITH u AS (
                UPDATE users SET rating = rating + $2,
                    max_reactions = greatest(max_reactions, $4)
                WHERE id = $1 RETURNING id
            )
            INSERT INTO rating_points (user_id, day, points) SELECT id, $3, $2 FROM u
            ON CONFLICT (user_id, day) DO UPDATE SET points = rating_points.points + $2
            """,
            user_id,
            points,
            _utc_day(at),
            max_reactions,
        )

    async def set_streak(self, user_id: int, state: StreakState) -> None:
        await self._execute(
            "UPDATE users SET current_streak = $2, max_streak = $3, last_post_day = $4 "
            "WHERE id = $1",
            user_id,
            state.current,
            state.max,
            state.last_day,
        )

    async def raise_max_reactions(self, user_id: int, total: int) -> None:
        await self._execute(
            "UPDATE users SET max_reactions = $2 WHERE id = $1 AND max_reactions < $2",
            user_id,
            total,
        )

    async def refresh_max_reactions(self, user_id: int) -> None:
        await self._execute(
            f"""
            UPDATE users SET max_reactions = (
                SELECT coalesce(max({_TOTAL}), 0) FROM videos v
                WHERE v.author_id = $1 AND v.status = 'ready')
            WHERE id = $1
            """,
            user_id,
        )

    async def post_days(self, user_id: int, time_zone: str) -> list[date]:
        rows = await self._fetch(
            "SELECT DISTINCT (created_at AT TIME ZONE $2)::date AS day FROM videos "
            "WHERE author_id = $1 AND status = 'ready' ORDER BY day",
            user_id,
            time_zone,
        )
        return [r["day"] for r in rows]

    async def facts(self, user_ids: list[int]) -> list[RatingFacts]:
        ids = sorted(set(user_ids))
        users = await self._fetch(
            "SELECT id, time_zone FROM users WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
            ids,
        )
        if not users:
            return []
        ids = [u["id"] for u in users]
        reactions = await self._fetch(
            """
            SELECT v.author_id, (r.created_at AT TIME ZONE 'UTC')::date AS day, r.kind,
                   count(*)::int AS n
            FROM videos v JOIN reactions r ON r.video_id = v.id
            WHERE v.author_id = ANY($1::bigint[]) AND v.status = 'ready'
              AND r.user_id <> v.author_id
            GROUP BY 1, 2, 3
            """,
            ids,
        )
        comments = await self._fetch(
            """
            SELECT author_id, (first_at AT TIME ZONE 'UTC')::date AS day, count(*)::int AS n
            FROM (  -- one commenter's visible comments on one video earn once
                SELECT v.author_id, min(c.created_at) AS first_at
                FROM videos v JOIN comments c ON c.video_id = v.id
                WHERE v.author_id = ANY($1::bigint[]) AND v.status = 'ready'
                  AND c.author_id <> v.author_id AND NOT c.hidden
                GROUP BY v.author_id, v.id, c.author_id
            ) firsts
            GROUP BY 1, 2
            """,
            ids,
        )
        posts = await self._fetch(
            f"""
            SELECT v.author_id,
                   array_agg(DISTINCT (v.created_at AT TIME ZONE u.time_zone)::date) AS days,
                   array_agg((v.created_at AT TIME ZONE 'UTC')::date) FILTER (WHERE v.on_time)
                       AS on_time,
                   max({_TOTAL})::int AS max_reactions
            FROM videos v JOIN users u ON u.id = v.author_id
            WHERE v.author_id = ANY($1::bigint[]) AND v.status = 'ready'
            GROUP BY 1
            """,
            ids,
        )
        by_kind: dict[int, dict[date, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
        for r in reactions:
            by_kind[r["author_id"]][r["day"]][r["kind"]] = r["n"]
        by_comments: dict[int, dict[date, int]] = defaultdict(dict)
        for r in comments:
            by_comments[r["author_id"]][r["day"]] = r["n"]
        by_posts = {r["author_id"]: r for r in posts}
        out = []
        for u in users:
            uid = u["id"]
            post = by_posts.get(uid)
            on_time: dict[date, int] = defaultdict(int)
            for day in (post["on_time"] or []) if post else []:
                on_time[day] += 1
            days = set(by_kind[uid]) | set(by_comments[uid]) | set(on_time)
            out.append(
                RatingFacts(
                    user_id=uid,
                    time_zone=u["time_zone"],
                    days={
                        d: DayFacts(
                            reactions=dict(by_kind[uid].get(d, {})),
                            comments=by_comments[uid].get(d, 0),
                            on_time=on_time.get(d, 0),
                        )
                        for d in days
                    },
                    post_days=sorted(post["days"]) if post else [],
                    max_reactions=post["max_reactions"] if post else 0,
                )
            )
        return out

    async def store(
        self,
        user_id: int,
        rating: int,
        day_points: dict[date, int],
        streak: StreakState,
        max_reactions: int,
    ) -> None:
        days = sorted(day_points)
        await self._execute(
            """
            WITH gone AS (DELETE FROM rating_points
                          WHERE user_id = $1 AND day <> ALL($7::date[])),
                 u AS (UPDATE users SET rating = $2, current_streak = $3, max_streak = $4,
                                        last_post_day = $5, max_reactions = $6
                       WHERE id = $1 RETURNING id)
            INSERT INTO rating_points (user_id, day, points)
            SELECT u.id, d.day, d.points FROM u, unnest($7::date[], $8::int[]) AS d(day, points)
            ON CONFLICT (user_id, day) DO UPDATE SET points = EXCLUDED.points
            """,
            user_id,
            rating,
            streak.current,
            streak.max,
            streak.last_day,
            max_reactions,
            days,
            [day_points[d] for d in days],
        )

    async def user_ids(self, after: int, limit: int) -> list[int]:
        rows = await self._fetch(
            "SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2", after, limit
        )
        return [r["id"] for r in rows]

    async def count_users(self) -> int:
        return int(await self._fetchval("SELECT count(*) FROM users"))

    async def engaged_authors(self, user_id: int) -> list[int]:
        rows = await self._fetch(
            """
            SELECT v.author_id FROM reactions r JOIN videos v ON v.id = r.video_id
            WHERE r.user_id = $1 AND v.author_id <> $1
            UNION
            SELECT v.author_id FROM comments c JOIN videos v ON v.id = c.video_id
            WHERE c.author_id = $1 AND v.author_id <> $1
            ORDER BY 1
            """,
            user_id,
        )
        return [r["author_id"] for r in rows]

    async def stale_streaks(self, now: datetime, limit: int) -> list[tuple[int, int]]:
        rows = await self._fetch(
            """
            SELECT id, current_streak FROM users
            WHERE current_streak > 0
              AND (last_post_day IS NULL
                   OR last_post_day < ($1::timestamptz AT TIME ZONE time_zone)::date - 1)
            ORDER BY id LIMIT $2
            """,
            now,
            limit,
        )
        return [(r["id"], r["current_streak"]) for r in rows]

    async def time_zones(self) -> list[str]:
        rows = await self._fetch("SELECT DISTINCT time_zone FROM users ORDER BY 1")
        return [r["time_zone"] for r in rows]

    async def user_ids_in_zone(self, time_zone: str, after: int, limit: int) -> list[int]:
        rows = await self._fetch(
            f"""
            SELECT u.id FROM users u
            WHERE u.time_zone = $1 AND u.id > $2 AND {_ACTIVE.format(now="$4")}
            ORDER BY u.id LIMIT $3
            """,
            time_zone,
            after,
            limit,
            self._clock.now(),
        )
        return [r["id"] for r in rows]

    async def posted_for_moment(self, user_ids: list[int], moment_at: datetime) -> set[int]:
        rows = await self._fetch(
            """
            SELECT DISTINCT author_id FROM videos
            WHERE author_id = ANY($1::bigint[]) AND moment_at = $2
              AND status NOT IN ('rejected', 'failed')
            """,
            list(user_ids),
            moment_at,
        )
        return {r["author_id"] for r in rows}

    # ------------------------------------------------------------------ boards

    def _entries(self, scope: Scope, since: datetime | None) -> str:
        """SELECT of (the user's public part, points) for the board; $1 viewer, $2 now,
        $3 first day."""
        friends = (
            " AND (u.id = $1 OR EXISTS (SELECT 1 FROM friendships f"
            " WHERE f.user_id = $1 AND f.friend_id = u.id))"
            if scope is Scope.FRIENDS
            else ""
        )
        # A block hides each from the other on the boards too.
        friends += (
            " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = $1::bigint"
            " AND b.blocked_id = u.id)"
            " AND NOT EXISTS (SELECT 1 FROM blocks b WHERE b.blocker_id = u.id"
            " AND b.blocked_id = $1::bigint)"
        )
        if since is None:
            return (
                f"SELECT {_PERSON}, u.rating AS points FROM users u "
                f"WHERE {_ACTIVE.format(now='$2')}{friends} AND $3::date IS NULL"
            )
        return (
            f"SELECT {_PERSON}, t.points FROM ("
            " SELECT p.user_id, sum(p.points)::int AS points FROM rating_points p"
            " WHERE p.day >= $3 GROUP BY p.user_id HAVING sum(p.points) > 0"
            f") t JOIN users u ON u.id = t.user_id WHERE {_ACTIVE.format(now='$2')}{friends}"
        )

    def _args(self, viewer: int, since: datetime | None) -> tuple[Any, ...]:
        return viewer, self._clock.now(), _utc_day(since) if since else None

    async def board(
        self,
        viewer: int,
        scope: Scope,
        since: datetime | None,
        after: BoardKey | None,
        limit: int,
    ) -> list[tuple[BoardKey, Person]]:
        where = "" if after is None else "WHERE (-e.points, e.id) > (-$5::int, $6::bigint)"
        rows = await self._fetch(
            f"SELECT * FROM ({self._entries(scope, since)}) e {where} "
            "ORDER BY -e.points, e.id LIMIT $4",
            *self._args(viewer, since),
            limit,
            *((after.points, after.user_id) if after else ()),
        )
        return [(BoardKey(r["points"], r["id"]), _person(r)) for r in rows]

    async def rank(
        self, viewer: int, scope: Scope, since: datetime | None, key: BoardKey
    ) -> int:
        count = await self._fetchval(
            f"SELECT count(*) FROM ({self._entries(scope, since)}) e "
            "WHERE (-e.points, e.id) < (-$4::int, $5::bigint)",
            *self._args(viewer, since),
            key.points,
            key.user_id,
        )
        return 1 + int(count)

    async def key_of(self, user_id: int, since: datetime | None) -> BoardKey | None:
        if since is None:
            rating = await self._fetchval("SELECT rating FROM users WHERE id = $1", user_id)
            return None if rating is None else BoardKey(rating, user_id)
        points = await self._fetchval(
            "SELECT sum(points)::int FROM rating_points WHERE user_id = $1 AND day >= $2",
            user_id,
            _utc_day(since),
        )
        return BoardKey(points, user_id) if points and points > 0 else None

    async def above(
        self, viewer: int, scope: Scope, since: datetime | None, key: BoardKey, limit: int
    ) -> list[tuple[BoardKey, Person]]:
        rows = await self._fetch(
            f"SELECT * FROM ({self._entries(scope, since)}) e "
            "WHERE (-e.points, e.id) < (-$5::int, $6::bigint) "
            "ORDER BY -e.points DESC, e.id DESC LIMIT $4",
            *self._args(viewer, since),
            limit,
            key.points,
            key.user_id,
        )
        return [(BoardKey(r["points"], r["id"]), _person(r)) for r in reversed(rows)]


class PostgresStatsRepository(Repository):
    async def record_activity(self, user_id: int, day: date) -> None:
        await self._execute(
            "INSERT INTO user_activity (day, user_id) SELECT $1, id FROM users WHERE id = $2 "
            "ON CONFLICT DO NOTHING",
            day,
            user_id,
        )

    async def _per_day(
        self, table: str, start: date, end: date, column: str = "created_at"
    ) -> dict[date, int]:
        rows = await self._fetch(
            f"""
            SELECT ({column} AT TIME ZONE 'UTC')::date AS day, count(*)::int AS n
            FROM {table}
            WHERE {column} >= ($1::date)::timestamp AT TIME ZONE 'UTC'
              AND {column} < ($2::date + 1)::timestamp AT TIME ZONE 'UTC'
            GROUP BY 1
            """,
            start,
            end,
        )
        return {r["day"]: r["n"] for r in rows}

    async def series(self, start: date, end: date, interval_days: int) -> list[StatsPoint]:
        step = timedelta(days=interval_days)
        starts = []
        b = start
        while b <= end:
            starts.append(b)
            b += step
        last_day = starts[-1] + step - timedelta(days=1)
        new_users = await self._per_day("users", start, last_day)
        uploads = await self._per_day("videos", start, last_day)
        reactions = await self._per_day("reactions", start, last_day)
        comments = await self._per_day("comments", start, last_day)
        opened = await self._per_day("cases", start, last_day, "opened_at")
        # Cases resolved per bucket and the median time to a decision, in microseconds:
        # whole numbers well below 2**53, so percentile_cont's a + (b - a) * 0.5 is
        # exact, and flooring it to seconds agrees with the in-memory adapter.
        resolved = await self._fetch(
            """
            SELECT b.start, count(c.id)::int AS n,
                   percentile_cont(0.5) WITHIN GROUP (
                       ORDER BY (extract(epoch FROM c.decided_at - c.opened_at) * 1000000)::float8
                   ) AS median_us
            FROM unnest($1::date[]) AS b(start)
            LEFT JOIN cases c
              ON c.status = 'resolved'
             AND c.decided_at >= (b.start)::timestamp AT TIME ZONE 'UTC'
             AND c.decided_at < (b.start + $2::int)::timestamp AT TIME ZONE 'UTC'
            GROUP BY b.start
            """,
            starts,
            interval_days,
        )
        decided = {r["start"]: r for r in resolved}
        active = await self._fetch(
            """
            SELECT b.start,
                   (SELECT count(*) FROM user_activity a
                    WHERE a.day BETWEEN b.start AND b.last)::int AS pairs,
                   (SELECT count(DISTINCT a.user_id) FROM user_activity a
                    WHERE a.day BETWEEN b.last - 6 AND b.last)::int AS wau,
                   (SELECT count(DISTINCT a.user_id) FROM user_activity a
                    WHERE a.day BETWEEN b.last - 29 AND b.last)::int AS mau
            FROM unnest($1::date[]) AS b0(start)
            CROSS JOIN LATERAL (SELECT b0.start, b0.start + $2::int - 1 AS last) b
            """,
            starts,
            interval_days,
        )
        by_start = {r["start"]: r for r in active}

        def total(per_day: dict[date, int], first: date) -> int:
            return sum(per_day.get(first + timedelta(days=i), 0) for i in range(interval_days))

        return [
            StatsPoint(
                start=s,
                new_users=total(new_users, s),
                dau=by_start[s]["pairs"] // interval_days,
                wau=by_start[s]["wau"],
                mau=by_start[s]["mau"],
                uploads=total(uploads, s),
                reactions=total(reactions, s),
                comments=total(comments, s),
                reports_opened=total(opened, s),
                reports_resolved=decided[s]["n"],
                median_resolve_seconds=_whole_seconds(decided[s]["median_us"]),
            )
            for s in starts
        ]

    async def user_totals(
        self, user_id: int, *, public_only: bool
    ) -> tuple[int, dict[str, int], int, int]:
        row = await self._fetchrow(
            """
            SELECT count(*)::int AS videos,
                   coalesce(sum(heart_count), 0)::int AS heart,
                   coalesce(sum(flame_count), 0)::int AS flame,
                   coalesce(sum(funny_count), 0)::int AS funny,
                   coalesce(sum(angry_count), 0)::int AS angry,
                   coalesce(sum(comment_count), 0)::int AS comments,
                   (count(*) FILTER (WHERE on_time))::int AS on_time
            FROM videos WHERE author_id = $1 AND status = 'ready'
              AND (NOT $2 OR visibility = 'public')
            """,
            user_id,
            public_only,
        )
        assert row is not None
        reactions = no_reactions()
        for kind in REACTION_KINDS:
            reactions[kind] = row[kind]
        return row["videos"], reactions, row["comments"], row["on_time"]
