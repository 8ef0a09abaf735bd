"""The backfills (services.backfill) on the memory adapters: content hashes streamed from
the blob store, the oldest of one author's identical files keeping the hash and the
others reported; HLS packaging queued as jobs once, which the package_hls job runs as
processing would; progress per batch; a second run does nothing more."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import attrs
import pytest
from config_support import runtime_config

from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.clock import ManualClock
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from adapters.memory.videos import InMemoryJobRunner
from momentic_core.errors import Invalid, Unavailable
from momentic_core.model.accounts import User
from momentic_core.model.jobs import PackageHls
from momentic_core.model.videos import Backfill, MediaInfo, Video, VideoStatus, Visibility
from momentic_core.services.backfill import Backfills, Duplicate
from momentic_core.services.processing import Processing


class Env:
    def __init__(self) -> None:
        self.clock = ManualClock(datetime(2026, 12, 7, 12, tzinfo=UTC))
        self.store = MemoryStore()
        self.blobs = InMemoryBlobStore("http://app.test", b"secret", clock=self.clock)
        self.backfills = Backfills(uow=self.uow, blobs=self.blobs)

    def uow(self, *, read_only: bool = False, may_lag: bool = False) -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(self.store, clock=self.clock)

    async def user(self, n: int) -> User:
        async with self.uow() as tx:
            return await tx.users.add(User(
                id=0, email=f"u{n}@example.com", nickname=f"u{n}", created_at=self.clock.now(),
                password_hash="$argon2id$fake"))

    async def video(self, author: User, n: int, data: bytes | None, **fields: object) -> Video:
        folder = f"videos/{n:032x}"
        if data is not None:
            await self.blobs.put_stream(f"{folder}/source", _chunks(data), "video/mp4")
        values: dict[str, object] = {
            "id": 0, "author_id": author.id, "description": "", "visibility": Visibility.PUBLIC,
            "status": VideoStatus.READY, "created_at": self.clock.now(),
            "updated_at": self.clock.now(), "source_key": f"{folder}/source",
            "playback_key": f"{folder}/source",
        }
        values.update(fields)
        async with self.uow() as tx:
            return await tx.videos.add(Video(**values))  # type: ignore[arg-type]

    async def get(self, video_id: int) -> Video:
        async with self.uow() as tx:
            return await tx.videos.get(video_id)


async def _chunks(data: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(data), 7):  # several chunks: the hash is of the stream
        yield data[start : start + 7]


async def test_hashes_stream_the_originals_keep_the_oldest_and_report_the_rest() -> None:
    env = Env()
    ann, bob = await env.user(1), await env.user(2)
    same, other = b"the same bytes, twice" * 50, b"other bytes"
    oldest = await env.video(ann, 1, same)
    copy = await env.video(ann, 2, same, status=VideoStatus.HELD)
    theirs = await env.video(bob, 3, same)  # another author's: apart
    another = await env.video(ann, 4, other)
    lost = await env.video(ann, 5, None)  # its file is gone
    steps: list[tuple[int, int]] = []

    report = await env.backfills.run(Backfill.HASHES, lambda d, t: steps.append((d, t)), 2)

    digest = hashlib.sha256(same).hexdigest()
    assert (await env.get(oldest.id)).content_hash == digest
    assert (await env.get(theirs.id)).content_hash == digest
    assert (await env.get(another.id)).content_hash == hashlib.sha256(other).hexdigest()
    assert (await env.get(copy.id)).content_hash is None
    assert (report.seen, report.done) == (5, 3)
    assert report.duplicates == (Duplicate(copy.id, ann.id, oldest.id),)
    assert report.missing == (lost.id,)
    assert steps == [(2, 5), (4, 5), (5, 5)]

    again = await env.backfills.run(Backfill.HASHES)  # nothing more is written
    assert (again.seen, again.done, again.duplicates, again.missing) == (
        2, 0, report.duplicates, report.missing)
    assert (await env.get(copy.id)).content_hash is None


async def test_a_newer_upload_that_was_hashed_keeps_its_hash() -> None:
    env = Env()
    ann = await env.user(1)
    data = b"uploaded before and after migration 79"
    old = await env.video(ann, 1, data)
    new = await env.video(ann, 2, data, content_hash=hashlib.sha256(data).hexdigest())
    report = await env.backfills.run(Backfill.HASHES)
    assert report.done == 0 and report.duplicates == (Duplicate(old.id, ann.id, new.id),)
    assert (await env.get(old.id)).content_hash is None


class Packager:
    """A media processor whose HLS is two files (``fail``: undecodable)."""

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.calls = fail, 0

    async def probe(self, path: Path) -> MediaInfo:
        raise AssertionError("package_hls does not probe")

    async def thumbnail(self, source: Path, target: Path) -> None:
        raise AssertionError("package_hls makes no thumbnail")

    async def transcode(self, source: Path, target: Path) -> None:
        raise AssertionError("package_hls does not transcode")

    async def hls(self, playback: Path, target: Path) -> list[str]:
        self.calls += 1
        assert playback.read_bytes() == b"an mp4"
        if self.fail:
            raise Invalid("no decoder configuration", code="undecodable")
        target.mkdir()
        (target / "master.m3u8").write_text("#EXTM3U\n")
        (target / "lo.m3u8").write_text("#EXTM3U\n")
        return ["master.m3u8", "lo.m3u8"]


async def test_hls_is_queued_once_and_the_job_packages_the_mp4() -> None:
    env = Env()
    ann = await env.user(1)
    old = [await env.video(ann, n, b"an mp4") for n in (1, 2)]
    await env.video(ann, 3, b"an mp4", hls_key="videos/3/hls/master.m3u8")
    processing = await env.video(ann, 4, b"an mp4", status=VideoStatus.PROCESSING)

    report = await env.backfills.run(Backfill.HLS)
    assert (report.seen, report.done, report.already) == (2, 2, 0)
    again = await env.backfills.run(Backfill.HLS)  # queued: not twice
    assert (again.seen, again.done, again.already) == (2, 0, 2)

    media = Packager()
    work = Processing(uow=env.uow, blobs=env.blobs, media=media, clock=env.clock,
                      config=runtime_config(env.uow, env.clock))
    runner = InMemoryJobRunner(env.store, env.clock)
    jobs = []
    while (job := await runner.claim([PackageHls.kind], timedelta(minutes=5))) is not None:
        jobs.append(job)
        assert isinstance(job.message, PackageHls)
        await work.package_hls(job.message)
        await work.package_hls(job.message)  # idempotent: once packaged, left alone
    assert sorted(j.payload["video_id"] for j in jobs) == [v.id for v in old]
    assert media.calls == 2
    for video in old:
        done = await env.get(video.id)
        assert video.source_key is not None
        folder = video.source_key.rsplit("/", 1)[0]
        assert done.hls_key == f"{folder}/hls/master.m3u8"
        assert done.status is VideoStatus.READY and done.playback_key == video.playback_key
        assert await env.blobs.stat(f"{folder}/hls/lo.m3u8") is not None
    await work.package_hls(PackageHls(video_id=processing.id))  # processing: its own job does it
    assert (await env.get(processing.id)).hls_key is None and media.calls == 2

    for job in jobs:
        await runner.complete(job.id, job.attempts)
    final = await env.backfills.run(Backfill.HLS)
    assert (final.seen, final.done, final.already) == (0, 0, 0)


async def test_an_mp4_that_will_not_package_keeps_playing() -> None:
    env = Env()
    ann = await env.user(1)
    video = await env.video(ann, 1, b"an mp4")
    media = Packager(fail=True)
    work = Processing(uow=env.uow, blobs=env.blobs, media=media, clock=env.clock,
                      config=runtime_config(env.uow, env.clock))
    await work.package_hls(PackageHls(video_id=video.id))  # no exception: nothing to retry
    done = await env.get(video.id)
    assert done.hls_key is None and done.status is VideoStatus.READY
    assert done.hls_error == "undecodable"  # kept, so the backfill passes over it
    assert [b.key async for b in env.blobs.list_blobs("videos/")] == [video.source_key]
    await work.package_hls(PackageHls(video_id=10**9))  # deleted meanwhile: nothing
    await work.package_hls(PackageHls(video_id=video.id))  # failed for good: not again
    assert media.calls == 1


async def test_the_backfill_passes_over_an_mp4_that_would_not_package() -> None:
    env = Env()
    ann = await env.user(1)
    bad = await env.video(ann, 1, b"an mp4")
    good = await env.video(ann, 2, b"an mp4")
    work = Processing(uow=env.uow, blobs=env.blobs, media=Packager(fail=True), clock=env.clock,
                      config=runtime_config(env.uow, env.clock))
    await work.package_hls(PackageHls(video_id=bad.id))

    report = await env.backfills.run(Backfill.HLS)
    assert (report.seen, report.done, report.already, report.failed) == (1, 1, 0, 1)
    runner = InMemoryJobRunner(env.store, env.clock)
    job = await runner.claim([PackageHls.kind], timedelta(minutes=5))
    assert job is not None and job.payload["video_id"] == good.id
    await runner.complete(job.id, job.attempts)
    again = await env.backfills.run(Backfill.HLS)  # every run: skipped, never queued
    assert (again.seen, again.done, again.failed) == (1, 1, 1)
    assert await runner.claim([PackageHls.kind], timedelta(minutes=5)) is not None
    assert await runner.claim([PackageHls.kind], timedelta(minutes=5)) is None


class Flaky(Packager):
    """The blob store or the worker failed: nothing to blame on the file."""

    async def hls(self, playback: Path, target: Path) -> list[str]:
        self.calls += 1
        raise Unavailable("the disk is full", code="storage_unavailable")


async def test_a_passing_failure_is_retried_and_queued_again() -> None:
    env = Env()
    ann = await env.user(1)
    video = await env.video(ann, 1, b"an mp4")
    work = Processing(uow=env.uow, blobs=env.blobs, media=Flaky(), clock=env.clock,
                      config=runtime_config(env.uow, env.clock))
    with pytest.raises(Unavailable):  # raised: the job worker retries it
        await work.package_hls(PackageHls(video_id=video.id))
    assert (await env.get(video.id)).hls_error is None
    report = await env.backfills.run(Backfill.HLS)
    assert (report.seen, report.done, report.failed) == (1, 1, 0)


class Meanwhile(Packager):
    """Packages, while ``then`` happens to the video (a moderator, its author)."""

    def __init__(self, then: Callable[[], Awaitable[None]]) -> None:
        super().__init__()
        self.then = then

    async def hls(self, playback: Path, target: Path) -> list[str]:
        files = await super().hls(playback, target)
        await self.then()
        return files


@pytest.mark.parametrize("status", [VideoStatus.REMOVED, VideoStatus.HELD, None])
async def test_a_video_removed_or_deleted_while_packaging_gets_no_hls(
    status: VideoStatus | None,
) -> None:
    env = Env()
    ann = await env.user(1)
    video = await env.video(ann, 1, b"an mp4")

    async def change() -> None:
        async with env.uow() as tx:
            if status is None:
                await tx.videos.delete(video.id)
            else:
                current = await tx.videos.get_for_update(video.id)
                await tx.videos.update(attrs.evolve(current, status=status))

    work = Processing(uow=env.uow, blobs=env.blobs, media=Meanwhile(change), clock=env.clock,
                      config=runtime_config(env.uow, env.clock))
    await work.package_hls(PackageHls(video_id=video.id))

    assert [b.key async for b in env.blobs.list_blobs("videos/")] == [video.source_key]
    if status is not None:
        after = await env.get(video.id)
        assert after.status is status and after.hls_key is None and after.hls_error is None


async def test_a_batch_is_at_least_one_video() -> None:
    env = Env()
    for batch in (0, -1):
        with pytest.raises(ValueError, match="at least 1"):
            await env.backfills.run(Backfill.HLS, batch=batch)


async def test_search_has_nothing_to_do_on_memory() -> None:
    env = Env()
    ann = await env.user(1)
    await env.video(ann, 1, b"x", description="#tag words")
    report = await env.backfills.run(Backfill.SEARCH)
    assert (report.seen, report.done) == (0, 0)
