"""The job machinery: the worker that runs background jobs, and how a kind of job is declared.

Jobs live in the database (the ``JobRunner`` port): any worker of any instance takes them,
a job whose worker died is taken again when its lease runs out, failures are retried with
exponential backoff (a ``RetryLater`` no sooner than its ``not_before``: a service's
Retry-After; a ``paused`` one not counted as an attempt), and after ``max_attempts`` a
job is dead with its reason kept.

Each kind of job is a message class in ``model.jobs``, registered there by its kind name;
each service module that has jobs gives a handler for its kinds (``JobKind``s: the class
and what runs it); the composition root gives the workers all of them (a test checks that
every registered kind has exactly one). A job whose payload does not read as its kind's
message (``BadPayload``) is dead at once, logged, never run: trying it again would not
change its payload. A worker takes only the kinds it has handlers for, so a kind it does
not know (queued by a newer release during a rolling deploy) waits for a worker that does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar

import attrs

from momentic_core.errors import MomenticError
from momentic_core.model.jobs import BadPayload, Job, JobMessage
from momentic_core.ports import Clock, JobRunner

log = logging.getLogger(__name__)

MIN_IDLE = 0.05  # seconds: the shortest wait of an idle worker
M = TypeVar("M", bound=JobMessage)


class RetryLater(Exception):
    """A passing failure whose job must not run again before ``not_before`` (a service's
    Retry-After), nor before its backoff, whichever is later. ``paused``: the job was not
    really tried, its service asked it to wait (a pause, not a failure of the job): the
    attempt is not counted, so however long the pauses last they do not use up
    ``max_attempts`` (``not_before`` should then say when to come back)."""

    def __init__(
        self, reason: str, *, not_before: datetime | None = None, paused: bool = False
    ) -> None:
        super().__init__(reason)
        self.not_before = not_before
        self.paused = paused


@attrs.frozen
class JobKind(Generic[M]):
    """How a worker runs the jobs of one kind: ``run`` gets the job's message; ``on_dead``
    (if any) the message and the reason once the job is given up on. Whether the payload
    is cleared when the job is settled is its class's (``JobMessage.secret``)."""

    message: type[M]
    run: Callable[[M], Awaitable[Any]]
    on_dead: Callable[[M, str], Awaitable[None]] | None = None

    @property
    def name(self) -> str:
        return self.message.kind


class Worker:
    """Takes due jobs one at a time and settles them."""

    def __init__(
        self,
        *,
        runner: JobRunner,
        kinds: Iterable[JobKind[Any]],
        clock: Clock,
        lease: timedelta = timedelta(minutes=10),
        backoff: timedelta = timedelta(seconds=5),
    ) -> None:
        self._runner = runner
        self._kinds: dict[str, JobKind[Any]] = {}
        for kind in kinds:
            if kind.name in self._kinds:
                raise ValueError(f"two handlers of the job kind {kind.name}")
            self._kinds[kind.name] = kind
        self._clock = clock
        self.lease = lease
        self.backoff = backoff

    @property
    def kinds(self) -> list[str]:
        """The kinds of job this worker runs."""
        return list(self._kinds)

    async def run_once(self) -> Job | None:
        """Take and run one due job; None when there was none."""
        job = await self._runner.claim(list(self._kinds), self.lease)
        if job is None:
            return None
        kind = self._kinds[job.kind]
        message = job.message
        if not isinstance(message, kind.message):
            reason = message.reason if isinstance(message, BadPayload) else "payload not read"
            log.error(
                "job dead: its payload is not a %s", kind.message.__name__,
                extra={"job": job.id, "kind": job.kind, "reason": reason},
            )
            await self._runner.bury(
                job.id, reason, attempt=job.attempts, forget=kind.message.secret
            )
            return job
        if job.attempts > job.max_attempts:
            # Its workers died (lease ran out) on every attempt: a poison pill, not run again.
            await self._bury(
                job, kind, message, f"lease expired {job.max_attempts} times; worker died"
            )
            return job
        heartbeat = asyncio.create_task(self._heartbeat(job))
        try:
            await kind.run(message)
        except asyncio.CancelledError:
            # Stopping (SIGTERM): the job goes back now, not when its lease runs out. If
            # this fails too (the database is gone), the lease still runs out.
            with contextlib.suppress(MomenticError, OSError):
                await self._runner.release(job.id, job.attempts)
            raise
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            paused = isinstance(exc, RetryLater) and exc.paused
            if job.attempts >= job.max_attempts and not paused:
                await self._bury(job, kind, message, reason)
            else:
                run_at = self._clock.now() + self.backoff * (2 ** (job.attempts - 1))
                if isinstance(exc, RetryLater) and exc.not_before is not None:
                    run_at = max(run_at, exc.not_before)
                log.warning("job paused; retrying" if paused else "job failed; retrying",
                            extra={"job": job.id, "reason": reason,
                                   "run_at": run_at.isoformat()})
                await self._runner.retry(job.id, reason, run_at, attempt=job.attempts,
                                         refund=paused)
            return job
        finally:
            heartbeat.cancel()
            await asyncio.gather(heartbeat, return_exceptions=True)
        await self._runner.complete(job.id, attempt=job.attempts, forget=kind.message.secret)
        return job

    async def _heartbeat(self, job: Job) -> None:
        """Renew the lease while the job runs, so a long transcode is not taken twice."""
        every = max(0.05, self.lease.total_seconds() / 3)
        while True:
            await asyncio.sleep(every)
            try:
                if not await self._runner.extend(job.id, job.attempts, self.lease):
                    log.warning("job lease lost to another worker", extra={"job": job.id})
                    return
            except MomenticError:
                log.warning("could not renew a job lease; will try again")

    async def _bury(
        self, job: Job, kind: JobKind[M], message: M, reason: str
    ) -> None:
        log.error("job dead", extra={"job": job.id, "kind": job.kind, "reason": reason})
        await self._runner.bury(
            job.id, reason, attempt=job.attempts, forget=kind.message.secret
        )
        if kind.on_dead is not None:
            await kind.on_dead(message, reason)

    async def run_forever(
        self, stop: asyncio.Event, idle: float = 1.0, wake: asyncio.Event | None = None
    ) -> None:
        """Work until ``stop`` is set; a failing store pauses the loop, never ends it.

        Idle, it looks again after ``idle`` seconds, or as soon as ``wake`` is set, or when
        the earliest queued job comes due if that is sooner: a job queued for later (the
        daily moment's announcement, queued hours ahead) runs at its time."""
        while not stop.is_set():
            if wake is not None:
                wake.clear()  # before looking: a job queued while we look wakes us again
            wait = idle
            try:
                job = await self.run_once()
                if job is None:
                    wait = await self._until_due(idle)
            except MomenticError:
                log.warning("worker cannot reach the job store; waiting")
                job = None
            except Exception:
                # An untranslated driver error or a failing on_dead hook must not end the
                # only worker of an instance silently.
                log.exception("worker loop failed; waiting")
                job = None
            if job is None:
                await _idle(wait, stop, wake)

    async def _until_due(self, idle: float) -> float:
        """Seconds to wait: ``idle``, or until the earliest queued job is due if sooner
        (at least ``MIN_IDLE``: one being taken by another worker is not looked at in a
        spin)."""
        due = await self._runner.next_due(list(self._kinds))
        if due is None:
            return idle
        return min(idle, max(MIN_IDLE, (due - self._clock.now()).total_seconds()))


async def _idle(seconds: float, *events: asyncio.Event | None) -> None:
    """Wait ``seconds`` or until one of ``events`` is set."""
    waits = [asyncio.ensure_future(e.wait()) for e in events if e is not None]
    try:
        await asyncio.wait(waits, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waits:
            w.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
