"""The For-You ranking ahead of the request, in memory: the PostgreSQL adapter's
semantics (adapters/postgres/for_you.py) over two tables of ``MemoryStore``:
``for_you_candidates`` (video id -> base score at the refresh) and ``for_you_refresh``
(key 1 -> the refresh time). Eligibility and the friend signal are the feed
repository's, so both rankings apply one rule."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from momentic_core.model.social import FeedSettings
from momentic_core.model.videos import VideoStatus, Visibility
from momentic_core.policies.ranking import for_you_base, with_friends
from momentic_core.ports import Clock

from .social import InMemoryFeedRepository, friends_engaged

if TYPE_CHECKING:
    from .store import MemoryStore


class InMemoryForYouCandidates:
    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._s = store
        self._feeds = InMemoryFeedRepository(store, clock)

    async def refresh(self, as_of: datetime, settings: FeedSettings) -> int:
        table: dict[int, float] = {}
        for video in self._feeds.for_you_pool(as_of, settings):
            age_hours = (as_of - video.created_at).total_seconds() / 3600.0
            table[video.id] = for_you_base(
                settings, age_hours, sum(video.reactions.values()), video.comment_count,
                video.view_count, video.completed_views,
            )
        self._s.for_you_candidates = table
        self._s.for_you_refresh = {1: as_of}
        return len(table)

    async def rank(
        self, viewer: int, now: datetime, settings: FeedSettings
    ) -> list[int] | None:
        s = self._s
        refreshed = s.for_you_refresh.get(1)
        if refreshed is None or refreshed <= now - settings.candidate_stale_after:
            return None
        scored: list[tuple[float, int]] = []
        for video_id, base in s.for_you_candidates.items():
            video = s.videos.get(video_id)
            if (
                video is None
                or video.status is not VideoStatus.READY
                or video.visibility is not Visibility.PUBLIC
                or not self._feeds.for_you_eligible(viewer, video, now)
            ):
                continue
            score = with_friends(settings, base, friends_engaged(s, viewer, video))
            scored.append((score, video_id))
        scored.sort(reverse=True)  # best score first; ties: newest id first
        return [video_id for _, video_id in scored[: max(0, settings.candidate_limit)]]
