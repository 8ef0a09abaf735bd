"""The admin time series (``Stats.series``): who may read it, its validation, the counts
per day or week bucket, and daily/weekly/monthly active users."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta

import pytest

from adapters.memory.clock import ManualClock
from adapters.memory.store import MemoryStore
from momentic_core.errors import Forbidden, Invalid
from momentic_core.model.accounts import Principal, Role, TokenPair
from momentic_core.model.ranking import UserStats
from momentic_core.ports import UnitOfWorkFactory
from momentic_core.services.accounts import Accounts
from momentic_core.services.ranking import MAX_SERIES_POINTS, Stats

from .ranking_support import World, make_world

START = datetime(2026, 2, 2, 9, tzinfo=UTC)  # a Monday
ONE_DAY = timedelta(days=1)


async def admin_of(world: World) -> Principal:
    return await world.add_user("root", role=Role.ADMIN)


@pytest.mark.parametrize("role", [Role.USER, Role.MODERATOR])
async def test_only_admins_read_the_series(role: Role) -> None:
    world = make_world(START)
    who = await world.add_user("someone", role=role)
    with pytest.raises(Forbidden) as err:
        await world.stats.series(who, None, None, "day")
    assert err.value.code == "insufficient_role"
    assert len(await world.stats.series(None, None, None, "day")) == 30  # the operator


@pytest.mark.parametrize(
    ("start", "end", "interval", "field"),
    [
        (None, None, "month", "interval"),
        (None, None, "", "interval"),
        (date(2026, 2, 3), date(2026, 2, 2), "day", "from"),
        (date(2025, 1, 1), date(2026, 2, 5), "day", "from"),  # 401 days
        (date(2025, 1, 1) - timedelta(days=7 * 400), date(2025, 1, 1), "week", "from"),
    ],
)
async def test_bad_queries_are_invalid(
    start: date | None, end: date | None, interval: str, field: str
) -> None:
    world = make_world(START)
    root = await admin_of(world)
    with pytest.raises(Invalid) as err:
        await world.stats.series(root, start, end, interval)
    assert (err.value.code, err.value.extra["field"]) == ("invalid_query", field)


async def test_the_range_holds_at_most_the_maximum_of_points() -> None:
    world = make_world(START)
    root = await admin_of(world)
    end = date(2026, 2, 2)
    days = await world.stats.series(root, end - timedelta(days=MAX_SERIES_POINTS - 1), end, "day")
    assert len(days) == MAX_SERIES_POINTS
    weeks = await world.stats.series(
        root, end - timedelta(days=7 * MAX_SERIES_POINTS - 1), end, "week"
    )
    assert len(weeks) == MAX_SERIES_POINTS
    one = await world.stats.series(root, end, end, "week")
    assert [p.start for p in one] == [end]


async def test_by_default_the_last_30_days_or_weeks_up_to_today() -> None:
    world = make_world(START)
    root = await admin_of(world)
    days = await world.stats.series(root, None, None, "day")
    assert [p.start for p in days] == [START.date() - timedelta(days=29 - i) for i in range(30)]
    weeks = await world.stats.series(root, None, None, "week")
    assert len(weeks) == 30
    # The last week is the 7 days ending today.
    assert weeks[-1].start == START.date() - timedelta(days=6)
    assert weeks[0].start == START.date() - timedelta(days=7 * 30 - 1)
    upto = await world.stats.series(root, None, date(2026, 1, 10), "day")
    assert (upto[0].start, upto[-1].start) == (date(2025, 12, 12), date(2026, 1, 10))


async def test_new_users_uploads_reactions_and_comments_per_bucket() -> None:
    world = make_world(START)
    root = await admin_of(world)  # day 0
    ann, bob = await world.add_user("ann"), await world.add_user("bob")  # day 0
    video = await world.ready_post(ann)  # day 0
    await world.engagement.react(bob, video.id, "heart")
    world.clock.advance(ONE_DAY + timedelta(hours=14, minutes=59))  # day 1, 23:59 UTC
    cat = await world.add_user("cat")
    await world.engagement.comment(bob, video.id, "one")
    await world.engagement.comment(cat, video.id, "two")
    await world.engagement.react(cat, video.id, "flame")
    world.clock.advance(timedelta(minutes=2))  # day 2, 00:01
    await world.post(bob)  # an upload still processing counts as an upload
    await world.engagement.react(bob, video.id, "funny")  # replaces: still one reaction
    world.clock.advance(7 * ONE_DAY)  # day 9
    await world.ready_post(cat)

    days = await world.stats.series(root, START.date(), START.date() + 9 * ONE_DAY, "day")
    rows = [(p.new_users, p.uploads, p.reactions, p.comments) for p in days]
    assert rows == [
        (3, 1, 1, 0), (1, 0, 1, 2), (0, 1, 0, 0), *[(0, 0, 0, 0)] * 6, (0, 1, 0, 0),
    ]
    weeks = await world.stats.series(root, START.date(), START.date() + 9 * ONE_DAY, "week")
    assert [p.start for p in weeks] == [START.date(), START.date() + 7 * ONE_DAY]
    assert [(p.new_users, p.uploads, p.reactions, p.comments) for p in weeks] == [
        (4, 2, 2, 2), (0, 1, 0, 0),
    ]


async def test_active_users_per_day_week_and_month() -> None:
    world = make_world(START)
    root = await admin_of(world)
    users = [await world.add_user(f"u{i}") for i in range(4)]
    d0 = date(2026, 1, 1)
    activity = {
        users[0].user_id: [0, 1, 2, 3, 4, 5, 6, 20, 40],
        users[1].user_id: [0, 7, 14],
        users[2].user_id: [6],
        users[3].user_id: [35],
    }
    async with world.uow() as tx:
        for uid, offsets in activity.items():
            for n in offsets:
                await tx.stats.record_activity(uid, d0 + n * ONE_DAY)
                await tx.stats.record_activity(uid, d0 + n * ONE_DAY)  # idempotent
        await tx.stats.record_activity(10_000, d0)  # no such user: ignored

    def active(first: int, last: int) -> int:
        return sum(any(first <= n <= last for n in o) for o in activity.values())

    days = await world.stats.series(root, d0, d0 + 40 * ONE_DAY, "day")
    for i, p in enumerate(days):
        assert (p.dau, p.wau, p.mau) == (active(i, i), active(i - 6, i), active(i - 29, i)), i
    weeks = await world.stats.series(root, d0, d0 + 40 * ONE_DAY, "week")
    for w, p in enumerate(weeks):
        first, last = 7 * w, 7 * w + 6
        daily = sum(active(d, d) for d in range(first, last + 1))
        assert p.dau == daily // 7, w  # the average day of the week
        assert (p.wau, p.mau) == (active(first, last), active(last - 29, last)), w
    assert [p.dau for p in weeks[:2]] == [(7 + 1 + 1) // 7, 1 // 7]


async def test_authenticating_records_the_user_as_active_once_a_day(
    signup: Callable[..., Awaitable[TokenPair]],
    accounts: Accounts,
    store: MemoryStore,
    uow: UnitOfWorkFactory,
    clock: ManualClock,
) -> None:
    pair = await signup()
    today = clock.now().date()
    assert store.activity == {}
    who = await accounts.authenticate(pair.access_token)
    await accounts.authenticate(pair.access_token)
    assert store.activity == {(who.user_id, today): True}
    stats = Stats(uow=uow, clock=clock)
    series = await stats.series(None, today - ONE_DAY, today, "day")
    assert [(p.dau, p.wau, p.mau) for p in series] == [(0, 0, 0), (1, 1, 1)]


async def test_a_users_numbers_count_only_the_videos_the_viewer_may_see() -> None:
    """Strangers count public videos; friends, friends-only ones too; the owner and
    staff, every ready video. The numbers never reveal a video its list would not."""
    world = make_world()
    ann = await world.add_user("ann")
    friend, stranger = await world.add_user("fay"), await world.add_user("sam")
    mod = await world.add_user("mod", role=Role.MODERATOR)
    await world.befriend(ann.user_id, friend.user_id)
    public = await world.ready_post(ann, "public")
    hidden = await world.ready_post(ann, "friends")
    await world.post(ann, "friends")  # still processing: counted by no one
    for video in (public, hidden):
        await world.engagement.react(friend, video.id, "heart")
        await world.engagement.comment(friend, video.id, "nice")

    def numbers(stats: UserStats) -> tuple[int, int, int]:
        return stats.videos, stats.reactions["heart"], stats.comments

    assert numbers(await world.ranking.user_stats(stranger, ann.user_id)) == (1, 1, 1)
    assert numbers(await world.ranking.user_stats(friend, ann.user_id)) == (2, 2, 2)
    assert numbers(await world.ranking.user_stats(ann, ann.user_id)) == (2, 2, 2)
    assert numbers(await world.ranking.user_stats(mod, ann.user_id)) == (2, 2, 2)
    listed = await world.videos.list_by_user(stranger, ann.user_id, None, 10)
    assert [v.id for v in listed.videos] == [public.id]
