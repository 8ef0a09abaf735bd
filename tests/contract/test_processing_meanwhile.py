"""The process_video job, run by the worker on memory and PostgreSQL, when the video is
deleted by its author or removed or held by a moderator while it is processed: nothing is
written, the thumbnail, MP4 and HLS files this run stored are deleted again, and the job
is done (not retried); the author's streak, points and notifications do not move. A video
another run processed meanwhile keeps its files (the same keys)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import attrs
import pytest
from config_support import runtime_config

from adapters.media.images import PillowImageProcessor
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.clock import ManualClock
from adapters.memory.rate_limiter import InMemoryRateLimiter
from momentic_core.errors import Unavailable
from momentic_core.model.accounts import Principal, Role, User
from momentic_core.model.jobs import ProcessVideo
from momentic_core.model.videos import MediaInfo, Video, VideoStatus, Visibility
from momentic_core.policies.media import hls_master_key
from momentic_core.services.jobs import Worker
from momentic_core.services.processing import Janitor, Processing, video_job_kinds
from momentic_core.services.throttle import Throttle
from momentic_core.services.videos import Videos

from .support import Adapters, new_user

BASE = "videos/" + "c" * 32
SOURCE = f"{BASE}/source"
STORED = [f"{BASE}/thumb.jpg", f"{BASE}/playback.mp4", f"{BASE}/hls/master.m3u8",
          f"{BASE}/hls/lo.m3u8"]


class Meanwhile:
    """A media processor (an upload that must be transcoded, HLS of two playlists) while
    ``then`` happens to the video, after its last step and before its files are stored."""

    def __init__(self, then: Callable[[], Awaitable[None]]) -> None:
        self.then = then

    async def probe(self, path: Path) -> MediaInfo:
        return MediaInfo("mp4", 3.0, 64, 64, "hevc", None, False)

    async def thumbnail(self, source: Path, target: Path) -> None:
        target.write_bytes(b"\xff\xd8jpeg")

    async def transcode(self, source: Path, target: Path) -> None:
        target.write_bytes(b"an mp4")

    async def hls(self, playback: Path, target: Path) -> list[str]:
        target.mkdir()
        (target / "master.m3u8").write_text("#EXTM3U\n")
        (target / "lo.m3u8").write_text("#EXTM3U\n")
        await self.then()
        return ["master.m3u8", "lo.m3u8"]


class StuckBlobs(InMemoryBlobStore):
    """Stores, but cannot delete (the store is down by then)."""

    async def delete(self, key: str) -> None:
        raise Unavailable("the store is down", code="storage_unavailable")


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


class World:
    def __init__(self, backend: Adapters, clock: ManualClock, blobs: InMemoryBlobStore) -> None:
        self.backend, self.clock, self.blobs = backend, clock, blobs
        self.config = runtime_config(backend.uow, clock)
        self.videos = Videos(
            uow=backend.uow, blobs=blobs, images=PillowImageProcessor(), clock=clock,
            throttle=Throttle(InMemoryRateLimiter(clock), config=self.config),
            config=self.config,
        )

    async def start(self) -> tuple[User, Video, int]:
        """An author, their video being processed, and its queued job."""
        async with self.backend.uow() as tx:
            author = await tx.users.add(new_user())
            video = await tx.videos.add(Video(
                id=0, author_id=author.id, description="", visibility=Visibility.PUBLIC,
                status=VideoStatus.PROCESSING, created_at=self.clock.now(),
                updated_at=self.clock.now(), source_key=SOURCE,
            ))
            job_id = await tx.jobs.enqueue(ProcessVideo(video_id=video.id))
        assert job_id is not None
        await self.blobs.put_stream(SOURCE, _one(b"\0\0\0\x18ftypmp42"), "video/mp4")
        return author, video, job_id

    async def counters(self, author: User) -> tuple[object, ...]:
        async with self.backend.uow() as tx:
            user = await tx.users.get(author.id)
            unread = await tx.notifications.unread_count(author.id)
        return (user.rating, user.current_streak, user.max_streak, user.last_post_day, unread)

    async def set_status(self, video_id: int, status: VideoStatus, **fields: object) -> None:
        async with self.backend.uow() as tx:
            current = await tx.videos.get_for_update(video_id)
            await tx.videos.update(attrs.evolve(current, status=status, **fields))

    async def run(self, then: Callable[[], Awaitable[None]]) -> None:
        processing = Processing(uow=self.backend.uow, blobs=self.blobs, media=Meanwhile(then),
                                clock=self.clock, config=self.config)
        janitor = Janitor(uow=self.backend.uow, blobs=self.blobs, clock=self.clock)
        worker = Worker(runner=self.backend.job_runner(self.clock),
                        kinds=video_job_kinds(processing, janitor), clock=self.clock)
        assert await worker.run_once() is not None

    async def keys(self) -> list[str]:
        return sorted([b.key async for b in self.blobs.list_blobs("videos/")])

    async def assert_done(self, job_id: int) -> None:
        job = await self.backend.job_runner(self.clock).get(job_id)
        assert job is not None
        assert (job.status, job.attempts, job.last_error) == ("done", 1, None)


def _blobs(clock: ManualClock, cls: type[InMemoryBlobStore] = InMemoryBlobStore
           ) -> InMemoryBlobStore:
    return cls("http://app.test", b"secret", clock=clock)


async def test_a_video_its_author_deletes_while_it_is_processed_leaves_no_file(
    backend: Adapters, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    world = World(backend, clock, _blobs(clock))
    author, video, job_id = await world.start()
    before = await world.counters(author)

    async def delete() -> None:
        await world.videos.delete(Principal(user_id=author.id, role=Role.USER, session_id=0),
                                  video.id)

    with caplog.at_level(logging.INFO, logger="momentic_core.services.processing"):
        await world.run(delete)

    assert await world.keys() == []
    await world.assert_done(job_id)
    assert await world.counters(author) == before
    [line] = [r for r in caplog.records if r.name == "momentic_core.services.processing"]
    assert (line.levelno, line.video, line.status, line.deleted, line.left_to_janitor) == (
        logging.INFO, video.id, "deleted", 4, 0)


@pytest.mark.parametrize("status", [VideoStatus.REMOVED, VideoStatus.HELD])
async def test_a_video_a_moderator_removes_while_it_is_processed_gets_no_files(
    backend: Adapters, clock: ManualClock, status: VideoStatus
) -> None:
    world = World(backend, clock, _blobs(clock))
    author, video, job_id = await world.start()
    before = await world.counters(author)

    async def remove() -> None:
        await world.set_status(video.id, status)

    await world.run(remove)

    assert await world.keys() == [SOURCE]  # the row names it: not this run's to delete
    await world.assert_done(job_id)
    assert await world.counters(author) == before
    async with backend.uow() as tx:
        after = await tx.videos.get(video.id)
    assert after.status is status
    assert (after.playback_key, after.thumbnail_key, after.hls_key) == (None, None, None)


async def test_files_not_deleted_are_left_to_the_janitor_and_the_job_is_done(
    backend: Adapters, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    world = World(backend, clock, _blobs(clock, StuckBlobs))
    _, video, job_id = await world.start()

    async def remove() -> None:
        await world.set_status(video.id, VideoStatus.REMOVED)

    with caplog.at_level(logging.INFO, logger="momentic_core.services.processing"):
        await world.run(remove)

    assert await world.keys() == sorted([SOURCE, *STORED])
    await world.assert_done(job_id)
    [line] = [r for r in caplog.records if r.name == "momentic_core.services.processing"]
    assert (line.levelno, line.status, line.deleted, line.left_to_janitor) == (
        logging.WARNING, "removed", 0, 4)


async def test_a_video_processed_meanwhile_keeps_its_files(
    backend: Adapters, clock: ManualClock
) -> None:
    world = World(backend, clock, _blobs(clock))
    _, video, job_id = await world.start()
    keys = {"thumbnail_key": f"{BASE}/thumb.jpg", "playback_key": f"{BASE}/playback.mp4",
            "hls_key": hls_master_key(BASE)}

    async def another_run() -> None:  # its lease ran out, another worker finished it
        await world.set_status(video.id, VideoStatus.READY, **keys)

    await world.run(another_run)

    assert await world.keys() == sorted([SOURCE, *STORED])
    await world.assert_done(job_id)
    async with backend.uow() as tx:
        after = await tx.videos.get(video.id)
    assert after.status is VideoStatus.READY
    assert (after.thumbnail_key, after.playback_key, after.hls_key) == tuple(keys.values())
