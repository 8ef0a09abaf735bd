"""Duplicates by content (issue 20 item 3): VideoRepository's content hash, memory and
PostgreSQL alike. One author has at most one video of given bytes among those that hold
them (CONTENT_STATUSES); rejected and failed ones hold nothing; other authors are apart;
removed content an author deleted stays known, until the account goes."""

from __future__ import annotations

import asyncio
import hashlib

import attrs
import pytest

from momentic_core.errors import Conflict
from momentic_core.model.videos import CONTENT_STATUSES, VideoStatus

from .support import T0, Adapters, add_user, add_video, new_video

A = hashlib.sha256(b"a clip").hexdigest()
B = hashlib.sha256(b"another clip").hexdigest()


async def test_the_hash_round_trips_and_finds_the_video(backend: Adapters) -> None:
    ann = await add_user(backend)
    video = await add_video(backend, ann.id, content_hash=A)
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).content_hash == A
        assert await tx.videos.by_content(ann.id, A) == video
        assert await tx.videos.by_content(ann.id, B) is None
    older = await add_video(backend, ann.id)  # uploaded before hashing: None, never found
    async with backend.uow() as tx:
        assert (await tx.videos.get(older.id)).content_hash is None


@pytest.mark.parametrize("status", sorted(CONTENT_STATUSES))
async def test_a_second_video_of_the_same_bytes_is_refused(
    backend: Adapters, status: VideoStatus
) -> None:
    ann, bob = await add_user(backend), await add_user(backend)
    first = await add_video(backend, ann.id, content_hash=A, status=status)
    with pytest.raises(Conflict) as refused:
        async with backend.uow() as tx:
            await tx.videos.add(new_video(ann.id, content_hash=A))
    assert refused.value.code == "duplicate_content"
    theirs = await add_video(backend, bob.id, content_hash=A)  # another author: apart
    other = await add_video(backend, ann.id, content_hash=B)
    async with backend.uow() as tx:
        assert await tx.videos.by_content(ann.id, A) == first
        assert await tx.videos.by_content(bob.id, A) == theirs
        with pytest.raises(Conflict) as moved:
            await tx.videos.update(attrs.evolve(other, content_hash=A))
    assert moved.value.code == "duplicate_content"


@pytest.mark.parametrize("status", [VideoStatus.REJECTED, VideoStatus.FAILED])
async def test_a_rejected_or_failed_video_holds_no_content(
    backend: Adapters, status: VideoStatus
) -> None:
    ann = await add_user(backend)
    gone = await add_video(backend, ann.id, content_hash=A, status=status)
    async with backend.uow() as tx:
        assert await tx.videos.by_content(ann.id, A) is None
    again = await add_video(backend, ann.id, content_hash=A)  # tried again: a new video
    async with backend.uow() as tx:
        assert await tx.videos.by_content(ann.id, A) == again
        # and the failed one cannot come back to hold it beside the new one
        with pytest.raises(Conflict):
            await tx.videos.update(attrs.evolve(gone, status=VideoStatus.READY))


async def test_processing_settling_as_rejected_frees_the_content(backend: Adapters) -> None:
    ann = await add_user(backend)
    video = await add_video(backend, ann.id, content_hash=A)
    async with backend.uow() as tx:
        await tx.videos.update(attrs.evolve(video, status=VideoStatus.REJECTED))
    async with backend.uow() as tx:
        assert await tx.videos.by_content(ann.id, A) is None


async def test_deleting_the_video_frees_the_content(backend: Adapters) -> None:
    ann = await add_user(backend)
    video = await add_video(backend, ann.id, content_hash=A)
    async with backend.uow() as tx:
        await tx.videos.delete(video.id)
    async with backend.uow() as tx:
        assert await tx.videos.by_content(ann.id, A) is None
    await add_video(backend, ann.id, content_hash=A)


async def test_of_two_concurrent_adds_of_the_same_bytes_one_wins(backend: Adapters) -> None:
    ann = await add_user(backend)

    async def add() -> int | str:
        try:
            async with backend.uow() as tx:
                return (await tx.videos.add(new_video(ann.id, content_hash=A))).id
        except Conflict as exc:
            return exc.code

    results = await asyncio.gather(add(), add())
    assert sorted(map(str, results))[-1] == "duplicate_content", results
    (won,) = [r for r in results if isinstance(r, int)]
    async with backend.uow() as tx:
        assert (await tx.videos.by_content(ann.id, A)).id == won  # type: ignore[union-attr]


async def test_removed_content_is_remembered_per_author_until_the_account_goes(
    backend: Adapters,
) -> None:
    ann, bob = await add_user(backend), await add_user(backend)
    async with backend.uow() as tx:
        assert not await tx.videos.removed_content(ann.id, A)
        await tx.videos.remember_removed(ann.id, A, T0)
        await tx.videos.remember_removed(ann.id, A, T0)  # idempotent
    async with backend.uow() as tx:
        assert await tx.videos.removed_content(ann.id, A)
        assert not await tx.videos.removed_content(ann.id, B)
        assert not await tx.videos.removed_content(bob.id, A)
    with pytest.raises(Conflict):  # rolled back with its unit of work
        async with backend.uow() as tx:
            await tx.videos.remember_removed(bob.id, A, T0)
            raise Conflict("undo", code="conflict")
    async with backend.uow() as tx:
        assert not await tx.videos.removed_content(bob.id, A)
        await tx.users.delete(ann.id)
    async with backend.uow() as tx:
        assert not await tx.videos.removed_content(ann.id, A)
