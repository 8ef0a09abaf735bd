"""In-memory views: the PostgreSQL adapter's semantics (migration 20261207_71) over
``MemoryStore.daily_views``, keyed (video, viewer, UTC day). The video's counters move
with the rows, here as the trigger moves them there; ``forget_views_of`` is what the
cascade from a deleted viewer does."""

from __future__ import annotations

from datetime import date

import attrs

from momentic_core.errors import NotFound
from momentic_core.model.videos import VideoStatus
from momentic_core.model.views import ViewRecord, ViewResult, WatchedDay, WatchTotals

from .store import MemoryStore, ViewRow


def _bump(store: MemoryStore, video_id: int, views: int, completed: int, watched: int) -> None:
    video = store.videos.get(video_id)
    if video is None:  # gone with its rows
        return
    store.videos[video_id] = attrs.evolve(
        video,
        view_count=video.view_count + views,
        completed_views=video.completed_views + completed,
        watched_ms=video.watched_ms + watched,
    )


def forget_views_of(store: MemoryStore, user_id: int) -> None:
    """Once a viewer is gone: their rows go, and the counters follow."""
    for key, row in list(store.daily_views.items()):
        if key[1] == user_id:
            del store.daily_views[key]
            _bump(store, key[0], -1, -int(row.completed), -row.watched_ms)


def forget_video_views(store: MemoryStore, video_id: int) -> None:
    store.daily_views = {k: v for k, v in store.daily_views.items() if k[0] != video_id}


class InMemoryViewRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def record(self, view: ViewRecord) -> ViewResult:
        s = self._s
        if view.video_id not in s.videos:
            raise NotFound("The record it refers to does not exist.", code="video_not_found")
        if view.viewer_id not in s.users:
            raise NotFound("The record it refers to does not exist.", code="user_not_found")
        key: tuple[int, int, date] = (view.video_id, view.viewer_id, view.day)
        old = s.daily_views.get(key)
        if old is None:
            s.daily_views[key] = ViewRow(view.watched_ms, view.completed, view.at, view.at)
            _bump(s, view.video_id, 1, int(view.completed), view.watched_ms)
        else:
            new = ViewRow(
                max(old.watched_ms, view.watched_ms), old.completed or view.completed,
                old.first_at, view.at,
            )
            s.daily_views[key] = new
            _bump(s, view.video_id, 0, int(new.completed) - int(old.completed),
                  new.watched_ms - old.watched_ms)
        row = s.daily_views[key]
        return ViewResult(
            counted=old is None,
            watched_ms=row.watched_ms,
            completed=row.completed,
            view_count=s.videos[view.video_id].view_count,
        )

    async def author_totals(self, author_id: int) -> WatchTotals:
        videos = [v for v in self._s.videos.values()
                  if v.author_id == author_id and v.status is VideoStatus.READY]
        return WatchTotals(
            views=sum(v.view_count for v in videos),
            completed_views=sum(v.completed_views for v in videos),
            watched_ms=sum(v.watched_ms for v in videos),
        )

    async def by_viewer(
        self, viewer_id: int, after: tuple[date, int] | None, limit: int
    ) -> list[WatchedDay]:
        rows = sorted(
            ((day, video_id), row) for (video_id, viewer, day), row in self._s.daily_views.items()
            if viewer == viewer_id and (after is None or (day, video_id) > after)
        )
        return [
            WatchedDay(video_id, day, row.watched_ms, row.completed, row.first_at, row.last_at)
            for (day, video_id), row in rows[:max(0, limit)]
        ]
