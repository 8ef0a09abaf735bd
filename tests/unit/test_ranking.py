"""Ratings kept incrementally by ``Scorer`` equal what a recompute rebuilds from the rows
(and what this test computes from the rows by itself); weights and their recompute job."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from momentic_core.errors import Forbidden, Invalid
from momentic_core.model.accounts import Principal, Role
from momentic_core.model.engagement import ReactionKind
from momentic_core.model.jobs import RecomputeRatings
from momentic_core.model.ranking import WEIGHT_FIELDS, RankingWeights
from momentic_core.model.videos import VideoStatus
from momentic_core.policies import moments
from momentic_core.services.profiles import ProfileChanges

from .ranking_support import RULES, T0, World, make_world

PROPERTY = settings(max_examples=150, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

ZONES = (
    "UTC",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
    "Pacific/Apia",
    "Asia/Kathmandu",
)
STARTS = (
    T0,
    datetime(2026, 3, 27, 20, 0, tzinfo=UTC),  # Berlin springs forward on the 29th
    datetime(2026, 3, 6, 15, 0, tzinfo=UTC),  # New York, the 8th
    datetime(2026, 10, 2, 9, 0, tzinfo=UTC),  # Lord Howe (+30 min) on the 4th
    datetime(2026, 10, 23, 22, 0, tzinfo=UTC),  # Berlin falls back on the 25th
    datetime(2026, 4, 3, 23, 30, tzinfo=UTC),  # Lord Howe falls back on the 5th
)
ONE_DAY = timedelta(days=1)


# ---------------------------------------------------------------------------- the oracle


@attrs.frozen
class Kept:
    """What the store holds about one user's rating."""

    rating: int
    current: int
    max: int
    max_reactions: int
    last_day: date | None


def kept(world: World) -> tuple[dict[int, Kept], dict[tuple[int, date], int]]:
    users = {
        u.id: Kept(u.rating, u.current_streak, u.max_streak, u.max_reactions, u.last_post_day)
        for u in world.store.users.values()
    }
    # A day whose points went up and back down may keep a 0 row; it ranks like no row.
    points = {k: v for k, v in world.store.rating_points.items() if v}
    return users, points


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def from_rows(
    world: World, weights: RankingWeights
) -> tuple[dict[int, Kept], dict[tuple[int, date], int]]:
    """The policies.rating formula applied to the rows, written independently of the
    core: points by UTC day of the event, the streak by brute force."""
    s, now = world.store, world.clock.now()
    users: dict[int, Kept] = {}
    points: dict[tuple[int, date], int] = defaultdict(int)
    for user in s.users.values():
        uid = user.id
        mine = {vid: v for vid, v in s.videos.items() if v.author_id == uid}
        for (vid, reactor), row in s.reactions.items():
            if vid in mine and reactor != uid:
                points[(uid, utc_day(row.created_at))] += getattr(weights, row.kind.value)
        first: dict[tuple[int, int], Any] = {}  # one commenter on one video earns once
        for c in sorted(s.comments.values(), key=lambda c: c.created_at):
            if c.video_id in mine and c.author_id != uid and not c.hidden:
                first.setdefault((c.video_id, c.author_id), c.created_at)
        for at in first.values():
            points[(uid, utc_day(at))] += weights.comment
        ready = [v for v in mine.values() if v.status is VideoStatus.READY]
        for day in {utc_day(v.created_at) for v in ready if v.on_time}:  # once a UTC day
            points[(uid, day)] += weights.on_time
        tz = ZoneInfo(user.time_zone)
        days = {v.created_at.astimezone(tz).date() for v in ready}
        today = now.astimezone(tz).date()
        # The current streak: consecutive days back from today (or yesterday).
        current, day = 0, (today if today in days else today - ONE_DAY)
        while day in days:
            current, day = current + 1, day - ONE_DAY
        best = 0
        for first in days:
            n = 0
            while first + n * ONE_DAY in days:
                n += 1
            best = max(best, n)
        total = sum(p for (u, _), p in points.items() if u == uid)
        most = max(
            (sum(1 for (vid, _) in s.reactions if vid == v.id) for v in ready), default=0
        )
        users[uid] = Kept(
            rating=total + weights.streak_day * current,
            current=current,
            max=best,
            max_reactions=most,
            last_day=max(days) if days else None,
        )
    return users, {k: v for k, v in points.items() if v}


# ---------------------------------------------------------------------------- histories

IDX = st.integers(0, 1000)
ARGS: dict[str, st.SearchStrategy[tuple[Any, ...]]] = {
    "advance": st.tuples(st.sampled_from([7, 45, 180, 600, 1440, 1440, 1500, 2 * 1440 + 30])),
    "to_moment": st.tuples(IDX, st.integers(0, 240)),
    "post": st.tuples(IDX, st.sampled_from([True, True, False])),
    "ready": st.tuples(IDX),
    "react": st.tuples(IDX, IDX, st.sampled_from(list(ReactionKind))),
    "unreact": st.tuples(IDX, IDX),
    "comment": st.tuples(IDX, IDX, st.booleans()),
    "delete_comment": st.tuples(IDX, st.booleans()),
    "delete_video": st.tuples(IDX),
    "zone": st.tuples(IDX, st.sampled_from(ZONES)),
    "delete_user": st.tuples(IDX),
    "break": st.tuples(),
}
# How often each kind of step comes, roughly.
KINDS = (
    ["advance"] * 5 + ["post"] * 5 + ["react"] * 4 + ["comment"] * 3 + ["ready"] * 2
    + ["to_moment", "unreact", "delete_comment", "delete_video", "zone", "break", "delete_user"]
)
ACTION = st.sampled_from(KINDS).flatmap(
    lambda kind: ARGS[kind].map(lambda args: (kind, *args))
)
WEIGHTS = st.fixed_dictionaries({name: st.integers(0, 12) for name in WEIGHT_FIELDS})


def pick(items: list[Any], i: int) -> Any:
    return items[i % len(items)] if items else None


async def play(
    world: World, zones: list[str], actions: list[tuple[Any, ...]]
) -> None:
    users = [await world.add_user(f"user{i}", time_zone=z) for i, z in enumerate(zones)]
    s = world.store

    def alive() -> list[Principal]:
        return [p for p in users if p.user_id in s.users]

    def ready_videos() -> list[int]:
        return sorted(v.id for v in s.videos.values() if v.status is VideoStatus.READY)

    for action in actions:
        kind, *args = action
        now = world.clock.now()
        if kind == "advance":
            world.clock.advance(timedelta(minutes=args[0]))
        elif kind == "to_moment" and (who := pick(alive(), args[0])):
            zone = world.user(who.user_id).time_zone
            today = now.astimezone(ZoneInfo(zone)).date()
            upcoming = [moments.moment_of(RULES, today + n * ONE_DAY, zone).at for n in (0, 1, 2)]
            at = min(a for a in upcoming if a > now) + timedelta(seconds=args[1])
            world.clock.advance(at - now)
        elif kind == "post" and (who := pick(alive(), args[0])):
            video = await world.post(who)
            if args[1]:
                await world.make_ready(video.id)
        elif kind == "ready":
            pending = sorted(v.id for v in s.videos.values()
                             if v.status is VideoStatus.PROCESSING)
            if pending:
                await world.make_ready(pick(pending, args[0]))
        elif kind == "react" and (who := pick(alive(), args[0])) and ready_videos():
            await world.engagement.react(who, pick(ready_videos(), args[1]), args[2].value)
        elif kind == "unreact" and (who := pick(alive(), args[0])) and ready_videos():
            await world.engagement.unreact(who, pick(ready_videos(), args[1]))
        elif kind == "comment" and (who := pick(alive(), args[0])) and ready_videos():
            video_id = pick(ready_videos(), args[1])
            tops = sorted(c.id for c in s.comments.values()
                          if c.video_id == video_id and c.parent_id is None)
            parent = pick(tops, args[1]) if args[2] else None
            await world.engagement.comment(who, video_id, "nice", parent)
        elif kind == "delete_comment" and s.comments:
            comment = s.comments[pick(sorted(s.comments), args[0])]
            author_id = comment.author_id if args[1] else s.videos[comment.video_id].author_id
            await world.engagement.delete_comment(
                Principal(user_id=author_id, role=Role.USER, session_id=0), comment.id
            )
        elif kind == "delete_video" and s.videos:
            video = s.videos[pick(sorted(s.videos), args[0])]
            await world.videos.delete(
                Principal(user_id=video.author_id, role=Role.USER, session_id=0), video.id
            )
        elif kind == "zone" and (who := pick(alive(), args[0])):
            await world.profiles.update_me(who, ProfileChanges(time_zone=args[1]))
        elif kind == "delete_user" and len(alive()) > 2 and (who := pick(alive(), args[0])):
            await world.profiles.delete_me(who, None)
        elif kind == "break":
            await world.ranking.break_streaks()


async def rating_history(
    start: datetime, zones: list[str], weights: dict[str, int], actions: list[tuple[Any, ...]]
) -> None:
    world = make_world(start)
    await world.ranking.set_weights(None, weights)
    applied = RankingWeights(**weights)
    await play(world, zones, actions)
    await world.ranking.break_streaks()  # the daily job

    incremental = kept(world)
    expected = from_rows(world, applied)
    assert incremental[1] == expected[1], "points by day"
    assert incremental[0] == expected[0]

    assert await world.ranking.recompute_all(batch=2) == len(world.store.users)
    assert kept(world) == expected


@PROPERTY
@given(
    st.sampled_from(STARTS),
    st.lists(st.sampled_from(ZONES), min_size=2, max_size=4),
    WEIGHTS,
    st.lists(ACTION, min_size=15, max_size=60),
)
@example(  # posted at 23:30, made ready after the midnight job stored the streak as 0
    T0, ["UTC", "UTC"], {name: 1 for name in WEIGHT_FIELDS},
    [("post", 0, True), ("advance", 1440), ("advance", 600), ("advance", 45),
     ("advance", 45), ("post", 0, False), ("advance", 45), ("break",), ("ready", 0)],
)
@example(  # the author reacts to their own video
    T0, ["UTC", "UTC"], {name: 1 for name in WEIGHT_FIELDS},
    [("post", 0, True), ("react", 0, 0, ReactionKind.FLAME), ("react", 1, 0, ReactionKind.HEART),
     ("unreact", 1, 0)],
)
def test_incremental_ratings_equal_the_rebuild_from_the_rows(
    start: datetime, zones: list[str], weights: dict[str, int], actions: list[tuple[Any, ...]]
) -> None:
    asyncio.run(rating_history(start, zones, weights, actions))


# ---------------------------------------------------------------------------- examples


async def test_reactions_and_comments_earn_the_author_points_on_their_day() -> None:
    world = make_world()
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    video = await world.ready_post(ann)  # day 1 of a streak: 5 points
    assert world.user(ann.user_id).rating == 5
    await world.engagement.react(bob, video.id, "flame")  # 3
    await world.engagement.comment(bob, video.id, "wow")  # 3
    world.clock.advance(ONE_DAY)
    await world.engagement.react(bob, video.id, "heart")  # replaces flame: -3 +2, on day 1
    ann_user = world.user(ann.user_id)
    assert ann_user.rating == 5 + 2 + 3
    assert world.store.rating_points == {(ann.user_id, T0.date()): 5}
    assert ann_user.max_reactions == 1
    assert world.user(bob.user_id).rating == 0
    await world.engagement.unreact(bob, video.id)
    assert world.user(ann.user_id).rating == 5 + 3
    assert world.user(ann.user_id).max_reactions == 0


async def test_self_reactions_and_self_comments_earn_nothing() -> None:
    world = make_world()
    ann = await world.add_user("ann")
    video = await world.ready_post(ann)
    base = world.user(ann.user_id).rating
    await world.engagement.react(ann, video.id, "flame")
    comment = await world.engagement.comment(ann, video.id, "me")
    await world.engagement.comment(ann, video.id, "me again", comment.comment.id)
    user = world.user(ann.user_id)
    assert user.rating == base == 5  # the streak day only
    assert world.store.rating_points == {}
    # Her own reaction is on the video's count, and max_reactions counts what is there.
    assert world.store.videos[video.id].reactions["flame"] == 1
    assert user.max_reactions == 1
    before = kept(world)
    await world.ranking.recompute_all()
    assert kept(world) == before
    await world.engagement.unreact(ann, video.id)
    assert world.user(ann.user_id).max_reactions == 0


async def test_an_on_time_post_earns_the_on_time_points_when_it_is_ready() -> None:
    world = make_world()
    ann = await world.add_user("ann", time_zone="Europe/Berlin")
    moment = moments.moment_before(RULES, T0 + ONE_DAY, "Europe/Berlin")
    world.clock.advance(moment.at + timedelta(seconds=30) - T0)
    video = await world.post(ann)
    assert (video.moment_at, video.on_time) == (moment.at, True)
    assert world.user(ann.user_id).rating == 0  # not ready yet
    await world.make_ready(video.id)
    assert world.user(ann.user_id).rating == 10 + 5
    assert world.store.rating_points == {(ann.user_id, utc_day(video.created_at)): 10}


async def test_a_post_from_before_midnight_made_ready_after_the_midnight_job_resumes_the_run(
) -> None:
    world = make_world(datetime(2026, 3, 1, 23, 50, tzinfo=UTC))
    ann = await world.add_user("ann")
    await world.ready_post(ann)  # 1 March
    world.clock.advance(ONE_DAY)
    await world.ready_post(ann)  # 2 March
    world.clock.advance(ONE_DAY)
    late = await world.post(ann)  # 3 March, 23:50; processing takes 40 minutes
    world.clock.advance(timedelta(minutes=15))  # 4 March 00:05: the daily job
    # 2 March is before yesterday (3 March): the job stores 0 ...
    assert await world.ranking.break_streaks() == 1
    assert (world.user(ann.user_id).current_streak, world.user(ann.user_id).rating) == (0, 0)
    world.clock.advance(timedelta(minutes=25))
    await world.make_ready(late.id)
    # ... and the post of 3 March joins 1-2 March: a run of 3 that is alive today.
    user = world.user(ann.user_id)
    assert (user.current_streak, user.max_streak, user.last_post_day) == (3, 3, date(2026, 3, 3))
    assert user.rating == 15
    before = kept(world)
    await world.ranking.recompute_all()
    assert kept(world) == before


async def test_a_late_video_of_an_old_day_does_not_revive_a_broken_streak_for_long() -> None:
    world = make_world(datetime(2026, 3, 1, 12, tzinfo=UTC))
    ann = await world.add_user("ann")
    old = await world.post(ann)  # 1 March, processed much later
    world.clock.advance(ONE_DAY)
    await world.ready_post(ann)  # 2 March
    world.clock.advance(5 * ONE_DAY)
    await world.ranking.break_streaks()
    await world.make_ready(old.id)  # 1 March: the run 1-2 March, long broken
    assert world.user(ann.user_id).max_streak == 2
    await world.ranking.break_streaks()
    user = world.user(ann.user_id)
    assert (user.current_streak, user.max_streak, user.rating) == (0, 2, 0)


# ---------------------------------------------------------------------------- weights


async def test_a_weight_change_queues_one_recompute_and_the_recompute_applies_it() -> None:
    world = make_world()
    root = await world.add_user("root", role=Role.ADMIN)
    ann, bob = await world.add_user("ann"), await world.add_user("bob")
    video = await world.ready_post(ann)
    await world.engagement.react(bob, video.id, "heart")
    await world.engagement.comment(bob, video.id, "hi")
    assert world.user(ann.user_id).rating == 5 + 2 + 3

    changed = await world.ranking.set_weights(root, {"heart": 7, "streak_day": 0})
    assert changed == RankingWeights(heart=7, streak_day=0)
    assert await world.ranking.weights(root) == changed
    await world.ranking.set_weights(root, {"comment": 1})  # a second change: same job
    jobs = [r.job for r in world.store.jobs.values() if r.job.kind == RecomputeRatings.kind]
    assert len(jobs) == 1 and jobs[0].status == "queued"
    assert world.user(ann.user_id).rating == 10  # unchanged until the job runs
    # Every change is in the audit trail: who, from what, to what.
    trail = sorted(world.store.audit.values(), key=lambda e: e.id)
    assert [(e.action, e.actor_id) for e in trail] == [("ranking.weights", root.user_id)] * 2
    assert trail[0].data["from"]["heart"] == RankingWeights().heart
    assert trail[0].data["to"]["heart"] == 7 and trail[1].data["to"]["comment"] == 1

    assert await world.ranking.recompute_all() == 3
    assert world.user(ann.user_id).rating == 7 + 1
    assert world.store.rating_points == {(ann.user_id, T0.date()): 8}


@pytest.mark.parametrize(
    "values",
    [
        {"kiss": 1},
        {"heart": -1},
        {"heart": 1001},
        {"flame": True},
        {"comment": 2.0},
        {"on_time": "10"},
        {"streak_day": None},
    ],
)
async def test_invalid_weights_are_refused(values: dict[str, Any]) -> None:
    world = make_world()
    root = await world.add_user("root", role=Role.ADMIN)
    with pytest.raises(Invalid) as err:
        await world.ranking.set_weights(root, values)
    assert err.value.code == "invalid_weights"
    assert err.value.extra["field"] == next(iter(values))
    assert await world.ranking.weights(root) == RankingWeights()
    assert not world.store.jobs


async def test_the_edges_of_the_weights_are_allowed() -> None:
    world = make_world()
    weights = await world.ranking.set_weights(None, {"heart": 0, "flame": 1000})
    assert (weights.heart, weights.flame) == (0, 1000)


@pytest.mark.parametrize("role", [Role.USER, Role.MODERATOR])
async def test_only_admins_see_and_change_weights(role: Role) -> None:
    world = make_world()
    who = await world.add_user("mod", role=role)
    with pytest.raises(Forbidden):
        await world.ranking.set_weights(who, {"heart": 1})
    with pytest.raises(Forbidden):
        await world.ranking.weights(who)
    assert not world.store.jobs
