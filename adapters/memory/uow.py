"""The in-memory unit of work.

A unit of work holds the store's lock for its whole life (so transactions are serial)
and restores a snapshot on error; the live events emitted in it are published when it
ends without one. A read-only unit of work that writes is a bug: it raises.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from adapters.clock import SystemClock
from momentic_core.ports import Clock, RateLimiter

from .devices import InMemoryDeviceRepository, InMemoryNotificationSettingsRepository
from .engagement import (
    InMemoryCommentRepository,
    InMemoryEventOutbox,
    InMemoryNotificationRepository,
    InMemoryReactionRepository,
    publish,
)
from .for_you import InMemoryForYouCandidates
from .mfa import InMemoryTotpRepository
from .moderation import (
    InMemoryAuditRepository,
    InMemoryConfigRepository,
    InMemoryModerationRepository,
)
from .ranking import InMemoryRankingRepository, InMemoryStatsRepository
from .rate_limiter import InMemoryRateLimiter
from .repositories import (
    InMemoryCodeRepository,
    InMemoryIdentityRepository,
    InMemorySessionRepository,
    InMemoryUserRepository,
)
from .search import InMemorySearchRepository
from .social import InMemoryFeedRepository, InMemorySocialRepository
from .store import MemoryStore
from .videos import InMemoryJobQueue, InMemoryUploadRepository, InMemoryVideoRepository
from .views import InMemoryViewRepository


class InMemoryUnitOfWork:
    def __init__(
        self,
        store: MemoryStore,
        *,
        clock: Clock | None = None,
        read_only: bool = False,
        may_lag: bool = False,  # one store, nothing lags: a read-only block
    ) -> None:
        self._store = store
        self._read_only = read_only or may_lag  # checked: a write in one is a bug
        self.users = InMemoryUserRepository(store)
        self.codes = InMemoryCodeRepository(store)
        self.sessions = InMemorySessionRepository(store)
        self.identities = InMemoryIdentityRepository(store)
        self.videos = InMemoryVideoRepository(store)
        self.uploads = InMemoryUploadRepository(store)
        self.views = InMemoryViewRepository(store)
        # The clock stamps enqueued jobs: pass the one the job runner uses.
        self.jobs = InMemoryJobQueue(store, clock or SystemClock())
        # The clock also tells whether a suspension is in force (feeds, lists, search).
        self.social = InMemorySocialRepository(store, clock or SystemClock())
        self.feeds = InMemoryFeedRepository(store, clock or SystemClock())
        self.candidates = InMemoryForYouCandidates(store, clock or SystemClock())
        now = (clock or SystemClock()).now
        self.reactions = InMemoryReactionRepository(store, now)
        self.comments = InMemoryCommentRepository(store, now)
        self.notifications = InMemoryNotificationRepository(store, now)
        self.events = InMemoryEventOutbox()
        self.ranking = InMemoryRankingRepository(store, now)
        self.stats = InMemoryStatsRepository(store)
        self.moderation = InMemoryModerationRepository(store)
        self.audit = InMemoryAuditRepository(store)
        self.config = InMemoryConfigRepository(store)
        self.devices = InMemoryDeviceRepository(store)
        self.notification_settings = InMemoryNotificationSettingsRepository(store)
        self.totp = InMemoryTotpRepository(store)
        self.search = InMemorySearchRepository(store, clock or SystemClock())
        if store.rate_limits is None:
            store.rate_limits = InMemoryRateLimiter(clock or SystemClock())
        self.rate_limits: RateLimiter = store.rate_limits
        self._snapshot: dict[str, Any] | None = None

    async def __aenter__(self) -> InMemoryUnitOfWork:
        task = asyncio.current_task()
        if self._store.lock.locked() and self._store.holder is task:
            # On PostgreSQL this would be a second transaction; here it would wait on
            # itself for ever. Fail at once instead of hanging the caller.
            raise RuntimeError("a unit of work was opened inside another in the same task")
        await self._store.lock.acquire()
        self._store.holder = task
        self._snapshot = self._store.snapshot()
        self.events.pending.clear()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is not None and self._snapshot is not None:
                self._store.restore(self._snapshot)
            elif self._read_only and self._snapshot is not None:
                changed = [
                    table for table, rows in self._snapshot.items()
                    if getattr(self._store, table) != rows
                ] + (["events"] if self.events.pending else [])
                if changed:  # PostgreSQL would have committed these one by one
                    self._store.restore(self._snapshot)
                    raise RuntimeError(f"a read-only unit of work wrote {changed}")
            else:
                publish(self._store, self.events.pending)
        finally:
            self.events.pending = []
            self._snapshot = None
            self._store.holder = None
            self._store.lock.release()
