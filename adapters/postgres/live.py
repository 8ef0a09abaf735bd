"""PostgreSQL LISTEN/NOTIFY: live events, and the signal that wakes job workers.

``PostgresEventOutbox`` (``adapters.postgres.engagement``) NOTIFYs on ``CHANNEL`` inside
the unit of work's transaction, so only committed events go out, in commit order, to
every app instance. ``PostgresLiveEventSource`` LISTENs on a connection of its own (not a
pooled one, which serves other requests and keeps no session state) and hands each event
to ``deliver``.

When that connection drops (a server restart, a network cut, found within 10 s by a
keepalive query every 5 s when nothing says so), the source logs it and reconnects by
itself with exponential backoff. Events committed while it was away are not replayed:
live events are hints for connected sockets, and clients catch up from the API; the
access cache (services.access) trusts nothing it kept from before.

``PostgresJobSignal`` is the same listener on ``JOB_CHANNEL``, which the jobs table's
triggers (migration 20261207_78) notify with a job's kind when one is queued and due: the
workers of every instance wake at once instead of at their next look. After a reconnect it
wakes them once, for what was queued while it was away.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import asyncpg

from adapters.messages import event_from_json, event_json
from momentic_core.model.events import Event

log = logging.getLogger(__name__)

CHANNEL = "momentic_live"
JOB_CHANNEL = "momentic_jobs"
T = TypeVar("T")


def encode(event: Event, seq: int) -> str:
    """The NOTIFY payload of ``event``. ``seq`` (its number within the unit of work) keeps
    two equal events of one transaction apart: PostgreSQL delivers identical payloads of
    one transaction only once."""
    return json.dumps({**event_json(event), "seq": seq}, ensure_ascii=False,
                      separators=(",", ":"))


def decode(payload: str) -> Event:
    """Raises ValueError for a payload that is no event."""
    return event_from_json(json.loads(payload))


class _Listener(Generic[T]):
    """LISTENs on ``channel`` on a connection of its own and hands what arrives, decoded,
    to ``deliver``; reconnects by itself (see the module's docstring)."""

    channel = CHANNEL
    what = "live events"  # in the log

    def decode(self, payload: str) -> T:
        raise NotImplementedError

    def _reconnected(self) -> None:
        """Called when listening again after a lost connection."""

    def __init__(
        self,
        url: str,
        *,
        min_backoff: float = 0.2,
        max_backoff: float = 30.0,
        keepalive: float = 5.0,
    ) -> None:
        self._url = url
        self._min_backoff = min_backoff
        self._max_backoff = max_backoff
        self._keepalive = keepalive
        self._deliver: Callable[[T], None] | None = None
        self._conn: asyncpg.Connection | None = None
        self._lost = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._epoch = 0  # bumped by every connection that listens

    async def start(self, deliver: Callable[[T], None]) -> None:
        """Listen before returning when the database answers; otherwise keep trying in
        the background (the app starts without live events rather than not at all)."""
        if self._task is not None:
            raise RuntimeError(f"this listener ({self.what}) is running already")
        self._deliver = deliver
        try:
            await self._connect()
        except Exception:
            log.warning("%s: cannot listen yet; retrying", self.what, exc_info=True)
        self._task = asyncio.create_task(self._supervise(), name=self.what.replace(" ", "-"))

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._close()
        self._deliver = None

    async def _connect(self) -> None:
        conn = await asyncpg.connect(self._url, timeout=10)
        try:
            self._lost = asyncio.Event()
            conn.add_termination_listener(lambda _conn: self._lost.set())
            await conn.add_listener(self.channel, self._on_notify)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self._epoch += 1

    def listening(self) -> int | None:
        """Lost as soon as asyncpg sees the connection end; a silent cut (no packet says
        so) at the next keepalive check."""
        conn = self._conn
        if conn is None or conn.is_closed() or self._lost.is_set() or self._deliver is None:
            return None
        return self._epoch

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None or conn.is_closed():
            return
        try:
            await conn.close(timeout=5)
        except Exception:
            conn.terminate()

    async def _supervise(self) -> None:
        backoff = self._min_backoff
        while True:
            if self._conn is None:
                try:
                    await self._connect()
                except Exception as exc:
                    log.warning("%s: reconnecting failed (%s); next try in %.1f s",
                                self.what, exc.__class__.__name__, backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._max_backoff)
                    continue
                log.info("%s: listening again", self.what)
                backoff = self._min_backoff
                self._reconnected()
            if await self._healthy():
                continue
            log.warning("%s: connection lost; reconnecting", self.what)
            self._lost.set()  # not listening from now on, while the close takes its time
            await self._close()

    async def _healthy(self) -> bool:
        """Wait up to ``keepalive`` seconds for the connection to end; if it did not,
        check that the server still answers."""
        conn = self._conn
        assert conn is not None
        try:
            await asyncio.wait_for(self._lost.wait(), self._keepalive)
        except TimeoutError:
            try:
                await asyncio.wait_for(conn.fetchval("SELECT 1"), 5)
            except Exception:
                return False
            return True
        return False

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, payload: str) -> None:
        deliver = self._deliver
        if deliver is None:
            return
        try:
            event = self.decode(payload)
        except (ValueError, KeyError, TypeError):
            log.error("%s: dropped a malformed payload", self.what)
            return
        try:
            deliver(event)
        except Exception:  # a broken listener must not stop the others
            log.exception("%s: listener failed", self.what)


class PostgresLiveEventSource(_Listener[Event]):
    def decode(self, payload: str) -> Event:
        return decode(payload)


class PostgresJobSignal(_Listener[str]):
    """Hands on the kind of each job queued and due (``""`` after a reconnect: any)."""

    channel = JOB_CHANNEL
    what = "job signal"

    def decode(self, payload: str) -> str:
        return payload

    def _reconnected(self) -> None:
        if self._deliver is not None:
            self._deliver("")
