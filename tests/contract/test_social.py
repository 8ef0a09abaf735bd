"""SocialRepository contract: memory and PostgreSQL behave alike."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import pytest

from adapters.memory.clock import ManualClock
from momentic_core.errors import Conflict, NotFound
from momentic_core.model.accounts import AccountStatus, Person
from momentic_core.model.social import FriendRequest, Relation, VideoForViewer

from .social_support import befriend, block, request
from .support import T0, Adapters, add_user, add_video

# ---------------------------------------------------------------- relation


async def test_relation_says_how_the_other_stands_to_me(backend: Adapters) -> None:
    me, other = await add_user(backend), await add_user(backend)
    async with backend.uow() as tx:
        assert await tx.social.relation(me.id, me.id) is Relation.SELF
        assert await tx.social.relation(me.id, other.id) is Relation.NONE
    await request(backend, me.id, other.id)
    async with backend.uow() as tx:
        assert await tx.social.relation(me.id, other.id) is Relation.REQUEST_SENT
        assert await tx.social.relation(other.id, me.id) is Relation.REQUEST_RECEIVED
        assert await tx.social.delete_request(me.id, other.id)
        await tx.social.add_friendship(other.id, me.id, T0)
    async with backend.uow() as tx:
        assert await tx.social.relation(me.id, other.id) is Relation.FRIENDS
        assert await tx.social.relation(other.id, me.id) is Relation.FRIENDS
    await block(backend, me.id, other.id)
    async with backend.uow() as tx:
        assert await tx.social.relation(me.id, other.id) is Relation.BLOCKED
        # Being blocked is never shown: to them I am no one.
        assert await tx.social.relation(other.id, me.id) is Relation.NONE


async def test_a_block_outranks_a_pending_request_of_theirs(backend: Adapters) -> None:
    me, other = await add_user(backend), await add_user(backend)
    async with backend.uow() as tx:
        await tx.social.add_block(me.id, other.id, T0)
        # The repository stores what it is told; the block still decides the relation.
        await tx.social.add_request(FriendRequest(other.id, me.id, T0))
    async with backend.uow() as tx:
        assert await tx.social.relation(me.id, other.id) is Relation.BLOCKED
        assert await tx.social.relation(other.id, me.id) is Relation.REQUEST_SENT


# ---------------------------------------------------------------- requests


async def test_a_request_is_stored_once_per_direction(backend: Adapters) -> None:
    a, b = await add_user(backend), await add_user(backend)
    await request(backend, a.id, b.id)
    with pytest.raises(Conflict) as caught:
        await request(backend, a.id, b.id, at=T0 + timedelta(hours=1))
    assert caught.value.code == "request_exists"
    await request(backend, b.id, a.id)  # the other direction is another request
    async with backend.uow() as tx:
        assert await tx.social.delete_request(a.id, b.id) is True
        assert await tx.social.delete_request(a.id, b.id) is False
        assert await tx.social.delete_request(b.id, a.id) is True
    async with backend.uow() as tx:
        assert await tx.social.relation(a.id, b.id) is Relation.NONE


async def test_a_conflicting_request_leaves_the_first_one(backend: Adapters) -> None:
    a, b = await add_user(backend), await add_user(backend)
    await request(backend, a.id, b.id, at=T0)
    with pytest.raises(Conflict):
        await request(backend, a.id, b.id, at=T0 + timedelta(hours=1))
    async with backend.uow() as tx:
        [contact] = await tx.social.list_contacts(b.id, "incoming", None, 10)
    assert (contact.user.id, contact.since) == (a.id, T0)


async def test_requests_friendships_and_blocks_need_existing_users(backend: Adapters) -> None:
    a = await add_user(backend)
    calls = [
        lambda tx: tx.social.add_request(FriendRequest(a.id, 999_999, T0)),
        lambda tx: tx.social.add_request(FriendRequest(999_999, a.id, T0)),
        lambda tx: tx.social.add_friendship(a.id, 999_999, T0),
        lambda tx: tx.social.add_block(a.id, 999_999, T0),
        lambda tx: tx.social.add_block(999_999, a.id, T0),
    ]
    for call in calls:
        with pytest.raises(NotFound) as caught:
            async with backend.uow() as tx:
                await call(tx)
        assert caught.value.code == "user_not_found"


# ---------------------------------------------------------------- friendships


async def test_a_friendship_is_mutual_idempotent_and_keeps_its_first_time(
    backend: Adapters,
) -> None:
    a, b, c = await add_user(backend), await add_user(backend), await add_user(backend)
    await befriend(backend, a.id, b.id, at=T0)
    await befriend(backend, b.id, a.id, at=T0 + timedelta(days=1))  # again, the other way
    await befriend(backend, a.id, c.id, at=T0 + timedelta(hours=1))
    async with backend.uow() as tx:
        assert await tx.social.friend_count(a.id) == 2
        assert await tx.social.friend_count(b.id) == 1
        assert await tx.social.friend_count(c.id) == 1
        of_a = await tx.social.list_contacts(a.id, "friends", None, 10)
        of_b = await tx.social.list_contacts(b.id, "friends", None, 10)
    assert [(x.user.id, x.since) for x in of_a] == [
        (c.id, T0 + timedelta(hours=1)),
        (b.id, T0),
    ]
    assert [(x.user.id, x.since) for x in of_b] == [(a.id, T0)]
    assert of_b[0].user == Person.of(a)  # their public part only
    assert type(of_b[0].user) is Person


async def test_unfriending_works_from_either_side_once(backend: Adapters) -> None:
    a, b = await add_user(backend), await add_user(backend)
    await befriend(backend, a.id, b.id)
    async with backend.uow() as tx:
        assert await tx.social.remove_friendship(b.id, a.id) is True
        assert await tx.social.remove_friendship(a.id, b.id) is False
    async with backend.uow() as tx:
        assert await tx.social.relation(a.id, b.id) is Relation.NONE
        assert await tx.social.relation(b.id, a.id) is Relation.NONE
        assert await tx.social.friend_count(a.id) == 0


# ---------------------------------------------------------------- blocks


async def test_a_friendship_ends_every_request_between_the_two(backend: Adapters) -> None:
    """Accepting leaves no stale request: not the accepted one, not one the other way."""
    a, b, c = await add_user(backend), await add_user(backend), await add_user(backend)
    await request(backend, a.id, b.id)
    await request(backend, b.id, a.id)
    await request(backend, c.id, a.id)
    await befriend(backend, b.id, a.id)
    async with backend.uow() as tx:
        assert await tx.social.relation(a.id, b.id) is Relation.FRIENDS
        assert await tx.social.relation(b.id, a.id) is Relation.FRIENDS
        for me in (a.id, b.id):
            assert await tx.social.list_contacts(me, "outgoing", None, 10) == []
        assert await tx.social.list_contacts(b.id, "incoming", None, 10) == []
        assert [x.user.id for x in await tx.social.list_contacts(a.id, "incoming", None, 10)] \
            == [c.id], "a request of someone else stays"
        assert await tx.social.delete_request(a.id, b.id) is False
        assert await tx.social.delete_request(b.id, a.id) is False


async def test_lock_pair_runs_two_units_of_work_on_one_pair_one_after_the_other(
    backend: Adapters,
) -> None:
    """Two mutual requests at once: under the pair's lock, the second sees the first's
    request and accepts it, whichever way round the pair is named."""
    a, b = await add_user(backend), await add_user(backend)
    seen: list[Relation] = []

    async def ask(me: int, other: int) -> None:
        async with backend.uow() as tx:
            await tx.social.lock_pair(me, other)
            relation = await tx.social.relation(me, other)
            seen.append(relation)
            await asyncio.sleep(0.05)  # hold the lock a while: the other one is waiting
            if relation is Relation.REQUEST_RECEIVED:
                await tx.social.add_friendship(me, other, T0)
            else:
                await tx.social.add_request(FriendRequest(me, other, T0))

    await asyncio.gather(ask(a.id, b.id), ask(b.id, a.id))
    assert sorted(r.value for r in seen) == ["none", "request_received"]
    async with backend.uow() as tx:
        assert await tx.social.relation(a.id, b.id) is Relation.FRIENDS
        assert await tx.social.list_contacts(a.id, "incoming", None, 10) == []
        assert await tx.social.list_contacts(b.id, "incoming", None, 10) == []


async def test_a_block_ends_friendship_and_requests_both_ways(backend: Adapters) -> None:
    a, b, c = await add_user(backend), await add_user(backend), await add_user(backend)
    await befriend(backend, a.id, b.id)
    await request(backend, a.id, c.id)
    await request(backend, c.id, a.id)
    await befriend(backend, a.id, c.id)  # friends and both requests at once: all must go
    await block(backend, c.id, a.id)
    await block(backend, b.id, a.id)
    async with backend.uow() as tx:
        for other in (b, c):
            assert await tx.social.relation(a.id, other.id) is Relation.NONE
            assert await tx.social.relation(other.id, a.id) is Relation.BLOCKED
            assert await tx.social.blocked_either_way(a.id, other.id)
            assert await tx.social.blocked_either_way(other.id, a.id)
        assert await tx.social.friend_count(a.id) == 0
        assert await tx.social.friend_count(b.id) == 0
        for kind in ("friends", "incoming", "outgoing"):
            assert await tx.social.list_contacts(a.id, kind, None, 10) == []
            assert await tx.social.list_contacts(c.id, kind, None, 10) == []
        assert await tx.social.blocked_either_way(b.id, c.id) is False


async def test_a_block_is_idempotent_and_keeps_its_first_time(backend: Adapters) -> None:
    a, b = await add_user(backend), await add_user(backend)
    await block(backend, a.id, b.id, at=T0)
    await block(backend, a.id, b.id, at=T0 + timedelta(days=1))
    async with backend.uow() as tx:
        [contact] = await tx.social.list_contacts(a.id, "blocked", None, 10)
        assert await tx.social.list_contacts(b.id, "blocked", None, 10) == []
    assert (contact.user, contact.since) == (Person.of(b), T0)


async def test_blocks_are_directed_and_unblocking_restores_nothing(backend: Adapters) -> None:
    a, b = await add_user(backend), await add_user(backend)
    await befriend(backend, a.id, b.id)
    await block(backend, a.id, b.id)
    await block(backend, b.id, a.id)  # both may block
    async with backend.uow() as tx:
        assert await tx.social.remove_block(a.id, b.id) is True
        assert await tx.social.remove_block(a.id, b.id) is False
    async with backend.uow() as tx:
        assert await tx.social.blocked_either_way(a.id, b.id)  # b's block stands
        assert await tx.social.relation(b.id, a.id) is Relation.BLOCKED
        assert await tx.social.remove_block(b.id, a.id) is True
    async with backend.uow() as tx:
        assert not await tx.social.blocked_either_way(a.id, b.id)
        assert await tx.social.relation(a.id, b.id) is Relation.NONE


async def test_a_block_rolled_back_leaves_the_friendship(backend: Adapters) -> None:
    a, b = await add_user(backend), await add_user(backend)
    await befriend(backend, a.id, b.id)
    await request(backend, b.id, a.id)
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            await tx.social.add_block(a.id, b.id, T0)
            raise RuntimeError("boom")
    async with backend.uow() as tx:
        assert await tx.social.relation(a.id, b.id) is Relation.FRIENDS
        assert await tx.social.relation(b.id, a.id) is Relation.FRIENDS
        assert not await tx.social.blocked_either_way(a.id, b.id)
        assert [c.user.id for c in await tx.social.list_contacts(a.id, "incoming", None, 9)] == [
            b.id
        ]


# ---------------------------------------------------------------- contact lists


async def test_each_list_holds_its_own_people_newest_first(backend: Adapters) -> None:
    me = await add_user(backend)
    f1, f2, inc, out, blk = [await add_user(backend) for _ in range(5)]
    await befriend(backend, me.id, f1.id, at=T0)
    await befriend(backend, f2.id, me.id, at=T0 + timedelta(minutes=1))
    await request(backend, inc.id, me.id, at=T0 + timedelta(minutes=2))
    await request(backend, me.id, out.id, at=T0 + timedelta(minutes=3))
    await block(backend, me.id, blk.id, at=T0 + timedelta(minutes=4))
    async with backend.uow() as tx:
        lists = {}
        for kind in ("friends", "incoming", "outgoing", "blocked"):
            contacts = await tx.social.list_contacts(me.id, kind, None, 9)
            lists[kind] = [(c.user.id, c.since) for c in contacts]
        theirs = await tx.social.list_contacts(out.id, "incoming", None, 9)
    assert lists == {
        "friends": [(f2.id, T0 + timedelta(minutes=1)), (f1.id, T0)],
        "incoming": [(inc.id, T0 + timedelta(minutes=2))],
        "outgoing": [(out.id, T0 + timedelta(minutes=3))],
        "blocked": [(blk.id, T0 + timedelta(minutes=4))],
    }
    assert [(c.user, c.since) for c in theirs] == [(Person.of(me), T0 + timedelta(minutes=3))]


async def test_contact_lists_page_by_keyset_with_ties_broken_by_user_id(
    backend: Adapters,
) -> None:
    me = await add_user(backend)
    others = [await add_user(backend) for _ in range(7)]
    times = [T0, T0, T0 + timedelta(seconds=1), T0, T0 + timedelta(seconds=1), T0, T0]
    for other, at in zip(others, times, strict=True):
        await befriend(backend, me.id, other.id, at=at)
    expected = sorted(((at, o.id) for o, at in zip(others, times, strict=True)), reverse=True)
    for limit in (1, 2, 3, 7, 10):
        seen: list[tuple[object, int]] = []
        after = None
        while True:
            async with backend.uow() as tx:
                page = await tx.social.list_contacts(me.id, "friends", after, limit)
            assert len(page) <= limit
            seen += [(c.since, c.user.id) for c in page]
            if len(page) < limit:
                break
            after = (page[-1].since, page[-1].user.id)
        assert seen == expected
    async with backend.uow() as tx:
        assert await tx.social.list_contacts(me.id, "friends", None, 0) == []


async def test_banned_and_suspended_people_are_left_out_but_for_the_blocked_list(
    backend: Adapters, clock: ManualClock
) -> None:
    me = await add_user(backend)
    banned = await add_user(backend, status=AccountStatus.BANNED)
    suspended = await add_user(
        backend, status=AccountStatus.SUSPENDED, suspended_until=clock.now() + timedelta(hours=1)
    )
    forever = await add_user(backend, status=AccountStatus.SUSPENDED, suspended_until=None)
    fine = await add_user(backend)
    for other in (banned, suspended, forever, fine):
        await befriend(backend, me.id, other.id)
    blocked = await add_user(backend, status=AccountStatus.BANNED)
    await block(backend, me.id, blocked.id)
    requester = await add_user(backend, status=AccountStatus.BANNED)
    await request(backend, requester.id, me.id)
    async with backend.uow() as tx:
        friends = [c.user.id for c in await tx.social.list_contacts(me.id, "friends", None, 9)]
        blocks = [c.user.id for c in await tx.social.list_contacts(me.id, "blocked", None, 9)]
        incoming = await tx.social.list_contacts(me.id, "incoming", None, 9)
        assert await tx.social.friend_count(me.id) == 4
    assert friends == [fine.id]
    assert blocks == [blocked.id]
    assert incoming == []
    clock.advance(timedelta(hours=2))  # the suspension has run out
    async with backend.uow() as tx:
        friends = [c.user.id for c in await tx.social.list_contacts(me.id, "friends", None, 9)]
    assert sorted(friends) == sorted([suspended.id, fine.id])


async def test_deleting_a_user_removes_their_friendships_requests_and_blocks(
    backend: Adapters,
) -> None:
    me, gone, other = await add_user(backend), await add_user(backend), await add_user(backend)
    await befriend(backend, me.id, gone.id)
    await request(backend, gone.id, other.id)
    await request(backend, other.id, gone.id)
    await block(backend, other.id, gone.id)
    await befriend(backend, me.id, other.id)
    async with backend.uow() as tx:
        await tx.users.delete(gone.id)
    async with backend.uow() as tx:
        assert await tx.social.friend_count(me.id) == 1
        assert await tx.social.list_contacts(other.id, "blocked", None, 9) == []
        assert await tx.social.list_contacts(other.id, "incoming", None, 9) == []
        assert await tx.social.list_contacts(other.id, "outgoing", None, 9) == []
        assert not await tx.social.blocked_either_way(other.id, gone.id)


# ---------------------------------------------------------------- search


async def test_search_finds_a_prefix_in_byte_order_whatever_the_case(backend: Adapters) -> None:
    me = await add_user(backend, nickname="searcher")
    names = ["ann.x", "Anna", "ann_1", "ann0", "annie", "an", "bob", "xann"]
    users = {n: await add_user(backend, nickname=n) for n in names}
    async with backend.uow() as tx:
        found = await tx.social.search(me.id, "ann", None, 10)
        upper = await tx.social.search(me.id, "ANN", None, 10)
        exact = await tx.social.search(me.id, "annie", None, 10)
        nothing = await tx.social.search(me.id, "zz", None, 10)
    # Code point order: '.' < digits < '_' < letters.
    assert [u.nickname for u in found] == ["ann.x", "ann0", "ann_1", "Anna", "annie"]
    assert found[0] == Person.of(users["ann.x"])
    assert type(found[0]) is Person
    assert upper == found
    assert [u.nickname for u in exact] == ["annie"]
    assert nothing == []


async def test_search_escapes_like_wildcards(backend: Adapters) -> None:
    me = await add_user(backend, nickname="searcher")
    for name in ("ab", "a_b", "a_", "axb", "a%b"):
        await add_user(backend, nickname=name)
    async with backend.uow() as tx:
        underscore = await tx.social.search(me.id, "a_", None, 10)
        percent = await tx.social.search(me.id, "a%", None, 10)
        only_percent = await tx.social.search(me.id, "%", None, 10)
        backslash = await tx.social.search(me.id, "a\\", None, 10)
    assert [u.nickname for u in underscore] == ["a_", "a_b"]  # not "ab", not "axb"
    assert [u.nickname for u in percent] == ["a%b"]
    assert only_percent == []
    assert backslash == []


async def test_search_pages_after_a_nickname(backend: Adapters) -> None:
    me = await add_user(backend, nickname="searcher")
    names = ["cat", "cat.b", "cat1", "cat_a", "cata", "catb", "catc"]
    for name in names:
        await add_user(backend, nickname=name)
    expected = sorted(names)  # code point order
    for limit in (1, 2, 3, 10):
        seen: list[str] = []
        after = None
        while True:
            async with backend.uow() as tx:
                page = await tx.social.search(me.id, "cat", after, limit)
            seen += [u.nickname for u in page]
            if len(page) < limit:
                break
            after = page[-1].nickname
        assert seen == expected


async def test_search_leaves_out_me_the_blocked_the_banned_and_the_suspended(
    backend: Adapters, clock: ManualClock
) -> None:
    me = await add_user(backend, nickname="dot.me")
    await add_user(backend, nickname="dot.fine")
    i_blocked = await add_user(backend, nickname="dot.blocked")
    blocks_me = await add_user(backend, nickname="dot.blocker")
    await add_user(backend, nickname="dot.banned", status=AccountStatus.BANNED)
    await add_user(
        backend,
        nickname="dot.suspended",
        status=AccountStatus.SUSPENDED,
        suspended_until=clock.now() + timedelta(minutes=5),
    )
    await block(backend, me.id, i_blocked.id)
    await block(backend, blocks_me.id, me.id)
    async with backend.uow() as tx:
        found = [u.nickname for u in await tx.social.search(me.id, "dot", None, 10)]
        theirs = [u.nickname for u in await tx.social.search(i_blocked.id, "dot", None, 10)]
    assert found == ["dot.fine"]
    assert "dot.me" not in theirs and "dot.blocked" not in theirs
    clock.advance(timedelta(minutes=6))
    async with backend.uow() as tx:
        found = [u.nickname for u in await tx.social.search(me.id, "dot", None, 10)]
    assert found == ["dot.fine", "dot.suspended"]


async def test_get_for_viewer_reads_the_video_its_author_and_the_relation(
    backend: Adapters,
) -> None:
    author = await add_user(backend)
    friend, blocker, blocked, stranger = [await add_user(backend) for _ in range(4)]
    await befriend(backend, author.id, friend.id)
    await block(backend, blocker.id, author.id)
    await block(backend, author.id, blocked.id)
    video = await add_video(backend, author.id)
    users = {u.id: u for u in (author, friend, blocker, blocked, stranger)}
    async with backend.uow() as tx:
        stored = await tx.videos.get(video.id)
        expected = {
            friend.id: (False, True),
            blocker.id: (True, False),
            blocked.id: (True, False),
            stranger.id: (False, False),
            author.id: (False, False),
        }
        for viewer, (is_blocked, is_friend) in expected.items():
            found = await tx.videos.get_for_viewer(video.id, viewer)
            assert found == VideoForViewer(
                video=stored,
                # the author without their secrets, the viewer's public part
                author=attrs.evolve(author, email="", password_hash=None),
                viewer=Person.of(users[viewer]),
                blocked=is_blocked,
                friends=is_friend,
            ), viewer
            assert (found.author.email, found.author.password_hash) == ("", None)
            assert type(found.viewer) is Person
        for video_id, viewer in ((987654, friend.id), (video.id, 987654)):
            with pytest.raises(NotFound) as missing:
                await tx.videos.get_for_viewer(video_id, viewer)
            assert missing.value.code == "video_not_found"
