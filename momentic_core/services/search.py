"""Search and hashtags: a hashtag's videos, the trending hashtags, and text search over
descriptions (videos) and nicknames (users).

Every answer is what the feeds would show the caller (``ports.SearchRepository``: ready,
visible, authors someone to others and not blocked either way), and a friend's moment
behind the BeReal lock (``visibility.behind_lock``) is not found by its description or
its tags until I post mine: such items are left out of the page, and the page reads on
past them until it is full or the rows end. Its cursors are those of items it shows,
never of a locked moment's (a cursor carries a time and an id, which the lock hides).

Search (``videos`` and ``users``) is rate-limited per user (``search:user``): it tells
which nicknames exist and what descriptions say, so it is guessable.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import attrs

from momentic_core.errors import Invalid
from momentic_core.model.accounts import Principal
from momentic_core.model.search import TrendingTag, UserKeyset, UserMatch
from momentic_core.model.social import FeedItem, FeedPage, Keyset
from momentic_core.policies import rules
from momentic_core.policies.search import nickname_query, normalize_tag, search_words
from momentic_core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from momentic_core.services import visibility
from momentic_core.services.config import Config
from momentic_core.services.feeds import _keyset, _page
from momentic_core.services.throttle import Throttle

# A page's read: (keyset to start from or None, newer than it, how many) -> rows, newest
# first (of those nearest the keyset).
_Fetch = Callable[[Keyset | None, bool, int], Awaitable[list[FeedItem]]]

SEARCH_LIMIT = "search:user"
TRENDING_WINDOW = timedelta(hours=rules.TRENDING_HOURS)


@attrs.frozen
class UserPage:
    items: list[UserMatch]
    next: UserKeyset | None  # more matches follow this one


def check_query(q: str) -> str:
    """At most ``rules.SEARCH_QUERY_MAX`` characters, not all of them blanks (the
    document's schema says just that); trimmed. Raises Invalid(code="invalid_query")."""
    value = q.strip()
    if not value or len(q) > rules.SEARCH_QUERY_MAX:
        raise Invalid(
            f"Search with up to {rules.SEARCH_QUERY_MAX} characters, not only blanks.",
            code="invalid_query",
            field="q",
        )
    return value


class Search:
    def __init__(
        self, *, uow: UnitOfWorkFactory, clock: Clock, config: Config, throttle: Throttle
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._config = config  # the BeReal lock
        self._throttle = throttle

    async def _unlocked(
        self, tx: UnitOfWork, who: Principal, fetch: _Fetch, cursor: Keyset | None,
        newer: bool, limit: int,
    ) -> FeedPage:
        """A page of what ``fetch`` reads (rows newest first, from a keyset on, in the
        page's direction) without the moments behind the BeReal lock for me. Reads on from
        the last row read while locked rows leave it short; the cursors come from the
        items kept only. Locked rows are friends' moments of the last day, so the rounds
        are few."""
        bereal_lock = (await self._config.current()).bereal_lock
        now = self._clock.now()
        backwards = newer and cursor is not None  # rows come oldest last, nearest the cursor
        kept: list[FeedItem] = []
        key = cursor
        while True:
            rows = await fetch(key, backwards, limit + 1)
            locked = await visibility.behind_lock(
                tx, now, who, [i.video for i in rows], bereal_lock
            )
            shown = [i for i in rows if i.video.id not in locked]
            kept = shown + kept if backwards else kept + shown
            if len(rows) <= limit or len(kept) > limit:
                break
            key = _keyset(rows[0] if backwards else rows[-1])
        return _page(kept, cursor, newer, limit)

    async def hashtag(
        self, who: Principal, tag: str, cursor: Keyset | None, newer: bool, limit: int
    ) -> tuple[str, FeedPage]:
        """(the tag, folded; a page of its videos, newest first). Raises
        Invalid(code="invalid_hashtag")."""
        value = normalize_tag(tag)
        if value is None:
            raise Invalid(
                f"A hashtag has 1 to {rules.HASHTAG_MAX} letters, digits and _, with a "
                "letter among them.",
                code="invalid_hashtag",
                field="tag",
            )
        async with self._uow(may_lag=True) as tx:
            page = await self._unlocked(
                tx, who,
                lambda key, up, n: tx.search.hashtag_videos(who.user_id, value, key, up, n),
                cursor, newer, limit,
            )
        return value, page

    async def trending(self, who: Principal, limit: int) -> list[TrendingTag]:
        """The hashtags of the most public videos of the last ``rules.TRENDING_HOURS``."""
        now = self._clock.now()
        async with self._uow(may_lag=True) as tx:
            return await tx.search.trending(who.user_id, now - TRENDING_WINDOW, now, limit)

    async def videos(
        self, who: Principal, q: str, cursor: Keyset | None, newer: bool, limit: int
    ) -> FeedPage:
        """Videos whose description has a word beginning with each word of ``q`` (its
        first ``rules.SEARCH_TERMS_MAX``), newest first. A query without a word finds
        nothing. Raises Invalid(code="invalid_query"), RateLimited."""
        words = search_words(check_query(q))[: rules.SEARCH_TERMS_MAX]
        await self._throttle.check(SEARCH_LIMIT, str(who.user_id))
        if not words:
            return FeedPage(items=[], next=None, prev=cursor)
        async with self._uow(may_lag=True) as tx:
            return await self._unlocked(
                tx, who, lambda key, up, n: tx.search.videos(who.user_id, words, key, up, n),
                cursor, newer, limit,
            )

    async def users(
        self, who: Principal, q: str, after: UserKeyset | None, limit: int
    ) -> UserPage:
        """Users whose nickname starts with ``q`` or is like it (pg_trgm similarity),
        most similar first. Raises Invalid(code="invalid_query"), RateLimited."""
        query = nickname_query(check_query(q))
        await self._throttle.check(SEARCH_LIMIT, str(who.user_id))
        if not query:
            return UserPage(items=[], next=None)
        async with self._uow(may_lag=True) as tx:
            found = await tx.search.users(who.user_id, query, after, limit + 1)
        more = len(found) > limit
        found = found[:limit]
        last = found[-1] if more else None
        return UserPage(
            items=found, next=None if last is None else (last.score, last.user.nickname.lower())
        )
