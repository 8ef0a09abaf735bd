"""JobQueue and JobRunner contract: memory and PostgreSQL behave alike.

Jobs are enqueued through a unit of work (they commit with it) and taken and settled by
a runner. Time is the test's ManualClock: the units of work stamp jobs with it and the
runners read "now" from it, so leases and backoffs run out when the test moves it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from adapters.memory.clock import ManualClock
from adapters.postgres.videos import PostgresJobRunner
from momentic_core.model.devices import ApnsEnvironment, Platform
from momentic_core.model.jobs import (
    BadPayload,
    DeliverPushes,
    JobMessage,
    ProcessVideo,
    PushDelivery,
    RunJanitor,
    SendMail,
)

from .support import Adapters, add_user, new_video

LEASE = timedelta(minutes=10)


async def enqueue(
    backend: Adapters, message: JobMessage | None = None, **options: Any
) -> int | None:
    async with backend.uow() as tx:
        return await tx.jobs.enqueue(
            ProcessVideo(video_id=1) if message is None else message, **options
        )


JANITOR = RunJanitor()


async def test_an_enqueued_job_is_queued_and_due_now(backend: Adapters, clock: ManualClock) -> None:
    job_id = await enqueue(backend, ProcessVideo(video_id=7), max_attempts=3)
    assert job_id is not None
    job = await backend.job_runner(clock).get(job_id)
    assert job is not None
    assert (job.id, job.kind, job.payload, job.message, job.status) == (
        job_id,
        "process_video",
        {"video_id": 7},
        ProcessVideo(video_id=7),
        "queued",
    )
    assert (job.attempts, job.max_attempts, job.last_error) == (0, 3, None)
    assert job.run_at == job.created_at == clock.now()


async def test_a_message_comes_back_from_the_store_as_it_went_in(
    backend: Adapters, clock: ManualClock
) -> None:
    """Through JSON on both stores: enums, None, nested lists and maps, non-ASCII text."""
    delivery = DeliverPushes([
        PushDelivery(device_id=3, platform=Platform.IOS, token="ab" * 32, title="Ánna",
                     body="reacted 🔥", apns_environment=ApnsEnvironment.SANDBOX, badge=2,
                     collapse_id="c-1", data={"kind": "reaction", "video_id": "9"},
                     user_id=5, key="n:1:3"),
        PushDelivery(device_id=4, platform=Platform.ANDROID, token="t", title="t", body="b",
                     user_id=5),
        PushDelivery(device_id=5, platform=Platform.ANDROID, token="u", title="t", body="b",
                     user_id=5, key="moment:2026-01-05:5",
                     expires_at=clock.now() + timedelta(seconds=120.25)),
    ])
    job_id = await enqueue(backend, delivery)
    assert job_id is not None
    claimed = await backend.job_runner(clock).claim([DeliverPushes.kind], LEASE)
    assert claimed is not None and claimed.id == job_id
    assert claimed.message == delivery
    assert claimed.payload["messages"][1] == {
        "device_id": 4, "platform": "android", "token": "t", "title": "t", "body": "b",
        "apns_environment": None, "badge": None, "collapse_id": None, "data": {},
        "user_id": 5,  # no "key": a delivery without one is stored without one
    }  # nor "expires_at" (a push without a time limit)
    assert claimed.payload["messages"][2]["expires_at"] == (
        clock.now() + timedelta(seconds=120.25)).isoformat()


async def test_an_unknown_job_is_none(backend: Adapters, clock: ManualClock) -> None:
    assert await backend.job_runner(clock).get(424242) is None


async def test_a_job_commits_and_rolls_back_with_its_unit_of_work(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    user = await add_user(backend)
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            video = await tx.videos.add(new_video(user.id))
            ghost = await tx.jobs.enqueue(ProcessVideo(video_id=video.id))
            raise RuntimeError("the use case failed")
    assert ghost is not None
    assert await runner.get(ghost) is None
    assert await runner.claim(["process_video"], LEASE) is None
    async with backend.uow() as tx:
        video = await tx.videos.add(new_video(user.id))
        kept = await tx.jobs.enqueue(ProcessVideo(video_id=video.id))
    claimed = await runner.claim(["process_video"], LEASE)
    assert claimed is not None
    assert (claimed.id, claimed.message) == (kept, ProcessVideo(video_id=video.id))


async def test_a_dedupe_key_allows_one_live_job(backend: Adapters, clock: ManualClock) -> None:
    runner = backend.job_runner(clock)
    first = await enqueue(backend, JANITOR, dedupe_key="janitor")
    assert first is not None
    assert await enqueue(backend, JANITOR, dedupe_key="janitor") is None  # queued
    assert await enqueue(backend, JANITOR, dedupe_key="other") is not None
    assert await enqueue(backend, JANITOR) is not None  # no key, no dedupe
    assert await enqueue(backend, JANITOR) is not None
    claimed = await runner.claim(["janitor"], LEASE)
    assert claimed is not None and claimed.id == first
    assert await enqueue(backend, JANITOR, dedupe_key="janitor") is None  # running
    await runner.retry(first, "boom", clock.now())
    assert await enqueue(backend, JANITOR, dedupe_key="janitor") is None  # queued
    again = await runner.claim(["janitor"], LEASE)
    assert again is not None and again.id == first
    await runner.complete(first)
    second = await enqueue(backend, JANITOR, dedupe_key="janitor")
    assert second is not None and second != first  # the done one no longer counts


async def test_a_dedupe_key_frees_up_when_the_job_dies(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    first = await enqueue(backend, JANITOR, dedupe_key="janitor")
    assert first is not None
    assert (await runner.claim(["janitor"], LEASE)) is not None
    await runner.bury(first, "no luck")
    assert await enqueue(backend, JANITOR, dedupe_key="janitor") is not None


async def test_a_dedupe_that_rolls_back_keeps_the_key_free(
    backend: Adapters, clock: ManualClock
) -> None:
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            assert await tx.jobs.enqueue(JANITOR, dedupe_key="janitor") is not None
            raise RuntimeError("the use case failed")
    assert await enqueue(backend, JANITOR, dedupe_key="janitor") is not None


async def test_claim_takes_due_jobs_only_oldest_first(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    assert await runner.claim(["process_video"], LEASE) is None  # nothing queued
    later = await enqueue(backend, run_at=clock.now() + timedelta(minutes=5))
    soon = await enqueue(backend, run_at=clock.now() + timedelta(minutes=1))
    assert await runner.claim(["process_video"], LEASE) is None  # not due yet
    clock.advance(timedelta(minutes=1))
    first = await runner.claim(["process_video"], LEASE)
    assert first is not None and first.id == soon  # run_at == now is due
    assert (first.status, first.attempts) == ("running", 1)
    assert await runner.claim(["process_video"], LEASE) is None
    clock.advance(timedelta(minutes=10))
    now_a = await enqueue(backend)
    now_b = await enqueue(backend)
    # Oldest run_at first, then id: "later" (run_at 5 min) before the two made now.
    taken = [await runner.claim(["process_video"], timedelta(hours=1)) for _ in range(3)]
    assert [j.id for j in taken if j is not None] == [later, now_a, now_b]


async def test_next_due_is_the_earliest_queued_job_of_the_kinds(
    backend: Adapters, clock: ManualClock
) -> None:
    """What an idle worker waits for: running and settled jobs and other kinds count not."""
    runner = backend.job_runner(clock)
    assert await runner.next_due(["process_video"]) is None  # nothing queued
    await enqueue(backend, JANITOR, run_at=clock.now() + timedelta(seconds=5))
    assert await runner.next_due(["process_video"]) is None
    await enqueue(backend, run_at=clock.now() + timedelta(minutes=5))
    soon = clock.now() + timedelta(minutes=1)
    await enqueue(backend, run_at=soon)
    assert await runner.next_due(["process_video"]) == soon
    assert await runner.next_due(["process_video", "janitor"]) == clock.now() + timedelta(
        seconds=5)
    clock.advance(timedelta(minutes=1))
    assert await runner.claim(["process_video"], LEASE) is not None  # "soon", now running
    assert await runner.next_due(["process_video"]) == clock.now() + timedelta(minutes=4)
    assert await runner.next_due([]) is None


async def test_claim_takes_only_the_kinds_asked_for(backend: Adapters, clock: ManualClock) -> None:
    runner = backend.job_runner(clock)
    janitor = await enqueue(backend, JANITOR)
    video = await enqueue(backend)
    assert await runner.claim([], LEASE) is None
    assert await runner.claim(["something_else"], LEASE) is None
    got = await runner.claim(["process_video"], LEASE)
    assert got is not None and got.id == video
    got = await runner.claim(["janitor", "process_video"], LEASE)
    assert got is not None and got.id == janitor


async def test_a_claimed_job_is_taken_again_only_when_its_lease_runs_out(
    backend: Adapters, clock: ManualClock
) -> None:
    """A job killed mid-way is taken again after restart."""
    job_id = await enqueue(backend)
    first = await backend.job_runner(clock).claim(["process_video"], LEASE)
    assert first is not None and first.id == job_id and first.attempts == 1
    # The worker "dies" holding the job. Until the lease runs out, nobody takes it.
    restarted = backend.job_runner(clock)
    assert await restarted.claim(["process_video"], LEASE) is None
    clock.advance(LEASE)
    assert await restarted.claim(["process_video"], LEASE) is None  # still exactly leased
    clock.advance(timedelta(seconds=1))
    again = await restarted.claim(["process_video"], LEASE)
    assert again is not None
    assert (again.id, again.status, again.attempts) == (job_id, "running", 2)
    assert await restarted.claim(["process_video"], LEASE) is None  # leased anew
    await restarted.complete(job_id)
    clock.advance(LEASE * 3)
    assert await restarted.claim(["process_video"], LEASE) is None
    done = await restarted.get(job_id)
    assert done is not None and (done.status, done.attempts) == ("done", 2)


async def test_retry_queues_the_job_again_at_its_time_with_the_reason(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    job_id = await enqueue(backend, max_attempts=3)
    assert job_id is not None
    assert await runner.claim(["process_video"], LEASE) is not None
    retry_at = clock.now() + timedelta(seconds=30)
    await runner.retry(job_id, "OSError: network", retry_at)
    job = await runner.get(job_id)
    assert job is not None
    assert (job.status, job.attempts, job.run_at, job.last_error) == (
        "queued",
        1,
        retry_at,
        "OSError: network",
    )
    assert await runner.claim(["process_video"], LEASE) is None  # backing off
    clock.advance(timedelta(seconds=30))
    again = await runner.claim(["process_video"], LEASE)
    assert again is not None and (again.id, again.attempts) == (job_id, 2)
    assert again.last_error == "OSError: network"  # kept until the job settles otherwise


async def test_a_refunded_retry_does_not_count_the_attempt(
    backend: Adapters, clock: ManualClock
) -> None:
    """retry(refund=True): queued at its time with the reason, the attempt handed back
    (a paused push delivery); only that claim's (attempt) settles it."""
    runner = backend.job_runner(clock)
    job_id = await enqueue(backend, max_attempts=1)
    assert job_id is not None
    taken = await runner.claim(["process_video"], LEASE)
    assert taken is not None and taken.attempts == 1
    retry_at = clock.now() + timedelta(hours=1)
    await runner.retry(job_id, "PushRetry: paused", retry_at, attempt=2, refund=True)
    job = await runner.get(job_id)
    assert job is not None and (job.status, job.attempts) == ("running", 1), "not its claim"
    for _ in range(3):
        await runner.retry(job_id, "PushRetry: paused", retry_at, attempt=1, refund=True)
        job = await runner.get(job_id)
        assert job is not None
        assert (job.status, job.attempts, job.run_at, job.last_error) == (
            "queued", 0, retry_at, "PushRetry: paused")
        assert await runner.claim(["process_video"], LEASE) is None  # not before its time
        clock.advance(timedelta(hours=1))
        again = await runner.claim(["process_video"], LEASE)
        assert again is not None and (again.id, again.attempts) == (job_id, 1)
        retry_at = clock.now() + timedelta(hours=1)


async def test_bury_keeps_the_reason_and_the_job_is_never_taken_again(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    job_id = await enqueue(backend, max_attempts=1)
    assert job_id is not None
    assert await runner.claim(["process_video"], LEASE) is not None
    await runner.bury(job_id, "ValueError: corrupt file")
    clock.advance(LEASE * 10)
    assert await runner.claim(["process_video"], LEASE) is None
    job = await runner.get(job_id)
    assert job is not None
    assert (job.status, job.attempts, job.last_error) == ("dead", 1, "ValueError: corrupt file")


async def test_forget_clears_the_payload_of_a_done_or_dead_job_only(
    backend: Adapters, clock: ManualClock
) -> None:
    """A job whose payload holds a secret (a mailed code) keeps it no longer than the job
    lives; other jobs keep theirs (``complete``/``bury`` without ``forget``)."""
    runner = backend.job_runner(clock)
    secret = {"to": "ann@example.com", "subject": "code 123456", "text": "123456"}
    mail = SendMail(**secret)
    done, dead, kept = [await enqueue(backend, mail) for _ in range(3)]
    assert done is not None and dead is not None and kept is not None
    for _ in range(3):
        assert await runner.claim(["send_mail"], LEASE) is not None
    await runner.complete(done, forget=True)
    await runner.bury(dead, "Unavailable: mail not sent", forget=True)
    await runner.complete(kept)
    got = [await runner.get(job_id) for job_id in (done, dead, kept)]
    assert [(j.status, j.payload) for j in got if j is not None] == [
        ("done", {}),
        ("dead", {}),
        ("done", secret),
    ]


async def test_settling_a_job_that_is_not_running_changes_nothing(
    backend: Adapters, clock: ManualClock
) -> None:
    runner = backend.job_runner(clock)
    queued = await enqueue(backend)
    assert queued is not None
    before = await runner.get(queued)
    await runner.complete(queued)
    await runner.bury(queued, "no")
    await runner.retry(queued, "no", clock.now() + timedelta(days=1))
    assert await runner.get(queued) == before
    await runner.complete(424242)  # unknown: nothing happens either


async def test_concurrent_claimers_never_share_a_job_and_take_them_all(
    backend: Adapters, clock: ManualClock
) -> None:
    runners = [backend.job_runner(clock) for _ in range(10)]
    for round_ in range(4):
        made = {await enqueue(backend, ProcessVideo(video_id=n + 10 * round_)) for n in range(5)}
        taken = await asyncio.gather(*(r.claim(["process_video"], LEASE) for r in runners))
        ids = [job.id for job in taken if job is not None]
        assert len(ids) == len(set(ids)), "a job was taken twice"
        assert set(ids) == made
        assert all(job.attempts == 1 for job in taken if job is not None)


async def test_postgres_claim_skips_a_locked_job_instead_of_waiting(
    clean_pg_pool: asyncpg.Pool, clock: ManualClock
) -> None:
    """SKIP LOCKED: a job another transaction holds is passed over at once."""
    async with clean_pg_pool.acquire() as conn:
        await conn.execute(
            """
            INSERT INTO jobs (kind, payload, run_at, created_at, updated_at)
            SELECT 'process_video', '{}', $1, $1, $1 FROM generate_series(1, 2)
            """,
            clock.now(),
        )
    runner = PostgresJobRunner(clean_pg_pool, clock)
    async with clean_pg_pool.acquire() as holder, holder.transaction():
        held = await holder.fetchval("SELECT min(id) FROM jobs")
        await holder.execute("SELECT 1 FROM jobs WHERE id = $1 FOR UPDATE", held)
        async with asyncio.timeout(2):
            first = await runner.claim(["process_video"], LEASE)
            second = await runner.claim(["process_video"], LEASE)
        assert first is not None and first.id != held
        assert second is None
    third = await runner.claim(["process_video"], LEASE)
    assert third is not None and third.id == held


async def test_a_heartbeat_keeps_the_lease_and_a_lost_claim_cannot_settle(
    backend: Adapters, clock: ManualClock
) -> None:
    job_id = await enqueue(backend)
    first = backend.job_runner(clock)
    job = await first.claim(["process_video"], LEASE)
    assert job is not None and job.id == job_id
    other = backend.job_runner(clock)

    # A heartbeat renews the lease: past the original lease, nobody takes the job.
    clock.advance(LEASE * 0.75)
    assert await first.extend(job.id, job.attempts, LEASE)
    clock.advance(LEASE * 0.75)
    assert await other.claim(["process_video"], LEASE) is None

    # Without heartbeats the lease runs out and another worker takes the job over.
    clock.advance(LEASE * 2)
    taken = await other.claim(["process_video"], LEASE)
    assert taken is not None and taken.attempts == job.attempts + 1
    assert not await first.extend(job.id, job.attempts, LEASE), "the claim was lost"

    # The stale worker cannot settle the new claim ...
    await first.complete(job.id, attempt=job.attempts)
    await first.bury(job.id, "stale", attempt=job.attempts)
    await first.retry(job.id, "stale", clock.now(), attempt=job.attempts)
    current = await other.get(job.id)
    assert current is not None and current.status == "running"
    assert current.attempts == taken.attempts and current.last_error is None
    # ... and the worker that holds it can.
    await other.complete(job.id, attempt=taken.attempts)
    done = await other.get(job.id)
    assert done is not None and done.status == "done"


async def test_postgres_reads_a_payload_that_is_not_its_kinds_message_as_bad(
    clean_pg_pool: asyncpg.Pool, clock: ManualClock
) -> None:
    """A row the code cannot read (hand-edited, or a kind this release does not have)
    comes back with a BadPayload saying why, its payload as stored; the worker buries it."""
    async with clean_pg_pool.acquire() as conn:
        await conn.execute(
            """
            INSERT INTO jobs (kind, payload, run_at, created_at, updated_at) VALUES
                ('process_video', '{"video_id": "seven"}', $1, $1, $1),
                ('process_video', '[1, 2]', $1, $1, $1),
                ('gone.kind', '{}', $1, $1, $1)
            """,
            clock.now(),
        )
    runner = PostgresJobRunner(clean_pg_pool, clock)
    seven = await runner.claim(["process_video"], LEASE)
    listed = await runner.claim(["process_video"], LEASE)
    gone = await runner.claim(["gone.kind"], LEASE)
    assert seven is not None and listed is not None and gone is not None
    assert seven.payload == {"video_id": "seven"}
    assert isinstance(seven.message, BadPayload)
    assert seven.message.reason.startswith("payload is not a ProcessVideo: ")
    assert "$.video_id" in seven.message.reason
    assert isinstance(listed.message, BadPayload)
    assert gone.message == BadPayload("no job kind 'gone.kind'")
