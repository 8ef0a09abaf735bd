"""Views (issue 20 item 4), memory and PostgreSQL alike: one view per viewer, video and
UTC day; a later report that day keeps the most watched (never lower) and the reached
end; the video's counters equal its rows through every change, a deleted viewer's and a
deleted video's included; the use case counts only who may watch the video now, never
the author."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs
import pytest
from config_support import runtime_config

from adapters.memory.clock import ManualClock
from momentic_core.errors import Conflict, Forbidden, Invalid, NotFound
from momentic_core.model.accounts import AccountStatus, Principal, Role
from momentic_core.model.social import FeedSettings
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.model.views import ViewRecord
from momentic_core.services.throttle import Throttle
from momentic_core.services.views import Views

from .support import T0, Adapters, add_user, add_video

DAY = timedelta(days=1)


def _record(video: Video, viewer: int, watched_ms: int, completed: bool = False,
            day: int = 0) -> ViewRecord:
    at = T0 + day * DAY
    return ViewRecord(video_id=video.id, viewer_id=viewer, day=at.date(),
                      watched_ms=watched_ms, completed=completed, at=at)


async def _counters(backend: Adapters, video_id: int) -> tuple[int, int, int]:
    async with backend.uow() as tx:
        v = await tx.videos.get(video_id)
    return v.view_count, v.completed_views, v.watched_ms


async def test_a_view_counts_once_a_day_and_keeps_the_most_watched(backend: Adapters) -> None:
    author, viewer = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id, duration_seconds=10.0)
    async with backend.uow() as tx:
        first = await tx.views.record(_record(video, viewer.id, 3000))
        again = await tx.views.record(_record(video, viewer.id, 9500, completed=True))
        lower = await tx.views.record(_record(video, viewer.id, 1000))
    assert (first.counted, first.watched_ms, first.view_count) == (True, 3000, 1)
    assert (again.counted, again.watched_ms, again.completed, again.view_count) == (
        False, 9500, True, 1)
    assert (lower.counted, lower.watched_ms, lower.completed) == (False, 9500, True)
    assert await _counters(backend, video.id) == (1, 1, 9500)

    async with backend.uow() as tx:  # the next UTC day: another view
        next_day = await tx.views.record(_record(video, viewer.id, 2000, day=1))
    assert (next_day.counted, next_day.view_count) == (True, 2)
    assert await _counters(backend, video.id) == (2, 1, 11500)


async def test_counters_follow_the_rows_when_a_viewer_or_the_video_goes(
    backend: Adapters,
) -> None:
    author, keeps, leaves = [await add_user(backend) for _ in range(3)]
    video = await add_video(backend, author.id, duration_seconds=10.0)
    other = await add_video(backend, author.id, duration_seconds=10.0)
    async with backend.uow() as tx:
        await tx.views.record(_record(video, keeps.id, 4000))
        await tx.views.record(_record(video, leaves.id, 10000, completed=True))
        await tx.views.record(_record(video, leaves.id, 500, day=1))
        await tx.views.record(_record(other, leaves.id, 700))
    assert await _counters(backend, video.id) == (3, 1, 14500)
    async with backend.uow() as tx:
        # The video's own fields are written; its counters stay as the rows keep them.
        stored = await tx.videos.get_for_update(video.id)
        await tx.videos.update(attrs.evolve(stored, description="edited", view_count=0,
                                            completed_views=0, watched_ms=0))
    assert await _counters(backend, video.id) == (3, 1, 14500)

    async with backend.uow() as tx:
        await tx.users.delete(leaves.id)
    assert await _counters(backend, video.id) == (1, 0, 4000)
    assert await _counters(backend, other.id) == (0, 0, 0)
    async with backend.uow() as tx:
        await tx.videos.delete(video.id)  # its rows go with it, no error
        with pytest.raises(NotFound):
            await tx.views.record(_record(video, keeps.id, 1000))


async def test_author_totals_are_of_ready_videos(backend: Adapters) -> None:
    author, a, b = [await add_user(backend) for _ in range(3)]
    one = await add_video(backend, author.id, duration_seconds=10.0)
    two = await add_video(backend, author.id, duration_seconds=20.0)
    async with backend.uow() as tx:
        await tx.views.record(_record(one, a.id, 10000, completed=True))
        await tx.views.record(_record(one, b.id, 2500))
        await tx.views.record(_record(two, a.id, 19000, completed=True))
        totals = await tx.views.author_totals(author.id)
    assert (totals.views, totals.completed_views, totals.watched_ms) == (3, 2, 31500)
    assert totals.completion_rate == pytest.approx(2 / 3)
    async with backend.uow() as tx:
        stored = await tx.videos.get_for_update(two.id)
        await tx.videos.update(attrs.evolve(stored, status=VideoStatus.REMOVED))
        totals = await tx.views.author_totals(author.id)
        none = await tx.views.author_totals(a.id)
    assert (totals.views, totals.completed_views, totals.watched_ms) == (2, 1, 12500)
    assert (none.views, none.completion_rate) == (0, None)


# ---------------------------------------------------------------- the use case


def _views(backend: Adapters, clock: ManualClock, **settings: object) -> Views:
    config = runtime_config(backend.uow, clock, **settings)
    throttle = Throttle(backend.rate_limiter(clock), config=config)
    return Views(uow=backend.uow, clock=clock, config=config, throttle=throttle)


def _who(user_id: int, role: Role = Role.USER) -> Principal:
    return Principal(user_id=user_id, role=role, session_id=0)


async def test_only_who_may_watch_it_counts_and_never_the_author(
    backend: Adapters, clock: ManualClock
) -> None:
    views = _views(backend, clock, bereal_lock=False)
    author, friend, stranger, blocked = [await add_user(backend) for _ in range(4)]
    async with backend.uow() as tx:
        await tx.social.add_friendship(author.id, friend.id, T0)
        await tx.social.add_block(author.id, blocked.id, T0)
    public = await add_video(backend, author.id, duration_seconds=8.0)
    friends_only = await add_video(backend, author.id, duration_seconds=8.0,
                                   visibility=Visibility.FRIENDS)
    processing = await add_video(backend, author.id, status=VideoStatus.PROCESSING)

    mine = await views.record(_who(author.id), public.id, 8.0)
    assert (mine.counted, mine.watched_seconds, mine.view_count) == (False, None, 0)
    seen = await views.record(_who(stranger.id), public.id, 7.5)
    assert (seen.counted, seen.watched_seconds, seen.completed, seen.view_count) == (
        True, 7.5, True, 1)
    assert (await views.record(_who(friend.id), friends_only.id, 2)).counted is True
    for who, video in [(stranger, friends_only), (blocked, public), (stranger, processing)]:
        with pytest.raises(NotFound):
            await views.record(_who(who.id), video.id, 1.0)
    with pytest.raises(Conflict) as not_ready:
        await views.record(_who(author.id), processing.id, 0.0)
    assert not_ready.value.code == "video_not_ready"
    assert await _counters(backend, public.id) == (1, 1, 7500)
    assert await _counters(backend, friends_only.id) == (1, 0, 2000)

    async with backend.uow() as tx:  # a banned author's videos are nobody's to watch
        banned = await tx.users.get_for_update(author.id)
        await tx.users.update(attrs.evolve(banned, status=AccountStatus.BANNED))
    with pytest.raises(NotFound):
        await views.record(_who(friend.id), public.id, 1.0)
    # For-You skips what I viewed.
    async with backend.uow() as tx:
        assert await tx.feeds.record_view(stranger.id, public.id, T0) is False


async def test_watched_seconds_are_checked_against_the_video(
    backend: Adapters, clock: ManualClock
) -> None:
    views = _views(backend, clock, bereal_lock=False)
    author, viewer = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id, duration_seconds=10.0)
    for bad in (-0.001, 11.5, float("nan"), float("inf"), 10**400):
        with pytest.raises(Invalid) as refused:
            await views.record(_who(viewer.id), video.id, bad)  # type: ignore[arg-type]
        assert refused.value.code == "invalid_watched_seconds"
    assert await _counters(backend, video.id) == (0, 0, 0)
    near = await views.record(_who(viewer.id), video.id, 10.8)  # a frame past: the whole
    assert (near.watched_seconds, near.completed) == (10.0, True)
    low = await views.record(_who(viewer.id), video.id, 0.0)
    assert (low.counted, low.watched_seconds) == (False, 10.0)


async def test_a_locked_moment_is_not_viewed(backend: Adapters, clock: ManualClock) -> None:
    views = _views(backend, clock, bereal_lock=True)
    author, friend = await add_user(backend), await add_user(backend)
    async with backend.uow() as tx:
        await tx.social.add_friendship(author.id, friend.id, T0)
    moment = await add_video(backend, author.id, duration_seconds=5.0, created_at=clock.now(),
                             visibility=Visibility.FRIENDS)
    with pytest.raises(Forbidden) as locked:
        await views.record(_who(friend.id), moment.id, 1.0)
    assert locked.value.code == "moment_locked"
    await add_video(backend, friend.id, created_at=clock.now())  # I post mine: it opens
    assert (await views.record(_who(friend.id), moment.id, 1.0)).counted is True


async def test_concurrent_reports_count_one_view(backend: Adapters, clock: ManualClock) -> None:
    views = _views(backend, clock, bereal_lock=False)
    author, viewer = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id, duration_seconds=30.0)
    outcomes = await asyncio.gather(
        *(views.record(_who(viewer.id), video.id, float(s)) for s in range(1, 9)))
    assert sum(o.counted for o in outcomes) == 1
    assert await _counters(backend, video.id) == (1, 0, 8000)


async def test_for_you_weighs_completion_when_asked(backend: Adapters, clock: ManualClock) -> None:
    """Both rankings (at request time and from the candidate table) add the completion
    term, damped for few views: off (weight 0) the newer video leads, on the completed
    one does."""
    author, viewer, fan = [await add_user(backend) for _ in range(3)]
    now = clock.now()
    completed = await add_video(backend, author.id, duration_seconds=4.0, created_at=now)
    newer = await add_video(backend, author.id, duration_seconds=4.0, created_at=now)
    async with backend.uow() as tx:
        await tx.views.record(attrs.evolve(_record(completed, fan.id, 4000, True),
                                           day=now.date(), at=now))
    for weight, expected in ((0.0, [newer.id, completed.id]), (3.0, [completed.id, newer.id])):
        settings = FeedSettings(weight_completion=weight)
        async with backend.uow() as tx:
            assert await tx.feeds.rank_for_you(viewer.id, now, settings) == expected
            await tx.candidates.refresh(now, settings)
            assert await tx.candidates.rank(viewer.id, now, settings) == expected


async def test_a_viewers_rows_page_by_day_then_video_whoever_may_see_them_now(
    backend: Adapters,
) -> None:
    author, ann, bob = await add_user(backend), await add_user(backend), await add_user(backend)
    videos = [await add_video(backend, author.id, duration_seconds=10.0) for _ in range(3)]
    async with backend.uow() as tx:
        for day in (1, 0):
            for video in reversed(videos):
                await tx.views.record(_record(video, ann.id, 1000 * (day + 1), day=day))
        await tx.views.record(_record(videos[0], ann.id, 9900, completed=True))
        await tx.views.record(_record(videos[1], bob.id, 500))

    found = []
    after = None
    while True:
        async with backend.uow(read_only=True) as tx:  # type: ignore[call-arg]
            page = await tx.views.by_viewer(ann.id, after, 4)
        found += page
        if len(page) < 4:
            break
        after = (page[-1].day, page[-1].video_id)

    assert [(w.day, w.video_id) for w in found] == [
        ((T0 + day * DAY).date(), v.id) for day in (0, 1) for v in videos]
    assert (found[0].watched_ms, found[0].completed) == (9900, True)
    assert found[0].first_at == T0 and found[0].last_at == T0
    assert [w.watched_ms for w in found[1:]] == [1000, 1000, 2000, 2000, 2000]
    async with backend.uow() as tx:
        assert await tx.views.by_viewer(ann.id, None, 0) == []
        assert await tx.views.by_viewer(author.id, None, 10) == []
