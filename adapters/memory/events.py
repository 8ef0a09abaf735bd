"""An in-process event bus: subscribers get every event published after they subscribed."""

from __future__ import annotations

import asyncio
import logging

from momentic_core.model.videos import VideoStatusChanged

log = logging.getLogger("momentic.events")


class InMemoryEventBus:
    def __init__(self, queue_size: int = 1000) -> None:
        self._queues: set[asyncio.Queue[VideoStatusChanged]] = set()
        self._queue_size = queue_size

    async def publish(self, event: VideoStatusChanged) -> None:
        log.info("event", extra={"event": type(event).__name__, "video_id": event.video_id,
                                 "status": event.status.value})
        for queue in list(self._queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # a slow subscriber loses events, never slows others
                log.warning("subscriber queue full; event dropped")

    def subscribe(self) -> asyncio.Queue[VideoStatusChanged]:
        queue: asyncio.Queue[VideoStatusChanged] = asyncio.Queue(self._queue_size)
        self._queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[VideoStatusChanged]) -> None:
        self._queues.discard(queue)
