"""Fixed-window rate limits kept in PostgreSQL, shared by every app instance.

One ``INSERT ... ON CONFLICT DO UPDATE`` counts the events (one key or several: a
request's per-IP and per-user counters go in one statement) and, when a key's window has
run out (``window_start + window <= now``), starts a new one at ``now`` with a count of
one. The row lock the upsert takes makes concurrent hits on one key queue, so none is
lost; the keys are locked in sorted order, so two statements never wait on each other.
``PostgresRateLimiter`` runs each statement on its own pooled connection, outside any
unit of work: a rejected request must still be counted when its transaction rolls back.
``PostgresTransactionRateLimiter`` (``UnitOfWork.rate_limits``) runs the same statement in
a unit of work's transaction, for a limit on that write itself (``reaction:user``): the
count commits with the write, one transaction and one commit instead of two. A hit the
limit refuses rolls back with the block, which leaves the window's count at the limit or
above, so the next hits in the window are refused all the same; a write that fails for
another reason (no such video) is not counted.

Old rows are harmless but pile up; a janitor calls ``delete_expired`` now and then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from momentic_core.model.accounts import RateDecision
from momentic_core.ports import Clock

from .db import translate_errors
from .repositories import Repository

# The counter's commit does not wait for the disk (synchronous_commit off for this one
# statement's transaction only): a crash may forget the last increments, which only ever
# lets a few more attempts through, and every request saves a WAL flush. In a unit of
# work (``_HIT_IN_TRANSACTION``) the write it limits decides: its commit waits.
_HIT_TEMPLATE = """
WITH hit AS (SELECT * FROM unnest($1::text[], $3::interval[]) AS h(key, span))
INSERT INTO rate_limits AS r (key, window_start, count)
SELECT hit.key, $2, 1
FROM hit{async_commit}
ORDER BY hit.key
ON CONFLICT (key) DO UPDATE SET
    window_start = CASE
        WHEN r.window_start + (SELECT span FROM hit WHERE hit.key = r.key) <= $2 THEN $2
        ELSE r.window_start END,
    count = CASE
        WHEN r.window_start + (SELECT span FROM hit WHERE hit.key = r.key) <= $2 THEN 1
        ELSE r.count + 1 END
RETURNING key, window_start, count
"""
_HIT = _HIT_TEMPLATE.format(
    async_commit=", (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"
)
_HIT_IN_TRANSACTION = _HIT_TEMPLATE.format(async_commit="")


def _decisions(
    rows: Sequence[asyncpg.Record], hits: Sequence[tuple[str, int, timedelta]], now: datetime
) -> list[RateDecision]:
    counted = {row["key"]: (row["window_start"], row["count"]) for row in rows}
    return [
        RateDecision.of_window(counted[key][1], limit, counted[key][0] + window - now, window)
        for key, limit, window in hits
    ]


class PostgresRateLimiter:
    def __init__(self, pool: asyncpg.Pool, clock: Clock, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._clock = clock
        self._acquire_timeout = acquire_timeout

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        """Raises Unavailable when the database cannot be reached."""
        return (await self.hit_many([(key, limit, window)]))[0]

    async def hit_many(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        """Raises Unavailable when the database cannot be reached."""
        now = self._clock.now()
        keys = [key for key, _, _ in hits]
        with translate_errors():
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                rows = await conn.fetch(_HIT, keys, now, [window for _, _, window in hits])
        return _decisions(rows, hits, now)

    async def delete_expired(self, older_than: datetime) -> int:
        """Delete counters whose window started before ``older_than`` (pass ``now`` minus
        the longest window in use); return how many went."""
        with translate_errors():
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                status = await conn.execute(
                    "DELETE FROM rate_limits WHERE window_start < $1", older_than
                )
        return int(status.rsplit(" ", 1)[-1])


class PostgresTransactionRateLimiter(Repository):
    """The same counters, counted in a unit of work's transaction (``UnitOfWork.rate_limits``):
    they commit, or roll back, with it."""

    def __init__(self, conn: asyncpg.Connection, clock: Clock) -> None:
        super().__init__(conn)
        self._clock = clock

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        return (await self.hit_many([(key, limit, window)]))[0]

    async def hit_many(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        now = self._clock.now()
        rows = await self._fetch(
            _HIT_IN_TRANSACTION, [key for key, _, _ in hits], now,
            [window for _, _, window in hits],
        )
        return _decisions(rows, hits, now)
