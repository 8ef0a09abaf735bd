"""PostgreSQL LISTEN/NOTIFY for live events: the outbox NOTIFYs inside the unit of work
(so only committed events go out, in commit order), and the source LISTENs on its own
connection and hands every event to the app's socket hub.

TODO(issue 5): being written now; see the helper's task.
"""

from __future__ import annotations

from collections.abc import Callable

from momentic_core.model.engagement import LiveEvent

CHANNEL = "momentic_live"


class PostgresLiveEventSource:
    def __init__(self, url: str) -> None:
        self._url = url

    async def start(self, deliver: Callable[[LiveEvent], None]) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        return None
