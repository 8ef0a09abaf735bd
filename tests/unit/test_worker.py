"""The job worker: retries with backoff, burial after ``max_attempts`` with the reason kept,
and a job whose worker keeps dying (a poison pill) buried instead of taken forever."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from adapters.memory.clock import ManualClock
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from adapters.memory.videos import InMemoryJobRunner
from momentic_core.services.jobs import JobKind, Worker

LEASE = timedelta(minutes=10)


class Recorder:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.runs = 0
        self.dead: list[tuple[dict[str, Any], str]] = []

    async def run(self, payload: dict[str, Any]) -> None:
        self.runs += 1
        if self.fail:
            raise RuntimeError("boom")

    async def on_dead(self, payload: dict[str, Any], reason: str) -> None:
        self.dead.append((payload, reason))


async def setup(recorder: Recorder, max_attempts: int) -> tuple[ManualClock, Worker, int]:
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    store = MemoryStore()
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        job_id = await tx.jobs.enqueue("k", {"n": 1}, max_attempts=max_attempts)
    assert job_id is not None
    worker = Worker(
        runner=InMemoryJobRunner(store, clock),
        kinds={"k": JobKind(run=recorder.run, on_dead=recorder.on_dead)},
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
    assert recorder.dead == [({"n": 1}, "RuntimeError: boom")]


async def test_a_job_whose_worker_dies_every_time_is_buried_not_taken_forever() -> None:
    recorder = Recorder()
    clock, worker, job_id = await setup(recorder, max_attempts=2)
    runner = worker._runner
    # Two workers take it and die mid-way (the process is killed: nothing is settled).
    for _ in range(2):
        assert await runner.claim(["k"], LEASE) is not None
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
        await tx.jobs.enqueue("k", {"n": 1})
    runner = FlakyRunner(store, clock)
    worker = Worker(runner=runner, kinds={"k": JobKind(run=recorder.run)}, clock=clock)
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
        job_id = await tx.jobs.enqueue("slow", {})
    assert job_id is not None
    started, finish = asyncio.Event(), asyncio.Event()

    async def slow(payload: dict[str, Any]) -> None:
        started.set()
        await finish.wait()

    lease = timedelta(milliseconds=600)
    worker = Worker(runner=InMemoryJobRunner(store, clock),
                    kinds={"slow": JobKind(run=slow)}, clock=clock, lease=lease)
    running = asyncio.create_task(worker.run_once())
    await started.wait()
    rival = InMemoryJobRunner(store, clock)
    for _ in range(4):  # four leases' worth of time
        await asyncio.sleep(lease.total_seconds())
        assert await rival.claim(["slow"], lease) is None, "taken while still running"
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

    async def announce(payload: dict[str, Any]) -> None:
        ran.set()

    worker = Worker(runner=InMemoryJobRunner(store, clock),
                    kinds={"moment": JobKind(run=announce)}, clock=clock)
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        await tx.jobs.enqueue("moment", {}, run_at=clock.now() + timedelta(milliseconds=300))
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run_forever(stop, idle=600.0))
    try:
        # The timeout only turns a regression (a ten-minute wait) into a failure.
        await asyncio.wait_for(ran.wait(), 60)
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)
