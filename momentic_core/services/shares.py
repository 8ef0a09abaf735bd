"""Share links: a public video's page for people without an account (``/v/{slug}``).

A guest opening a link gets the video only while a guest may see it
(``visibility.guest_may_see``); for anything else (friends-only, locked, held, removed,
deleted, unready, an author banned, suspended, unverified or private, a slug no video has)
the answer is the same nothing, so a link tells no one what it was. Each opening counts
against the ``share:ip`` limit first. The slug is the id under a server key
(``policies.share_links``): nothing is stored, and opening a page writes nothing.
"""

from __future__ import annotations

import attrs

from momentic_core.errors import NotFound
from momentic_core.model.accounts import User
from momentic_core.model.videos import Video
from momentic_core.policies.share_links import ShareSlugs
from momentic_core.ports import Clock, UnitOfWorkFactory
from momentic_core.services import visibility
from momentic_core.services.throttle import Throttle

SHARE_LIMIT = "share:ip"


@attrs.frozen
class SharedVideo:
    video: Video
    author: User


class Shares:
    def __init__(
        self, *, uow: UnitOfWorkFactory, clock: Clock, throttle: Throttle, slugs: ShareSlugs
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._throttle = throttle
        self._slugs = slugs

    def slug(self, video_id: int) -> str:
        """The slug of the video's share link (whether or not a guest may open it now)."""
        return self._slugs.slug(video_id)

    async def open(self, slug: str, ip: str) -> SharedVideo | None:
        """The video behind ``slug`` if a guest may see it now, else None (whatever the
        reason). Raises RateLimited(code="rate_limited") past ``share:ip`` for ``ip``."""
        await self._throttle.check(SHARE_LIMIT, ip)
        video_id = self._slugs.video_id(slug)
        if video_id is None:
            return None
        async with self._uow(read_only=True) as tx:
            try:
                video = await tx.videos.get(video_id)
                author = await tx.users.get(video.author_id)
            except NotFound:
                return None  # deleted (the video, or its author's account)
        if not visibility.guest_may_see(self._clock.now(), video, author):
            return None
        return SharedVideo(video, author)
