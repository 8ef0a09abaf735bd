"""Mutes (issue 21 item 2), memory and PostgreSQL alike: a mute is one row of mine;
every feed (friends, global, For-You ranked at request time or from the candidate table,
a snapshot ranked before the mute, hashtag pages and video search) leaves the muted
author out for me only; a muted friend stays a friend, and nothing changes on their
side."""

from __future__ import annotations

from datetime import timedelta

import pytest

from momentic_core.errors import NotFound
from momentic_core.model.accounts import AccountStatus
from momentic_core.model.social import FeedSettings, Relation

from .social_support import befriend
from .support import T0, Adapters, add_user, add_video

SETTINGS = FeedSettings()


async def _feeds(backend: Adapters, viewer: int) -> dict[str, list[int]]:
    async with backend.uow() as tx:
        friends = await tx.feeds.friends_feed(
            viewer, T0 - timedelta(days=1), T0 + timedelta(days=1), None, False, 50)
        global_ = await tx.feeds.global_feed(viewer, None, False, 50)
        return {
            "friends": sorted(i.video.id for i in friends),
            "global": sorted(i.video.id for i in global_),
            "for_you": sorted(await tx.feeds.rank_for_you(viewer, T0, SETTINGS)),
            "candidates": sorted(await tx.candidates.rank(viewer, T0, SETTINGS) or []),
        }


async def test_a_mute_hides_the_author_from_my_feeds_only(backend: Adapters) -> None:
    me, friend, other = [await add_user(backend) for _ in range(3)]
    await befriend(backend, me.id, friend.id)
    await befriend(backend, other.id, friend.id)
    theirs = await add_video(backend, friend.id, created_at=T0 - timedelta(minutes=5))
    mine = await add_video(backend, me.id, created_at=T0 - timedelta(minutes=4))
    async with backend.uow() as tx:
        await tx.candidates.refresh(T0, SETTINGS)
        snapshot = await tx.feeds.save_snapshot(me.id, [theirs.id], T0, keep=3)
    before = await _feeds(backend, me.id)
    assert before == {"friends": [theirs.id], "global": sorted([theirs.id, mine.id]),
                      "for_you": [theirs.id], "candidates": [theirs.id]}

    async with backend.uow() as tx:
        await tx.social.add_mute(me.id, friend.id, T0)
        await tx.social.add_mute(me.id, friend.id, T0 + timedelta(hours=1))  # idempotent
        assert await tx.social.has_muted(me.id, friend.id)
        assert not await tx.social.has_muted(friend.id, me.id)
        assert await tx.social.muted_ids(me.id) == {friend.id}
        assert await tx.social.muted_ids(friend.id) == set()
        assert await tx.social.relation(me.id, friend.id) is Relation.FRIENDS
        assert await tx.social.relation(friend.id, me.id) is Relation.FRIENDS
        assert await tx.feeds.snapshot_page(snapshot, me.id, 0, 10) == []
        [contact] = await tx.social.list_contacts(me.id, "muted", None, 10)
    assert (contact.user.id, contact.since) == (friend.id, T0), "the first time stays"
    assert await _feeds(backend, me.id) == {
        "friends": [], "global": [mine.id], "for_you": [], "candidates": []}
    # Nothing changes for them, nor for anyone else.
    assert (await _feeds(backend, friend.id))["global"] == sorted([theirs.id, mine.id])
    assert (await _feeds(backend, other.id))["friends"] == [theirs.id]

    async with backend.uow() as tx:
        assert await tx.social.remove_mute(me.id, friend.id) is True
        assert await tx.social.remove_mute(me.id, friend.id) is False
        assert await tx.social.muted_ids(me.id) == set()
    assert await _feeds(backend, me.id) == before


async def test_hashtag_pages_and_video_search_leave_muted_authors_out(
    backend: Adapters,
) -> None:
    me, sam, kim = [await add_user(backend) for _ in range(3)]
    theirs = await add_video(backend, sam.id, description="sunset #golden")
    other = await add_video(backend, kim.id, description="sunset #golden",
                            created_at=T0 - timedelta(minutes=1))

    async def found(viewer: int) -> tuple[list[int], list[int]]:
        async with backend.uow() as tx:
            tagged = await tx.search.hashtag_videos(viewer, "golden", None, False, 10)
            words = await tx.search.videos(viewer, ("sunset",), None, False, 10)
        return [i.video.id for i in tagged], [i.video.id for i in words]

    assert await found(me.id) == ([theirs.id, other.id], [theirs.id, other.id])
    async with backend.uow() as tx:
        await tx.social.add_mute(me.id, sam.id, T0)
    assert await found(me.id) == ([other.id], [other.id])
    assert await found(kim.id) == ([theirs.id, other.id], [theirs.id, other.id])


async def test_my_mutes_page_newest_first_banned_included(backend: Adapters) -> None:
    me = await add_user(backend)
    others = [await add_user(backend) for _ in range(3)]
    banned = await add_user(backend, status=AccountStatus.BANNED)
    async with backend.uow() as tx:
        for n, user in enumerate([*others, banned]):
            await tx.social.add_mute(me.id, user.id, T0 + timedelta(minutes=n))
    async with backend.uow() as tx:
        first = await tx.social.list_contacts(me.id, "muted", None, 2)
        last = first[-1]
        rest = await tx.social.list_contacts(me.id, "muted", (last.since, last.user.id), 10)
    assert [c.user.id for c in first + rest] == [banned.id, *[u.id for u in reversed(others)]]


async def test_unknown_users_and_deleted_accounts(backend: Adapters) -> None:
    me, other = await add_user(backend), await add_user(backend)
    async with backend.uow() as tx:
        with pytest.raises(NotFound) as caught:
            await tx.social.add_mute(me.id, 10**12, T0)
    assert caught.value.code == "user_not_found"
    async with backend.uow() as tx:
        await tx.social.add_mute(me.id, other.id, T0)
        await tx.social.add_mute(other.id, me.id, T0)
    async with backend.uow() as tx:
        await tx.users.delete(other.id)
    async with backend.uow() as tx:
        assert await tx.social.muted_ids(me.id) == set()
        assert await tx.social.list_contacts(me.id, "muted", None, 10) == []
