"""FeedRepository contract: memory and PostgreSQL behave alike."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import attrs
import pytest
from config_support import runtime_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.memory.clock import ManualClock
from momentic_core.errors import NotFound
from momentic_core.model.accounts import AccountStatus, FeedAuthor, Principal, Role, User
from momentic_core.model.social import FeedItem, FeedSettings, Keyset
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.policies.ranking import for_you_score
from momentic_core.services.feeds import Feeds

from .social_support import befriend, block
from .support import T0, Adapters, add_user, add_video

DAY = timedelta(days=1)
ZEROS = {"heart": 0, "flame": 0, "funny": 0, "angry": 0}


def ids(items: list[FeedItem]) -> list[int]:
    return [i.video.id for i in items]


def newest_first(videos: list[Video]) -> list[int]:
    return [v.id for v in sorted(videos, key=lambda v: (v.created_at, v.id), reverse=True)]


async def friends_feed(
    backend: Adapters,
    viewer: int,
    since: datetime = T0 - DAY,
    until: datetime = T0 + DAY,
    cursor: Keyset | None = None,
    newer: bool = False,
    limit: int = 50,
) -> list[FeedItem]:
    async with backend.uow() as tx:
        return await tx.feeds.friends_feed(viewer, since, until, cursor, newer, limit)


async def global_feed(
    backend: Adapters,
    viewer: int,
    cursor: Keyset | None = None,
    newer: bool = False,
    limit: int = 50,
) -> list[FeedItem]:
    async with backend.uow() as tx:
        return await tx.feeds.global_feed(viewer, cursor, newer, limit)


def key(item: FeedItem) -> Keyset:
    return Keyset(item.video.created_at, item.video.id)


# ---------------------------------------------------------------- items


async def test_an_item_carries_the_video_its_author_and_zero_engagement(
    backend: Adapters,
) -> None:
    viewer = await add_user(backend)
    author = await add_user(backend, avatar_key="avatars/a.jpg", name="Ann")
    await befriend(backend, viewer.id, author.id)
    video = await add_video(
        backend,
        author.id,
        playback_key="videos/x/playback.mp4",
        thumbnail_key="videos/x/thumb.jpg",
        duration_seconds=3.5,
        width=720,
        height=1280,
        ready_at=T0,
    )
    [g] = await global_feed(backend, viewer.id)
    [f] = await friends_feed(backend, viewer.id)
    assert g == f
    assert g == FeedItem(
        video=video, author=FeedAuthor.of(author), reactions=ZEROS, my_reaction=None,
        comment_count=0,
    )
    assert g.locked is False
    # The author's public part only: no email, password hash or account state in an item.
    assert type(g.author) is FeedAuthor
    assert not {"email", "password_hash", "status", "role"} & set(attrs.asdict(g.author))


# ---------------------------------------------------------------- friends feed


async def test_the_friends_feed_shows_friends_ready_videos_of_the_window(
    backend: Adapters,
) -> None:
    viewer, friend, other_friend, stranger = [await add_user(backend) for _ in range(4)]
    await befriend(backend, viewer.id, friend.id)
    await befriend(backend, other_friend.id, viewer.id)
    since, until = T0, T0 + DAY
    shown = [
        await add_video(backend, friend.id, created_at=since),  # the lower bound is in
        await add_video(
            backend, friend.id, created_at=T0 + timedelta(hours=1), visibility=Visibility.FRIENDS
        ),
        await add_video(backend, other_friend.id, created_at=until - timedelta(microseconds=1)),
    ]
    hidden = [
        await add_video(backend, friend.id, created_at=until),  # the upper bound is out
        await add_video(backend, friend.id, created_at=since - timedelta(microseconds=1)),
        await add_video(backend, stranger.id, created_at=T0),
        await add_video(backend, viewer.id, created_at=T0),  # not my own
    ]
    for status in (
        VideoStatus.UPLOADING,
        VideoStatus.PROCESSING,
        VideoStatus.REJECTED,
        VideoStatus.FAILED,
    ):
        hidden.append(await add_video(backend, friend.id, created_at=T0, status=status))
    assert ids(await friends_feed(backend, viewer.id, since, until)) == newest_first(shown)
    assert ids(await friends_feed(backend, stranger.id, since, until)) == []
    # The friendship is mutual: my friend sees my video.
    assert ids(await friends_feed(backend, friend.id, since, until)) == [hidden[3].id]


async def test_the_friends_feed_hides_blocks_both_ways(backend: Adapters) -> None:
    viewer, a, b = [await add_user(backend) for _ in range(3)]
    va = await add_video(backend, a.id, visibility=Visibility.FRIENDS)
    vb = await add_video(backend, b.id)
    await block(backend, viewer.id, a.id)
    await block(backend, b.id, viewer.id)
    # A block ends the friendship; even if one is stored again, the block wins.
    await befriend(backend, viewer.id, a.id)
    await befriend(backend, viewer.id, b.id)
    assert ids(await friends_feed(backend, viewer.id)) == []
    assert ids(await friends_feed(backend, a.id)) == []
    assert ids(await friends_feed(backend, b.id)) == []
    async with backend.uow() as tx:
        await tx.social.remove_block(viewer.id, a.id)
        await tx.social.remove_block(b.id, viewer.id)
    assert ids(await friends_feed(backend, viewer.id)) == newest_first([va, vb])


async def test_feeds_hide_banned_and_suspended_authors(
    backend: Adapters, clock: ManualClock
) -> None:
    viewer = await add_user(backend)
    fine = await add_user(backend)
    banned = await add_user(backend, status=AccountStatus.BANNED)
    until_later = await add_user(
        backend, status=AccountStatus.SUSPENDED, suspended_until=clock.now() + timedelta(hours=1)
    )
    forever = await add_user(backend, status=AccountStatus.SUSPENDED, suspended_until=None)
    videos = {}
    for i, author in enumerate((fine, banned, until_later, forever)):
        await befriend(backend, viewer.id, author.id)
        videos[author.id] = await add_video(
            backend, author.id, created_at=T0 - timedelta(minutes=i + 1)
        )
    assert ids(await friends_feed(backend, viewer.id)) == [videos[fine.id].id]
    assert ids(await global_feed(backend, viewer.id)) == [videos[fine.id].id]
    clock.advance(timedelta(hours=2))  # the suspension has run out
    expected = [videos[fine.id].id, videos[until_later.id].id]
    assert ids(await friends_feed(backend, viewer.id)) == expected
    assert ids(await global_feed(backend, viewer.id)) == expected


# ---------------------------------------------------------------- global feed


async def test_the_global_feed_shows_ready_public_videos_of_everyone_visible(
    backend: Adapters,
) -> None:
    viewer, friend, stranger, blocked, blocker = [await add_user(backend) for _ in range(5)]
    await befriend(backend, viewer.id, friend.id)
    await block(backend, viewer.id, blocked.id)
    await block(backend, blocker.id, viewer.id)
    minute = iter(range(100))

    async def video(author: User, **fields: object) -> Video:
        at = T0 - timedelta(minutes=next(minute))
        return await add_video(backend, author.id, created_at=at, **fields)

    shown = [await video(stranger), await video(friend), await video(viewer)]
    await video(friend, visibility=Visibility.FRIENDS)  # friends-only: not global
    await video(stranger, visibility=Visibility.FRIENDS)
    await video(stranger, status=VideoStatus.PROCESSING)
    await video(blocked)
    await video(blocker)
    assert ids(await global_feed(backend, viewer.id)) == newest_first(shown)
    everyone = ids(await global_feed(backend, stranger.id))
    assert len(everyone) == 5  # the blocked and the blocker are hidden only from me


async def test_ties_on_created_at_are_broken_by_id(backend: Adapters) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    await befriend(backend, viewer.id, author.id)
    videos = [await add_video(backend, author.id, created_at=T0) for _ in range(5)]
    expected = sorted((v.id for v in videos), reverse=True)
    assert ids(await global_feed(backend, viewer.id)) == expected
    assert ids(await friends_feed(backend, viewer.id)) == expected
    for feed in ("global", "friends"):
        seen: list[int] = []
        cursor: Keyset | None = None
        while True:
            page = (
                await global_feed(backend, viewer.id, cursor, limit=2)
                if feed == "global"
                else await friends_feed(backend, viewer.id, cursor=cursor, limit=2)
            )
            seen += ids(page)
            if len(page) < 2:
                break
            cursor = key(page[-1])
        assert seen == expected


# ---------------------------------------------------------------- cursors


@pytest.mark.parametrize("feed", ["global", "friends"])
async def test_cursors_go_both_ways_without_duplicates_or_gaps_while_videos_arrive(
    backend: Adapters, feed: str
) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    await befriend(backend, viewer.id, author.id)
    # Pairs share a created_at, so the id has to break ties across page boundaries.
    old = [
        await add_video(backend, author.id, created_at=T0 - timedelta(minutes=i // 2))
        for i in range(9)
    ]

    async def page(cursor: Keyset | None, newer: bool, limit: int) -> list[FeedItem]:
        if feed == "global":
            return await global_feed(backend, viewer.id, cursor, newer, limit)
        return await friends_feed(backend, viewer.id, cursor=cursor, newer=newer, limit=limit)

    first = await page(None, False, 3)
    assert ids(first) == newest_first(old)[:3]
    # New videos arrive after page 1 was fetched: some newer than everything, some tied
    # with the newest seen item's time (a larger id: newer by the keyset).
    arrived = [
        await add_video(backend, author.id, created_at=T0 + timedelta(seconds=s))
        for s in (0, 0, 1, 2, 2, 3, 4)
    ]
    # Forward: exactly the rest of the old ones, in order.
    forward: list[int] = []
    cursor = key(first[-1])
    while True:
        items = await page(cursor, False, 2)
        forward += ids(items)
        if len(items) < 2:
            break
        cursor = key(items[-1])
    assert forward == newest_first(old)[3:]
    # Backward: the newer pages, each newest first, walking up from page 1's top.
    backward: list[list[int]] = []
    cursor = key(first[0])
    while True:
        items = await page(cursor, True, 3)
        if not items:
            break
        backward.append(ids(items))
        cursor = key(items[0])  # the newest of the page
    assert [i for chunk in reversed(backward) for i in chunk] == newest_first(arrived)
    # Each newer page holds the items right after its cursor.
    assert backward[0] == newest_first(arrived)[-3:]
    assert len({i for chunk in backward for i in chunk} | set(ids(first)) | set(forward)) == 16


async def test_the_service_pages_the_global_feed_with_prev_and_next(
    backend: Adapters, clock: ManualClock
) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    old = [
        await add_video(backend, author.id, created_at=T0 - timedelta(minutes=i)) for i in range(5)
    ]
    feeds = Feeds(uow=backend.uow, clock=clock, config=runtime_config(backend.uow, clock))
    me = Principal(user_id=viewer.id, role=Role.USER, session_id=1)
    first = await feeds.global_(me, None, False, 2)
    assert ids(first.items) == newest_first(old)[:2]
    new = [
        await add_video(backend, author.id, created_at=T0 + timedelta(minutes=i))
        for i in range(1, 4)
    ]
    assert first.next is not None and first.prev is not None
    second = await feeds.global_(me, first.next, False, 2)
    third = await feeds.global_(me, second.next, False, 2)
    assert ids(second.items) + ids(third.items) == newest_first(old)[2:]
    assert third.next is None
    up = await feeds.global_(me, first.prev, True, 2)
    assert ids(up.items) == newest_first(new)[1:]  # the two right above page 1
    assert up.prev is not None
    top = await feeds.global_(me, up.prev, True, 2)
    assert ids(top.items) == newest_first(new)[:1]
    assert top.prev is not None
    nothing = await feeds.global_(me, top.prev, True, 2)
    assert nothing.items == [] and nothing.prev == top.prev


async def _page(
    backend: Adapters, feed: str, viewer: int, cursor: Keyset | None, newer: bool, limit: int
) -> list[FeedItem]:
    if feed == "global":
        return await global_feed(backend, viewer, cursor, newer, limit)
    return await friends_feed(backend, viewer, cursor=cursor, newer=newer, limit=limit)


_feed_specs = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=4),  # seconds after T0: many ties
        st.sampled_from(["viewer", "friend", "stranger", "banned", "blocker"]),
        st.sampled_from(list(VideoStatus)),
        st.sampled_from(list(Visibility)),
    ),
    max_size=16,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    specs=_feed_specs,
    limits=st.lists(st.integers(min_value=1, max_value=5), min_size=1, max_size=8),
)
async def test_paging_with_any_limits_yields_exactly_the_visible_set_in_order(
    backend: Adapters,
    specs: list[tuple[int, str, VideoStatus, Visibility]],
    limits: list[int],
) -> None:
    people = {
        "viewer": await add_user(backend),
        "friend": await add_user(backend),
        "stranger": await add_user(backend),
        "banned": await add_user(backend, status=AccountStatus.BANNED),
        "blocker": await add_user(backend),
    }
    try:
        await befriend(backend, people["viewer"].id, people["friend"].id)
        await block(backend, people["blocker"].id, people["viewer"].id)
        async with backend.uow() as tx:
            videos = [
                await tx.videos.add(
                    Video(
                        id=0,
                        author_id=people[who].id,
                        description="",
                        visibility=visibility,
                        status=status,
                        created_at=T0 + timedelta(seconds=offset),
                        updated_at=T0,
                    )
                )
                for offset, who, status, visibility in specs
            ]
        visible_authors = {people[w].id for w in ("viewer", "friend", "stranger")}
        expected_global = newest_first(
            [
                v
                for v in videos
                if v.status is VideoStatus.READY
                and v.visibility is Visibility.PUBLIC
                and v.author_id in visible_authors
            ]
        )
        expected_friends = newest_first(
            [
                v
                for v in videos
                if v.status is VideoStatus.READY and v.author_id == people["friend"].id
            ]
        )
        viewer = people["viewer"].id
        for feed, expected in (("global", expected_global), ("friends", expected_friends)):
            # Down from the top with the limits in turn...
            seen: list[FeedItem] = []
            cursor: Keyset | None = None
            for n in range(100):
                limit = limits[n % len(limits)]
                items = await _page(backend, feed, viewer, cursor, False, limit)
                assert len(items) <= limit
                seen += items
                if len(items) < limit:
                    break
                cursor = key(items[-1])
            assert ids(seen) == expected
            # ...and back up from below the bottom.
            up: list[int] = []
            cursor = Keyset(T0 - DAY, 0)
            for n in range(100):
                limit = limits[n % len(limits)]
                items = await _page(backend, feed, viewer, cursor, True, limit)
                assert len(items) <= limit
                if not items:
                    break
                up = ids(items) + up
                cursor = key(items[0])
            assert up == expected
    finally:
        async with backend.uow() as tx:  # the examples share the backend's tables
            for person in people.values():
                await tx.users.delete(person.id)


# ---------------------------------------------------------------- For-You ranking


async def _ranked_world(backend: Adapters) -> tuple[User, list[Video]]:
    """A viewer and candidates of many ages (some tied) by two authors."""
    viewer = await add_user(backend)
    a, b = await add_user(backend), await add_user(backend)
    ages = [0, 5, 5, 30, 90, 600, 1440, 1440, 3000, 6 * 1440, 7 * 1440 - 1]
    videos = []
    for i, minutes in enumerate(ages):
        author = a if i % 2 else b
        videos.append(
            await add_video(
                backend,
                author.id,
                created_at=T0 - timedelta(minutes=minutes, microseconds=i % 3),
            )
        )
    return viewer, videos


def _expected_rank(videos: list[Video], as_of: datetime, s: FeedSettings) -> list[int]:
    def score(v: Video) -> float:
        age = (as_of - v.created_at).total_seconds() / 3600.0
        return for_you_score(s, age, 0, 0, 0)

    return [v.id for v in sorted(videos, key=lambda v: (score(v), v.id), reverse=True)]


@pytest.mark.parametrize(
    "settings_",
    [
        FeedSettings(),
        FeedSettings(freshness_half_life_hours=1.5, weight_freshness=3.0, candidate_limit=4),
    ],
)
async def test_for_you_ranks_by_the_documented_score(
    backend: Adapters, settings_: FeedSettings
) -> None:
    viewer, videos = await _ranked_world(backend)
    async with backend.uow() as tx:
        ranked = await tx.feeds.rank_for_you(viewer.id, T0, settings_)
    expected = _expected_rank(videos, T0, settings_)[: settings_.candidate_limit]
    assert ranked == expected
    # With engagement zero, freshness decides: newest first, ties by id.
    assert ranked == newest_first(videos)[: settings_.candidate_limit]


async def test_for_you_ties_go_to_the_newest_id(backend: Adapters) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    videos = [await add_video(backend, author.id, created_at=T0 - DAY) for _ in range(4)]
    async with backend.uow() as tx:
        ranked = await tx.feeds.rank_for_you(viewer.id, T0, FeedSettings())
    assert ranked == sorted((v.id for v in videos), reverse=True)


async def test_for_you_scores_only_the_newest_pool(backend: Adapters) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    videos = [
        await add_video(backend, author.id, created_at=T0 - timedelta(hours=h)) for h in range(5)
    ]
    own = await add_video(backend, viewer.id, created_at=T0)  # in the pool, then left out
    async with backend.uow() as tx:
        ranked = await tx.feeds.rank_for_you(viewer.id, T0, FeedSettings(candidate_pool=3))
    assert own.id not in ranked
    # The pool holds the 3 newest public videos (mine among them); older ones are not scored.
    assert ranked == [videos[0].id, videos[1].id]


async def test_for_you_takes_only_fresh_unseen_public_videos_of_others(
    backend: Adapters,
) -> None:
    viewer, friend, stranger = [await add_user(backend) for _ in range(3)]
    blocked, blocker = await add_user(backend), await add_user(backend)
    banned = await add_user(backend, status=AccountStatus.BANNED)
    await befriend(backend, viewer.id, friend.id)
    await block(backend, viewer.id, blocked.id)
    await block(backend, blocker.id, viewer.id)
    s = FeedSettings(candidate_window=timedelta(days=2))
    as_of = T0
    good = [
        await add_video(backend, stranger.id, created_at=as_of),  # as_of itself is in
        await add_video(backend, friend.id, created_at=as_of - timedelta(hours=3)),
        await add_video(backend, stranger.id, created_at=as_of - s.candidate_window),
    ]
    seen = await add_video(backend, stranger.id, created_at=as_of - timedelta(hours=1))
    for video in (
        seen,
        await add_video(backend, viewer.id, created_at=as_of),  # my own
        await add_video(backend, friend.id, created_at=as_of, visibility=Visibility.FRIENDS),
        await add_video(backend, stranger.id, created_at=as_of, status=VideoStatus.PROCESSING),
        await add_video(backend, stranger.id, created_at=as_of + timedelta(microseconds=1)),
        await add_video(
            backend,
            stranger.id,
            created_at=as_of - s.candidate_window - timedelta(microseconds=1),
        ),
        await add_video(backend, blocked.id, created_at=as_of),
        await add_video(backend, blocker.id, created_at=as_of),
        await add_video(backend, banned.id, created_at=as_of),
    ):
        assert video.id  # all stored
    async with backend.uow() as tx:
        assert await tx.feeds.record_view(viewer.id, seen.id, T0) is True
    async with backend.uow() as tx:
        ranked = await tx.feeds.rank_for_you(viewer.id, as_of, s)
        others = await tx.feeds.rank_for_you(friend.id, as_of, s)
    assert ranked == [v.id for v in good]
    assert seen.id in others  # seen by me only


# ---------------------------------------------------------------- snapshots


async def test_a_snapshot_pages_in_its_own_order_even_as_new_videos_arrive(
    backend: Adapters,
) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    videos = [
        await add_video(backend, author.id, created_at=T0 - timedelta(hours=i)) for i in range(6)
    ]
    async with backend.uow() as tx:
        ranked = await tx.feeds.rank_for_you(viewer.id, T0, FeedSettings())
        assert ranked == [v.id for v in videos]
        order = [ranked[i] for i in (3, 0, 5, 1, 4, 2)]  # any order the ranking made
        snapshot = await tx.feeds.save_snapshot(viewer.id, order, T0, keep=3)
    for _ in range(3):
        await add_video(backend, author.id, created_at=T0 + timedelta(minutes=1))
    pages: list[list[tuple[int, int]]] = []
    after = 0
    while True:
        async with backend.uow() as tx:
            rows = await tx.feeds.snapshot_page(snapshot, viewer.id, after, 4)
        if not rows:
            break
        pages.append([(rank, item.video.id) for rank, item in rows])
        after = rows[-1][0]
    assert pages == [
        [(1, order[0]), (2, order[1]), (3, order[2]), (4, order[3])],
        [(5, order[4]), (6, order[5])],
    ]
    async with backend.uow() as tx:
        [(rank, item)] = await tx.feeds.snapshot_page(snapshot, viewer.id, 2, 1)
        assert await tx.feeds.snapshot_page(snapshot, viewer.id, 6, 10) == []
        assert await tx.feeds.snapshot_page(snapshot, viewer.id, 0, 0) == []
    assert (rank, item.video.id) == (3, order[2])
    assert item == FeedItem(
        video=videos[5], author=FeedAuthor.of(author), reactions=ZEROS, my_reaction=None,
        comment_count=0,
    )


async def test_a_snapshot_shows_only_what_is_still_visible_keeping_ranks(
    backend: Adapters,
) -> None:
    viewer, friend, stranger, later_blocked = [await add_user(backend) for _ in range(4)]
    await befriend(backend, viewer.id, friend.id)
    v = [await add_video(backend, a.id) for a in (stranger, friend, stranger, later_blocked)]
    v.append(await add_video(backend, stranger.id))
    v.append(await add_video(backend, viewer.id, visibility=Visibility.FRIENDS))
    async with backend.uow() as tx:
        snapshot = await tx.feeds.save_snapshot(viewer.id, [x.id for x in v], T0, keep=3)
        await tx.videos.update(attrs.evolve(v[1], visibility=Visibility.FRIENDS))  # a friend
        await tx.videos.update(attrs.evolve(v[2], visibility=Visibility.FRIENDS))  # not
        await tx.videos.delete(v[4].id)
    await block(backend, later_blocked.id, viewer.id)
    async with backend.uow() as tx:
        rows = await tx.feeds.snapshot_page(snapshot, viewer.id, 0, 10)
    assert [(rank, item.video.id) for rank, item in rows] == [
        (1, v[0].id),
        (2, v[1].id),
        (6, v[5].id),
    ]


async def test_a_snapshot_is_its_owners_only_and_expires(backend: Adapters) -> None:
    viewer, other = await add_user(backend), await add_user(backend)
    video = await add_video(backend, other.id)
    async with backend.uow() as tx:
        old = await tx.feeds.save_snapshot(viewer.id, [video.id], T0 - timedelta(hours=3), keep=3)
        new = await tx.feeds.save_snapshot(viewer.id, [], T0, keep=3)
    assert old != new
    for snapshot, who in ((old, other.id), (old + new + 1000, viewer.id)):
        with pytest.raises(NotFound) as caught:
            async with backend.uow() as tx:
                await tx.feeds.snapshot_page(snapshot, who, 0, 10)
        assert caught.value.code == "snapshot_expired"
    async with backend.uow() as tx:
        assert await tx.feeds.snapshot_page(new, viewer.id, 0, 10) == []  # empty, not gone
        assert await tx.feeds.delete_snapshots(T0 - timedelta(hours=2)) == 1
        assert await tx.feeds.delete_snapshots(T0 - timedelta(hours=2)) == 0
    with pytest.raises(NotFound) as caught:
        async with backend.uow() as tx:
            await tx.feeds.snapshot_page(old, viewer.id, 0, 10)
    assert caught.value.code == "snapshot_expired"
    async with backend.uow() as tx:
        assert await tx.feeds.snapshot_page(new, viewer.id, 0, 10) == []


async def test_the_service_pages_for_you_through_one_snapshot(
    backend: Adapters, clock: ManualClock
) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    videos = [
        await add_video(backend, author.id, created_at=T0 - timedelta(minutes=i)) for i in range(5)
    ]
    feeds = Feeds(uow=backend.uow, clock=clock, config=runtime_config(backend.uow, clock))
    me = Principal(user_id=viewer.id, role=Role.USER, session_id=1)
    first = await feeds.for_you(me, None, 2)
    await add_video(backend, author.id, created_at=T0)  # would rank first now
    clock.advance(timedelta(minutes=1))
    assert first.next_rank == 2
    second = await feeds.for_you(me, (first.snapshot_id, first.next_rank), 2)
    third = await feeds.for_you(me, (first.snapshot_id, 4), 2)
    assert ids(first.items) + ids(second.items) + ids(third.items) == [v.id for v in videos]
    assert third.next_rank is None


# ---------------------------------------------------------------- views, latest_post


async def test_record_view_is_idempotent(backend: Adapters) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id)
    async with backend.uow() as tx:
        assert await tx.feeds.record_view(viewer.id, video.id, T0) is True
        assert await tx.feeds.record_view(viewer.id, video.id, T0 + DAY) is False
        assert await tx.feeds.record_view(author.id, video.id, T0) is True
    with pytest.raises(NotFound) as caught:
        async with backend.uow() as tx:
            await tx.feeds.record_view(viewer.id, 999_999, T0)
    assert caught.value.code == "video_not_found"


async def test_a_deleted_video_takes_its_views_along(backend: Adapters) -> None:
    viewer, author = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id)
    async with backend.uow() as tx:
        await tx.feeds.record_view(viewer.id, video.id, T0)
        await tx.users.delete(author.id)
    with pytest.raises(NotFound):
        async with backend.uow() as tx:
            await tx.feeds.record_view(viewer.id, video.id, T0)


async def test_latest_post_counts_ready_videos_only(backend: Adapters) -> None:
    me = await add_user(backend)
    since, until = T0, T0 + DAY

    async def latest() -> datetime | None:
        async with backend.uow() as tx:
            return await tx.feeds.latest_post(me.id, since, until)

    assert await latest() is None
    await add_video(backend, me.id, created_at=until)  # out: the upper bound
    await add_video(backend, me.id, created_at=since - timedelta(microseconds=1))
    await add_video(backend, me.id, created_at=since, status=VideoStatus.REJECTED)
    await add_video(backend, me.id, created_at=since, status=VideoStatus.FAILED)
    assert await latest() is None
    await add_video(backend, me.id, created_at=since, status=VideoStatus.PROCESSING)
    assert await latest() is None, "a junk upload still processing does not unlock the feed"
    await add_video(backend, me.id, created_at=since, status=VideoStatus.READY)
    assert await latest() == since
    later = since + timedelta(hours=3)
    await add_video(backend, me.id, created_at=later, status=VideoStatus.READY)
    await add_video(backend, me.id, created_at=later + timedelta(hours=1),
                    status=VideoStatus.PROCESSING)
    assert await latest() == later, "the newest ready one"
    other = await add_user(backend)
    async with backend.uow() as tx:
        assert await tx.feeds.latest_post(other.id, since, until) is None


async def _snapshot_rows(backend: Adapters) -> int:
    """How many snapshot rows there are (deleting them all, which ends the test's use)."""
    async with backend.uow() as tx:
        return await tx.feeds.delete_snapshots(T0 + timedelta(days=365))


async def test_first_for_you_pages_reuse_one_snapshot(
    backend: Adapters, clock: ManualClock
) -> None:
    """A read writes nothing it need not: the first pages one viewer asks for within
    ``snapshot_reuse`` page one ranking, whether asked one after the other or at once."""
    viewer, author = await add_user(backend), await add_user(backend)
    for i in range(3):
        await add_video(backend, author.id, created_at=T0 - timedelta(minutes=i))
    feeds = Feeds(uow=backend.uow, clock=clock, config=runtime_config(backend.uow, clock))
    me = Principal(user_id=viewer.id, role=Role.USER, session_id=1)
    first = await feeds.for_you(me, None, 2)
    again = [await feeds.for_you(me, None, 2) for _ in range(20)]
    at_once = await asyncio.gather(*(feeds.for_you(me, None, 2) for _ in range(10)))
    assert {p.snapshot_id for p in [*again, *at_once]} == {first.snapshot_id}
    assert all(ids(p.items) == ids(first.items) for p in [*again, *at_once])
    rest = await feeds.for_you(me, (first.snapshot_id, first.next_rank or 0), 2)
    assert len(ids(first.items) + ids(rest.items)) == 3
    assert await _snapshot_rows(backend) == 1


async def test_a_new_ranking_after_the_reuse_window_and_rows_bounded_per_viewer(
    backend: Adapters, clock: ManualClock
) -> None:
    viewer, other, author = [await add_user(backend) for _ in range(3)]
    await add_video(backend, author.id, created_at=T0 - timedelta(minutes=1))
    settings_ = FeedSettings()
    feeds = Feeds(uow=backend.uow, clock=clock, config=runtime_config(backend.uow, clock))
    me = Principal(user_id=viewer.id, role=Role.USER, session_id=1)
    them = Principal(user_id=other.id, role=Role.USER, session_id=2)
    await feeds.for_you(them, None, 2)  # someone else's snapshot is never touched
    seen = []
    for _ in range(settings_.snapshots_per_user + 3):
        seen.append((await feeds.for_you(me, None, 2)).snapshot_id)
        clock.advance(settings_.snapshot_reuse)  # the next first page ranks anew
    assert len(set(seen)) == len(seen)
    # The newest ones still page; older ones are gone.
    kept = seen[-settings_.snapshots_per_user:]
    for snapshot in kept:
        await feeds.for_you(me, (snapshot, 0), 2)
    with pytest.raises(NotFound) as caught:
        await feeds.for_you(me, (seen[0], 0), 2)
    assert caught.value.code == "snapshot_expired"
    assert await _snapshot_rows(backend) == settings_.snapshots_per_user + 1
