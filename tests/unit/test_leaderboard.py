"""Leaderboards (``Ranking.leaderboard``) and user statistics (``Ranking.user_stats``) on
the memory store: scopes, periods, keyset paging, my standing, bans and blocks."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta, timezone

import attrs
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from momentic_core.errors import NotFound
from momentic_core.model.accounts import AccountStatus, Principal, Role
from momentic_core.model.ranking import BoardKey, Leaderboard, Period, Scope, StreakState
from momentic_core.policies.rating import period_start
from momentic_core.services.ranking import parse_period, parse_scope

from .ranking_support import World, make_world
from .server_zone import server_time_zone

PROPERTY = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

NOW = datetime(2026, 3, 4, 15, 30, tzinfo=UTC)  # a Wednesday
ONE_DAY = timedelta(days=1)


async def give(world: World, user_id: int, rating: int, days: dict[date, int]) -> None:
    """Store a user's rating and points by day, as a recompute would."""
    async with world.uow() as tx:
        await tx.ranking.store(user_id, rating, days, StreakState(), 0)


async def walk(
    world: World, who: Principal, scope: Scope, period: Period, limit: int
) -> list[Leaderboard]:
    """Every page of a board, following the cursor."""
    pages, after = [], None
    for _ in range(100):
        page = await world.ranking.leaderboard(who, scope, period, after, limit)
        pages.append(page)
        if page.next is None:
            return pages
        assert page.items and page.next == BoardKey(page.items[-1].points,
                                                    page.items[-1].user.id)
        after = page.next
    raise AssertionError("the cursor never ends")


# ---------------------------------------------------------------------------- periods


@pytest.mark.parametrize(
    ("now", "period", "since"),
    [
        (NOW, Period.DAY, datetime(2026, 3, 4, tzinfo=UTC)),
        (NOW, Period.WEEK, datetime(2026, 3, 2, tzinfo=UTC)),  # Monday
        (NOW, Period.MONTH, datetime(2026, 3, 1, tzinfo=UTC)),
        (NOW, Period.ALL, None),
        # A Monday at midnight starts its own week; a Sunday belongs to the week before.
        (datetime(2026, 3, 2, tzinfo=UTC), Period.WEEK, datetime(2026, 3, 2, tzinfo=UTC)),
        (datetime(2026, 3, 1, 23, 59, 59, tzinfo=UTC), Period.WEEK,
         datetime(2026, 2, 23, tzinfo=UTC)),
        # The ISO week of 2027-01-01 (a Friday) starts in December 2026.
        (datetime(2027, 1, 1, 8, tzinfo=UTC), Period.WEEK, datetime(2026, 12, 28, tzinfo=UTC)),
        (datetime(2027, 1, 1, 8, tzinfo=UTC), Period.MONTH, datetime(2027, 1, 1, tzinfo=UTC)),
        # UTC days, whatever offset the instant is written with.
        (datetime(2026, 3, 4, 2, tzinfo=timezone(timedelta(hours=5))), Period.DAY,
         datetime(2026, 3, 3, tzinfo=UTC)),
        (datetime(2026, 2, 28, 22, tzinfo=timezone(timedelta(hours=-5))), Period.MONTH,
         datetime(2026, 3, 1, tzinfo=UTC)),
    ],
)
def test_period_start_is_the_utc_day_iso_week_or_month(
    now: datetime, period: Period, since: datetime | None
) -> None:
    assert period_start(period, now) == since


@pytest.mark.parametrize("period", [Period.DAY, Period.WEEK, Period.MONTH])
def test_period_start_is_the_same_utc_midnight_whatever_the_servers_zone(
    period: Period,
) -> None:
    # 23:59:59.999999 UTC on Tuesday 31 March is 1 April at UTC+9: the day, the
    # week and the month start at UTC midnight, to the microsecond, on any server.
    now = datetime(2026, 3, 31, 23, 59, 59, 999_999, tzinfo=UTC)
    expected = {
        Period.DAY: datetime(2026, 3, 31, tzinfo=UTC),
        Period.WEEK: datetime(2026, 3, 30, tzinfo=UTC),
        Period.MONTH: datetime(2026, 3, 1, tzinfo=UTC),
    }[period]
    with server_time_zone("JST-9"):
        start = period_start(period, now)
    assert start == expected
    assert start is not None and start.utcoffset() == timedelta(0)
    assert start.microsecond == 0


def test_scope_and_period_parse_or_are_invalid() -> None:
    assert parse_scope("friends") is Scope.FRIENDS
    assert parse_period("week") is Period.WEEK
    for bad, parse in (("world", parse_scope), ("year", parse_period)):
        with pytest.raises(Exception) as err:
            parse(bad)
        assert getattr(err.value, "code", None) == "invalid_query"


async def test_a_period_board_sums_the_days_from_its_start() -> None:
    world = make_world(NOW)
    ann, bob, cat, _dan = [await world.add_user(n) for n in ("ann", "bob", "cat", "dan")]
    await give(world, ann.user_id, 100, {date(2026, 3, 4): 1, date(2026, 3, 2): 10})
    await give(world, bob.user_id, 50, {date(2026, 3, 1): 20, date(2026, 3, 3): 2})
    await give(world, cat.user_id, 70, {date(2026, 2, 28): 50})
    # dan: nothing stored, a rating of 0

    def board(lb: Leaderboard) -> list[tuple[int, str, int]]:
        return [(s.rank, s.user.nickname, s.points) for s in lb.items]

    day = await world.ranking.leaderboard(ann, Scope.GLOBAL, Period.DAY, None, 10)
    assert day.since == datetime(2026, 3, 4, tzinfo=UTC)
    assert board(day) == [(1, "ann", 1)]
    week = await world.ranking.leaderboard(ann, Scope.GLOBAL, Period.WEEK, None, 10)
    assert board(week) == [(1, "ann", 11), (2, "bob", 2)]
    month = await world.ranking.leaderboard(ann, Scope.GLOBAL, Period.MONTH, None, 10)
    assert board(month) == [(1, "bob", 22), (2, "ann", 11)]
    forever = await world.ranking.leaderboard(ann, Scope.GLOBAL, Period.ALL, None, 10)
    assert forever.since is None
    assert board(forever) == [(1, "ann", 100), (2, "cat", 70), (3, "bob", 50), (4, "dan", 0)]

    # Without points in a period, one is not on its board and has no standing there.
    cats_day = await world.ranking.leaderboard(cat, Scope.GLOBAL, Period.MONTH, None, 10)
    assert (cats_day.me, cats_day.neighbours) == (None, [])
    cats_all = await world.ranking.leaderboard(cat, Scope.GLOBAL, Period.ALL, None, 10)
    assert cats_all.me is not None and (cats_all.me.rank, cats_all.me.points) == (2, 70)


async def test_the_friends_board_holds_me_and_my_friends() -> None:
    world = make_world(NOW)
    ann, bob, cat, dan = [await world.add_user(n) for n in ("ann", "bob", "cat", "dan")]
    for who, rating in ((ann, 10), (bob, 30), (cat, 20), (dan, 40)):
        await give(world, who.user_id, rating, {NOW.date(): rating})
    await world.befriend(ann.user_id, cat.user_id)
    await world.befriend(bob.user_id, dan.user_id)
    for period in Period:
        lb = await world.ranking.leaderboard(ann, Scope.FRIENDS, period, None, 10)
        assert [(s.rank, s.user.nickname) for s in lb.items] == [(1, "cat"), (2, "ann")]
        assert lb.me is not None and lb.me.rank == 2
        assert [(s.rank, s.user.nickname) for s in lb.neighbours] == [(1, "cat")]
    lb = await world.ranking.leaderboard(ann, Scope.GLOBAL, Period.ALL, None, 10)
    assert [s.user.nickname for s in lb.items] == ["dan", "bob", "cat", "ann"]


async def test_my_standing_and_two_neighbours_each_side() -> None:
    world = make_world(NOW)
    users = [await world.add_user(f"u{i}") for i in range(7)]
    for i, who in enumerate(users):
        await give(world, who.user_id, 100 - 10 * i, {})
    me = users[3]
    lb = await world.ranking.leaderboard(me, Scope.GLOBAL, Period.ALL, None, 2)
    assert [s.user.nickname for s in lb.items] == ["u0", "u1"]
    assert lb.me is not None and (lb.me.rank, lb.me.user.id, lb.me.points) == (4, me.user_id, 70)
    assert [(s.rank, s.user.nickname, s.points) for s in lb.neighbours] == [
        (2, "u1", 90), (3, "u2", 80), (5, "u4", 60), (6, "u5", 50),
    ]
    first = await world.ranking.leaderboard(users[0], Scope.GLOBAL, Period.ALL, None, 2)
    assert [(s.rank, s.user.nickname) for s in first.neighbours] == [(2, "u1"), (3, "u2")]
    last = await world.ranking.leaderboard(users[6], Scope.GLOBAL, Period.ALL, None, 2)
    assert [(s.rank, s.user.nickname) for s in last.neighbours] == [(5, "u4"), (6, "u5")]


async def test_ties_go_to_the_smaller_user_id_across_pages() -> None:
    world = make_world(NOW)
    users = [await world.add_user(f"u{i}") for i in range(5)]
    for who in users:
        await give(world, who.user_id, 7, {NOW.date(): 7})
    pages = await walk(world, users[2], Scope.GLOBAL, Period.DAY, 2)
    assert [[s.user.id for s in p.items] for p in pages] == [
        [users[0].user_id, users[1].user_id], [users[2].user_id, users[3].user_id],
        [users[4].user_id],
    ]
    assert [s.rank for p in pages for s in p.items] == [1, 2, 3, 4, 5]
    assert pages[0].me is not None and pages[0].me.rank == 3


async def test_banned_and_suspended_users_are_off_the_board() -> None:
    world = make_world(NOW)
    ann, bob, cat = [await world.add_user(n) for n in ("ann", "bob", "cat")]
    for who, rating in ((ann, 10), (bob, 30), (cat, 20)):
        await give(world, who.user_id, rating, {NOW.date(): rating})
    await world.set_status(bob.user_id, AccountStatus.BANNED)
    for period in Period:
        lb = await world.ranking.leaderboard(ann, Scope.GLOBAL, period, None, 10)
        assert [(s.rank, s.user.nickname) for s in lb.items] == [(1, "cat"), (2, "ann")]
        assert lb.me is not None and lb.me.rank == 2
        banned = await world.ranking.leaderboard(bob, Scope.GLOBAL, period, None, 10)
        assert (banned.me, banned.neighbours) == (None, [])
    # A suspension that has run out puts one back.
    async with world.uow() as tx:
        user = await tx.users.get_for_update(bob.user_id)
        await tx.users.update(attrs.evolve(
            user, status=AccountStatus.SUSPENDED, suspended_until=NOW + ONE_DAY
        ))
    lb = await world.ranking.leaderboard(ann, Scope.GLOBAL, Period.ALL, None, 10)
    assert "bob" not in [s.user.nickname for s in lb.items]
    world.clock.advance(2 * ONE_DAY)
    lb = await world.ranking.leaderboard(ann, Scope.GLOBAL, Period.ALL, None, 10)
    assert [s.user.nickname for s in lb.items] == ["bob", "cat", "ann"]


# ---------------------------------------------------------------------------- paging property


@attrs.frozen
class BoardCase:
    ratings: list[int]
    days: list[dict[int, int]]  # per user: days before NOW -> points
    banned: list[bool]
    friends: list[tuple[int, int]]
    viewer: int
    scope: Scope
    period: Period
    limit: int


@st.composite
def boards(draw: st.DrawFn) -> BoardCase:
    n = draw(st.integers(1, 12))
    pairs = draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=10))
    return BoardCase(
        ratings=draw(st.lists(st.integers(0, 6), min_size=n, max_size=n)),
        days=draw(st.lists(
            st.dictionaries(st.integers(0, 40), st.integers(0, 4), max_size=4),
            min_size=n, max_size=n,
        )),
        banned=draw(st.lists(st.booleans(), min_size=n, max_size=n)),
        friends=[(a, b) for a, b in pairs if a != b],
        viewer=draw(st.integers(0, n - 1)),
        scope=draw(st.sampled_from(list(Scope))),
        period=draw(st.sampled_from(list(Period))),
        limit=draw(st.integers(1, 5)),
    )


async def paging(case: BoardCase) -> None:
    world = make_world(NOW)
    ratings, day_points, banned, friends = case.ratings, case.days, case.banned, case.friends
    scope, period, limit = case.scope, case.period, case.limit
    users = [await world.add_user(f"u{i}") for i in range(len(ratings))]
    for who, rating, points in zip(users, ratings, day_points, strict=True):
        await give(world, who.user_id, rating,
                   {NOW.date() - d * ONE_DAY: p for d, p in points.items()})
    for who, out in zip(users, banned, strict=True):
        if out:
            await world.set_status(who.user_id, AccountStatus.BANNED)
    for a, b in friends:
        await world.befriend(users[a].user_id, users[b].user_id)
    viewer = users[case.viewer]

    # The expected board, by hand.
    since = {Period.ALL: None, Period.DAY: date(2026, 3, 4), Period.WEEK: date(2026, 3, 2),
             Period.MONTH: date(2026, 3, 1)}[period]
    circle = {viewer.user_id} | {users[b].user_id for a, b in friends if users[a] == viewer} | {
        users[a].user_id for a, b in friends if users[b] == viewer}
    expected: list[tuple[int, int]] = []  # (points, user id)
    for i, who in enumerate(users):
        if banned[i] or (scope is Scope.FRIENDS and who.user_id not in circle):
            continue
        if since is None:
            expected.append((ratings[i], who.user_id))
            continue
        total = sum(p for d, p in day_points[i].items() if NOW.date() - d * ONE_DAY >= since)
        if total > 0:
            expected.append((total, who.user_id))
    expected.sort(key=lambda e: (-e[0], e[1]))

    pages = await walk(world, viewer, scope, period, limit)
    items = [s for p in pages for s in p.items]
    assert [(s.points, s.user.id) for s in items] == expected
    assert [s.rank for s in items] == list(range(1, len(expected) + 1))
    assert all(len(p.items) == limit for p in pages[:-1]) and len(pages[-1].items) <= limit
    assert len(pages) == max(1, -(-len(expected) // limit))  # no empty page at the end

    mine = [i for i, (_, uid) in enumerate(expected) if uid == viewer.user_id]
    for page in pages:
        if not mine:
            assert (page.me, page.neighbours) == (None, [])
            continue
        i = mine[0]
        assert page.me is not None
        assert (page.me.rank, page.me.user.id, page.me.points) == (
            i + 1, viewer.user_id, expected[i][0])
        around = [(j + 1, expected[j][1]) for j in range(max(0, i - 2), min(len(expected), i + 3))
                  if j != i]
        assert [(s.rank, s.user.id) for s in page.neighbours] == around


@PROPERTY
@given(boards())
def test_paging_walks_the_whole_board_in_order_without_repeats_or_gaps(
    case: BoardCase,
) -> None:
    asyncio.run(paging(case))


# ---------------------------------------------------------------------------- user stats


async def stats_world() -> tuple[World, Principal, Principal, Principal]:
    world = make_world(datetime(2026, 3, 2, 10, tzinfo=UTC))
    ann, bob, cat = [await world.add_user(n) for n in ("ann", "bob", "cat")]
    mod = await world.add_user("mod", role=Role.MODERATOR)
    one = await world.ready_post(ann)
    world.clock.advance(ONE_DAY)
    two = await world.ready_post(ann)
    await world.post(ann)  # still processing: not counted
    await world.engagement.react(bob, one.id, "heart")
    await world.engagement.react(cat, one.id, "flame")
    await world.engagement.react(bob, two.id, "heart")
    await world.engagement.comment(bob, one.id, "good")
    await world.engagement.comment(cat, two.id, "great")
    await world.ready_post(bob)
    return world, ann, bob, mod


async def test_user_stats_count_what_the_users_posts_received() -> None:
    world, ann, bob, _ = await stats_world()
    stats = await world.ranking.user_stats(bob, ann.user_id)
    assert stats.user.id == ann.user_id
    assert stats.videos == 2
    assert stats.reactions == {"heart": 2, "flame": 1, "funny": 0, "angry": 0}
    assert stats.comments == 2
    assert stats.on_time_posts == 0
    assert (stats.current_streak, stats.max_streak) == (2, 2)
    # ann: 2 streak days x 5 + 2 hearts x 2 + a flame 3 + 2 comments x 3 = 23; bob: 5.
    assert world.user(ann.user_id).rating == 23
    assert stats.rank == 1
    assert (await world.ranking.user_stats(ann, bob.user_id)).rank == 2


async def test_user_stats_read_a_broken_streak_as_0_before_the_job_stores_it() -> None:
    world, ann, bob, _ = await stats_world()
    world.clock.advance(2 * ONE_DAY)
    stats = await world.ranking.user_stats(bob, ann.user_id)
    assert (stats.current_streak, stats.max_streak) == (0, 2)
    assert world.user(ann.user_id).current_streak == 2  # the job has not run yet
    await world.ranking.break_streaks()
    assert world.user(ann.user_id).current_streak == 0


async def test_user_stats_of_a_banned_user_are_hidden_from_others() -> None:
    world, ann, bob, mod = await stats_world()
    await world.set_status(ann.user_id, AccountStatus.BANNED)
    with pytest.raises(NotFound) as err:
        await world.ranking.user_stats(bob, ann.user_id)
    assert err.value.code == "user_not_found"
    own = await world.ranking.user_stats(ann, ann.user_id)
    assert (own.videos, own.rank) == (2, None)  # off the board while banned
    seen = await world.ranking.user_stats(mod, ann.user_id)
    assert (seen.videos, seen.rank) == (2, None)
    assert (await world.ranking.user_stats(mod, bob.user_id)).rank == 1


async def test_user_stats_are_hidden_across_a_block_either_way() -> None:
    world, ann, bob, mod = await stats_world()
    async with world.uow() as tx:
        await tx.social.add_block(ann.user_id, bob.user_id, world.clock.now())
    for who, whom in ((bob, ann), (ann, bob)):
        with pytest.raises(NotFound):
            await world.ranking.user_stats(who, whom.user_id)
    assert (await world.ranking.user_stats(mod, ann.user_id)).videos == 2
    with pytest.raises(NotFound):
        await world.ranking.user_stats(bob, 10_000)
