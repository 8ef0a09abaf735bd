"""Feeds: my friends' day (BeReal), the global stream and the ranked For-You stream.

Every page is one query; cursors are keysets, never offsets. The For-You ranking is
computed once per session and kept as a snapshot, so paging neither repeats nor loses a
video while scores move.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from momentic_core.errors import Invalid
from momentic_core.model.accounts import Principal
from momentic_core.model.jobs import RefreshForYou
from momentic_core.model.social import (
    FeedItem,
    FeedPage,
    FeedSettings,
    Keyset,
    RankedPage,
)
from momentic_core.model.videos import Visibility
from momentic_core.ports import Clock, UnitOfWorkFactory
from momentic_core.services import visibility
from momentic_core.services.config import Config
from momentic_core.services.jobs import JobKind


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """[start, end) of ``day`` in time zone ``zone``, in UTC (DST days are 23 or 25 h)."""
    tz = ZoneInfo(zone)
    try:
        start = datetime.combine(day, time(), tz)
        end = datetime.combine(day + timedelta(days=1), time(), tz)
        return start.astimezone(UTC), end.astimezone(UTC)
    except OverflowError:  # ?day=9999-12-31 or 0001-01-01 east of UTC
        raise Invalid("day is out of range.", code="invalid_query", field="day") from None


def _keyset(item: FeedItem) -> Keyset:
    return Keyset(item.video.created_at, item.video.id)


def _page(items: list[FeedItem], cursor: Keyset | None, newer: bool, limit: int) -> FeedPage:
    """Cut a limit+1 fetch into a page with cursors both ways."""
    more = len(items) > limit
    next_: Keyset | None
    if newer and cursor is not None:
        items = items[-limit:] if more else items  # the ones right after the cursor
        next_ = _keyset(items[-1]) if items else cursor
    else:
        items = items[:limit]
        next_ = _keyset(items[-1]) if more else None
    prev = _keyset(items[0]) if items else cursor
    return FeedPage(items=items, next=next_, prev=prev)


class Feeds:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        config: Config,
        settings: FeedSettings | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self.settings = settings or FeedSettings()
        self._config = config  # the BeReal lock

    async def friends(
        self,
        who: Principal,
        day: date | None,
        cursor: Keyset | None,
        newer: bool,
        limit: int,
    ) -> tuple[date, FeedPage]:
        """My friends' videos of ``day`` (default: today in my time zone), newest first.

        With the BeReal lock on, friends-only items stay locked until I post after the
        moment they answer, for 24 hours at most (``visibility.behind_lock``)."""
        now = self._clock.now()
        bereal_lock = (await self._config.current()).bereal_lock
        async with self._uow(may_lag=True) as tx:
            me = await tx.users.get(who.user_id)
            today = now.astimezone(ZoneInfo(me.time_zone)).date()
            day = day or today
            since, until = day_bounds(day, me.time_zone)
            items = await tx.feeds.friends_feed(
                who.user_id, since, until, cursor, newer, limit + 1
            )
            page = _page(items, cursor, newer, limit)
            locked = await visibility.behind_lock(
                tx, now, who, [i.video for i in page.items], bereal_lock
            )
        if locked:
            page = attrs.evolve(page, items=[
                visibility.sealed_item(i) if i.video.id in locked else i for i in page.items
            ])
        return day, page

    async def global_(
        self, who: Principal, cursor: Keyset | None, newer: bool, limit: int
    ) -> FeedPage:
        async with self._uow(may_lag=True) as tx:
            items = await tx.feeds.global_feed(who.user_id, cursor, newer, limit + 1)
        return _page(items, cursor, newer, limit)

    async def for_you(
        self, who: Principal, snapshot: tuple[int, int] | None, limit: int
    ) -> RankedPage:
        """A page of the ranked stream; the cursor (snapshot id, last rank) pages through
        exactly one ranking, kept as a snapshot.

        A first page (no cursor) reuses my newest snapshot while it is younger than
        ``settings.snapshot_reuse`` and writes nothing; only then does it rank and save a
        new one, under my snapshots' lock, so first pages asked at once save one. Saving
        keeps my newest ``settings.snapshots_per_user`` and drops the rest.

        The ranking reads the candidate table that ``refresh_candidates`` keeps (the
        viewer-independent part of the score, at most ``settings.candidate_refresh``
        old): one statement filters it for me and adds my friends' signal. Without a
        refresh in ``settings.candidate_stale_after`` it ranks at request time instead."""
        settings = await self._ranking()  # (before the units of work: it may read)
        now = self._clock.now()
        fresh_since = now - self.settings.snapshot_reuse
        after = 0
        async with self._uow(may_lag=True) as tx:
            if snapshot is not None:
                snapshot_id, after = snapshot
                found: int | None = snapshot_id
            else:
                found = await tx.feeds.latest_snapshot(who.user_id, fresh_since)
            rows = (
                await tx.feeds.snapshot_page(found, who.user_id, after, limit + 1)
                if found is not None else []
            )
        if found is None:
            async with self._uow() as tx:
                await tx.feeds.lock_snapshots(who.user_id)
                found = await tx.feeds.latest_snapshot(who.user_id, fresh_since)
                if found is None:  # nobody saved one while I waited
                    ids = await tx.candidates.rank(who.user_id, now, settings)
                    if ids is None:  # no fresh candidate table: the job is not running
                        ids = await tx.feeds.rank_for_you(who.user_id, now, settings)
                    found = await tx.feeds.save_snapshot(
                        who.user_id, ids, now, keep=self.settings.snapshots_per_user
                    )
                rows = await tx.feeds.snapshot_page(found, who.user_id, 0, limit + 1)
        snapshot_id = found
        more = len(rows) > limit
        rows = rows[:limit]
        # A friend's video made friends-only after the ranking stays in my snapshot (I
        # may see it), behind the BeReal lock as in the friends feed.
        locked = await self._locked(who, now, [item for _, item in rows])
        return RankedPage(
            items=[visibility.sealed_item(item) if item.video.id in locked else item
                   for _, item in rows],
            snapshot_id=snapshot_id,
            next_rank=rows[-1][0] if more else None,
        )

    async def _locked(self, who: Principal, now: datetime, items: list[FeedItem]) -> set[int]:
        if not any(i.video.visibility is Visibility.FRIENDS for i in items):
            return set()  # (no settings read, no unit of work)
        bereal_lock = (await self._config.current()).bereal_lock
        async with self._uow(may_lag=True) as tx:
            return await visibility.behind_lock(
                tx, now, who, [i.video for i in items], bereal_lock
            )

    async def refresh_candidates(self, job: RefreshForYou | None = None) -> int:
        """Rebuild the For-You candidate table at the clock's time (the job
        ``RefreshForYou``, queued every ``settings.candidate_refresh``). A change of
        the completion weight reaches the table's scores here (at request time at once)."""
        settings = await self._ranking()
        async with self._uow() as tx:
            return await tx.candidates.refresh(self._clock.now(), settings)

    async def _ranking(self) -> FeedSettings:
        """The For-You rules with the admins' weight of completion (runtime setting)."""
        weight = (await self._config.current()).for_you_completion_weight
        return attrs.evolve(self.settings, weight_completion=weight)


def feed_job_kinds(feeds: Feeds) -> list[JobKind[Any]]:
    """The background jobs of this module, for the worker (jobs.JobKind)."""
    return [JobKind(RefreshForYou, feeds.refresh_candidates)]


async def schedule_for_you_refresh(uow: UnitOfWorkFactory) -> None:
    """Queue a refresh of the For-You candidates unless one is queued or running."""
    async with uow() as tx:
        await tx.jobs.enqueue(
            RefreshForYou(), dedupe_key=RefreshForYou.kind, max_attempts=1
        )
