"""Who may see, react to and comment on a video (``services.visibility``), through the use
cases on the memory adapters: friends-only videos, videos still processing, suspended and
banned authors, blocks either way, and the BeReal lock (a friend who has not posted since
the moment a friends-only video answers is locked out of it; posting opens it).

Each check asks every route that shares the rule: reading the video, its comments and its
reactors, reacting and commenting."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any

import attrs
import pytest

from momentic_core.errors import MomenticError
from momentic_core.model.accounts import AccountStatus, Principal, Role
from momentic_core.policies import moments

from .ranking_support import RULES, T0, World, make_world

OK = "ok"


async def outcome(call: Awaitable[Any]) -> str:
    """``"ok"``, or the code of the domain error the call raised."""
    try:
        await call
    except MomenticError as err:
        return err.code
    return OK


async def reads(world: World, who: Principal, video_id: int) -> dict[str, str]:
    return {
        "get": await outcome(world.videos.get(who, video_id)),
        "comments": await outcome(world.engagement.comments(who, video_id, None, None, 10)),
        "reactors": await outcome(world.engagement.reactors(who, video_id, None, 10)),
    }


async def writes(world: World, who: Principal, video_id: int) -> dict[str, str]:
    return {
        "react": await outcome(world.engagement.react(who, video_id, "heart")),
        "comment": await outcome(world.engagement.comment(who, video_id, "nice", None)),
    }


async def users(world: World, *names: str) -> list[Principal]:
    return [await world.add_user(name) for name in names]


READS = ("get", "comments", "reactors")
WRITES = ("react", "comment")


def all_reads(code: str) -> dict[str, str]:
    return dict.fromkeys(READS, code)


def all_writes(code: str) -> dict[str, str]:
    return dict.fromkeys(WRITES, code)


async def locked(world: World, who: Principal, video_id: int) -> bool:
    return (await world.videos.get(who, video_id)).locked


async def restrict(world: World, user_id: int, until: datetime | None) -> None:
    """Suspend the account until ``until``, or ban it (None), as moderation does."""
    status = AccountStatus.SUSPENDED if until else AccountStatus.BANNED
    async with world.uow() as tx:
        user = await tx.users.get_for_update(user_id)
        await tx.users.update(attrs.evolve(user, status=status, suspended_until=until))


async def block(world: World, blocker: int, blocked: int) -> None:
    async with world.uow() as tx:
        await tx.social.add_block(blocker, blocked, world.clock.now())


# ---------------------------------------------------------------------------- who sees


async def test_strangers_see_public_videos_and_only_friends_see_friends_only_ones() -> None:
    world = make_world()
    ann, bob, cat = await users(world, "ann", "bob", "cat")
    await world.befriend(ann.user_id, bob.user_id)
    public = (await world.ready_post(ann, "public")).id
    friends_only = (await world.ready_post(ann, "friends")).id
    assert await reads(world, cat, public) == all_reads(OK)
    assert await writes(world, cat, public) == all_writes(OK)
    assert await reads(world, cat, friends_only) == all_reads("video_not_found")
    assert await writes(world, cat, friends_only) == all_writes("video_not_found")
    assert await reads(world, bob, friends_only) == all_reads(OK)
    assert await writes(world, bob, friends_only) == all_writes(OK)
    assert await reads(world, ann, friends_only) == all_reads(OK)


async def test_a_video_still_processing_is_its_authors_and_staffs_only() -> None:
    world = make_world()
    ann, cat = await world.add_user("ann"), await world.add_user("cat")
    mod = await world.add_user("mod", role=Role.MODERATOR)
    video = (await world.post(ann, "public")).id
    assert await reads(world, cat, video) == all_reads("video_not_found")
    assert await writes(world, cat, video) == all_writes("video_not_found")
    # The author and staff see it, but nobody reacts to or comments on it before it plays.
    for who in (ann, mod):
        assert await reads(world, who, video) == all_reads(OK)
        assert await writes(world, who, video) == all_writes("video_not_ready")
    await world.make_ready(video)
    assert await reads(world, cat, video) == all_reads(OK)
    assert await writes(world, cat, video) == all_writes(OK)


async def test_a_suspended_authors_videos_are_hidden_until_the_suspension_ends() -> None:
    world = make_world()
    ann, bob, cat = await users(world, "ann", "bob", "cat")
    mod = await world.add_user("mod", role=Role.MODERATOR)
    await world.befriend(ann.user_id, bob.user_id)
    public = (await world.ready_post(ann, "public")).id
    friends_only = (await world.ready_post(ann, "friends")).id
    await restrict(world, ann.user_id, world.clock.now() + timedelta(hours=2))
    for who, video in ((cat, public), (bob, public), (bob, friends_only)):
        assert await reads(world, who, video) == all_reads("video_not_found"), (who, video)
        assert await writes(world, who, video) == all_writes("video_not_found"), (who, video)
    assert await reads(world, mod, friends_only) == all_reads(OK)  # staff judge them
    world.clock.advance(timedelta(hours=1, minutes=59))
    assert await reads(world, cat, public) == all_reads("video_not_found")
    world.clock.advance(timedelta(minutes=1))  # the suspension has run out: shown again
    for who, video in ((cat, public), (bob, public), (bob, friends_only)):
        assert await reads(world, who, video) == all_reads(OK), (who, video)
        assert await writes(world, who, video) == all_writes(OK), (who, video)
    assert await reads(world, cat, friends_only) == all_reads("video_not_found")


async def test_a_banned_authors_videos_stay_hidden() -> None:
    world = make_world()
    ann, cat = await world.add_user("ann"), await world.add_user("cat")
    video = (await world.ready_post(ann, "public")).id
    await restrict(world, ann.user_id, None)
    world.clock.advance(timedelta(days=400))
    assert await reads(world, cat, video) == all_reads("video_not_found")
    assert await writes(world, cat, video) == all_writes("video_not_found")
    assert await reads(world, ann, video) == all_reads(OK)


@pytest.mark.parametrize("author_blocks", [True, False])
async def test_a_block_either_way_hides_the_video(author_blocks: bool) -> None:
    world = make_world()
    ann, cat, dan = await users(world, "ann", "cat", "dan")
    video = (await world.ready_post(ann, "public")).id
    if author_blocks:
        await block(world, ann.user_id, cat.user_id)
    else:
        await block(world, cat.user_id, ann.user_id)
    assert await reads(world, cat, video) == all_reads("video_not_found")
    assert await writes(world, cat, video) == all_writes("video_not_found")
    assert await reads(world, dan, video) == all_reads(OK)  # nobody else is affected


# ---------------------------------------------------------------------------- the BeReal lock


async def test_a_friend_who_has_not_posted_is_locked_out_until_they_post() -> None:
    world = make_world(bereal_lock=True)
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    mod = await world.add_user("mod", role=Role.MODERATOR)
    await world.befriend(ann.user_id, bob.user_id)
    moment = (await world.ready_post(ann, "friends")).id
    public = (await world.ready_post(ann, "public")).id
    world.clock.advance(timedelta(minutes=30))
    assert await locked(world, bob, moment)
    assert await reads(world, bob, moment) == {
        "get": OK, "comments": "moment_locked", "reactors": "moment_locked",
    }
    assert await writes(world, bob, moment) == all_writes("moment_locked")
    # The lock is on friends-only moments, never on public videos or on staff.
    assert not await locked(world, bob, public)
    assert await writes(world, bob, public) == all_writes(OK)
    assert not await locked(world, mod, moment)
    assert await reads(world, mod, moment) == all_reads(OK)
    # A post that is not ready yet opens nothing; once it plays, everything opens.
    mine = await world.post(bob, "friends")
    assert await writes(world, bob, moment) == all_writes("moment_locked")
    await world.make_ready(mine.id)
    assert not await locked(world, bob, moment)
    assert await reads(world, bob, moment) == all_reads(OK)
    assert await writes(world, bob, moment) == all_writes(OK)


async def test_with_the_lock_off_a_friend_who_has_not_posted_reacts_and_comments() -> None:
    world = make_world(bereal_lock=False)
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    await world.befriend(ann.user_id, bob.user_id)
    moment = (await world.ready_post(ann, "friends")).id
    assert not await locked(world, bob, moment)
    assert await reads(world, bob, moment) == all_reads(OK)
    assert await writes(world, bob, moment) == all_writes(OK)


async def test_a_late_post_is_open_to_a_friend_who_posted_since_the_moment_it_answers() -> None:
    day = T0.date()
    world = make_world(datetime.combine(day, time(), UTC), bereal_lock=True)
    ann, bob, cat = await users(world, "ann", "bob", "cat")
    await world.befriend(ann.user_id, bob.user_id)
    await world.befriend(ann.user_id, cat.user_id)
    moment = moments.moment_of(RULES, day, "UTC").at
    world.clock.advance(moment - world.clock.now() + timedelta(minutes=1))
    await world.ready_post(bob, "friends")  # bob answers the moment on time
    world.clock.advance(timedelta(hours=3))
    late = await world.ready_post(ann, "friends")  # ann answers it three hours late
    assert late.moment_at == moment and not late.on_time
    assert not await locked(world, bob, late.id)  # bob posted after the moment
    assert await writes(world, bob, late.id) == all_writes(OK)
    assert await locked(world, cat, late.id)  # cat has not posted at all
    assert await writes(world, cat, late.id) == all_writes("moment_locked")


ZONES = ("UTC", "Europe/Berlin", "Europe/Minsk", "Asia/Dubai")


def spaced_moments(first: date) -> tuple[date, list[tuple[datetime, str]]]:
    """The first day from ``first`` on which the moments of ZONES fall at least ten
    minutes apart, with those moments in order."""
    for n in range(60):
        day = first + timedelta(days=n)
        found = sorted((moments.moment_of(RULES, day, zone).at, zone) for zone in ZONES)
        gaps = [b[0] - a[0] for a, b in pairwise(found)]
        if min(gaps) >= timedelta(minutes=10) and found[-1][0].date() == day:
            return day, found
    raise AssertionError("no such day")


@pytest.mark.parametrize("answered", [0, 1, 2, 3, 4])
async def test_a_page_of_moments_opens_exactly_those_i_posted_after(answered: int) -> None:
    # Four friends in four zones post, each for their own zone's moment; bob posts once,
    # after the first ``answered`` of them. The moments before his post are open to him,
    # the later ones stay locked, on one page of his friends feed.
    day, order = spaced_moments(T0.date())
    world = make_world(datetime.combine(day, time(), UTC), bereal_lock=True)
    bob = await world.add_user("bob")
    posted: list[int] = []
    for n, (at, zone) in enumerate(order):
        if n == answered:
            world.clock.advance(timedelta(minutes=1))
            await world.ready_post(bob, "public")
        friend = await world.add_user(f"friend{n}", time_zone=zone)
        await world.befriend(friend.user_id, bob.user_id)
        world.clock.advance(at - world.clock.now() + timedelta(minutes=1))
        video = await world.ready_post(friend, "friends")
        assert video.moment_at == at
        posted.append(video.id)
    if answered == len(order):
        world.clock.advance(timedelta(minutes=1))
        await world.ready_post(bob, "public")
    _day, page = await world.feeds.friends(bob, day, None, False, 10)
    got = {item.video.id: item.locked for item in page.items}
    assert got == {v: n >= answered for n, v in enumerate(posted)}
    for n, video_id in enumerate(posted):
        assert await locked(world, bob, video_id) is (n >= answered)
