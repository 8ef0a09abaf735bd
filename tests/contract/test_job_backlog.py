"""What /metrics reads of storage: the job backlog per kind and the open uploads, alike on
memory and PostgreSQL (JobRunner.backlog, UploadRepository.count_open)."""

from __future__ import annotations

from datetime import timedelta

import attrs

from adapters.memory.clock import ManualClock
from momentic_core.model.jobs import DeliverPushes, JobBacklog, JobMessage, ProcessVideo, SendMail

from .support import T0, Adapters, add_upload, add_user

LEASE = timedelta(minutes=10)


MAIL = SendMail(to="ann@example.com", subject="Your code", text="123456")
VIDEO = ProcessVideo(video_id=1)


async def _enqueue(backend: Adapters, message: JobMessage, **options: object) -> int:
    async with backend.uow() as tx:
        job_id = await tx.jobs.enqueue(message, **options)  # type: ignore[arg-type]
    assert job_id is not None
    return job_id


async def test_nothing_queued_is_an_empty_backlog(backend: Adapters, clock: ManualClock) -> None:
    assert await backend.job_runner(clock).backlog() == []


async def test_the_backlog_counts_each_kind_by_status(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    for _ in range(3):
        await _enqueue(backend, MAIL)
    await _enqueue(backend, MAIL, run_at=clock.now() + timedelta(hours=1))
    clock.advance(timedelta(seconds=30))
    await _enqueue(backend, DeliverPushes([]))  # due now: it has waited 0 s
    await _enqueue(backend, VIDEO)
    await _enqueue(backend, VIDEO)

    taken = await runner.claim(["process_video"], LEASE)
    assert taken is not None
    buried = await runner.claim(["process_video"], LEASE)
    assert buried is not None
    await runner.bury(buried.id, "broken")
    done = await runner.claim(["send_mail"], LEASE)
    assert done is not None
    await runner.complete(done.id)  # done jobs are no backlog
    clock.advance(timedelta(seconds=15))

    assert await runner.backlog() == [
        JobBacklog("process_video", queued=0, running=1, dead=1, oldest_due_seconds=0.0),
        JobBacklog("push.deliver", queued=1, running=0, dead=0, oldest_due_seconds=15.0),
        # two due since T0 + 0 (45 s ago) and one due in an hour
        JobBacklog("send_mail", queued=3, running=0, dead=0, oldest_due_seconds=45.0),
    ]


async def test_a_retried_job_waits_from_when_it_is_due(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    await _enqueue(backend, MAIL)
    job = await runner.claim(["send_mail"], LEASE)
    assert job is not None
    await runner.retry(job.id, "timeout", clock.now() + timedelta(minutes=1))
    (waiting,) = await runner.backlog()
    assert attrs.astuple(waiting) == ("send_mail", 1, 0, 0, 0.0)  # not due yet
    clock.advance(timedelta(minutes=3))
    (waiting,) = await runner.backlog()
    assert waiting.oldest_due_seconds == 120.0


async def test_open_uploads_are_those_not_completed(backend: Adapters) -> None:
    user = await add_user(backend)
    first = await add_upload(backend, user.id, key="videos/a/source", created_at=T0)
    await add_upload(backend, user.id, key="videos/b/source", created_at=T0)
    async with backend.uow() as tx:
        assert await tx.uploads.count_open() == 2
        await tx.uploads.update(attrs.evolve(first, completed_at=T0 + timedelta(seconds=1)))
    async with backend.uow() as tx:
        assert await tx.uploads.count_open() == 1
