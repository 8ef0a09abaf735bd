"""Every contract test runs twice: on the in-memory adapters and on the PostgreSQL ones.

``backend`` is the one switch: it yields a ``Backend`` whose factories build the unit of
work and the rate limiter of one implementation, on empty tables.
"""

from __future__ import annotations

import pytest

from adapters.memory.clock import ManualClock
from adapters.memory.store import InMemoryRateLimiter, InMemoryUnitOfWork, MemoryStore
from adapters.postgres.rate_limiter import PostgresRateLimiter
from adapters.postgres.uow import PostgresUnitOfWork

from .support import Backend


@pytest.fixture(params=["memory", "postgres"])
def backend(request: pytest.FixtureRequest) -> Backend:
    if request.param == "memory":
        store = MemoryStore()
        return Backend(
            name="memory",
            uow=lambda: InMemoryUnitOfWork(store),
            rate_limiter=InMemoryRateLimiter,
        )
    pool = request.getfixturevalue("clean_pg_pool")
    return Backend(
        name="postgres",
        uow=lambda: PostgresUnitOfWork(pool),
        rate_limiter=lambda clock: PostgresRateLimiter(pool, clock),
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()
