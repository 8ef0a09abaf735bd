"""Ratings, streaks, leaderboards, the daily moment and statistics.

``Scorer`` moves ratings and streaks inside the unit of work of the event that earns
them (a reaction, a comment, a video becoming ready); deletions and weight changes
rebuild the users concerned from the rows (``Scorer.recompute``), which is also what
``momentic ranking recompute`` runs over everyone. The formula is policies.rating.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from momentic_core.errors import Invalid, NotFound
from momentic_core.model.accounts import Person, Principal, Role, User
from momentic_core.model.engagement import Comment, ReactionChange, ReactionKind
from momentic_core.model.jobs import (
    AnnounceMoment,
    AnnounceReminder,
    BreakStreaks,
    RecomputeRatings,
)
from momentic_core.model.moderation import AuditEntry
from momentic_core.model.ranking import (
    BoardKey,
    DayFacts,
    Leaderboard,
    Moment,
    Period,
    RankingWeights,
    Scope,
    Standing,
    StatsPoint,
    StreakState,
    UserStats,
)
from momentic_core.model.social import Relation
from momentic_core.model.videos import Video
from momentic_core.policies import moments, permissions, rating, streaks
from momentic_core.ports import Clock, PushSender, UnitOfWork, UnitOfWorkFactory
from momentic_core.services.jobs import JobKind

log = logging.getLogger(__name__)

NEIGHBOURS = 2
MAX_SERIES_POINTS = 400


def day_points(weights: RankingWeights, facts: DayFacts) -> int:
    return (
        sum(weights.reaction(kind) * n for kind, n in facts.reactions.items())
        + weights.comment * facts.comments
        + weights.on_time * min(facts.on_time, rating.ON_TIME_PER_DAY)
    )


class Scorer:
    """Rating and streak updates, called inside the event's unit of work."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock

    async def reaction(self, tx: UnitOfWork, video: Video, reactor: int, kind: ReactionKind | None,
                       change: ReactionChange, at: datetime) -> None:
        """After a reaction was set (``kind``) or removed (``kind`` None)."""
        # max_reactions counts every reaction on the video, the author's own included
        # (as the video's counts and a recompute do); only the points skip them.
        # One write of the author where both change (a new reaction by someone else).
        total = sum(change.counts.values())
        new = kind is not None and change.previous is None
        if kind is None:
            await tx.ranking.refresh_max_reactions(video.author_id)
        earned = lost = 0
        if reactor != video.author_id:
            weights = await tx.ranking.weights()
            earned = weights.reaction(kind.value) if kind else 0
            lost = weights.reaction(change.previous.value) if change.previous else 0
        if earned != lost:
            await tx.ranking.add_points(
                video.author_id, earned - lost, change.since or at,
                max_reactions=total if new else 0,
            )
        elif new:
            await tx.ranking.raise_max_reactions(video.author_id, total)

    async def comment(self, tx: UnitOfWork, video: Video, comment: Comment) -> None:
        """After a comment was added: the video's author earns once per commenter."""
        if comment.author_id == video.author_id:
            return
        weights = await tx.ranking.weights()
        if not weights.comment:  # no row for 0 points, as a recompute stores none
            return
        if await tx.comments.visible_count(video.id, comment.author_id) == 1:
            await tx.ranking.add_points(video.author_id, weights.comment, comment.created_at)

    async def video_ready(self, tx: UnitOfWork, video: Video) -> None:
        """The author's streak moves on, and an on-time post earns its points."""
        weights = await tx.ranking.weights()
        if video.on_time and weights.on_time:
            # At most ON_TIME_PER_DAY on-time posts earn per UTC day: a rebuild counts
            # them, and moves the streak with the rest.
            await self.recompute(tx, [video.author_id])
            return
        author = await tx.users.get_for_update(video.author_id)
        before = StreakState(author.current_streak, author.max_streak, author.last_post_day)
        after = streaks.extend(before, streaks.local_day(video.created_at, author.time_zone))
        if after is None:  # an older day than the last counted: rebuild from every day
            after = streaks.from_days(await tx.ranking.post_days(author.id, author.time_zone))
        if after != before:
            await tx.ranking.set_streak(author.id, after)
        delta = weights.streak_day * (after.current - before.current)
        if delta:
            await tx.ranking.add_points(author.id, delta, None)

    async def recompute(self, tx: UnitOfWork, user_ids: list[int]) -> int:
        """Rebuild these users' ratings, points by day, streaks and max_reactions from
        the rows; how many users there were."""
        if not user_ids:
            return 0
        weights = await tx.ranking.weights()
        now = self._clock.now()
        facts = await tx.ranking.facts(sorted(set(user_ids)))
        for f in facts:
            points = {day: day_points(weights, d) for day, d in f.days.items()}
            streak = streaks.from_days(f.post_days)
            today = now.astimezone(ZoneInfo(f.time_zone)).date()
            streak = attrs.evolve(streak, current=streaks.current_at(streak, today))
            total = sum(points.values()) + weights.streak_day * streak.current
            await tx.ranking.store(
                f.user_id, total, {d: p for d, p in points.items() if p}, streak, f.max_reactions
            )
        return len(facts)

    async def break_streaks(self, tx: UnitOfWork, limit: int = 1000) -> int:
        """Store 0 for streaks that broke (their last day is before yesterday)."""
        weights = await tx.ranking.weights()
        stale = await tx.ranking.stale_streaks(self._clock.now(), limit)
        for user_id, current in stale:
            user = await tx.users.get_for_update(user_id)
            await tx.ranking.set_streak(
                user_id, StreakState(0, user.max_streak, user.last_post_day)
            )
            if weights.streak_day and current:
                await tx.ranking.add_points(user_id, -weights.streak_day * current, None)
        return len(stale)


def parse_scope(value: str) -> Scope:
    try:
        return Scope(value)
    except ValueError:
        raise Invalid("scope is global or friends.", code="invalid_query", field="scope") from None


def parse_period(value: str) -> Period:
    try:
        return Period(value)
    except ValueError:
        raise Invalid(
            "period is all, month, week or day.", code="invalid_query", field="period"
        ) from None


class Ranking:
    """Leaderboards, user statistics, weights and recomputes."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        scorer: Scorer,
        moment_rules: moments.MomentRules,
        push: PushSender | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._scorer = scorer
        self.moment_rules = moment_rules
        self._push = push

    # ------------------------------------------------------------------ boards

    async def leaderboard(
        self, who: Principal, scope: Scope, period: Period, after: BoardKey | None, limit: int
    ) -> Leaderboard:
        since = rating.period_start(period, self._clock.now())
        async with self._uow(read_only=True) as tx:
            rows = await tx.ranking.board(who.user_id, scope, since, after, limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            first_rank = (
                await tx.ranking.rank(who.user_id, scope, since, rows[0][0]) if rows else 0
            )
            items = [
                Standing(first_rank + i, user, key.points) for i, (key, user) in enumerate(rows)
            ]
            me, neighbours = await self._me(tx, who, scope, since)
        return Leaderboard(
            scope=scope,
            period=period,
            since=since,
            items=items,
            next=rows[-1][0] if more and rows else None,
            me=me,
            neighbours=neighbours,
        )

    async def _me(
        self, tx: UnitOfWork, who: Principal, scope: Scope, since: datetime | None
    ) -> tuple[Standing | None, list[Standing]]:
        key = await tx.ranking.key_of(who.user_id, since)
        me_user = await tx.users.get(who.user_id)
        if key is None or me_user.hidden_at(self._clock.now()):
            return None, []
        rank = await tx.ranking.rank(who.user_id, scope, since, key)
        above = await tx.ranking.above(who.user_id, scope, since, key, NEIGHBOURS)
        below = await tx.ranking.board(who.user_id, scope, since, key, NEIGHBOURS)
        neighbours = [
            Standing(rank - len(above) + i, user, k.points) for i, (k, user) in enumerate(above)
        ] + [Standing(rank + 1 + i, user, k.points) for i, (k, user) in enumerate(below)]
        return Standing(rank, Person.of(me_user), key.points), neighbours

    async def user_stats(self, who: Principal, user_id: int) -> UserStats:
        """A user's numbers, of the videos the caller may see (as their video list):
        strangers count public videos only; friends, friends-only ones too; the user
        themself and staff, every ready video. Raises NotFound(code="user_not_found")
        for users the caller may not see."""
        now = self._clock.now()
        async with self._uow() as tx:
            user = await tx.users.get(user_id)
            everything = user_id == who.user_id or permissions.can_see_hidden_accounts(
                who.role
            )
            if not everything:
                if user.hidden_at(now) or await tx.social.blocked_either_way(
                    who.user_id, user_id
                ):
                    raise NotFound("No such user.", code="user_not_found")
                # friends see friends-only videos too: every visibility there is
                everything = (
                    await tx.social.relation(who.user_id, user_id) is Relation.FRIENDS
                )
            videos, reactions, comments, on_time = await tx.stats.user_totals(
                user_id, public_only=not everything
            )
            # Watch time and completion: the author's own figures, for nobody else.
            watch = await tx.views.author_totals(user_id) if user_id == who.user_id else None
            rank = None
            if not user.hidden_at(now):
                key = await tx.ranking.key_of(user_id, None)
                if key is not None:
                    rank = await tx.ranking.rank(user_id, Scope.GLOBAL, None, key)
        today = now.astimezone(ZoneInfo(user.time_zone)).date()
        state = StreakState(user.current_streak, user.max_streak, user.last_post_day)
        return UserStats(
            user=user,
            videos=videos,
            reactions=reactions,
            comments=comments,
            on_time_posts=on_time,
            current_streak=streaks.current_at(state, today),
            max_streak=user.max_streak,
            rank=rank,
            watch=watch,
        )

    # ------------------------------------------------------------------ weights

    async def weights(self, actor: Principal | None) -> RankingWeights:
        """Admins (or the operator, ``actor`` None) read the weights."""
        if actor is not None:
            permissions.require_role(actor.role, Role.ADMIN)
        async with self._uow() as tx:
            return await tx.ranking.weights()

    async def set_weights(
        self, actor: Principal | None, values: dict[str, Any]
    ) -> RankingWeights:
        """Admins (or the operator, ``actor`` None) change weights; a recompute job
        applies them to every rating. Raises Invalid(code="invalid_weights")."""
        if actor is not None:
            permissions.require_role(actor.role, Role.ADMIN)
        if not values:
            raise Invalid("Send an object of weights to change.", code="invalid_weights")
        async with self._uow() as tx:
            before = await tx.ranking.weights()
            weights = rating.check_weights(values, before)
            await tx.ranking.set_weights(weights)
            await tx.jobs.enqueue(RecomputeRatings(), dedupe_key=RecomputeRatings.kind)
            await tx.audit.add(AuditEntry(
                id=0, actor_id=actor.user_id if actor else None, action="ranking.weights",
                target_type="settings", target_id=None, reason=None,
                created_at=self._clock.now(),
                data={"from": attrs.asdict(before), "to": attrs.asdict(weights)},
            ))
        log.info("ranking weights changed", extra={"weights": attrs.asdict(weights)})
        return weights

    async def recompute_all(
        self, progress: Callable[[int, int], None] | None = None, batch: int = 500
    ) -> int:
        """Rebuild every rating from the rows, in batches (each its own transaction);
        ``progress(done, total)`` after each batch."""
        async with self._uow() as tx:
            total = await tx.ranking.count_users()
        done, after = 0, 0
        while True:
            async with self._uow() as tx:
                ids = await tx.ranking.user_ids(after, batch)
                if not ids:
                    break
                await self._scorer.recompute(tx, ids)
            done += len(ids)
            after = ids[-1]
            if progress:
                progress(min(done, total), max(total, done))
        return done

    async def break_streaks(self) -> int:
        total = 0
        while True:
            async with self._uow() as tx:
                n = await self._scorer.break_streaks(tx)
            total += n
            if n == 0:
                return total

    # ------------------------------------------------------------------ moments

    async def moment_today(self, who: Principal) -> tuple[Moment, str]:
        """Today's moment in my time zone and where we stand: "upcoming" (its time stays
        secret until it comes), "open" (within the window) or "closed"."""
        async with self._uow() as tx:
            me = await tx.users.get(who.user_id)
        now = self._clock.now()
        today = now.astimezone(ZoneInfo(me.time_zone)).date()
        moment = moments.moment_of(self.moment_rules, today, me.time_zone)
        if now < moment.at:
            return moment, "upcoming"
        return moment, "open" if now < moment.window_ends_at else "closed"

    async def schedule_moments(self) -> int:
        """Queue an announcement of today's and tomorrow's moment for every time zone in
        use, and of its second reminder when its window closes (which does nothing while
        the runtime setting ``moment_reminder`` is off: read when it runs); deduplicated,
        so calling it hourly is safe. Returns how many moments' announcements were new."""
        now = self._clock.now()
        async with self._uow() as tx:
            zones = await tx.ranking.time_zones()
            queued = 0
            for zone in zones:
                today = now.astimezone(ZoneInfo(zone)).date()
                for day in (today, today + timedelta(days=1)):
                    moment = moments.moment_of(self.moment_rules, day, zone)
                    if moment.window_ends_at >= now:
                        await tx.jobs.enqueue(
                            AnnounceReminder(zone=zone, day=day),
                            run_at=moment.window_ends_at,
                            dedupe_key=f"reminder:{zone}:{day.isoformat()}",
                        )
                    if moment.at < now:
                        continue
                    job = await tx.jobs.enqueue(
                        AnnounceMoment(zone=zone, day=day), run_at=moment.at,
                        dedupe_key=f"moment:{zone}:{day.isoformat()}",
                    )
                    queued += job is not None
        return queued

    async def announce_moment(self, job: AnnounceMoment) -> int:
        """Push the moment to every active user of the zone; how many."""
        return await self._announce(job.zone, job.day, reminder=False)

    async def announce_reminder(self, job: AnnounceReminder) -> int:
        """When the moment's window closes: remind every active user of the zone who has
        not posted for it (each page checks who has, as it is fanned out), if the
        runtime setting ``moment_reminder`` is on; how many users were looked at."""
        if self._push is None or not await self._push.reminder_on():
            return 0
        return await self._announce(job.zone, job.day, reminder=True)

    async def _announce(self, zone: str, day: date, *, reminder: bool) -> int:
        moment = moments.moment_of(self.moment_rules, day, zone)
        sent, after = 0, 0
        while True:
            async with self._uow() as tx:
                ids = await tx.ranking.user_ids_in_zone(zone, after, 1000)
            if not ids:
                return sent
            if self._push is not None:
                if reminder:
                    await self._push.send_reminder(ids, moment)
                else:
                    await self._push.send_moment(ids, moment)
            sent += len(ids)
            after = ids[-1]


class Stats:
    """The admin time series and activity recording."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def series(
        self, actor: Principal | None, start: date | None, end: date | None, interval: str
    ) -> list[StatsPoint]:
        """Admins (or the operator, ``actor`` None) read the series.
        Raises Forbidden(code="insufficient_role"), Invalid(code="invalid_query")."""
        if actor is not None:
            permissions.require_role(actor.role, Role.ADMIN)
        if interval not in ("day", "week"):
            raise Invalid("interval is day or week.", code="invalid_query", field="interval")
        step = 1 if interval == "day" else 7
        today = self._clock.now().date()
        end = end or today
        try:
            start = start or end - timedelta(days=step * 30 - 1)
            # MAU reads 29 days before the first bucket, and the buckets run up to a week
            # past `end`: both must still be dates (0001-01-01 .. 9999-12-31).
            _ = start - timedelta(days=29), end + timedelta(days=step)
        except OverflowError:
            raise Invalid("The dates are out of range.", code="invalid_query",
                          field="from") from None
        if start > end:
            raise Invalid("from is after to.", code="invalid_query", field="from")
        if (end - start).days // step + 1 > MAX_SERIES_POINTS:
            raise Invalid(
                f"At most {MAX_SERIES_POINTS} points; narrow the range.",
                code="invalid_query",
                field="from",
            )
        async with self._uow() as tx:
            return await tx.stats.series(start, end, step)


class Moments:
    """Stamps a new post with the moment it answers."""

    def __init__(self, rules: moments.MomentRules) -> None:
        self.rules = rules

    def stamp(self, video: Video, author: User) -> Video:
        moment_at, on_time = moments.punctuality(self.rules, video.created_at, author.time_zone)
        return attrs.evolve(video, moment_at=moment_at, on_time=on_time)


def ranking_job_kinds(ranking: Ranking) -> list[JobKind[Any]]:
    """The background jobs of this module, for the worker (jobs.JobKind)."""

    async def recompute(job: RecomputeRatings) -> None:
        await ranking.recompute_all()

    async def break_streaks(job: BreakStreaks) -> None:
        await ranking.break_streaks()

    return [
        JobKind(RecomputeRatings, recompute),
        JobKind(BreakStreaks, break_streaks),
        JobKind(AnnounceMoment, ranking.announce_moment),
        JobKind(AnnounceReminder, ranking.announce_reminder),
    ]


async def schedule_ranking(ranking: Ranking, uow: UnitOfWorkFactory) -> None:
    """Hourly: store broken streaks (each zone's day ends at another hour) and queue the
    coming moments' announcements."""
    async with uow() as tx:
        await tx.jobs.enqueue(BreakStreaks(), dedupe_key=BreakStreaks.kind, max_attempts=1)
    await ranking.schedule_moments()
