"""In-memory ratings, leaderboards, activity and statistics, with the PostgreSQL
adapters' semantics (see momentic_core.ports.RankingRepository / StatsRepository)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import attrs

from momentic_core.model.accounts import Person
from momentic_core.model.engagement import no_reactions
from momentic_core.model.moderation import CaseStatus
from momentic_core.model.ranking import (
    BoardKey,
    DayFacts,
    RankingWeights,
    RatingFacts,
    Scope,
    StatsPoint,
    StreakState,
)
from momentic_core.model.videos import VideoStatus, Visibility

if TYPE_CHECKING:
    from .store import MemoryStore


def _utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


class InMemoryRankingRepository:
    def __init__(self, store: MemoryStore, now: Callable[[], datetime]) -> None:
        self._s = store
        self._now = now

    async def weights(self) -> RankingWeights:
        return self._s.ranking_weights.get(1, RankingWeights())

    async def set_weights(self, weights: RankingWeights) -> None:
        self._s.ranking_weights[1] = weights

    def _update(self, user_id: int, **changes: object) -> None:
        user = self._s.users.get(user_id)
        if user is not None:
            self._s.users[user_id] = attrs.evolve(user, **changes)  # type: ignore[arg-type]

    async def add_points(
        self, user_id: int, points: int, at: datetime | None, *, max_reactions: int = 0
    ) -> None:
        user = self._s.users.get(user_id)
        if user is None:
            return
        self._update(
            user_id,
            rating=user.rating + points,
            max_reactions=max(user.max_reactions, max_reactions),
        )
        if at is not None:
            key = (user_id, _utc_day(at))
            self._s.rating_points[key] = self._s.rating_points.get(key, 0) + points

    async def set_streak(self, user_id: int, state: StreakState) -> None:
        self._update(user_id, current_streak=state.current, max_streak=state.max,
                     last_post_day=state.last_day)

    async def raise_max_reactions(self, user_id: int, total: int) -> None:
        user = self._s.users.get(user_id)
        if user is not None and total > user.max_reactions:
            self._update(user_id, max_reactions=total)

    def _max_reactions(self, user_id: int) -> int:
        return max(
            (sum(v.reactions.values()) for v in self._s.videos.values()
             if v.author_id == user_id and v.status is VideoStatus.READY),
            default=0,
        )

    async def refresh_max_reactions(self, user_id: int) -> None:
        self._update(user_id, max_reactions=self._max_reactions(user_id))

    async def post_days(self, user_id: int, time_zone: str) -> list[date]:
        tz = ZoneInfo(time_zone)
        return sorted({
            v.created_at.astimezone(tz).date() for v in self._s.videos.values()
            if v.author_id == user_id and v.status is VideoStatus.READY
        })

    async def facts(self, user_ids: list[int]) -> list[RatingFacts]:
        s = self._s
        out = []
        for user_id in sorted(set(user_ids)):
            user = s.users.get(user_id)
            if user is None:
                continue
            # Only ready videos earn: held or removed ones (moderation) do not.
            mine = {
                vid for vid, v in s.videos.items()
                if v.author_id == user_id and v.status is VideoStatus.READY
            }
            reactions: dict[date, dict[str, int]] = defaultdict(no_reactions)
            comments: dict[date, int] = defaultdict(int)
            on_time: dict[date, int] = defaultdict(int)
            for (vid, uid), row in s.reactions.items():
                if vid in mine and uid != user_id:
                    reactions[_utc_day(row.created_at)][row.kind.value] += 1
            # One commenter's visible comments on one video earn once, on the first's day.
            first: dict[tuple[int, int], datetime] = {}
            for c in s.comments.values():
                if c.video_id in mine and c.author_id != user_id and not c.hidden:
                    pair = (c.video_id, c.author_id)
                    first[pair] = min(first.get(pair, c.created_at), c.created_at)
            for at in first.values():
                comments[_utc_day(at)] += 1
            for vid in mine:
                v = s.videos[vid]
                if v.status is VideoStatus.READY and v.on_time:
                    on_time[_utc_day(v.created_at)] += 1
            days = {
                d: DayFacts(
                    reactions={k: n for k, n in reactions.get(d, {}).items() if n},
                    comments=comments.get(d, 0),
                    on_time=on_time.get(d, 0),
                )
                for d in set(reactions) | set(comments) | set(on_time)
            }
            out.append(RatingFacts(
                user_id=user_id,
                time_zone=user.time_zone,
                days=days,
                post_days=await self.post_days(user_id, user.time_zone),
                max_reactions=self._max_reactions(user_id),
            ))
        return out

    async def store(
        self,
        user_id: int,
        rating: int,
        day_points: dict[date, int],
        streak: StreakState,
        max_reactions: int,
    ) -> None:
        s = self._s
        if user_id not in s.users:
            return
        s.rating_points = {k: v for k, v in s.rating_points.items() if k[0] != user_id}
        for day, points in day_points.items():
            s.rating_points[(user_id, day)] = points
        self._update(user_id, rating=rating, current_streak=streak.current,
                     max_streak=streak.max, last_post_day=streak.last_day,
                     max_reactions=max_reactions)

    async def user_ids(self, after: int, limit: int) -> list[int]:
        return sorted(u for u in self._s.users if u > after)[: max(0, limit)]

    async def count_users(self) -> int:
        return len(self._s.users)

    async def engaged_authors(self, user_id: int) -> list[int]:
        s = self._s
        videos = {vid for (vid, uid) in s.reactions if uid == user_id}
        videos |= {c.video_id for c in s.comments.values() if c.author_id == user_id}
        authors = {s.videos[v].author_id for v in videos if v in s.videos}
        authors.discard(user_id)
        return sorted(authors)

    async def stale_streaks(self, now: datetime, limit: int) -> list[tuple[int, int]]:
        found = []
        for user in sorted(self._s.users.values(), key=lambda u: u.id):
            if user.current_streak <= 0:
                continue
            today = now.astimezone(ZoneInfo(user.time_zone)).date()
            if user.last_post_day is None or user.last_post_day < today - timedelta(days=1):
                found.append((user.id, user.current_streak))
        return found[: max(0, limit)]

    async def time_zones(self) -> list[str]:
        return sorted({u.time_zone for u in self._s.users.values()})

    async def user_ids_in_zone(self, time_zone: str, after: int, limit: int) -> list[int]:
        now = self._now()
        return sorted(
            u.id for u in self._s.users.values()
            if u.time_zone == time_zone and u.id > after and not u.hidden_at(now)
        )[: max(0, limit)]

    async def posted_for_moment(self, user_ids: list[int], moment_at: datetime) -> set[int]:
        wanted = set(user_ids)
        return {
            v.author_id for v in self._s.videos.values()
            if v.author_id in wanted and v.moment_at == moment_at
            and v.status not in (VideoStatus.REJECTED, VideoStatus.FAILED)
        }

    # ------------------------------------------------------------------ boards

    def _entries(
        self, viewer: int, scope: Scope, since: datetime | None
    ) -> list[tuple[BoardKey, Person]]:
        s, now = self._s, self._now()
        users = [
            u for u in s.users.values()
            if not u.hidden_at(now)
            and (viewer, u.id) not in s.blocks and (u.id, viewer) not in s.blocks
        ]
        if scope is Scope.FRIENDS:
            users = [u for u in users if u.id == viewer or (viewer, u.id) in s.friendships]
        entries = []
        if since is None:
            entries = [(BoardKey(u.rating, u.id), Person.of(u)) for u in users]
        else:
            first = _utc_day(since)
            totals: dict[int, int] = defaultdict(int)
            for (uid, day), points in s.rating_points.items():
                if day >= first:
                    totals[uid] += points
            entries = [
                (BoardKey(totals[u.id], u.id), Person.of(u))
                for u in users if totals.get(u.id, 0) > 0
            ]
        entries.sort(key=lambda e: (-e[0].points, e[0].user_id))
        return entries

    @staticmethod
    def _before(a: BoardKey, b: BoardKey) -> bool:
        return (a.points, -a.user_id) > (b.points, -b.user_id)

    async def board(
        self, viewer: int, scope: Scope, since: datetime | None, after: BoardKey | None,
        limit: int,
    ) -> list[tuple[BoardKey, Person]]:
        entries = self._entries(viewer, scope, since)
        if after is not None:
            entries = [e for e in entries if self._before(after, e[0])]
        return entries[: max(0, limit)]

    async def rank(self, viewer: int, scope: Scope, since: datetime | None, key: BoardKey) -> int:
        return 1 + sum(1 for k, _ in self._entries(viewer, scope, since) if self._before(k, key))

    async def key_of(self, user_id: int, since: datetime | None) -> BoardKey | None:
        user = self._s.users.get(user_id)
        if user is None:
            return None
        if since is None:
            return BoardKey(user.rating, user_id)
        first = _utc_day(since)
        total = sum(
            p for (uid, d), p in self._s.rating_points.items() if uid == user_id and d >= first
        )
        return BoardKey(total, user_id) if total > 0 else None

    async def above(
        self, viewer: int, scope: Scope, since: datetime | None, key: BoardKey, limit: int
    ) -> list[tuple[BoardKey, Person]]:
        before = [e for e in self._entries(viewer, scope, since) if self._before(e[0], key)]
        return before[-limit:] if limit > 0 else []


def _median_seconds(durations: list[timedelta]) -> int | None:
    """The median duration in whole seconds, rounded down (the mean of the middle two of
    an even count), computed on whole microseconds as PostgreSQL does; None for none."""
    if not durations:
        return None
    micros = sorted(d // timedelta(microseconds=1) for d in durations)
    n = len(micros)
    middle = micros[n // 2] if n % 2 else (micros[n // 2 - 1] + micros[n // 2]) // 2
    return middle // 1_000_000


class InMemoryStatsRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def record_activity(self, user_id: int, day: date) -> None:
        if user_id in self._s.users:
            self._s.activity[(user_id, day)] = True

    def _active(self, first: date, last: date) -> int:
        return len({uid for (uid, d) in self._s.activity if first <= d <= last})

    async def series(self, start: date, end: date, interval_days: int) -> list[StatsPoint]:
        s = self._s
        points = []
        b = start
        while b <= end:
            last = b + timedelta(days=interval_days - 1)

            def within(at: datetime, b: date = b, last: date = last) -> bool:
                return b <= _utc_day(at) <= last

            days = [b + timedelta(days=i) for i in range(interval_days)]
            resolved = [
                c for c in s.cases.values()
                if c.status is CaseStatus.RESOLVED and c.decided_at is not None
                and within(c.decided_at)
            ]
            points.append(StatsPoint(
                start=b,
                new_users=sum(1 for u in s.users.values() if within(u.created_at)),
                dau=sum(self._active(d, d) for d in days) // interval_days,
                wau=self._active(last - timedelta(days=6), last),
                mau=self._active(last - timedelta(days=29), last),
                uploads=sum(1 for v in s.videos.values() if within(v.created_at)),
                reactions=sum(1 for r in s.reactions.values() if within(r.created_at)),
                comments=sum(1 for c in s.comments.values() if within(c.created_at)),
                reports_opened=sum(1 for c in s.cases.values() if within(c.opened_at)),
                reports_resolved=len(resolved),
                median_resolve_seconds=_median_seconds(
                    [c.decided_at - c.opened_at for c in resolved if c.decided_at]
                ),
            ))
            b = last + timedelta(days=1)
        return points

    async def user_totals(
        self, user_id: int, *, public_only: bool
    ) -> tuple[int, dict[str, int], int, int]:
        videos = [v for v in self._s.videos.values()
                  if v.author_id == user_id and v.status is VideoStatus.READY
                  and (not public_only or v.visibility is Visibility.PUBLIC)]
        reactions = no_reactions()
        for v in videos:
            for kind, n in v.reactions.items():
                reactions[kind] += n
        return (
            len(videos),
            reactions,
            sum(v.comment_count for v in videos),
            sum(1 for v in videos if v.on_time),
        )
