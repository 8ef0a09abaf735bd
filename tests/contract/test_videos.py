"""VideoRepository contract: memory and PostgreSQL behave alike."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from momentic_core.errors import NotFound
from momentic_core.model.videos import Video, VideoStatus, Visibility

from .support import (
    T0,
    Adapters,
    add_upload,
    add_user,
    add_video,
    new_video,
)


async def test_add_assigns_an_id_and_keeps_every_field(backend: Adapters) -> None:
    author = await add_user(backend)
    given = new_video(
        author.id,
        id=999,
        description="Sunset 🌅, two lines\nand a tab\t",
        visibility=Visibility.FRIENDS,
        status=VideoStatus.READY,
        created_at=T0 + timedelta(microseconds=7),
        updated_at=T0 + timedelta(minutes=2),
        source_key="videos/abc/source",
        playback_key="videos/abc/playback.mp4",
        thumbnail_key="videos/abc/thumb.jpg",
        status_reason=None,
        size_bytes=5_000_000_000,  # beyond 32 bits
        duration_seconds=12.345,
        width=1080,
        height=1920,
        container="mov,mp4,m4a,3gp,3g2,mj2",
        video_codec="h264",
        audio_codec="aac",
        ready_at=T0 + timedelta(minutes=2),
    )
    async with backend.uow() as tx:
        stored = await tx.videos.add(given)
    assert stored.id > 0
    assert stored == attrs.evolve(given, id=stored.id)
    async with backend.uow() as tx:
        assert await tx.videos.get(stored.id) == stored
        assert await tx.videos.get_for_update(stored.id) == stored


async def test_optional_fields_round_trip_as_none(backend: Adapters) -> None:
    author = await add_user(backend)
    given = Video(
        id=0,
        author_id=author.id,
        description="",
        visibility=Visibility.PUBLIC,
        status=VideoStatus.UPLOADING,
        created_at=T0,
        updated_at=T0,
    )
    async with backend.uow() as tx:
        stored = await tx.videos.add(given)
    async with backend.uow() as tx:
        assert await tx.videos.get(stored.id) == attrs.evolve(given, id=stored.id)


async def test_ids_are_distinct(backend: Adapters) -> None:
    author = await add_user(backend)
    a = await add_video(backend, author.id)
    b = await add_video(backend, author.id)
    assert a.id != b.id


async def test_unknown_videos_are_not_found(backend: Adapters) -> None:
    author = await add_user(backend)
    for call in ("get", "get_for_update"):
        async with backend.uow() as tx:
            with pytest.raises(NotFound) as err:
                await getattr(tx.videos, call)(424242)
        assert err.value.code == "video_not_found"
    with pytest.raises(NotFound) as err:
        async with backend.uow() as tx:
            await tx.videos.update(new_video(author.id, id=424242))
    assert err.value.code == "video_not_found"


async def test_a_video_of_an_unknown_author_is_refused(backend: Adapters) -> None:
    with pytest.raises(NotFound) as err:
        async with backend.uow() as tx:
            await tx.videos.add(new_video(424242))
    assert err.value.code == "user_not_found"


async def test_update_writes_every_field(backend: Adapters) -> None:
    author = await add_user(backend)
    video = await add_video(backend, author.id, status=VideoStatus.PROCESSING)
    changed = attrs.evolve(
        video,
        description="edited",
        visibility=Visibility.FRIENDS,
        status=VideoStatus.REJECTED,
        status_reason="too_long",
        updated_at=T0 + timedelta(hours=1),
        playback_key="p",
        thumbnail_key="t",
        size_bytes=1,
        duration_seconds=61.5,
        width=2,
        height=3,
        container="webm",
        video_codec="vp9",
        audio_codec="opus",
        ready_at=T0 + timedelta(hours=2),
    )
    async with backend.uow() as tx:
        assert await tx.videos.update(changed) == changed
    async with backend.uow() as tx:
        assert await tx.videos.get(video.id) == changed
        cleared = attrs.evolve(
            changed, status_reason=None, playback_key=None, audio_codec=None, ready_at=None
        )
        assert await tx.videos.update(cleared) == cleared
    async with backend.uow() as tx:
        assert await tx.videos.get(video.id) == cleared


async def test_delete_is_idempotent(backend: Adapters) -> None:
    author = await add_user(backend)
    video = await add_video(backend, author.id)
    kept = await add_video(backend, author.id)
    async with backend.uow() as tx:
        await tx.videos.delete(video.id)
        await tx.videos.delete(video.id)
        await tx.videos.delete(424242)
    async with backend.uow() as tx:
        with pytest.raises(NotFound):
            await tx.videos.get(video.id)
        assert await tx.videos.get(kept.id) == kept


async def test_a_rolled_back_unit_of_work_keeps_no_video(backend: Adapters) -> None:
    author = await add_user(backend)
    existing = await add_video(backend, author.id, description="before")
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            ghost = await tx.videos.add(new_video(author.id))
            await tx.videos.update(attrs.evolve(existing, description="after"))
            raise RuntimeError("the use case failed")
    async with backend.uow() as tx:
        with pytest.raises(NotFound):
            await tx.videos.get(ghost.id)
        assert (await tx.videos.get(existing.id)).description == "before"


async def test_deleting_a_user_deletes_their_videos_and_uploads(backend: Adapters) -> None:
    user = await add_user(backend)
    other = await add_user(backend)
    mine = await add_video(backend, user.id)
    theirs = await add_video(backend, other.id)
    my_upload = await add_upload(backend, user.id)
    their_upload = await add_upload(backend, other.id)
    async with backend.uow() as tx:
        await tx.users.delete(user.id)
    async with backend.uow() as tx:
        with pytest.raises(NotFound):
            await tx.videos.get(mine.id)
        with pytest.raises(NotFound):
            await tx.uploads.get(my_upload.id)
        assert await tx.videos.get(theirs.id) == theirs
        assert await tx.uploads.get(their_upload.id) == their_upload
        assert (
            await tx.videos.list_by_author(
                user.id, ready_only=False, public_only=False, before=None, limit=10
            )
            == []
        )


# ---------------------------------------------------------------- list_by_author


async def _list_all(
    backend: Adapters, author_id: int, *, ready_only: bool, public_only: bool, limit: int
) -> list[Video]:
    """Follow the keyset cursor page by page to the end."""
    pages: list[Video] = []
    before = None
    for _ in range(1000):
        async with backend.uow() as tx:
            page = await tx.videos.list_by_author(
                author_id,
                ready_only=ready_only,
                public_only=public_only,
                before=before,
                limit=limit,
            )
        assert len(page) <= limit
        pages += page
        if len(page) < limit:
            return pages
        before = (page[-1].created_at, page[-1].id)
    raise AssertionError("pagination does not end")


async def test_lists_newest_first_with_ties_broken_by_id(backend: Adapters) -> None:
    author = await add_user(backend)
    other = await add_user(backend)
    older = await add_video(backend, author.id, created_at=T0)
    tie_a = await add_video(backend, author.id, created_at=T0 + timedelta(seconds=5))
    tie_b = await add_video(backend, author.id, created_at=T0 + timedelta(seconds=5))
    newest = await add_video(backend, author.id, created_at=T0 + timedelta(seconds=9))
    await add_video(backend, other.id, created_at=T0 + timedelta(seconds=7))
    async with backend.uow() as tx:
        listed = await tx.videos.list_by_author(
            author.id, ready_only=False, public_only=False, before=None, limit=10
        )
    assert [v.id for v in listed] == [newest.id, tie_b.id, tie_a.id, older.id]
    assert listed[0] == newest


async def test_the_filters_hide_unready_and_friends_only_videos(backend: Adapters) -> None:
    author = await add_user(backend)
    made = {}
    for n, (status, visibility) in enumerate(
        [
            (VideoStatus.READY, Visibility.PUBLIC),
            (VideoStatus.READY, Visibility.FRIENDS),
            (VideoStatus.PROCESSING, Visibility.PUBLIC),
            (VideoStatus.FAILED, Visibility.FRIENDS),
            (VideoStatus.REJECTED, Visibility.PUBLIC),
            (VideoStatus.UPLOADING, Visibility.PUBLIC),
        ]
    ):
        video = await add_video(
            backend,
            author.id,
            status=status,
            visibility=visibility,
            created_at=T0 + timedelta(seconds=n),
        )
        made[video.id] = video
    newest_first = sorted(made.values(), key=lambda v: (v.created_at, v.id), reverse=True)
    for ready_only in (False, True):
        for public_only in (False, True):
            async with backend.uow() as tx:
                listed = await tx.videos.list_by_author(
                    author.id,
                    ready_only=ready_only,
                    public_only=public_only,
                    before=None,
                    limit=50,
                )
            expected = [
                v
                for v in newest_first
                if (not ready_only or v.status is VideoStatus.READY)
                and (not public_only or v.visibility is Visibility.PUBLIC)
            ]
            assert listed == expected, (ready_only, public_only)


async def test_pages_over_equal_times_never_repeat_or_skip(backend: Adapters) -> None:
    author = await add_user(backend)
    videos = []
    async with backend.uow() as tx:
        for n in range(11):
            # Three distinct times only: most neighbours tie on created_at.
            created = T0 + timedelta(seconds=n % 3)
            videos.append(await tx.videos.add(new_video(author.id, created_at=created)))
    expected = sorted(videos, key=lambda v: (v.created_at, v.id), reverse=True)
    for limit in (1, 2, 3, 4, 11, 12):
        assert (
            await _list_all(backend, author.id, ready_only=False, public_only=False, limit=limit)
            == expected
        ), limit


async def test_the_cursor_is_exclusive_and_a_limit_of_zero_lists_nothing(
    backend: Adapters,
) -> None:
    author = await add_user(backend)
    a = await add_video(backend, author.id, created_at=T0)
    b = await add_video(backend, author.id, created_at=T0)
    c = await add_video(backend, author.id, created_at=T0 + timedelta(seconds=1))
    async with backend.uow() as tx:
        after_c = await tx.videos.list_by_author(
            author.id, ready_only=True, public_only=True, before=(c.created_at, c.id), limit=9
        )
        after_b = await tx.videos.list_by_author(
            author.id, ready_only=True, public_only=True, before=(b.created_at, b.id), limit=9
        )
        after_a = await tx.videos.list_by_author(
            author.id, ready_only=True, public_only=True, before=(a.created_at, a.id), limit=9
        )
        # A cursor between existing rows (a deleted video's) works as well.
        between = await tx.videos.list_by_author(
            author.id,
            ready_only=False,
            public_only=False,
            before=(T0 + timedelta(milliseconds=500), 1),
            limit=9,
        )
        nothing = await tx.videos.list_by_author(
            author.id, ready_only=False, public_only=False, before=None, limit=0
        )
    assert [v.id for v in after_c] == [b.id, a.id]
    assert [v.id for v in after_b] == [a.id]
    assert after_a == []
    assert [v.id for v in between] == [b.id, a.id]
    assert nothing == []


_video_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=3),  # seconds after T0: many ties
        st.sampled_from(list(VideoStatus)),
        st.sampled_from(list(Visibility)),
    ),
    max_size=14,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    specs=_video_specs,
    limit=st.integers(min_value=1, max_value=5),
    ready_only=st.booleans(),
    public_only=st.booleans(),
)
async def test_paging_returns_exactly_the_filtered_list_in_order(
    backend: Adapters,
    specs: list[tuple[int, VideoStatus, Visibility]],
    limit: int,
    ready_only: bool,
    public_only: bool,
) -> None:
    author = await add_user(backend)  # examples share the backend: each takes its own user
    async with backend.uow() as tx:
        videos = [
            await tx.videos.add(
                new_video(
                    author.id,
                    created_at=T0 + timedelta(seconds=offset),
                    status=status,
                    visibility=visibility,
                )
            )
            for offset, status, visibility in specs
        ]
    expected = sorted(
        (
            v
            for v in videos
            if (not ready_only or v.status is VideoStatus.READY)
            and (not public_only or v.visibility is Visibility.PUBLIC)
        ),
        key=lambda v: (v.created_at, v.id),
        reverse=True,
    )
    listed = await _list_all(
        backend, author.id, ready_only=ready_only, public_only=public_only, limit=limit
    )
    assert listed == expected


# ---------------------------------------------------------------- referenced_keys


async def test_referenced_keys_sees_videos_uploads_in_progress_and_avatars(
    backend: Adapters,
) -> None:
    user = await add_user(backend, avatar_key="avatars/1/avatar.jpg")
    await add_video(
        backend,
        user.id,
        source_key="videos/v/source",
        playback_key="videos/v/playback.mp4",
        thumbnail_key="videos/v/thumb.jpg",
    )
    await add_upload(backend, user.id, key="videos/u/source")
    keys = [
        "videos/v/source",
        "videos/v/playback.mp4",
        "videos/v/thumb.jpg",
        "videos/u/source",
        "avatars/1/avatar.jpg",
        "videos/orphan/source",
        "avatars/old/avatar.jpg",
    ]
    async with backend.uow() as tx:
        assert await tx.videos.referenced_keys(keys) == set(keys[:5])
        assert await tx.videos.referenced_keys(["videos/orphan/source"]) == set()
        assert await tx.videos.referenced_keys([]) == set()


async def test_keys_are_free_once_their_rows_are_gone(backend: Adapters) -> None:
    user = await add_user(backend, avatar_key="avatars/2/avatar.jpg")
    video = await add_video(backend, user.id, source_key="videos/w/source")
    upload = await add_upload(backend, user.id, key="videos/w/source")
    async with backend.uow() as tx:
        # The upload completed into the video: the key is the video's now.
        await tx.uploads.update(attrs.evolve(upload, video_id=video.id, completed_at=T0))
    keys = ["videos/w/source", "avatars/2/avatar.jpg"]
    async with backend.uow() as tx:
        assert await tx.videos.referenced_keys(keys) == set(keys)
        await tx.videos.delete(video.id)
        await tx.users.update(attrs.evolve(user, avatar_key=None))
    async with backend.uow() as tx:
        # The completed upload's row stays, but it no longer holds the blob.
        assert (await tx.uploads.get(upload.id)).video_id is None
        assert await tx.videos.referenced_keys(keys) == set()
