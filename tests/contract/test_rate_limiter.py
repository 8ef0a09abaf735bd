"""RateLimiter contract: fixed windows, memory, PostgreSQL and Redis alike."""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime, timedelta

import asyncpg
import attrs
import pytest
import redis.asyncio as redis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.memory.clock import ManualClock
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.postgres.rate_limiter import PostgresRateLimiter
from adapters.postgres.uow import PostgresUnitOfWork
from adapters.redis.rate_limiter import RedisRateLimiter
from momentic_core.model.accounts import RateDecision
from momentic_core.ports import Clock, RateLimiter, UnitOfWorkFactory

MINUTE = timedelta(minutes=1)


@attrs.frozen
class Store:
    name: str
    make: Callable[[Clock], RateLimiter]  # limiters made by one store share its counts


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url)
    try:
        yield client
    finally:
        await client.aclose()


class InUnitsOfWork:
    """``UnitOfWork.rate_limits``, each hit in a unit of work of its own that commits."""

    def __init__(self, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        return (await self.hit_many([(key, limit, window)]))[0]

    async def hit_many(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        async with self._uow() as tx:
            return await tx.rate_limits.hit_many(hits)


def _in_units_of_work(pool: asyncpg.Pool, clock: Clock) -> RateLimiter:
    return InUnitsOfWork(functools.partial(PostgresUnitOfWork, pool, clock=clock))


@pytest.fixture(params=["memory", "postgres", "postgres_unit_of_work", "redis"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        return Store("memory", InMemoryRateLimiter)
    if request.param == "postgres":
        pool = request.getfixturevalue("clean_pg_pool")
        return Store("postgres", lambda clock: PostgresRateLimiter(pool, clock))
    if request.param == "postgres_unit_of_work":
        pool = request.getfixturevalue("clean_pg_pool")
        return Store(request.param, functools.partial(_in_units_of_work, pool))
    client = request.getfixturevalue("redis_client")
    prefix = f"test:{uuid.uuid4()}:"  # this test's keys only, on a shared server
    return Store("redis", lambda clock: RedisRateLimiter(client, clock, prefix=prefix))


async def test_allows_up_to_the_limit_then_refuses(store: Store, clock: ManualClock) -> None:
    limiter = store.make(clock)
    decisions = [await limiter.hit("login:ip:1", 3, MINUTE) for _ in range(5)]
    assert decisions == [
        RateDecision(allowed=True, limit=3, remaining=2, reset_after=60),
        RateDecision(allowed=True, limit=3, remaining=1, reset_after=60),
        RateDecision(allowed=True, limit=3, remaining=0, reset_after=60),
        RateDecision(allowed=False, limit=3, remaining=0, reset_after=60),
        RateDecision(allowed=False, limit=3, remaining=0, reset_after=60),
    ]


async def test_the_window_is_fixed_and_resets_when_it_runs_out(
    store: Store, clock: ManualClock
) -> None:
    limiter = store.make(clock)
    assert (await limiter.hit("k", 2, MINUTE)).allowed
    clock.advance(timedelta(seconds=20.5))
    second = await limiter.hit("k", 2, MINUTE)
    assert (second.allowed, second.remaining, second.reset_after) == (True, 0, 40)
    clock.advance(timedelta(seconds=39))
    third = await limiter.hit("k", 2, MINUTE)
    assert (third.allowed, third.reset_after) == (False, 1)  # 0.5 s left, rounded up
    clock.advance(timedelta(seconds=0.5))  # exactly start + window: a new window
    fourth = await limiter.hit("k", 2, MINUTE)
    assert fourth == RateDecision(allowed=True, limit=2, remaining=1, reset_after=60)


async def test_keys_count_separately(store: Store, clock: ManualClock) -> None:
    limiter = store.make(clock)
    assert (await limiter.hit("a", 1, MINUTE)).allowed
    assert not (await limiter.hit("a", 1, MINUTE)).allowed
    assert (await limiter.hit("b", 1, MINUTE)).allowed
    assert (await limiter.hit("A", 1, MINUTE)).allowed


async def test_limiters_on_one_store_share_their_counts(
    store: Store, clock: ManualClock
) -> None:
    if store.name == "memory":
        return  # the memory limiter is per process by design; nothing to share
    one, two = store.make(clock), store.make(clock)
    assert (await one.hit("shared", 2, MINUTE)).allowed
    assert (await two.hit("shared", 2, MINUTE)).allowed
    assert not (await one.hit("shared", 2, MINUTE)).allowed


async def test_concurrent_hits_are_all_counted(store: Store, clock: ManualClock) -> None:
    limiter = store.make(clock)
    decisions = await asyncio.gather(*(limiter.hit("burst", 5, MINUTE) for _ in range(15)))
    assert sum(d.allowed for d in decisions) == 5
    assert sorted(d.remaining for d in decisions) == [0] * 11 + [1, 2, 3, 4]


async def test_hit_many_counts_each_key_in_its_own_window(
    store: Store, clock: ManualClock
) -> None:
    limiter = store.make(clock)
    await limiter.hit("user:1", 2, MINUTE)
    clock.advance(timedelta(seconds=30))
    first = await limiter.hit_many([("user:1", 2, MINUTE), ("ip:9", 5, 10 * MINUTE)])
    assert first == [
        RateDecision(allowed=True, limit=2, remaining=0, reset_after=30),
        RateDecision(allowed=True, limit=5, remaining=4, reset_after=600),
    ]
    clock.advance(timedelta(seconds=30))  # user:1's window ends; ip:9's goes on
    second = await limiter.hit_many([("ip:9", 5, 10 * MINUTE), ("user:1", 2, MINUTE)])
    assert second == [
        RateDecision(allowed=True, limit=5, remaining=3, reset_after=570),
        RateDecision(allowed=True, limit=2, remaining=1, reset_after=60),
    ]
    assert await limiter.hit("user:1", 2, MINUTE) == RateDecision(
        allowed=True, limit=2, remaining=0, reset_after=60
    )


async def test_concurrent_hit_many_on_crossed_keys_loses_nothing(
    store: Store, clock: ManualClock
) -> None:
    """Batches naming the same keys in opposite orders run at once: no deadlock, no lost
    count (the statement locks keys in sorted order)."""
    limiter = store.make(clock)
    batches = [
        [("x", 1000, MINUTE), ("y", 1000, MINUTE)] if i % 2 else
        [("y", 1000, MINUTE), ("x", 1000, MINUTE)]
        for i in range(40)
    ]
    await asyncio.gather(*(limiter.hit_many(batch) for batch in batches))
    assert (await limiter.hit("x", 1000, MINUTE)).remaining == 1000 - 41
    assert (await limiter.hit("y", 1000, MINUTE)).remaining == 1000 - 41


@attrs.define
class ReferenceWindow:
    """The fixed-window rule, written out plainly."""

    limit: int
    window: timedelta
    start: datetime | None = None
    count: int = 0

    def hit(self, now: datetime) -> RateDecision:
        if self.start is None or self.start + self.window <= now:
            self.start, self.count = now, 0
        self.count += 1
        left = (self.start + self.window - now).total_seconds()
        return RateDecision(
            allowed=self.count <= self.limit,
            limit=self.limit,
            remaining=max(0, self.limit - self.count),
            reset_after=int(left + 0.999),
        )


_steps = st.lists(
    st.one_of(st.just(None), st.integers(min_value=0, max_value=90_000)),  # None: a hit
    max_size=40,
)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    limit=st.integers(min_value=1, max_value=5),
    window_s=st.integers(min_value=1, max_value=60),
    steps=_steps,
)
async def test_matches_the_reference_and_never_allows_more_than_the_limit_per_window(
    store: Store, limit: int, window_s: int, steps: list[int | None]
) -> None:
    clock = ManualClock()
    limiter = store.make(clock)
    key = f"prop:{uuid.uuid4()}"  # examples share the store, so each takes its own key
    window = timedelta(seconds=window_s)
    model = ReferenceWindow(limit=limit, window=window)
    allowed_per_window: dict[datetime | None, int] = {}
    for step in steps:
        if step is not None:
            clock.advance(timedelta(milliseconds=step))
            continue
        decision = await limiter.hit(key, limit, window)
        assert decision == model.hit(clock.now())
        assert 0 <= decision.reset_after <= window_s
        if decision.allowed:
            allowed_per_window[model.start] = allowed_per_window.get(model.start, 0) + 1
    assert all(n <= limit for n in allowed_per_window.values())


async def test_the_counters_relaxed_commit_stays_with_their_statement(
    clean_pg_pool: asyncpg.Pool, clock: ManualClock
) -> None:
    """Counters commit without waiting for the disk; the pooled connections they ran on
    give the next unit of work its normal, durable commits."""
    limiter = PostgresRateLimiter(clean_pg_pool, clock)
    await asyncio.gather(*(limiter.hit(f"k{n % 3}", 100, timedelta(minutes=1))
                           for n in range(20)))
    async with clean_pg_pool.acquire() as conn:
        assert await conn.fetchval("SHOW synchronous_commit") == "on"
        assert await conn.fetchval("SELECT sum(count) FROM rate_limits") == 20


async def test_a_count_in_a_unit_of_work_commits_or_rolls_back_with_it(
    clean_pg_pool: asyncpg.Pool, clock: ManualClock
) -> None:
    """``UnitOfWork.rate_limits`` counts the counters ``PostgresRateLimiter`` counts, in the
    block's transaction, with its durable commit."""
    uow = functools.partial(PostgresUnitOfWork, clean_pg_pool, clock=clock)
    shared = PostgresRateLimiter(clean_pg_pool, clock)
    async with uow() as tx:
        assert (await tx.rate_limits.hit("reaction:user:1", 2, MINUTE)).remaining == 1
        async with clean_pg_pool.acquire() as other:  # not committed yet
            assert await other.fetchval("SELECT count(*) FROM rate_limits") == 0
        assert await tx.rate_limits._fetchval("SHOW synchronous_commit") == "on"  # type: ignore[attr-defined]
    with pytest.raises(RuntimeError):
        async with uow() as tx:
            await tx.rate_limits.hit("reaction:user:1", 2, MINUTE)
            raise RuntimeError("the write failed")
    assert (await shared.hit("reaction:user:1", 2, MINUTE)).remaining == 0
    async with uow() as tx:
        assert not (await tx.rate_limits.hit("reaction:user:1", 2, MINUTE)).allowed
