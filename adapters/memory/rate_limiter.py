"""The in-process rate limiter: one instance's counters (Redis or PostgreSQL share them)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from momentic_core.model.accounts import RateDecision


class InMemoryRateLimiter:
    """Fixed windows per key, in this process only. Windows that ran out are dropped now
    and then (every ``PRUNE_EVERY`` hits), so keys that come once (addresses) never pile
    up."""

    PRUNE_EVERY = 10_000

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[datetime, int, timedelta]] = {}
        self._hits = 0

    def __len__(self) -> int:
        return len(self._windows)

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        now = self._clock.now()
        self._hits += 1
        if self._hits % self.PRUNE_EVERY == 0:
            self._windows = {
                k: w for k, w in self._windows.items() if w[0] + w[2] > now
            }
        start, count, _ = self._windows.get(key, (now, 0, window))
        if start + window <= now:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count, window)
        return RateDecision.of_window(count, limit, start + window - now, window)

    async def hit_many(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        return [await self.hit(key, limit, window) for key, limit, window in hits]
