"""ForYouCandidateRepository contract (memory and PostgreSQL): the ranking ahead of the
request gives what today's formula (``FeedRepository.rank_for_you``) gives at the
refresh time, filters what the viewer may not see or has seen at request time, and adds
the friend signal live."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta

import attrs
import pytest
from config_support import runtime_config

from adapters.memory.clock import ManualClock
from momentic_core.model.accounts import AccountStatus, Principal, Role, User
from momentic_core.model.engagement import ReactionKind
from momentic_core.model.social import FeedSettings
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.policies.ranking import for_you_base, for_you_score, with_friends
from momentic_core.services.feeds import Feeds

from .engagement_support import comment, react
from .social_support import befriend, block
from .support import T0, Adapters, add_user, add_video

KINDS = list(ReactionKind)


@attrs.frozen
class World:
    viewers: list[User]
    authors: list[User]
    videos: list[Video]


async def _world(backend: Adapters, seed: int = 7) -> World:
    """Six viewers and eight authors (one banned, one blocked, one blocking) with friends
    among them, 60 videos over nine days (some friends-only, one processing, one held),
    random reactions and comments, and a few seen."""
    rnd = random.Random(seed)
    viewers = [await add_user(backend) for _ in range(6)]
    authors = [await add_user(backend) for _ in range(6)]
    authors.append(await add_user(backend, status=AccountStatus.BANNED))
    authors.append(await add_user(backend, email_verified=False))
    people = viewers + authors
    for a, b in {(rnd.randrange(12), rnd.randrange(12)) for _ in range(25)}:
        if a < b:
            await befriend(backend, people[a].id, people[b].id)
    await block(backend, viewers[0].id, authors[1].id)
    await block(backend, authors[2].id, viewers[0].id)
    videos: list[Video] = []
    for i in range(60):
        author = authors[i % len(authors)] if i % 7 else viewers[i % 6]  # some of mine
        fields: dict[str, object] = {
            "created_at": T0 - timedelta(minutes=rnd.randrange(0, 9 * 24 * 60)),
        }
        if i % 11 == 3:
            fields["visibility"] = Visibility.FRIENDS
        if i == 20:
            fields["status"] = VideoStatus.PROCESSING
        if i == 21:
            fields["status"] = VideoStatus.HELD
        videos.append(await add_video(backend, author.id, **fields))
    ready = [v for v in videos if v.status is VideoStatus.READY]
    for video in rnd.sample(ready, 30):
        for who in rnd.sample(people[:12], rnd.randrange(1, 6)):
            await react(backend, who.id, video.id, rnd.choice(KINDS))
        for who in rnd.sample(people[:12], rnd.randrange(0, 3)):
            await comment(backend, who.id, video.id)
    async with backend.uow() as tx:
        for video in rnd.sample(ready, 8):
            await tx.feeds.record_view(viewers[rnd.randrange(3)].id, video.id, T0)
    return World(viewers, authors, videos)


SETTINGS = [
    FeedSettings(),
    # A small limit and pool: friends' engagement lifts videos from below the first
    # ``candidate_limit`` by base; the pool leaves older ones out.
    FeedSettings(candidate_limit=4, candidate_pool=30),
    FeedSettings(
        candidate_limit=7, weight_friends=0.3, freshness_half_life_hours=5.0,
        candidate_window=timedelta(days=3),
    ),
]


@pytest.mark.parametrize("settings_", SETTINGS)
async def test_the_ranking_ahead_is_todays_formula_at_the_refresh(
    backend: Adapters, settings_: FeedSettings
) -> None:
    world = await _world(backend)
    async with backend.uow() as tx:
        stored = await tx.candidates.refresh(T0, settings_)
    assert 0 < stored <= settings_.candidate_pool
    for viewer in world.viewers + world.authors[:3]:
        async with backend.uow() as tx:
            ahead = await tx.candidates.rank(viewer.id, T0, settings_)
            today = await tx.feeds.rank_for_you(viewer.id, T0, settings_)
        assert ahead == today, viewer.id
        assert today  # something to compare
    # Read a minute later (within the refresh interval), the order is the refresh's.
    async with backend.uow() as tx:
        later = await tx.candidates.rank(world.viewers[0].id, T0 + timedelta(minutes=1), settings_)
        at_refresh = await tx.feeds.rank_for_you(world.viewers[0].id, T0, settings_)
    assert later == at_refresh


async def test_a_friends_signal_lifts_a_video_from_below_the_first_candidates(
    backend: Adapters,
) -> None:
    viewer, author, friend = [await add_user(backend) for _ in range(3)]
    await befriend(backend, viewer.id, friend.id)
    videos = [
        await add_video(backend, author.id, created_at=T0 - timedelta(hours=h)) for h in range(8)
    ]
    oldest = videos[-1]
    await react(backend, friend.id, oldest.id, ReactionKind.HEART)
    s = FeedSettings(candidate_limit=3)
    async with backend.uow() as tx:
        await tx.candidates.refresh(T0, s)
        ahead = await tx.candidates.rank(viewer.id, T0, s)
    assert ahead == [oldest.id, videos[0].id, videos[1].id]


async def test_the_request_filters_what_the_viewer_may_not_see_now(
    backend: Adapters,
) -> None:
    viewer, friend = await add_user(backend), await add_user(backend)
    authors = [await add_user(backend) for _ in range(5)]
    await befriend(backend, viewer.id, friend.id)
    videos = {
        a.id: await add_video(backend, a.id, created_at=T0 - timedelta(hours=i))
        for i, a in enumerate(authors)
    }
    s = FeedSettings()
    async with backend.uow() as tx:
        await tx.candidates.refresh(T0, s)
        assert await tx.candidates.rank(viewer.id, T0, s) == [v.id for v in videos.values()]
    # After the refresh: a block either way, a ban, a removal, a view, and a friend's
    # reaction (the friend signal is read at request time).
    await block(backend, viewer.id, authors[0].id)
    await block(backend, authors[1].id, viewer.id)
    async with backend.uow() as tx:
        banned = await tx.users.get(authors[2].id)
        await tx.users.update(attrs.evolve(banned, status=AccountStatus.BANNED))
        held = await tx.videos.get(videos[authors[3].id].id)
        await tx.videos.update(attrs.evolve(held, status=VideoStatus.REMOVED))
    async with backend.uow() as tx:
        assert await tx.candidates.rank(viewer.id, T0, s) == [videos[authors[4].id].id]
        await tx.feeds.record_view(viewer.id, videos[authors[4].id].id, T0)
    async with backend.uow() as tx:
        assert await tx.candidates.rank(viewer.id, T0, s) == []
        # Someone else still sees the videos that only the viewer's blocks hide.
        other = await tx.candidates.rank(friend.id, T0, s)
    assert other == [videos[authors[0].id].id, videos[authors[1].id].id,
                     videos[authors[4].id].id]


async def test_new_videos_and_engagement_wait_for_the_next_refresh(backend: Adapters) -> None:
    viewer, author, stranger = [await add_user(backend) for _ in range(3)]
    old = await add_video(backend, author.id, created_at=T0 - timedelta(hours=5))
    s = FeedSettings()
    async with backend.uow() as tx:
        await tx.candidates.refresh(T0, s)
    new = await add_video(backend, author.id, created_at=T0 + timedelta(seconds=10))
    at = T0 + timedelta(seconds=30)
    async with backend.uow() as tx:
        assert await tx.candidates.rank(viewer.id, at, s) == [old.id]
        await tx.candidates.refresh(at, s)
        assert await tx.candidates.rank(viewer.id, at, s) == [new.id, old.id]
    for _ in range(3):  # a stranger's engagement is base: it moves at the next refresh
        await comment(backend, stranger.id, old.id)
    async with backend.uow() as tx:
        assert await tx.candidates.rank(viewer.id, at, s) == [new.id, old.id]
        assert await tx.candidates.refresh(at, s) == 2  # replaced, not added to
        assert await tx.candidates.rank(viewer.id, at, s) == [old.id, new.id]
        assert await tx.feeds.rank_for_you(viewer.id, at, s) == [old.id, new.id]


async def test_no_ranking_ahead_without_a_recent_refresh(backend: Adapters) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    await add_video(backend, author.id, created_at=T0)
    s = FeedSettings()
    async with backend.uow() as tx:
        assert await tx.candidates.rank(viewer.id, T0, s) is None  # never refreshed
        await tx.candidates.refresh(T0, s)
    just_fresh = T0 + s.candidate_stale_after - timedelta(microseconds=1)
    async with backend.uow() as tx:
        assert await tx.candidates.rank(viewer.id, just_fresh, s) is not None
        assert await tx.candidates.rank(viewer.id, T0 + s.candidate_stale_after, s) is None


async def test_refreshes_at_once_leave_one_table(backend: Adapters) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    videos = [
        await add_video(backend, author.id, created_at=T0 - timedelta(hours=h)) for h in range(5)
    ]
    s = FeedSettings()

    async def refresh() -> int:
        async with backend.uow() as tx:
            return await tx.candidates.refresh(T0, s)

    assert await asyncio.gather(*(refresh() for _ in range(4))) == [5] * 4
    async with backend.uow() as tx:
        assert await tx.candidates.rank(viewer.id, T0, s) == [v.id for v in videos]


async def test_the_service_ranks_first_pages_from_the_table(
    backend: Adapters, clock: ManualClock
) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    me = Principal(user_id=viewer.id, role=Role.USER, session_id=1)
    older = await add_video(backend, author.id, created_at=clock.now() - timedelta(hours=1))
    feeds = Feeds(uow=backend.uow, clock=clock, config=runtime_config(backend.uow, clock))
    assert await feeds.refresh_candidates() == 1
    newer = await add_video(backend, author.id, created_at=clock.now())
    page = await feeds.for_you(me, None, 10)
    assert [i.video.id for i in page.items] == [older.id]  # the table's, not live
    # Without a refresh since candidate_stale_after, a first page ranks at request time.
    clock.advance(feeds.settings.candidate_stale_after + feeds.settings.snapshot_reuse)
    page = await feeds.for_you(me, None, 10)
    assert [i.video.id for i in page.items] == [newer.id, older.id]


def test_the_score_is_its_base_plus_the_friend_term_to_the_last_bit() -> None:
    rnd = random.Random(3)
    for s in SETTINGS:
        for _ in range(2000):
            age = rnd.uniform(-1.0, 24 * 9)
            r, c, f = rnd.randrange(10_000), rnd.randrange(1000), rnd.randrange(50)
            assert with_friends(s, for_you_base(s, age, r, c), f) == for_you_score(s, age, r, c, f)
