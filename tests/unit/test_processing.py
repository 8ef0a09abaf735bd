"""Processing a video on the in-memory adapters with a scripted media processor: a file
that probes well but cannot be decoded later (thumbnail, transcode, HLS packaging) is
rejected with its reason at once, not retried and then failed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from config_support import runtime_config

from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.clock import ManualClock
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from momentic_core.errors import Invalid
from momentic_core.model.accounts import User
from momentic_core.model.jobs import ProcessVideo
from momentic_core.model.videos import MediaInfo, Video, VideoStatus, Visibility
from momentic_core.services.processing import Processing


class ScriptedMedia:
    def __init__(self, *, playable: bool, fail_in: str) -> None:
        self.playable = playable
        self.fail_in = fail_in

    async def probe(self, path: Path) -> MediaInfo:
        return MediaInfo("mp4", 3.0, 64, 64, "hevc", None, self.playable)

    async def thumbnail(self, source: Path, target: Path) -> None:
        if self.fail_in == "thumbnail":
            raise Invalid("The file is not a decodable video.", code="undecodable")
        target.write_bytes(b"\xff\xd8jpeg")

    async def transcode(self, source: Path, target: Path) -> None:
        if self.fail_in == "transcode":
            raise Invalid("too many damaged packets", code="undecodable")
        target.write_bytes(b"mp4")

    async def hls(self, playback: Path, target: Path) -> list[str]:
        if self.fail_in == "hls":
            raise Invalid("no decoder configuration", code="undecodable")
        target.mkdir()
        (target / "master.m3u8").write_text("#EXTM3U\n")
        return ["master.m3u8"]


async def _one(data: bytes):  # type: ignore[no-untyped-def]
    yield data


@pytest.mark.parametrize(
    ("playable", "fail_in"), [(True, "thumbnail"), (False, "transcode"), (True, "hls")]
)
async def test_a_file_undecodable_past_the_probe_is_rejected_and_leaves_no_blob(
    playable: bool, fail_in: str
) -> None:
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    store = MemoryStore()
    blobs = InMemoryBlobStore("http://app.test", b"secret", clock=clock)

    def uow() -> InMemoryUnitOfWork:
        return InMemoryUnitOfWork(store, clock=clock)

    async with uow() as tx:
        user = await tx.users.add(
            User(
                id=0,
                email="a@example.com",
                nickname="a",
                created_at=clock.now(),
                password_hash="$argon2id$fake",
            )
        )
        video = await tx.videos.add(
            Video(
                id=0,
                author_id=user.id,
                description="",
                visibility=Visibility.PUBLIC,
                status=VideoStatus.PROCESSING,
                created_at=clock.now(),
                updated_at=clock.now(),
                source_key="videos/" + "a" * 32 + "/source",
            )
        )
    assert video.source_key is not None
    await blobs.put_stream(video.source_key, _one(b"\0\0\0\x18ftypmp42"), "video/mp4")
    processing = Processing(
        uow=uow,
        blobs=blobs,
        media=ScriptedMedia(playable=playable, fail_in=fail_in),
        clock=clock,
        config=runtime_config(uow, clock),
    )

    await processing.process(ProcessVideo(video_id=video.id))  # no exception: nothing to retry

    async with uow() as tx:
        done = await tx.videos.get(video.id)
    assert (done.status, done.status_reason) == (VideoStatus.REJECTED, "undecodable")
    assert [b.key async for b in blobs.list_blobs("videos/")] == []
