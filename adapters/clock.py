"""The real clock: the system's time, in UTC. (Tests move ``adapters.memory.clock.ManualClock``
by hand.)"""

from __future__ import annotations

from datetime import UTC, datetime


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)
