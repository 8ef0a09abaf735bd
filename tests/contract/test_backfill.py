"""The backfills' port (VideoRepository.lacking, count_lacking, index_search,
set_content_hash), memory and PostgreSQL alike: which videos each backfill is for, by id
in pages, and writes that are idempotent and never break one author's unique content."""

from __future__ import annotations

import hashlib

import attrs
import pytest

from momentic_core.model.social import FeedItem
from momentic_core.model.videos import Backfill, VideoStatus
from momentic_core.policies.search import search_words

from .support import Adapters, add_user, add_video

A = hashlib.sha256(b"a clip").hexdigest()
B = hashlib.sha256(b"another clip").hexdigest()


async def _lacking(backend: Adapters, what: Backfill, after: int = 0, limit: int = 50) -> list[int]:
    async with backend.uow() as tx:
        return [v.id for v in await tx.videos.lacking(what, after, limit)]


async def _count(backend: Adapters, what: Backfill) -> int:
    async with backend.uow() as tx:
        return await tx.videos.count_lacking(what)


async def test_hls_is_for_ready_videos_with_an_mp4_and_no_presentation(backend: Adapters) -> None:
    ann = await add_user(backend)
    old = [await add_video(backend, ann.id, playback_key=f"videos/{n:032x}/source")
           for n in range(3)]
    await add_video(backend, ann.id, playback_key="videos/p/source",
                    hls_key="videos/p/hls/master.m3u8")
    await add_video(backend, ann.id, status=VideoStatus.PROCESSING)
    await add_video(backend, ann.id, status=VideoStatus.HELD, playback_key="videos/h/source")
    await add_video(backend, ann.id)  # ready without an MP4: nothing to package
    ids = [v.id for v in old]
    assert await _lacking(backend, Backfill.HLS) == ids
    assert await _count(backend, Backfill.HLS) == 3
    assert await _lacking(backend, Backfill.HLS, limit=2) == ids[:2]
    assert await _lacking(backend, Backfill.HLS, after=ids[1]) == ids[2:]


async def test_hls_passes_over_a_video_whose_mp4_would_not_package(backend: Adapters) -> None:
    ann = await add_user(backend)
    good = await add_video(backend, ann.id, playback_key="videos/g/source")
    bad = await add_video(backend, ann.id, playback_key="videos/b/source")
    assert await _lacking(backend, Backfill.HLS) == [good.id, bad.id]
    async with backend.uow() as tx:
        assert await tx.videos.count_hls_failed() == 0
        current = await tx.videos.get_for_update(bad.id)
        await tx.videos.update(attrs.evolve(current, hls_error="undecodable"))
    async with backend.uow() as tx:
        assert (await tx.videos.get(bad.id)).hls_error == "undecodable"  # stored
        assert await tx.videos.count_hls_failed() == 1
    assert await _lacking(backend, Backfill.HLS) == [good.id]
    assert await _count(backend, Backfill.HLS) == 1
    await add_video(backend, ann.id, playback_key="videos/a/source", hls_error="undecodable")
    async with backend.uow() as tx:  # add keeps it too
        assert await tx.videos.count_hls_failed() == 2
        current = await tx.videos.get_for_update(bad.id)  # removed: not counted
        await tx.videos.update(attrs.evolve(current, status=VideoStatus.REMOVED))
    async with backend.uow() as tx:
        assert await tx.videos.count_hls_failed() == 1


async def test_hashes_are_for_videos_holding_a_file_without_a_hash(backend: Adapters) -> None:
    ann, bob = await add_user(backend), await add_user(backend)
    first = await add_video(backend, ann.id)
    second = await add_video(backend, ann.id, status=VideoStatus.REMOVED)
    third = await add_video(backend, bob.id)
    await add_video(backend, ann.id, content_hash=B)
    await add_video(backend, ann.id, status=VideoStatus.REJECTED)
    await add_video(backend, ann.id, source_key=None)
    assert await _lacking(backend, Backfill.HASHES) == [first.id, second.id, third.id]
    assert await _count(backend, Backfill.HASHES) == 3

    async with backend.uow() as tx:
        assert await tx.videos.set_content_hash(first.id, A)
        assert not await tx.videos.set_content_hash(first.id, B)  # hashed already
        assert not await tx.videos.set_content_hash(second.id, A)  # ann's first holds A
        assert await tx.videos.set_content_hash(third.id, A)  # another author: apart
        assert not await tx.videos.set_content_hash(second.id, B)  # ann holds B too
        assert not await tx.videos.set_content_hash(10**9, A)  # gone
    async with backend.uow() as tx:
        assert (await tx.videos.get(first.id)).content_hash == A
        assert (await tx.videos.get(second.id)).content_hash is None
        assert await tx.videos.by_content(ann.id, A) == await tx.videos.get(first.id)
    assert await _lacking(backend, Backfill.HASHES) == [second.id]


async def test_a_rejected_video_is_not_hashed(backend: Adapters) -> None:
    ann = await add_user(backend)
    video = await add_video(backend, ann.id, status=VideoStatus.FAILED)
    async with backend.uow() as tx:
        assert not await tx.videos.set_content_hash(video.id, A)
        assert (await tx.videos.get(video.id)).content_hash is None


def _ids(items: list[FeedItem]) -> list[int]:
    return [item.video.id for item in items]


async def test_index_search_indexes_what_was_never_indexed(
    backend: Adapters, request: pytest.FixtureRequest
) -> None:
    ann, bob = await add_user(backend), await add_user(backend)
    videos = [await add_video(backend, ann.id, description=f"old #Tag{n % 2} words{n}")
              for n in range(3)]
    ids = [v.id for v in videos]
    if backend.name == "postgres":  # as migration 20261207_73 left older videos
        pool = request.getfixturevalue("clean_pg_pool")
        await pool.execute("UPDATE videos SET search_words = NULL")
        await pool.execute("DELETE FROM video_hashtags")
        assert await _lacking(backend, Backfill.SEARCH) == ids
        assert await _count(backend, Backfill.SEARCH) == 3
        async with backend.uow() as tx:
            assert await tx.search.videos(bob.id, search_words("words1"), None, False, 9) == []
            assert await tx.search.hashtag_videos(bob.id, "tag0", None, False, 9) == []
    async with backend.uow() as tx:
        done = await tx.videos.index_search(ids[:2])
    assert done == (2 if backend.name == "postgres" else 0)
    async with backend.uow() as tx:
        done = await tx.videos.index_search(ids)
    assert done == (1 if backend.name == "postgres" else 0)
    async with backend.uow() as tx:  # and again: nothing left
        assert await tx.videos.index_search(ids) == 0
    assert await _lacking(backend, Backfill.SEARCH) == []
    assert await _count(backend, Backfill.SEARCH) == 0
    async with backend.uow() as tx:  # both adapters find them alike
        assert _ids(await tx.search.videos(bob.id, search_words("words1"), None, False, 9)) \
            == [ids[1]]
        assert sorted(_ids(await tx.search.hashtag_videos(bob.id, "tag0", None, False, 9))) \
            == [ids[0], ids[2]]
