"""In-memory hashtag pages, trending tags and text search, with the PostgreSQL adapter's
answers: the hashtags and search words come from ``momentic_core.policies.search`` (as
PostgreSQL stores them with each description), the nickname similarity is pg_trgm's
(``policies.search.similarity``), and which videos a viewer may find is the feeds' rule
(``InMemoryFeedRepository``, whose paging this reuses)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from momentic_core.model.accounts import Person
from momentic_core.model.search import TrendingTag, UserKeyset, UserMatch
from momentic_core.model.social import FeedItem, Keyset
from momentic_core.model.videos import VideoStatus, Visibility
from momentic_core.policies.search import (
    hashtags,
    matches,
    nickname_matches,
    search_words,
    similarity,
)
from momentic_core.ports import Clock

from .social import InMemoryFeedRepository, _blocked_either_way

if TYPE_CHECKING:
    from .store import MemoryStore


class InMemorySearchRepository:
    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._s = store
        self._clock = clock
        self._feeds = InMemoryFeedRepository(store, clock)

    async def hashtag_videos(
        self, viewer: int, tag: str, cursor: Keyset | None, newer: bool, limit: int
    ) -> list[FeedItem]:
        videos = (v for v in self._s.videos.values() if tag in hashtags(v.description))
        return self._feeds._page(viewer, videos, cursor, newer, limit)

    async def videos(
        self, viewer: int, words: tuple[str, ...], cursor: Keyset | None, newer: bool,
        limit: int,
    ) -> list[FeedItem]:
        if not words:
            return []
        videos = (
            v for v in self._s.videos.values() if matches(search_words(v.description), words)
        )
        return self._feeds._page(viewer, videos, cursor, newer, limit)

    async def users(
        self, viewer: int, query: str, after: UserKeyset | None, limit: int
    ) -> list[UserMatch]:
        if not query:
            return []
        now = self._clock.now()
        found = [
            UserMatch(user=Person.of(u), score=similarity(u.nickname.lower(), query))
            for u in self._s.users.values()
            if u.id != viewer
            and nickname_matches(u.nickname, query)
            and not u.hidden_at(now)
            and not _blocked_either_way(self._s, viewer, u.id)
        ]
        # Best score first, then the nickname in code point order (COLLATE "C").
        def key(m: UserMatch) -> tuple[float, str]:
            return -m.score, m.user.nickname.lower()

        if after is not None:
            found = [m for m in found if key(m) > (-after[0], after[1])]
        found.sort(key=key)
        return found[: max(0, limit)]

    async def trending(
        self, viewer: int, since: datetime, until: datetime, limit: int
    ) -> list[TrendingTag]:
        s = self._s
        now = self._clock.now()
        counts: Counter[str] = Counter()
        for video in s.videos.values():
            author = s.users.get(video.author_id)
            if (
                author is None
                or video.status is not VideoStatus.READY
                or video.visibility is not Visibility.PUBLIC
                or not since <= video.created_at < until
                or author.hidden_at(now)
                or _blocked_either_way(s, viewer, author.id)
            ):
                continue
            counts.update(hashtags(video.description))
        ranked = sorted(counts.items(), key=lambda tc: (-tc[1], tc[0]))
        return [TrendingTag(tag, n) for tag, n in ranked[: max(0, limit)]]
