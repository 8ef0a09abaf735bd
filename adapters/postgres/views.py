"""asyncpg adapter for views (migration 20261207_71), bound to the connection of a
``PostgresUnitOfWork``. ``record`` is one upsert; the video's counters move in the same
statement (the ``video_daily_views_count`` trigger), then the count is read back."""

from __future__ import annotations

from datetime import date

from momentic_core.model.views import ViewRecord, ViewResult, WatchedDay, WatchTotals

from .repositories import Repository

_RECORD = """
    INSERT INTO video_daily_views AS d
        (video_id, viewer_id, day, watched_ms, completed, first_at, last_at)
    VALUES ($1, $2, $3, $4, $5, $6, $6)
    ON CONFLICT (video_id, viewer_id, day) DO UPDATE SET
        watched_ms = greatest(d.watched_ms, excluded.watched_ms),
        completed = d.completed OR excluded.completed,
        last_at = greatest(d.last_at, excluded.last_at)
    RETURNING d.watched_ms, d.completed, (d.xmax = 0) AS inserted
"""


class PostgresViewRepository(Repository):
    async def record(self, view: ViewRecord) -> ViewResult:
        row = await self._fetchrow(
            _RECORD, view.video_id, view.viewer_id, view.day, view.watched_ms,
            view.completed, view.at,
        )
        assert row is not None
        # A statement of its own: the trigger's update is visible to it.
        count = await self._fetchval(
            "SELECT view_count FROM videos WHERE id = $1", view.video_id
        )
        return ViewResult(
            counted=bool(row["inserted"]),
            watched_ms=int(row["watched_ms"]),
            completed=bool(row["completed"]),
            view_count=int(count),
        )

    async def author_totals(self, author_id: int) -> WatchTotals:
        row = await self._fetchrow(
            """
            SELECT coalesce(sum(view_count), 0)::bigint AS views,
                   coalesce(sum(completed_views), 0)::bigint AS completed,
                   coalesce(sum(watched_ms), 0)::bigint AS watched
            FROM videos WHERE author_id = $1 AND status = 'ready'
            """,
            author_id,
        )
        assert row is not None
        return WatchTotals(
            views=int(row["views"]),
            completed_views=int(row["completed"]),
            watched_ms=int(row["watched"]),
        )

    async def by_viewer(
        self, viewer_id: int, after: tuple[date, int] | None, limit: int
    ) -> list[WatchedDay]:
        day, video_id = after if after is not None else (None, None)
        rows = await self._fetch(
            """
            SELECT video_id, day, watched_ms, completed, first_at, last_at
            FROM video_daily_views
            WHERE viewer_id = $1 AND ($2::date IS NULL OR (day, video_id) > ($2, $3::bigint))
            ORDER BY day, video_id
            LIMIT $4
            """,
            viewer_id, day, video_id, max(0, limit),
        )
        return [
            WatchedDay(int(r["video_id"]), r["day"], int(r["watched_ms"]), bool(r["completed"]),
                       r["first_at"], r["last_at"])
            for r in rows
        ]
