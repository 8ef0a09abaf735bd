"""Fixed-window rate limits kept in Redis, shared by every app instance.

The same rule as the PostgreSQL limiter (a window starts at the first hit, on the app's
clock, and a hit at ``start + window`` or later starts a new one), counted by one Lua
script per batch of keys, so a request's per-user and per-IP counters cost one round
trip and no database write. Redis runs a script alone, so concurrent hits never lose a
count. A counter lives one window plus a minute, then Redis drops it: nothing to prune.

Keys of one batch travel in one script call, which Redis Cluster accepts only when they
hash to one slot: run a single Redis (or a primary with replicas) for this.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import redis.asyncio as redis
from redis.exceptions import RedisError

from momentic_core.errors import Unavailable
from momentic_core.model.accounts import RateDecision
from momentic_core.ports import Clock

# KEYS: the counters. ARGV[1]: now in ms; ARGV[1 + i]: the window of KEYS[i] in ms.
# Returns start_ms, count for each key, in order.
_HIT = """
local now = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local span = tonumber(ARGV[i + 1])
  local start = tonumber(redis.call('HGET', key, 's'))
  local count
  if start == nil or start + span <= now then
    start = now
    count = 1
    redis.call('HSET', key, 's', start, 'c', 1)
    redis.call('PEXPIRE', key, span + 60000)
  else
    count = redis.call('HINCRBY', key, 'c', 1)
  end
  out[#out + 1] = start
  out[#out + 1] = count
end
return out
"""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ms(value: timedelta) -> int:
    return round(value.total_seconds() * 1000)


class RedisRateLimiter:
    def __init__(self, client: redis.Redis, clock: Clock, *, prefix: str = "momentic:rl:") -> None:
        self._client = client
        self._clock = clock
        self._prefix = prefix
        self._script = client.register_script(_HIT)

    @classmethod
    def from_url(cls, url: str, clock: Clock, *, timeout: float) -> RedisRateLimiter:
        """A limiter on its own client of the Redis at ``url`` (closed by ``aclose``)."""
        client = redis.Redis.from_url(
            url, socket_timeout=timeout, socket_connect_timeout=timeout
        )
        return cls(client, clock)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def ready(self) -> None:
        """Readiness (/readyz): raises Unavailable when Redis does not answer a PING."""
        try:
            await self._client.ping()
        except (RedisError, OSError) as exc:
            raise Unavailable("The rate-limit store (Redis) does not answer.") from exc

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        """Raises Unavailable when Redis cannot be reached."""
        return (await self.hit_many([(key, limit, window)]))[0]

    async def hit_many(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        """Raises Unavailable when Redis cannot be reached."""
        if not hits:
            return []
        now = _ms(self._clock.now() - _EPOCH)
        try:
            counted = await self._script(
                keys=[self._prefix + key for key, _, _ in hits],
                args=[now, *(_ms(window) for _, _, window in hits)],
            )
        except (RedisError, OSError) as exc:
            raise Unavailable("The rate-limit store does not answer.") from exc
        return [
            RateDecision.of_window(
                int(counted[2 * i + 1]), limit,
                timedelta(milliseconds=int(counted[2 * i]) + _ms(window) - now), window,
            )
            for i, (_, limit, window) in enumerate(hits)
        ]
