"""Every contract test runs twice: on the in-memory adapters and on the PostgreSQL ones.

``backend`` is the one switch: it yields a ``Adapters`` whose factories build the unit of
work, the rate limiter, the job runner and the live event source of one implementation,
on empty tables. Its units of work stamp enqueued jobs with the test's ``clock`` (a
ManualClock).
"""

from __future__ import annotations

import functools

import pytest

from adapters.memory.clock import ManualClock
from adapters.memory.engagement import InMemoryLiveEventSource
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from adapters.memory.videos import InMemoryJobRunner
from adapters.postgres.live import PostgresLiveEventSource
from adapters.postgres.rate_limiter import PostgresRateLimiter
from adapters.postgres.uow import PostgresUnitOfWork
from adapters.postgres.videos import PostgresJobRunner

from .support import Adapters


@pytest.fixture(params=["memory", "postgres"])
def backend(request: pytest.FixtureRequest, clock: ManualClock) -> Adapters:
    if request.param == "memory":
        store = MemoryStore()
        return Adapters(
            name="memory",
            uow=functools.partial(InMemoryUnitOfWork, store, clock=clock),
            rate_limiter=InMemoryRateLimiter,
            job_runner=lambda c: InMemoryJobRunner(store, c),
            live=lambda: InMemoryLiveEventSource(store),
        )
    pool = request.getfixturevalue("clean_pg_pool")
    url = request.getfixturevalue("database_url")
    return Adapters(
        name="postgres",
        uow=functools.partial(PostgresUnitOfWork, pool, clock=clock),
        rate_limiter=lambda c: PostgresRateLimiter(pool, c),
        job_runner=lambda c: PostgresJobRunner(pool, c),
        live=lambda: PostgresLiveEventSource(url),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
