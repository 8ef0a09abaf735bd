"""The in-process rate limiter (per-request limits on PostgreSQL): windows that ran out
are dropped, so addresses that come once do not grow a worker's memory for ever."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory.clock import ManualClock
from adapters.memory.rate_limiter import InMemoryRateLimiter

MINUTE = timedelta(minutes=1)


async def test_run_out_windows_are_dropped_and_live_ones_kept() -> None:
    clock = ManualClock()
    limiter = InMemoryRateLimiter(clock)
    limiter.PRUNE_EVERY = 100
    await limiter.hit("api:ip:kept", 5, timedelta(hours=1))
    for n in range(98):
        await limiter.hit(f"api:ip:10.0.{n // 256}.{n % 256}", 5, MINUTE)
    assert len(limiter) == 99
    clock.advance(MINUTE)
    decision = await limiter.hit("api:ip:new", 5, MINUTE)  # the 100th hit prunes
    assert decision.remaining == 4
    assert len(limiter) == 2  # the hour-long window and the new one
    assert (await limiter.hit("api:ip:kept", 5, timedelta(hours=1))).remaining == 3
