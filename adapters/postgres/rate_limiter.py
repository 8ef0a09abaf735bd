"""Fixed-window rate limits kept in PostgreSQL, shared by every app instance.

One ``INSERT ... ON CONFLICT DO UPDATE`` per hit counts the event and, when the key's
window has run out (``window_start + window <= now``), starts a new one at ``now`` with
a count of one. The row lock the upsert takes makes concurrent hits on one key queue,
so none is lost. Each hit runs on its own pooled connection, outside any unit of work:
a rejected request must still be counted when its transaction rolls back.

Old rows are harmless but pile up; a janitor calls ``delete_expired`` now and then.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import asyncpg

from momentic_core.model.accounts import RateDecision
from momentic_core.ports import Clock

from .db import translate_errors

# The counter's commit does not wait for the disk (synchronous_commit off for this one
# statement's transaction only): a crash may forget the last increments, which only ever
# lets a few more attempts through, and every request saves a WAL flush.
_HIT = """
INSERT INTO rate_limits AS r (key, window_start, count)
SELECT $1, $2, 1 FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit
ON CONFLICT (key) DO UPDATE SET
    window_start = CASE WHEN r.window_start + $3 <= $2 THEN $2 ELSE r.window_start END,
    count = CASE WHEN r.window_start + $3 <= $2 THEN 1 ELSE r.count + 1 END
RETURNING window_start, count
"""


class PostgresRateLimiter:
    def __init__(self, pool: asyncpg.Pool, clock: Clock, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._clock = clock
        self._acquire_timeout = acquire_timeout

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        """Raises Unavailable when the database cannot be reached."""
        now = self._clock.now()
        with translate_errors():
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                row = await conn.fetchrow(_HIT, key, now, window)
        assert row is not None
        start: datetime = row["window_start"]
        count: int = row["count"]
        # Whole seconds until the window ends, rounded up like the in-memory limiter; the
        # clamp only matters when app clocks disagree (another instance started the window).
        left = (start + window - now).total_seconds()
        reset = min(max(0, int(left + 0.999)), math.ceil(window.total_seconds()))
        return RateDecision(
            allowed=count <= limit, limit=limit, remaining=max(0, limit - count), reset_after=reset
        )

    async def delete_expired(self, older_than: datetime) -> int:
        """Delete counters whose window started before ``older_than`` (pass ``now`` minus
        the longest window in use); return how many went."""
        with translate_errors():
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                status = await conn.execute(
                    "DELETE FROM rate_limits WHERE window_start < $1", older_than
                )
        return int(status.rsplit(" ", 1)[-1])
