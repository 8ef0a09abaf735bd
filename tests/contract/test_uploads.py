"""UploadRepository contract: memory and PostgreSQL behave alike."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from momentic_core.errors import Conflict, NotFound
from momentic_core.model.videos import Visibility

from .support import T0, Adapters, add_upload, add_user, add_video, new_upload


async def test_add_assigns_an_id_and_keeps_every_field(backend: Adapters) -> None:
    user = await add_user(backend)
    given = new_upload(
        user.id,
        id=999,
        key="videos/0123/source",
        backend_id="2~abcDEF-multipart",
        size_bytes=100_000_000,
        content_type="video/quicktime",
        part_size=8 * 1024 * 1024,
        description="Beach 🏖",
        visibility=Visibility.PUBLIC,
        created_at=T0 + timedelta(microseconds=3),
    )
    async with backend.uow() as tx:
        stored = await tx.uploads.add(given)
    assert stored.id > 0
    assert stored == attrs.evolve(given, id=stored.id)
    assert (stored.video_id, stored.completed_at) == (None, None)
    async with backend.uow() as tx:
        assert await tx.uploads.get(stored.id) == stored
        assert await tx.uploads.get_for_update(stored.id) == stored


async def test_unknown_uploads_are_not_found(backend: Adapters) -> None:
    user = await add_user(backend)
    for call in ("get", "get_for_update"):
        async with backend.uow() as tx:
            with pytest.raises(NotFound) as err:
                await getattr(tx.uploads, call)(424242)
        assert err.value.code == "upload_not_found"
    with pytest.raises(NotFound) as err:
        async with backend.uow() as tx:
            await tx.uploads.update(new_upload(user.id, id=424242))
    assert err.value.code == "upload_not_found"


async def test_an_upload_of_an_unknown_user_is_refused(backend: Adapters) -> None:
    with pytest.raises(NotFound) as err:
        async with backend.uow() as tx:
            await tx.uploads.add(new_upload(424242))
    assert err.value.code == "user_not_found"


async def test_a_key_belongs_to_one_upload(backend: Adapters) -> None:
    user = await add_user(backend)
    await add_upload(backend, user.id, key="videos/same/source")
    with pytest.raises(Conflict):
        await add_upload(backend, user.id, key="videos/same/source")


async def test_completing_records_the_video(backend: Adapters) -> None:
    user = await add_user(backend)
    upload = await add_upload(backend, user.id)
    video = await add_video(backend, user.id, source_key=upload.key)
    done = attrs.evolve(upload, video_id=video.id, completed_at=T0 + timedelta(minutes=5))
    async with backend.uow() as tx:
        assert await tx.uploads.update(done) == done
    async with backend.uow() as tx:
        assert await tx.uploads.get(upload.id) == done


async def test_completing_into_an_unknown_video_is_refused(backend: Adapters) -> None:
    user = await add_user(backend)
    upload = await add_upload(backend, user.id)
    with pytest.raises(NotFound) as err:
        async with backend.uow() as tx:
            await tx.uploads.update(attrs.evolve(upload, video_id=424242, completed_at=T0))
    assert err.value.code == "video_not_found"
    async with backend.uow() as tx:
        assert await tx.uploads.get(upload.id) == upload


async def test_deleting_the_video_keeps_the_upload_without_it(backend: Adapters) -> None:
    user = await add_user(backend)
    upload = await add_upload(backend, user.id)
    video = await add_video(backend, user.id, source_key=upload.key)
    async with backend.uow() as tx:
        await tx.uploads.update(attrs.evolve(upload, video_id=video.id, completed_at=T0))
    async with backend.uow() as tx:
        await tx.videos.delete(video.id)
    async with backend.uow() as tx:
        kept = await tx.uploads.get(upload.id)
    assert (kept.video_id, kept.completed_at) == (None, T0)


async def test_delete_is_idempotent(backend: Adapters) -> None:
    user = await add_user(backend)
    upload = await add_upload(backend, user.id)
    async with backend.uow() as tx:
        await tx.uploads.delete(upload.id)
        await tx.uploads.delete(upload.id)
        await tx.uploads.delete(424242)
    async with backend.uow() as tx:
        with pytest.raises(NotFound):
            await tx.uploads.get(upload.id)


async def test_a_rolled_back_unit_of_work_keeps_no_upload(backend: Adapters) -> None:
    user = await add_user(backend)
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            ghost = await tx.uploads.add(new_upload(user.id))
            raise RuntimeError("the use case failed")
    async with backend.uow() as tx:
        with pytest.raises(NotFound):
            await tx.uploads.get(ghost.id)


async def test_abandoned_uploads_are_the_unfinished_ones_older_than_the_cutoff(
    backend: Adapters,
) -> None:
    user = await add_user(backend)
    cutoff = T0 + timedelta(hours=24)
    oldest = await add_upload(backend, user.id, created_at=T0)
    tie = await add_upload(backend, user.id, created_at=T0 + timedelta(hours=1))
    tie_2 = await add_upload(backend, user.id, created_at=T0 + timedelta(hours=1))
    await add_upload(backend, user.id, created_at=cutoff)  # not strictly before
    await add_upload(backend, user.id, created_at=cutoff + timedelta(hours=1))
    video = await add_video(backend, user.id)
    finished = await add_upload(backend, user.id, created_at=T0 - timedelta(hours=1))
    async with backend.uow() as tx:
        await tx.uploads.update(attrs.evolve(finished, video_id=video.id, completed_at=T0))
    async with backend.uow() as tx:
        assert await tx.uploads.list_abandoned(cutoff, 10) == [oldest, tie, tie_2]
        assert await tx.uploads.list_abandoned(cutoff, 2) == [oldest, tie]
        assert await tx.uploads.list_abandoned(T0, 10) == []
