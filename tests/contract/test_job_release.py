"""A stopping worker hands its job back (issue 18 item 5): JobRunner.release on memory and
PostgreSQL, and the Worker calling it when it is cancelled mid-job."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from adapters.memory.clock import ManualClock
from momentic_core.model.jobs import ProcessVideo
from momentic_core.services.jobs import JobKind, Worker

from .support import Adapters

LEASE = timedelta(minutes=10)


async def _enqueue(backend: Adapters) -> int:
    async with backend.uow() as tx:
        job_id = await tx.jobs.enqueue(ProcessVideo(video_id=1), max_attempts=2)
    assert job_id is not None
    return job_id


async def test_a_released_job_is_due_again_at_once_and_its_attempt_not_counted(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    job_id = await _enqueue(backend)
    taken = await runner.claim(["process_video"], LEASE)
    assert taken is not None and taken.attempts == 1
    clock.advance(timedelta(seconds=30))
    await runner.release(job_id, taken.attempts)
    job = await runner.get(job_id)
    assert job is not None
    assert (job.status, job.attempts, job.run_at) == ("queued", 0, clock.now())
    again = await runner.claim(["process_video"], LEASE)  # no lease to wait out
    assert again is not None and (again.id, again.attempts) == (job_id, 1)


async def test_release_acts_only_on_that_claim(backend: Adapters, clock: ManualClock) -> None:
    runner = backend.job_runner(clock)
    job_id = await _enqueue(backend)
    first = await runner.claim(["process_video"], LEASE)
    assert first is not None
    clock.advance(LEASE + timedelta(seconds=1))  # its worker died: another takes it
    second = await runner.claim(["process_video"], LEASE)
    assert second is not None and second.attempts == 2
    await runner.release(job_id, first.attempts)  # the old claim's release: ignored
    job = await runner.get(job_id)
    assert job is not None and (job.status, job.attempts) == ("running", 2)
    await runner.complete(job_id, second.attempts)
    await runner.release(job_id, second.attempts)  # done stays done
    job = await runner.get(job_id)
    assert job is not None and job.status == "done"


async def test_a_worker_cancelled_mid_job_hands_it_back(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    started = asyncio.Event()

    async def transcode(job: ProcessVideo) -> None:
        started.set()
        await asyncio.Event().wait()  # longer than any grace

    worker = Worker(runner=runner, kinds=[JobKind(ProcessVideo, transcode)], clock=clock)
    job_id = await _enqueue(backend)
    task = asyncio.create_task(worker.run_once())
    await asyncio.wait_for(started.wait(), 10)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    job = await runner.get(job_id)
    assert job is not None and (job.status, job.attempts) == ("queued", 0)
