"""Streaming replicas for the reads that may lag (``UnitOfWorkFactory(may_lag=True)``).

One ``Replicas`` per process holds a pool per replica URL and watches each replica
every ``refresh`` seconds (100 ms): is it up, is it a standby, how far has it replayed
the primary's WAL (``pg_last_wal_replay_lsn()``), how far behind is it (the age of the
last replayed transaction while WAL it received waits for replay). A read that may lag
goes to the next replica, round robin, that is up, within ``max_lag`` and has replayed
what the caller must see; otherwise to the primary. Nothing here raises: a replica that
is down, lagging, or promoted is skipped until a later look finds it fit again.

Read-your-writes: after a write by user U commits, the unit of work records the WAL
position it reached (``wrote``); U's reads go to a replica only once that replica has
replayed up to it, and for at most ``sticky`` seconds (then to any fit replica, as if
the position were unknown: the bound for a replica that never catches up is its lag
limit). The positions live in this process's memory (at most ``MAX_USERS`` users, the
oldest forgotten first): a user whose next request reaches another instance, or another
worker process of this one, reads what that process's replicas have, at most the lag
limit behind. A write whose position could not be read keeps U on the primary for the
whole ``sticky`` time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from urllib.parse import urlsplit

import asyncpg
import attrs

from .db import create_pool

log = logging.getLogger(__name__)

# Before a commit: did the transaction write (it has a transaction id only then)?
WROTE = "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"
# Where the WAL is after a commit, as bytes since 0/0 (comparable as integers).
WAL_POSITION = "SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8"

# standby: in recovery (a primary, or a promoted replica, is not a replica any more);
# replayed: WAL replayed so far; lag: seconds since the last replayed transaction while
# received WAL waits for replay (0 when it has replayed everything it received).
REPLICA_STATE = """
SELECT pg_is_in_recovery() AS standby,
       (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8 AS replayed,
       CASE WHEN pg_last_wal_receive_lsn() IS NULL
                 OR pg_last_wal_receive_lsn() <= pg_last_wal_replay_lsn() THEN 0
            ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
       END::float8 AS lag
"""

UNKNOWN = -1  # a write whose WAL position is unknown: no replica is known to have it


def recovery_conflict(exc: BaseException) -> bool:
    """``exc``: a standby cancelled the statement, or ended the session, because replaying
    the primary's WAL needed what it held (SQLSTATE 40001, 40P01 or 57P04, "... due to
    conflict with recovery")."""
    return isinstance(exc, asyncpg.PostgresError) and "conflict with recovery" in str(exc)


def replica_lost(exc: BaseException) -> bool:
    """``exc`` says a read on a replica can be redone on the primary: a recovery conflict,
    or the connection to the replica failed (class 08, a shutdown of class 57, a socket
    error). Not a timeout: the read was slow, and would be again."""
    if recovery_conflict(exc):
        return True
    if isinstance(exc, asyncpg.QueryCanceledError | TimeoutError):
        return False
    lost = (OSError, asyncpg.PostgresConnectionError, asyncpg.OperatorInterventionError)
    return isinstance(exc, lost) or (
        isinstance(exc, asyncpg.InterfaceError) and "closed" in str(exc)
    )


def replica_name(url: str) -> str:
    """host:port/database of ``url``, without credentials: a label for logs and metrics."""
    parts = urlsplit(url)
    host = parts.hostname or parts.query
    port = f":{parts.port}" if parts.port else ""
    return f"{host}{port}{parts.path}"


@attrs.define(eq=False)
class Replica:
    name: str
    pool: asyncpg.Pool
    up: bool = False
    replayed: int = 0
    lag: float = 0.0
    checked_at: float = 0.0  # monotonic time of the last look, 0: never
    retried: int = 0  # reads it gave up on (conflict, lost connection), redone on the primary


class Replicas:
    MAX_USERS = 100_000
    DOWN_RETRY = 1.0  # seconds between looks at a replica that is down

    def __init__(
        self,
        replicas: Sequence[Replica],
        *,
        sticky: float,
        max_lag: float,
        refresh: float = 0.1,
        check_timeout: float = 1.0,
        acquire_timeout: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.replicas = list(replicas)
        self.sticky = sticky
        self.max_lag = max_lag
        self.refresh_every = refresh
        self.check_timeout = check_timeout
        self.acquire_timeout = acquire_timeout  # then the read goes to the primary
        self._clock = clock
        self._next = 0
        self._recent: OrderedDict[int, tuple[int, float]] = OrderedDict()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        urls: Sequence[str],
        *,
        max_size: int,
        command_timeout: float,
        sticky: float,
        max_lag: float,
    ) -> Replicas:
        """Pools on ``urls`` that connect when first used (min_size 0), so a replica that
        is down when this process starts does not keep it from starting."""
        replicas = []
        for url in urls:
            pool = await create_pool(
                url, min_size=0, max_size=max_size, command_timeout=command_timeout,
                connect_timeout=min(command_timeout, 2.0),
            )
            replicas.append(Replica(replica_name(url), pool))
        return cls(replicas, sticky=sticky, max_lag=max_lag)

    async def start(self) -> None:
        """Look at every replica now, then every ``refresh`` seconds in the background."""
        await self.refresh()
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="momentic-replicas")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await asyncio.gather(*(r.pool.close() for r in self.replicas), return_exceptions=True)

    async def _watch(self) -> None:
        while True:
            await asyncio.sleep(self.refresh_every)
            await self.refresh()

    async def refresh(self, *, force: bool = True) -> None:
        """Look at the replicas (those down only every ``DOWN_RETRY`` seconds unless
        ``force``)."""
        now = self._clock()
        due = [
            r for r in self.replicas
            if force or r.up or now - r.checked_at >= self.DOWN_RETRY
        ]
        await asyncio.gather(*(self._check(r) for r in due))

    async def _check(self, replica: Replica) -> None:
        try:
            async with asyncio.timeout(self.check_timeout):
                row = await replica.pool.fetchrow(REPLICA_STATE)
        except Exception as exc:  # down, refusing, timing out: all skip it
            if replica.up:
                log.warning("database replica %s is down: %s", replica.name, exc)
            replica.up = False
        else:
            standby = bool(row["standby"]) and row["replayed"] is not None
            if replica.up and not standby:
                log.warning("database replica %s is not in recovery: skipped", replica.name)
            if not replica.up and standby:
                log.info("database replica %s is up", replica.name)
            replica.up = standby
            replica.replayed = int(row["replayed"] or 0)
            replica.lag = float(row["lag"])
        replica.checked_at = self._clock()

    def failed(self, replica: Replica) -> None:
        """A read could not get a connection from ``replica``: skip it until a look
        finds it up again."""
        if replica.up:
            log.warning("database replica %s does not answer: reads go elsewhere", replica.name)
        replica.up = False

    def gave_up(self, replica: Replica, exc: BaseException) -> None:
        """A read on ``replica`` was cancelled by a recovery conflict or lost its
        connection, and is redone on the primary: count it, log it, and skip a replica
        whose connection failed until a look finds it up again."""
        replica.retried += 1
        conflict = recovery_conflict(exc)
        log.warning(
            "read retried on the primary", extra={
                "replica": replica.name,
                "reason": "recovery_conflict" if conflict else "connection",
                "sqlstate": getattr(exc, "sqlstate", None), "error": str(exc),
            },
        )
        if not conflict:
            self.failed(replica)

    def fit(self, replica: Replica) -> bool:
        """Whether ``replica`` may serve reads that may lag: it answers as a standby and
        is at most ``max_lag`` behind. The one rule: ``pick`` uses it, and so do the
        states /metrics and /readyz report (adapters/container.py)."""
        return replica.up and replica.lag <= self.max_lag

    # ----------------------------------------------------------------- read-your-writes

    def wrote(self, user_id: int, position: int | None) -> None:
        """``user_id`` committed a write that reached ``position`` (None: unknown)."""
        now = self._clock()
        seen = self._recent.pop(user_id, None)
        reached = UNKNOWN if position is None else position
        if seen is not None and seen[1] > now:
            if seen[0] == UNKNOWN or reached == UNKNOWN:
                reached = UNKNOWN
            else:
                reached = max(reached, seen[0])
        self._recent[user_id] = (reached, now + self.sticky)
        while len(self._recent) > self.MAX_USERS:
            self._recent.popitem(last=False)

    def must_see(self, user_id: int | None) -> int | None:
        """The WAL position a read by ``user_id`` must see (``UNKNOWN``: the primary's
        only), or None when any fit replica will do."""
        if user_id is None:
            return None
        seen = self._recent.get(user_id)
        if seen is None:
            return None
        if seen[1] <= self._clock():
            del self._recent[user_id]
            return None
        return seen[0]

    def pick(self, position: int | None) -> Replica | None:
        """The next fit replica that has replayed ``position``, or None (the primary)."""
        if position == UNKNOWN:
            return None
        count = len(self.replicas)
        for step in range(count):
            replica = self.replicas[(self._next + step) % count]
            if not self.fit(replica):
                continue
            if position is not None and replica.replayed < position:
                continue
            self._next = (self._next + step + 1) % count
            return replica
        return None
