"""Housekeeping the janitor does (issue 18 item 5), memory and PostgreSQL alike: finished
jobs and ended sessions (with their refresh tokens and devices) are deleted once old
enough, and nothing younger or still alive is touched."""

from __future__ import annotations

from datetime import timedelta

from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.clock import ManualClock
from momentic_core.model.devices import ApnsEnvironment, Device, Platform
from momentic_core.model.jobs import (
    BreakStreaks,
    JobMessage,
    RecomputeRatings,
    RefreshForYou,
    RunJanitor,
)
from momentic_core.services.processing import Janitor

from .support import T0, Adapters, add_session, add_user

DAY = timedelta(days=1)
APNS = "ab" * 32


async def _settled(
    backend: Adapters, clock: ManualClock, message: JobMessage, dead: bool
) -> int:
    async with backend.uow() as tx:
        job_id = await tx.jobs.enqueue(message, max_attempts=1)
    assert job_id is not None
    runner = backend.job_runner(clock)
    job = await runner.claim([message.kind], timedelta(minutes=5))
    assert job is not None and job.id == job_id
    if dead:
        await runner.bury(job.id, "gave up", job.attempts)
    else:
        await runner.complete(job.id, job.attempts)
    return job_id


async def test_done_jobs_go_after_their_ttl_and_dead_ones_later(
    backend: Adapters, clock: ManualClock
) -> None:
    # A kind each, so that each claim takes the job meant.
    await _settled(backend, clock, RunJanitor(), dead=False)
    await _settled(backend, clock, RecomputeRatings(), dead=True)
    clock.advance(8 * DAY)
    await _settled(backend, clock, BreakStreaks(), dead=False)
    async with backend.uow() as tx:
        queued = await tx.jobs.enqueue(RefreshForYou(), run_at=T0)  # never ran: stays
    assert queued is not None
    now = clock.now()
    async with backend.uow() as tx:
        assert await tx.jobs.delete_finished(now - 7 * DAY, now - 30 * DAY) == 1
    clock.advance(30 * DAY)
    now = clock.now()
    async with backend.uow() as tx:
        assert await tx.jobs.delete_finished(now - 7 * DAY, now - 30 * DAY) == 2
        assert await tx.jobs.delete_finished(now - 7 * DAY, now - 30 * DAY) == 0
    job = await backend.job_runner(clock).claim([RefreshForYou.kind], timedelta(minutes=5))
    assert job is not None and job.id == queued


async def test_ended_sessions_go_with_their_refresh_tokens_and_devices(
    backend: Adapters,
) -> None:
    user = await add_user(backend)
    revoked_long_ago = await add_session(backend, user.id)
    revoked_lately = await add_session(backend, user.id)
    idle = await add_session(backend, user.id, last_used_at=T0 - 100 * DAY)
    live = await add_session(backend, user.id, last_used_at=T0)
    async with backend.uow() as tx:
        await tx.sessions.revoke(revoked_long_ago.id, T0 - 40 * DAY)
        await tx.sessions.revoke(revoked_lately.id, T0 - DAY)
        for session in (idle, live):
            await tx.sessions.add_refresh_token(f"hash-{session.id}", session.id, T0)
            await tx.devices.register(Device(
                id=0, user_id=user.id, session_id=session.id, platform=Platform.IOS,
                token=(f"{session.id:02x}" * 32)[:64], created_at=T0, last_seen_at=T0,
                app_version="1.4.0", locale="en", apns_environment=ApnsEnvironment.SANDBOX))
    async with backend.uow() as tx:
        # revoked over 30 days ago, or unused for over 60 + 30 days
        assert await tx.sessions.delete_ended(T0 - 30 * DAY, T0 - 90 * DAY) == 2
    async with backend.uow() as tx:
        assert await tx.sessions.get(revoked_long_ago.id) is None
        assert await tx.sessions.get(idle.id) is None
        assert await tx.sessions.get(revoked_lately.id) is not None
        assert await tx.sessions.get(live.id) is not None
        assert await tx.sessions.use_refresh_token(f"hash-{idle.id}", T0) is None
        assert await tx.sessions.use_refresh_token(f"hash-{live.id}", T0) is not None
        assert [d.session_id for d in await tx.devices.list_for_user(user.id)] == [live.id]


async def test_the_janitor_reports_what_it_pruned(backend: Adapters) -> None:
    user = await add_user(backend)
    old = await add_session(backend, user.id, last_used_at=T0 - 100 * DAY)
    clock = ManualClock(T0)
    janitor = Janitor(uow=backend.uow, blobs=InMemoryBlobStore("http://m.test", b"k",
                                                               clock=clock), clock=clock)
    counts = await janitor.run()
    assert (counts["sessions"], counts["jobs"], counts["rate_limits"]) == (1, 0, 0)
    async with backend.uow() as tx:
        assert await tx.sessions.get(old.id) is None
