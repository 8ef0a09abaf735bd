"""RankingRepository and StatsRepository contract: memory and PostgreSQL behave alike."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import attrs

from adapters.memory.clock import ManualClock
from momentic_core.model.accounts import AccountStatus, Person
from momentic_core.model.engagement import Comment, ReactionKind
from momentic_core.model.ranking import BoardKey, RankingWeights, Scope, StreakState
from momentic_core.model.videos import VideoStatus, Visibility

from .support import T0, Adapters, add_user, add_video

MIGRATION = Path(__file__).parents[2] / "migrations" / "20261127_05_ranking.sql"


def test_the_migration_seeds_the_default_weights() -> None:
    found = re.search(r"INSERT INTO ranking_weights VALUES \(1, ([\d, ]+)\);",
                      MIGRATION.read_text())
    assert found is not None
    values = [int(v) for v in found.group(1).split(",")]
    assert values == list(attrs.astuple(RankingWeights()))


async def test_weights_default_and_change(backend: Adapters) -> None:
    async with backend.uow() as tx:
        assert await tx.ranking.weights() == RankingWeights()
        await tx.ranking.set_weights(RankingWeights(heart=7, streak_day=0))
    async with backend.uow() as tx:
        assert await tx.ranking.weights() == RankingWeights(heart=7, streak_day=0)


async def test_points_move_the_rating_and_the_day(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.ranking.add_points(user.id, 5, T0)
        await tx.ranking.add_points(user.id, 3, T0 + timedelta(days=1))
        await tx.ranking.add_points(user.id, -2, T0)
        await tx.ranking.add_points(user.id, 10, None)  # the streak term: no day
    async with backend.uow() as tx:
        assert (await tx.users.get(user.id)).rating == 16
        assert await tx.ranking.key_of(user.id, None) == BoardKey(16, user.id)
        assert await tx.ranking.key_of(user.id, T0) == BoardKey(6, user.id)
        assert await tx.ranking.key_of(user.id, T0 + timedelta(days=1)) == BoardKey(3, user.id)
        assert await tx.ranking.key_of(user.id, T0 + timedelta(days=2)) is None


async def test_user_updates_leave_ranking_fields_alone(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        stale = await tx.users.get_for_update(user.id)
        await tx.ranking.add_points(user.id, 9, T0)
        await tx.ranking.set_streak(user.id, StreakState(2, 4, date(2026, 1, 5)))
        await tx.users.update(attrs.evolve(stale, bio="hello"))
    async with backend.uow() as tx:
        fresh = await tx.users.get(user.id)
    assert (fresh.bio, fresh.rating, fresh.current_streak, fresh.max_streak) == ("hello", 9, 2, 4)
    assert fresh.last_post_day == date(2026, 1, 5)


async def test_max_reactions_rises_and_is_refreshed(backend: Adapters) -> None:
    author, fan = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id)
    async with backend.uow() as tx:
        change = await tx.reactions.set(fan.id, video.id, ReactionKind.HEART, T0)
        await tx.ranking.raise_max_reactions(author.id, sum(change.counts.values()))
        await tx.ranking.raise_max_reactions(author.id, 0)  # never lowers
    async with backend.uow() as tx:
        assert (await tx.users.get(author.id)).max_reactions == 1
        await tx.reactions.remove(fan.id, video.id)
        await tx.ranking.refresh_max_reactions(author.id)
    async with backend.uow() as tx:
        assert (await tx.users.get(author.id)).max_reactions == 0


async def test_facts_are_read_from_the_rows(backend: Adapters) -> None:
    author = await add_user(backend, time_zone="America/New_York")
    fans = [await add_user(backend) for _ in range(3)]
    # 03:00 UTC on Jan 6 is still Jan 5 in New York.
    late = await add_video(backend, author.id, created_at=T0 + timedelta(hours=15))
    on_time = await add_video(backend, author.id, on_time=True, moment_at=T0)
    await add_video(backend, author.id, status=VideoStatus.PROCESSING, on_time=True)
    async with backend.uow() as tx:
        await tx.reactions.set(fans[0].id, late.id, ReactionKind.HEART, T0)
        await tx.reactions.set(fans[1].id, late.id, ReactionKind.FLAME, T0 + timedelta(days=1))
        await tx.reactions.set(author.id, late.id, ReactionKind.HEART, T0)  # own: no points
        await tx.reactions.set(fans[2].id, on_time.id, ReactionKind.FUNNY, T0)
        await tx.comments.add(Comment(0, late.id, fans[0].id, "nice", T0))
        await tx.comments.add(Comment(0, late.id, author.id, "thanks", T0))  # own
        facts = await tx.ranking.facts([author.id, 999_999])
    assert len(facts) == 1
    f = facts[0]
    assert (f.user_id, f.time_zone, f.max_reactions) == (author.id, "America/New_York", 3)
    assert f.post_days == [date(2026, 1, 5)]
    jan5, jan6 = date(2026, 1, 5), date(2026, 1, 6)
    assert set(f.days) == {jan5, jan6}
    assert f.days[jan5].reactions == {"heart": 1, "funny": 1}
    assert (f.days[jan5].comments, f.days[jan5].on_time) == (1, 1)
    assert f.days[jan6].reactions == {"flame": 1}
    assert (f.days[jan6].comments, f.days[jan6].on_time) == (0, 0)


async def test_store_replaces_everything(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.ranking.add_points(user.id, 50, T0 - timedelta(days=3))
        await tx.ranking.store(
            user.id, 42, {T0.date(): 12}, StreakState(1, 3, T0.date()), max_reactions=7
        )
    async with backend.uow() as tx:
        u = await tx.users.get(user.id)
        assert (u.rating, u.current_streak, u.max_streak, u.max_reactions) == (42, 1, 3, 7)
        assert await tx.ranking.key_of(user.id, T0 - timedelta(days=5)) == BoardKey(12, user.id)


async def test_store_over_points_of_the_same_days(backend: Adapters) -> None:
    """A rebuild keeps days that already have points (the usual case: the user earned
    points today and one of them is taken back), and running it twice changes nothing."""
    user = await add_user(backend)
    today, before = T0.date(), (T0 - timedelta(days=1)).date()
    async with backend.uow() as tx:
        await tx.ranking.add_points(user.id, 5, T0)
        await tx.ranking.add_points(user.id, 7, T0 - timedelta(days=1))
        await tx.ranking.add_points(user.id, 9, T0 - timedelta(days=4))
    for _ in range(2):
        async with backend.uow() as tx:
            await tx.ranking.store(
                user.id, 6, {today: 2, before: 4}, StreakState(0, 0, None), max_reactions=0
            )
    async with backend.uow() as tx:
        assert (await tx.users.get(user.id)).rating == 6
        assert await tx.ranking.key_of(user.id, T0) == BoardKey(2, user.id)
        assert await tx.ranking.key_of(user.id, T0 - timedelta(days=1)) == BoardKey(6, user.id)
        assert await tx.ranking.key_of(user.id, T0 - timedelta(days=6)) == BoardKey(6, user.id)


async def test_boards_rank_by_points_then_id(backend: Adapters, clock: ManualClock) -> None:
    users = [await add_user(backend) for _ in range(5)]
    points = [10, 30, 10, 20, 0]
    async with backend.uow() as tx:
        for user, p in zip(users, points, strict=True):
            if p:
                await tx.ranking.add_points(user.id, p, T0)
    expected = [users[1].id, users[3].id, users[0].id, users[2].id, users[4].id]
    async with backend.uow() as tx:
        seen, after = [], None
        while True:
            page = await tx.ranking.board(users[0].id, Scope.GLOBAL, None, after, 2)
            if not page:
                break
            seen += [u.id for _, u in page]
            after = page[-1][0]
        assert seen == expected
        for rank, uid in enumerate(expected, start=1):
            key = await tx.ranking.key_of(uid, None)
            assert key is not None
            assert await tx.ranking.rank(users[0].id, Scope.GLOBAL, None, key) == rank
        key = await tx.ranking.key_of(users[0].id, None)
        assert key is not None
        above = await tx.ranking.above(users[0].id, Scope.GLOBAL, None, key, 5)
        assert [u.id for _, u in above] == expected[:2]
        # A period: only users with points in it.
        period = await tx.ranking.board(users[0].id, Scope.GLOBAL, T0, None, 10)
        assert [u.id for _, u in period] == expected[:4]
    # An entry's user is their public part only.
    by_id = {u.id: u for u in users}
    assert [u for _, u in period + above] == [Person.of(by_id[u.id]) for _, u in period + above]
    assert {type(u) for _, u in period + above} == {Person}


async def test_boards_leave_out_banned_and_keep_friends_scope(
    backend: Adapters, clock: ManualClock
) -> None:
    me, friend, stranger = [await add_user(backend) for _ in range(3)]
    banned = await add_user(backend, status=AccountStatus.BANNED)
    suspended_over = await add_user(
        backend, status=AccountStatus.SUSPENDED, suspended_until=T0 - timedelta(hours=1)
    )
    async with backend.uow() as tx:
        await tx.social.add_friendship(me.id, friend.id, T0)
        for user in (me, friend, stranger, banned, suspended_over):
            await tx.ranking.add_points(user.id, 5, T0)
    async with backend.uow() as tx:
        everyone = await tx.ranking.board(me.id, Scope.GLOBAL, None, None, 10)
        assert {u.id for _, u in everyone} == {me.id, friend.id, stranger.id, suspended_over.id}
        friends = await tx.ranking.board(me.id, Scope.FRIENDS, T0, None, 10)
        assert [u.id for _, u in friends] == [me.id, friend.id]


async def test_stale_streaks_and_zones(backend: Adapters, clock: ManualClock) -> None:
    kept = await add_user(backend, time_zone="Asia/Tokyo")
    broken = await add_user(backend, time_zone="America/Los_Angeles")
    await add_user(backend, time_zone="Asia/Tokyo", status=AccountStatus.BANNED)
    async with backend.uow() as tx:
        # T0 is Jan 5 21:00 in Tokyo and Jan 5 04:00 in Los Angeles.
        await tx.ranking.set_streak(kept.id, StreakState(3, 3, date(2026, 1, 4)))
        await tx.ranking.set_streak(broken.id, StreakState(2, 5, date(2026, 1, 3)))
    async with backend.uow() as tx:
        assert await tx.ranking.stale_streaks(T0, 10) == [(broken.id, 2)]
        assert await tx.ranking.time_zones() == ["America/Los_Angeles", "Asia/Tokyo"]
        assert await tx.ranking.user_ids_in_zone("Asia/Tokyo", 0, 10) == [kept.id]
        assert await tx.ranking.user_ids(0, 2) == [kept.id, broken.id]
        assert await tx.ranking.count_users() == 3


async def test_engaged_authors_and_post_days(backend: Adapters) -> None:
    me, a, b, c = [await add_user(backend) for _ in range(4)]
    va, vb = await add_video(backend, a.id), await add_video(backend, b.id)
    mine = await add_video(backend, me.id, created_at=T0 + timedelta(days=2))
    await add_video(backend, c.id)
    async with backend.uow() as tx:
        await tx.reactions.set(me.id, va.id, ReactionKind.ANGRY, T0)
        await tx.comments.add(Comment(0, vb.id, me.id, "hey", T0))
        await tx.reactions.set(me.id, mine.id, ReactionKind.HEART, T0)
        assert await tx.ranking.engaged_authors(me.id) == sorted([a.id, b.id])
        assert await tx.ranking.post_days(me.id, "UTC") == [date(2026, 1, 7)]


async def test_stats_series_and_totals(backend: Adapters) -> None:
    author = await add_user(backend, created_at=T0)
    fan = await add_user(backend, created_at=T0 + timedelta(days=1))
    video = await add_video(backend, author.id, created_at=T0, on_time=True)
    async with backend.uow() as tx:
        await tx.reactions.set(fan.id, video.id, ReactionKind.FLAME, T0 + timedelta(days=1))
        await tx.comments.add(Comment(0, video.id, fan.id, "wow", T0 + timedelta(days=1)))
        for day in (date(2026, 1, 5), date(2026, 1, 6)):
            await tx.stats.record_activity(author.id, day)
            await tx.stats.record_activity(author.id, day)  # idempotent
        await tx.stats.record_activity(fan.id, date(2026, 1, 6))
    async with backend.uow() as tx:
        days = await tx.stats.series(date(2026, 1, 5), date(2026, 1, 6), 1)
        week = await tx.stats.series(date(2026, 1, 5), date(2026, 1, 6), 7)
        totals = await tx.stats.user_totals(author.id, public_only=False)
    assert [(p.start, p.new_users, p.uploads, p.reactions, p.comments) for p in days] == [
        (date(2026, 1, 5), 1, 1, 0, 0),
        (date(2026, 1, 6), 1, 0, 1, 1),
    ]
    assert [(p.dau, p.wau, p.mau) for p in days] == [(1, 1, 1), (2, 2, 2)]
    assert len(week) == 1
    # 3 active (user, day) pairs over 7 days: 0 a day on average; 2 users that week.
    assert (week[0].new_users, week[0].dau, week[0].wau, week[0].mau) == (2, 0, 2, 2)
    videos, reactions, comments, on_time = totals
    assert (videos, reactions["flame"], comments, on_time) == (1, 1, 1, 1)


async def test_boards_leave_out_users_blocked_either_way(backend: Adapters) -> None:
    me, blocked, blocker, other = [await add_user(backend) for _ in range(4)]
    async with backend.uow() as tx:
        await tx.social.add_block(me.id, blocked.id, T0)
        await tx.social.add_block(blocker.id, me.id, T0)
        for user, points in ((me, 1), (blocked, 9), (blocker, 8), (other, 5)):
            await tx.ranking.add_points(user.id, points, T0)
    async with backend.uow() as tx:
        board = await tx.ranking.board(me.id, Scope.GLOBAL, None, None, 10)
        assert [u.id for _, u in board] == [other.id, me.id]
        key = await tx.ranking.key_of(me.id, None)
        assert key is not None
        assert await tx.ranking.rank(me.id, Scope.GLOBAL, None, key) == 2
        period = await tx.ranking.board(other.id, Scope.GLOBAL, T0, None, 10)
        assert [u.id for _, u in period] == [blocked.id, blocker.id, other.id, me.id]


async def test_user_totals_of_public_videos_only(backend: Adapters) -> None:
    author, fan = await add_user(backend), await add_user(backend)
    public = await add_video(backend, author.id, on_time=True)
    friends = await add_video(backend, author.id, visibility=Visibility.FRIENDS, on_time=True)
    await add_video(backend, author.id, status=VideoStatus.PROCESSING)
    async with backend.uow() as tx:
        for video in (public, friends):
            await tx.reactions.set(fan.id, video.id, ReactionKind.HEART, T0)
            await tx.comments.add(Comment(0, video.id, fan.id, "wow", T0))
    async with backend.uow() as tx:
        everything = await tx.stats.user_totals(author.id, public_only=False)
        shown = await tx.stats.user_totals(author.id, public_only=True)
    assert (everything[0], everything[1]["heart"], everything[2], everything[3]) == (2, 2, 2, 2)
    assert (shown[0], shown[1]["heart"], shown[2], shown[3]) == (1, 1, 1, 1)
