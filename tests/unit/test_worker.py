"""The job worker: retries with backoff, burial after ``max_attempts`` with the reason kept,
a job whose worker keeps dying (a poison pill) buried instead of taken forever, and a job
whose payload is not its kind's message buried at once, the loop going on."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs
import pytest

from adapters.memory.clock import ManualClock
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from adapters.memory.videos import InMemoryJobRunner
from momentic_core.model.jobs import AnnounceMoment, ProcessVideo, RunJanitor, SendMail
from momentic_core.services.jobs import JobKind, Worker

LEASE = timedelta(minutes=10)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.ran: list[ProcessVideo] = []
        self.dead: list[tuple[ProcessVideo, str]] = []

    @property
    def runs(self) -> int:
        return len(self.ran)

    async def run(self, job: ProcessVideo) -> None:
        self.ran.append(job)
        if self.fail:
            raise RuntimeError("boom")

    async def on_dead(self, job: ProcessVideo, reason: str) -> None:
        self.dead.append((job, reason))


VIDEO = ProcessVideo(video_id=1)
KIND = ProcessVideo.kind


async def setup(recorder: Recorder, max_attempts: int) -> tuple[ManualClock, Worker, int]:
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    store = MemoryStore()
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        job_id = await tx.jobs.enqueue(VIDEO, max_attempts=max_attempts)
    assert job_id is not None
    worker = Worker(
        runner=InMemoryJobRunner(store, clock),
        kinds=[JobKind(ProcessVideo, recorder.run, on_dead=recorder.on_dead)],
        clock=clock,
        lease=LEASE,
        backoff=timedelta(seconds=5),
    )
    return clock, worker, job_id


async def test_a_failing_job_is_retried_with_backoff_then_buried_with_its_reason() -> None:
    recorder = Recorder(fail=True)
    clock, worker, job_id = await setup(recorder, max_attempts=3)
    runner = worker._runner

    assert await worker.run_once() is not None
    job = await runner.get(job_id)
    assert job is not None and job.status == "queued" and job.last_error == "RuntimeError: boom"
    assert job.run_at == clock.now() + timedelta(seconds=5)
    assert await worker.run_once() is None, "not due before its backoff"
    clock.advance(timedelta(seconds=5))
    assert await worker.run_once() is not None
    job = await runner.get(job_id)
    assert job is not None and job.run_at == clock.now() + timedelta(seconds=10)
    clock.advance(timedelta(seconds=10))
    assert await worker.run_once() is not None
    job = await runner.get(job_id)
    assert job is not None and (job.status, job.attempts) == ("dead", 3)
    assert recorder.runs == 3
    assert recorder.ran == [VIDEO] * 3
    assert recorder.dead == [(VIDEO, "RuntimeError: boom")]


async def test_a_paused_retry_is_not_counted_as_an_attempt() -> None:
    """A RetryLater(paused=True) (the job's service asked it to wait) is retried at its
    not_before however often it comes, the attempt handed back each time; its backoff
    stays where the real failures left it; real failures still bury it."""
    from momentic_core.services.jobs import RetryLater

    answers: list[Exception | None] = [RuntimeError("boom")] + [None] * 10
    ran: list[int] = []

    async def run(job: ProcessVideo) -> None:
        ran.append(job.video_id)
        if (exc := answers.pop(0)) is not None:
            raise exc
        raise RetryLater("the service pauses", not_before=clock.now() + timedelta(hours=1),
                         paused=True)

    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    store = MemoryStore()
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        job_id = await tx.jobs.enqueue(VIDEO, max_attempts=2)
    assert job_id is not None
    runner = InMemoryJobRunner(store, clock)
    worker = Worker(runner=runner, kinds=[JobKind(ProcessVideo, run)], clock=clock,
                    lease=LEASE, backoff=timedelta(seconds=5))
    assert await worker.run_once() is not None  # a real failure: attempt 1 of 2
    clock.advance(timedelta(seconds=5))
    for _ in range(10):  # ten pauses of an hour, far past max_attempts
        assert await worker.run_once() is not None
        job = await runner.get(job_id)
        assert job is not None
        assert (job.status, job.attempts) == ("queued", 1), "the pause is not an attempt"
        assert job.run_at == clock.now() + timedelta(hours=1)
        assert job.last_error == "RetryLater: the service pauses"
        clock.advance(timedelta(hours=1))
    answers.append(RuntimeError("boom again"))
    assert await worker.run_once() is not None
    job = await runner.get(job_id)
    assert job is not None and (job.status, job.attempts) == ("dead", 2)
    assert len(ran) == 12


async def test_a_job_whose_worker_dies_every_time_is_buried_not_taken_forever() -> None:
    recorder = Recorder()
    clock, worker, job_id = await setup(recorder, max_attempts=2)
    runner = worker._runner
    # Two workers take it and die mid-way (the process is killed: nothing is settled).
    for _ in range(2):
        assert await runner.claim([KIND], LEASE) is not None
        clock.advance(LEASE + timedelta(seconds=1))

    assert await worker.run_once() is not None
    job = await runner.get(job_id)
    assert job is not None and job.status == "dead"
    assert job.last_error is not None and "lease" in job.last_error
    assert recorder.runs == 0, "a job out of attempts is not run again"
    assert len(recorder.dead) == 1
    clock.advance(LEASE * 2)
    assert await worker.run_once() is None


class FlakyRunner(InMemoryJobRunner):
    """Fails the first claim with an error the adapter did not translate."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.claims = 0

    async def claim(self, kinds: list[str], lease: timedelta) -> Any:
        self.claims += 1
        if self.claims == 1:
            raise OSError("connection reset")
        return await super().claim(kinds, lease)


async def test_an_unexpected_error_pauses_the_worker_loop_but_never_ends_it() -> None:
    recorder = Recorder()
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    store = MemoryStore()
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        await tx.jobs.enqueue(VIDEO)
    runner = FlakyRunner(store, clock)
    worker = Worker(runner=runner, kinds=[JobKind(ProcessVideo, recorder.run)], clock=clock)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop, idle=0.01))
    for _ in range(200):
        if recorder.runs:
            break
        await asyncio.sleep(0.01)
    stop.set()
    await asyncio.wait_for(task, 5)
    assert recorder.runs == 1, "the loop survived the first failure and ran the job"


async def test_a_long_job_keeps_its_lease_while_it_runs() -> None:
    """The worker's heartbeat renews the lease, so a second worker never takes a job that
    is still running, however long it runs."""
    from adapters.clock import SystemClock

    clock = SystemClock()
    store = MemoryStore()
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        job_id = await tx.jobs.enqueue(RunJanitor())
    assert job_id is not None
    started, finish = asyncio.Event(), asyncio.Event()

    async def slow(job: RunJanitor) -> None:
        started.set()
        await finish.wait()

    lease = timedelta(milliseconds=600)
    worker = Worker(runner=InMemoryJobRunner(store, clock),
                    kinds=[JobKind(RunJanitor, slow)], clock=clock, lease=lease)
    running = asyncio.create_task(worker.run_once())
    await started.wait()
    rival = InMemoryJobRunner(store, clock)
    for _ in range(4):  # four leases' worth of time
        await asyncio.sleep(lease.total_seconds())
        assert await rival.claim([RunJanitor.kind], lease) is None, "taken while still running"
    finish.set()
    job = await running
    assert job is not None
    done = await rival.get(job_id)
    assert done is not None and (done.status, done.attempts) == ("done", 1)


async def test_an_idle_worker_runs_a_job_queued_for_later_at_its_time() -> None:
    """The daily moment's announcement is queued hours ahead: a worker that finds it not
    due yet and would look again in ten minutes runs it when it comes due (nothing else
    wakes it: it was queued long before)."""
    from adapters.clock import SystemClock

    clock = SystemClock()
    store = MemoryStore()
    ran = asyncio.Event()

    async def announce(job: AnnounceMoment) -> None:
        ran.set()

    worker = Worker(runner=InMemoryJobRunner(store, clock),
                    kinds=[JobKind(AnnounceMoment, announce)], clock=clock)
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        await tx.jobs.enqueue(AnnounceMoment(zone="Asia/Tokyo", day=date(2026, 12, 7)),
                              run_at=clock.now() + timedelta(milliseconds=300))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop, idle=600.0))
    try:
        # The timeout only turns a regression (a ten-minute wait) into a failure.
        await asyncio.wait_for(ran.wait(), 60)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


def _corrupt(store: MemoryStore, job_id: int, payload: Any) -> None:
    """The row as a hand edit (or a release with another shape) left it."""
    row = store.jobs[job_id]
    store.jobs[job_id] = attrs.evolve(row, job=attrs.evolve(row.job, payload=payload))


async def test_a_payload_that_is_not_its_kinds_message_is_buried_at_once_and_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Not run, not retried (its payload would not change), no on_dead (there is no
    message to give it); one error line names the job, its kind and why; the loop goes on
    to the next job."""
    recorder = Recorder()
    clock, worker, bad = await setup(recorder, max_attempts=5)
    store = worker._runner._s  # type: ignore[attr-defined]
    _corrupt(store, bad, {"video": 1})
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        good = await tx.jobs.enqueue(ProcessVideo(video_id=2))
    stop = asyncio.Event()
    with caplog.at_level(logging.ERROR, logger="momentic_core.services.jobs"):
        task = asyncio.create_task(worker.run_forever(stop, idle=0.01))
        for _ in range(500):
            if recorder.runs:
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, 5)
    assert recorder.ran == [ProcessVideo(video_id=2)] and recorder.dead == []
    job = await worker._runner.get(bad)
    assert job is not None and (job.status, job.attempts) == ("dead", 1)
    assert job.last_error == (
        "payload is not a ProcessVideo: required field missing @ $.video_id"
    )
    assert job.payload == {"video": 1}  # kept for the operator to read
    done = await worker._runner.get(good)
    assert done is not None and done.status == "done"
    [line] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert line.getMessage() == "job dead: its payload is not a ProcessVideo"
    assert (line.job, line.kind, line.reason) == (  # type: ignore[attr-defined]
        bad, "process_video", job.last_error)


async def test_a_bad_payload_of_a_secret_kind_is_forgotten_when_buried() -> None:
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    store = MemoryStore()
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        job_id = await tx.jobs.enqueue(SendMail(to="a@example.com", subject="s", text="t"))
    assert job_id is not None
    _corrupt(store, job_id, {"to": "a@example.com", "subject": "code 123456"})

    async def send(job: SendMail) -> None:
        raise AssertionError("not run")

    worker = Worker(runner=InMemoryJobRunner(store, clock), kinds=[JobKind(SendMail, send)],
                    clock=clock)
    assert await worker.run_once() is not None
    job = await worker._runner.get(job_id)
    assert job is not None and (job.status, job.payload) == ("dead", {})


async def test_a_kind_the_worker_has_no_handler_for_waits_for_one_that_has() -> None:
    """During a rolling deploy a newer release may queue a kind an older worker does not
    run: it is not taken (nor buried) by that worker."""
    recorder = Recorder()
    clock, worker, _ = await setup(recorder, max_attempts=1)
    store = worker._runner._s  # type: ignore[attr-defined]
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        other = await tx.jobs.enqueue(RunJanitor())
    assert await worker.run_once() is not None  # the video job
    assert await worker.run_once() is None
    job = await worker._runner.get(other)
    assert job is not None and (job.status, job.attempts) == ("queued", 0)


def test_a_kind_has_one_handler_per_worker() -> None:
    recorder = Recorder()
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    with pytest.raises(ValueError, match="two handlers of the job kind process_video"):
        Worker(runner=InMemoryJobRunner(MemoryStore(), clock), clock=clock,
               kinds=[JobKind(ProcessVideo, recorder.run), JobKind(ProcessVideo, recorder.run)])
