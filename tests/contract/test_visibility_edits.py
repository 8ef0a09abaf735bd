"""VideoRepository.set_visibility (issue 20 item 7), memory and PostgreSQL alike: the
author's choice is kept even when it equals the visibility in force (a private account's
video), and every reader follows it at once: the global feed, For-You's candidate table
(no refresh needed to leave it) and a stranger's For-You snapshot ranked before the
change."""

from __future__ import annotations

from datetime import timedelta

import attrs
import pytest

from momentic_core.errors import NotFound
from momentic_core.model.social import FeedSettings
from momentic_core.model.videos import Visibility

from .social_support import befriend
from .support import T0, Adapters, add_user, add_video

SETTINGS = FeedSettings()


async def _global(backend: Adapters, viewer: int) -> list[int]:
    async with backend.uow() as tx:
        return [i.video.id for i in await tx.feeds.global_feed(viewer, None, False, 50)]


async def _set(backend: Adapters, video_id: int, visibility: Visibility) -> Visibility:
    async with backend.uow() as tx:
        video = await tx.videos.set_visibility(video_id, visibility, T0 + timedelta(hours=1))
    assert video.updated_at == T0 + timedelta(hours=1)
    return video.visibility


async def _set_private(backend: Adapters, user_id: int, private: bool) -> None:
    async with backend.uow() as tx:
        user = await tx.users.get_for_update(user_id)
        await tx.users.update(attrs.evolve(user, private=private))


async def _in_force(backend: Adapters, video_id: int) -> Visibility:
    async with backend.uow() as tx:
        return (await tx.videos.get(video_id)).visibility


async def test_the_choice_is_in_force_and_readers_follow(backend: Adapters) -> None:
    author, stranger, friend = [await add_user(backend) for _ in range(3)]
    await befriend(backend, author.id, friend.id)
    video = await add_video(backend, author.id, created_at=T0 - timedelta(minutes=5))
    assert await _global(backend, stranger.id) == [video.id]

    assert await _set(backend, video.id, Visibility.FRIENDS) is Visibility.FRIENDS
    assert await _in_force(backend, video.id) is Visibility.FRIENDS
    assert await _global(backend, stranger.id) == []
    assert await _global(backend, friend.id) == [], "the global feed is public videos"

    assert await _set(backend, video.id, Visibility.PUBLIC) is Visibility.PUBLIC
    assert await _global(backend, stranger.id) == [video.id]


async def test_for_you_follows_without_a_refresh(backend: Adapters) -> None:
    author, friend, stranger = [await add_user(backend) for _ in range(3)]
    await befriend(backend, author.id, friend.id)
    video = await add_video(backend, author.id, created_at=T0 - timedelta(minutes=5))
    async with backend.uow() as tx:
        assert await tx.candidates.refresh(T0, SETTINGS) == 1
        assert await tx.candidates.rank(stranger.id, T0, SETTINGS) == [video.id]
        # Snapshots ranked while it was public, for a friend and a stranger.
        snaps = {u: await tx.feeds.save_snapshot(u, [video.id], T0, keep=3)
                 for u in (friend.id, stranger.id)}
        for user, snap in snaps.items():
            assert [i.video.id for _, i in await tx.feeds.snapshot_page(snap, user, 0, 10)] \
                == [video.id]

    await _set(backend, video.id, Visibility.FRIENDS)
    async with backend.uow() as tx:
        assert await tx.candidates.rank(stranger.id, T0, SETTINGS) == []
        assert await tx.candidates.rank(friend.id, T0, SETTINGS) == []
        assert await tx.feeds.rank_for_you(friend.id, T0, SETTINGS) == []
        # A snapshot ranked before keeps it for the friend (who may see it; the service
        # puts it behind the BeReal lock as the friends feed does), not for the stranger.
        assert await tx.feeds.snapshot_page(snaps[stranger.id], stranger.id, 0, 10) == []
        rows = await tx.feeds.snapshot_page(snaps[friend.id], friend.id, 0, 10)
        assert [i.video.id for _, i in rows] == [video.id]

    await _set(backend, video.id, Visibility.PUBLIC)
    async with backend.uow() as tx:
        # Still a candidate from the refresh before: back at once.
        assert await tx.candidates.rank(stranger.id, T0, SETTINGS) == [video.id]


async def test_a_choice_equal_to_what_is_in_force_is_kept(backend: Adapters) -> None:
    """Uploaded public, the account made private (in force: friends), then the author
    chooses friends for it: once the account is public again it stays friends-only."""
    author = await add_user(backend)
    chosen_friends = await add_video(backend, author.id)
    left_alone = await add_video(backend, author.id)
    await _set_private(backend, author.id, True)
    assert await _in_force(backend, chosen_friends.id) is Visibility.FRIENDS

    assert await _set(backend, chosen_friends.id, Visibility.FRIENDS) is Visibility.FRIENDS
    async with backend.uow() as tx:  # a later write of other fields keeps the choice
        stored = await tx.videos.get_for_update(chosen_friends.id)
        await tx.videos.update(attrs.evolve(stored, description="renamed"))

    await _set_private(backend, author.id, False)
    assert await _in_force(backend, chosen_friends.id) is Visibility.FRIENDS
    assert await _in_force(backend, left_alone.id) is Visibility.PUBLIC


async def test_public_chosen_while_private_stays_friends_until_public(
    backend: Adapters,
) -> None:
    author = await add_user(backend)
    video = await add_video(backend, author.id, visibility=Visibility.FRIENDS)
    await _set_private(backend, author.id, True)
    assert await _set(backend, video.id, Visibility.PUBLIC) is Visibility.FRIENDS
    await _set_private(backend, author.id, False)
    assert await _in_force(backend, video.id) is Visibility.PUBLIC


async def test_an_unknown_video_is_not_found(backend: Adapters) -> None:
    async with backend.uow() as tx:
        with pytest.raises(NotFound) as caught:
            await tx.videos.set_visibility(10**12, Visibility.PUBLIC, T0)
    assert caught.value.code == "video_not_found"
