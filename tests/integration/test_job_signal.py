"""Workers wake on NOTIFY (issue 18 item 5): the jobs table's triggers (migration
20261207_78) tell every instance's PostgresJobSignal the kind of a job queued and due,
when its transaction commits; a Composition's job worker then runs it without waiting for its
next look (here: an hour away)."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import asyncpg

from adapters.config import Settings
from adapters.container import Composition, postgres_storage
from adapters.memory.clock import ManualClock
from adapters.postgres.live import PostgresJobSignal
from adapters.postgres.uow import PostgresUnitOfWork
from adapters.postgres.videos import PostgresJobRunner
from momentic_core.model.jobs import (
    JobMessage,
    ProcessVideo,
    PushNotification,
    RecomputeRatings,
    RunJanitor,
    SendMail,
)
from momentic_core.services.jobs import JobKind, Worker

WAIT = 20.0  # how long a test waits for something that takes milliseconds


class _RolledBack(Exception):
    pass


MAIL = SendMail(to="ann@example.com", subject="Your code", text="123456")


async def _enqueue(pool: asyncpg.Pool, clock: Any, message: JobMessage, **options: Any) -> int:
    async with PostgresUnitOfWork(pool, clock=clock) as tx:
        job_id = await tx.jobs.enqueue(message, **options)
    assert job_id is not None
    return job_id


async def test_a_committed_due_job_is_signalled_with_its_kind(
    clean_pg_pool: asyncpg.Pool, database_url: str
) -> None:
    clock = ManualClock()  # 2026-01-05: what it stamps is due by the server's now()
    heard: asyncio.Queue[str] = asyncio.Queue()
    signal = PostgresJobSignal(database_url)
    await signal.start(heard.put_nowait)
    try:
        later = clock.now().replace(year=2999)
        await _enqueue(clean_pg_pool, clock, RunJanitor(), run_at=later)  # not due: no signal
        with contextlib.suppress(_RolledBack):
            async with PostgresUnitOfWork(clean_pg_pool, clock=clock) as tx:
                await tx.jobs.enqueue(RecomputeRatings())
                raise _RolledBack
        await _enqueue(clean_pg_pool, clock, MAIL)
        # NOTIFYs arrive in commit order: send_mail is the first heard
        assert await asyncio.wait_for(heard.get(), WAIT) == "send_mail"
        runner = PostgresJobRunner(clean_pg_pool, clock)
        job = await runner.claim(["send_mail"], timedelta(minutes=5))
        assert job is not None
        await runner.release(job.id, job.attempts)  # handed back: due again, signalled
        assert await asyncio.wait_for(heard.get(), WAIT) == "send_mail"
        assert heard.empty()
    finally:
        await signal.stop()


async def test_a_backend_worker_wakes_on_the_signal(
    clean_pg_pool: asyncpg.Pool, database_url: str
) -> None:
    ran = asyncio.Event()

    async def job(message: PushNotification) -> None:
        ran.set()

    clock = ManualClock()  # 2026-01-05: what it stamps is due by the server's now()
    storage = postgres_storage(clean_pg_pool, database_url, clock)
    worker = Worker(runner=storage.runner, kinds=[JobKind(PushNotification, job)], clock=clock)
    backend = Composition(Settings(memory=True), workers=True, storage=storage, worker=worker)
    backend.SIGNALLED_IDLE = 3600.0  # only the signal can wake it in time
    await backend.start()
    try:
        await asyncio.sleep(0.5)  # the worker found nothing and idles
        assert not ran.is_set()
        await _enqueue(clean_pg_pool, clock, PushNotification(user_id=1, notification_id=1))
        await asyncio.wait_for(ran.wait(), WAIT)
    finally:
        await backend.stop()


async def test_stopping_hands_a_long_job_back_after_the_grace(
    clean_pg_pool: asyncpg.Pool, database_url: str
) -> None:
    started = asyncio.Event()

    async def transcode(message: ProcessVideo) -> None:
        started.set()
        await asyncio.Event().wait()

    clock = ManualClock()  # 2026-01-05: what it stamps is due by the server's now()
    storage = postgres_storage(clean_pg_pool, database_url, clock)
    runner = storage.runner
    worker = Worker(runner=runner, kinds=[JobKind(ProcessVideo, transcode)], clock=clock)
    settings = Settings(memory=True, job_stop_grace_seconds=0.2)
    backend = Composition(settings, workers=True, storage=storage, worker=worker)
    job_id = await _enqueue(clean_pg_pool, clock, ProcessVideo(video_id=1))
    await backend.start()
    await asyncio.wait_for(started.wait(), WAIT)
    await backend.stop()
    job = await runner.get(job_id)
    assert job is not None and (job.status, job.attempts) == ("queued", 0)


