"""Private accounts (issue 21 item 2), memory and PostgreSQL alike: a private author's
videos have the visibility friends in force, whatever the upload chose, so every reader
(the global feed here) follows; turning the flag off restores each video's choice, and
an edit of the visibility while private is remembered as the new choice."""

from __future__ import annotations

import attrs

from momentic_core.model.videos import Visibility

from .support import Adapters, add_user, add_video


async def _global(backend: Adapters, viewer: int) -> list[int]:
    async with backend.uow() as tx:
        return [i.video.id for i in await tx.feeds.global_feed(viewer, None, False, 50)]


async def _visibility(backend: Adapters, video_id: int) -> Visibility:
    async with backend.uow() as tx:
        return (await tx.videos.get(video_id)).visibility


async def _set_private(backend: Adapters, user_id: int, private: bool) -> None:
    async with backend.uow() as tx:
        user = await tx.users.get_for_update(user_id)
        updated = await tx.users.update(attrs.evolve(user, private=private))
    assert updated.private is private


async def test_private_authors_videos_are_friends_only_and_come_back(backend: Adapters) -> None:
    author, stranger = await add_user(backend), await add_user(backend)
    public = await add_video(backend, author.id)
    friends = await add_video(backend, author.id, visibility=Visibility.FRIENDS)
    assert await _global(backend, stranger.id) == [public.id]

    await _set_private(backend, author.id, True)
    async with backend.uow() as tx:
        assert (await tx.users.get(author.id)).private is True
    assert await _visibility(backend, public.id) is Visibility.FRIENDS
    assert await _global(backend, stranger.id) == []
    later = await add_video(backend, author.id)  # uploaded public while private
    assert later.visibility is Visibility.FRIENDS
    assert await _global(backend, stranger.id) == []

    await _set_private(backend, author.id, False)
    assert await _visibility(backend, public.id) is Visibility.PUBLIC
    assert await _visibility(backend, later.id) is Visibility.PUBLIC
    assert await _visibility(backend, friends.id) is Visibility.FRIENDS, "its own choice"
    assert sorted(await _global(backend, stranger.id)) == sorted([public.id, later.id])


async def test_an_edit_while_private_is_the_new_choice(backend: Adapters) -> None:
    author = await add_user(backend)
    video = await add_video(backend, author.id, visibility=Visibility.FRIENDS)
    await _set_private(backend, author.id, True)
    async with backend.uow() as tx:
        stored = await tx.videos.get_for_update(video.id)
        edited = await tx.videos.update(attrs.evolve(stored, visibility=Visibility.PUBLIC))
    assert edited.visibility is Visibility.FRIENDS, "in force while private"
    async with backend.uow() as tx:  # another write (a status change) keeps the choice
        stored = await tx.videos.get_for_update(video.id)
        await tx.videos.update(attrs.evolve(stored, description="renamed"))
    await _set_private(backend, author.id, False)
    assert await _visibility(backend, video.id) is Visibility.PUBLIC
