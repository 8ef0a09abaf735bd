"""A video's HLS presentation on both adapters: the row keeps the master playlist's key;
every file under its folder counts as referenced while the row names it, and the janitor
sweeps the files once no row does (a deleted account leaves its blobs to the janitor)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import attrs

from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.clock import ManualClock
from momentic_core.services.processing import Janitor

from .support import Adapters, add_user, add_video

MASTER = "videos/h1/hls/master.m3u8"
FILES = [MASTER, "videos/h1/hls/hi/index.m3u8", "videos/h1/hls/hi/init.mp4",
         "videos/h1/hls/hi/000.m4s", "videos/h1/hls/lo/001.m4s"]


async def test_the_master_key_is_kept_and_every_file_under_it_is_referenced(
    backend: Adapters,
) -> None:
    user = await add_user(backend)
    video = await add_video(backend, user.id, source_key="videos/h1/source")
    assert video.hls_key is None
    async with backend.uow() as tx:
        ready = await tx.videos.update(attrs.evolve(video, hls_key=MASTER))
    assert ready.hls_key == MASTER
    others = ["videos/h2/hls/hi/000.m4s", "videos/h1/hlsx/000.m4s", "videos/h1/hi/000.m4s",
              "videos/hls/hls/master.m3u8"]
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).hls_key == MASTER
        assert await tx.videos.referenced_keys(FILES + others) == set(FILES)
        assert ready.blob_folders() == ["videos/h1/hls/"] and MASTER in ready.blob_keys()
        await tx.videos.delete(video.id)
    async with backend.uow() as tx:
        assert await tx.videos.referenced_keys(FILES) == set()


async def test_the_janitor_sweeps_the_files_of_a_video_no_row_names(
    backend: Adapters, clock: ManualClock
) -> None:
    blobs = InMemoryBlobStore("http://app.test", b"secret", clock=clock)
    user = await add_user(backend)
    kept = await add_video(backend, user.id, source_key="videos/h1/source", hls_key=MASTER)
    gone = await add_video(backend, user.id, source_key="videos/h3/source",
                           hls_key="videos/h3/hls/master.m3u8")
    for key in [*FILES, *(k.replace("/h1/", "/h3/") for k in FILES), "videos/h1/source",
                "videos/h3/source"]:
        await blobs.put_stream(key, _bytes(b"x"), "video/mp4")
    async with backend.uow() as tx:
        await tx.videos.delete(gone.id)  # as a deleted account's videos go
    clock.advance(timedelta(days=2))
    janitor = Janitor(uow=backend.uow, blobs=blobs, clock=clock, min_age=timedelta(days=1))
    swept = await janitor.run()
    left = sorted([info.key async for info in blobs.list_blobs("videos/")])
    assert left == sorted([*FILES, "videos/h1/source"]) and swept["blobs"] == len(FILES) + 1
    async with backend.uow() as tx:
        assert (await tx.videos.get(kept.id)).hls_key == MASTER


async def _bytes(data: bytes) -> AsyncIterator[bytes]:
    yield data
