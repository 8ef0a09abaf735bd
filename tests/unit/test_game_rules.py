"""The rules of the game (README, ranking section) hold against the moves that gamed
them: a time-zone change unlocks no friend's moment, zones cannot be cycled, on-time
posts earn once a day, and one commenter earns an author once per video."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from momentic_core.errors import Forbidden, RateLimited
from momentic_core.model.accounts import Principal
from momentic_core.policies import moments
from momentic_core.services.profiles import ProfileChanges

from .ranking_support import RULES, T0, World, make_world

WEIGHTS = {"on_time": 10, "comment": 3, "streak_day": 5}


def run(coro: Any) -> Any:
    return asyncio.run(coro)


async def locked_for(world: World, who: Principal, video_id: int) -> bool:
    return (await world.videos.get(who, video_id)).locked


async def zone(world: World, who: Principal, name: str) -> None:
    await world.profiles.update_me(who, ProfileChanges(time_zone=name))


def test_a_time_zone_change_unlocks_no_friends_moment() -> None:
    async def go() -> None:
        world = make_world(bereal_lock=True)
        ann, bob = await world.add_user("ann"), await world.add_user("bob")
        await world.befriend(ann.user_id, bob.user_id)
        moment = (await world.ready_post(ann, "friends")).id  # Monday 12:00 UTC
        world.clock.advance(timedelta(hours=2))
        assert await locked_for(world, bob, moment)
        # In Noumea (UTC+11) ann posted at 23:00 on Monday and it is now 01:00 on
        # Tuesday: a lock judged by bob's "today" would open here.
        await zone(world, bob, "Pacific/Noumea")
        assert await locked_for(world, bob, moment)
        with pytest.raises(Forbidden) as refused:
            await world.engagement.comment(bob, moment, "peek", None)
        assert refused.value.code == "moment_locked"
        _day, page = await world.feeds.friends(bob, (T0 + timedelta(hours=11)).date(),
                                              None, False, 10)
        assert [(i.video.id, i.locked) for i in page.items] == [(moment, True)]
        await zone(world, bob, "America/Bogota")
        assert await locked_for(world, bob, moment)
        await world.ready_post(bob, "friends")  # bob posts: ann's moment opens
        assert not await locked_for(world, bob, moment)
        # Ann's post for the next day's moment is locked until bob posts after that one.
        tuesday = moments.moment_of(RULES, T0.date() + timedelta(days=1), "UTC").at
        world.clock.advance(tuesday - world.clock.now() + timedelta(minutes=1))
        later = (await world.ready_post(ann, "friends")).id
        assert await locked_for(world, bob, later)
        world.clock.advance(timedelta(hours=24))  # and for 24 hours at most
        assert not await locked_for(world, bob, later)

    run(go())


def test_a_time_zone_changes_twice_a_day_at_most() -> None:
    async def go() -> None:
        world = make_world(throttle_multiplier=1)
        ann = await world.add_user("ann")
        await zone(world, ann, "Europe/Minsk")
        await zone(world, ann, "Europe/Minsk")  # no change: not counted
        await zone(world, ann, "Asia/Tokyo")
        with pytest.raises(RateLimited) as third:
            await zone(world, ann, "America/Bogota")
        assert third.value.code == "time_zone_change_limited"
        assert third.value.retry_after > 0
        assert world.user(ann.user_id).time_zone == "Asia/Tokyo"
        world.clock.advance(timedelta(hours=24, seconds=1))
        await zone(world, ann, "America/Bogota")
        assert world.user(ann.user_id).time_zone == "America/Bogota"

    run(go())


def test_on_time_posts_earn_once_a_utc_day() -> None:
    async def go() -> None:
        world = make_world()
        await world.ranking.set_weights(None, WEIGHTS)
        ann = await world.add_user("ann")
        today = moments.moment_of(RULES, T0.date(), "UTC").at
        world.clock.advance(today - world.clock.now() + timedelta(seconds=5))
        posts = [await world.ready_post(ann) for _ in range(5)]
        assert all(v.on_time for v in posts)
        assert world.user(ann.user_id).rating == 10 + 5  # one on-time bonus, streak 1
        tomorrow = moments.moment_of(RULES, T0.date() + timedelta(days=1), "UTC").at
        world.clock.advance(tomorrow - world.clock.now() + timedelta(seconds=5))
        await world.ready_post(ann)
        assert world.user(ann.user_id).rating == 10 + 10 + 5 * 2
        await world.ranking.recompute_all()
        assert world.user(ann.user_id).rating == 10 + 10 + 5 * 2

    run(go())


def test_one_commenter_earns_an_author_once_per_video() -> None:
    async def go() -> None:
        world = make_world()
        await world.ranking.set_weights(None, {**WEIGHTS, "streak_day": 0, "on_time": 0})
        ann, bob = await world.add_user("ann"), await world.add_user("bob")
        first, second = (await world.ready_post(ann)).id, (await world.ready_post(ann)).id
        for n in range(25):
            await world.engagement.comment(bob, first, f"wow {n}", None)
        assert world.user(ann.user_id).rating == 3
        await world.engagement.comment(bob, second, "again", None)
        assert world.user(ann.user_id).rating == 6
        await world.ranking.recompute_all()
        assert world.user(ann.user_id).rating == 6

    run(go())
