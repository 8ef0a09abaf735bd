"""Ratings, leaderboards, streaks, the daily moment and statistics."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

import attrs

from momentic_core.model.accounts import Person, User
from momentic_core.model.views import WatchTotals


@attrs.frozen
class RankingWeights:
    """Points per event; kept in the database, changed by admins (see policies.ranking)."""

    heart: int = 2
    flame: int = 3
    funny: int = 2
    angry: int = 0
    comment: int = 3
    on_time: int = 10
    streak_day: int = 5  # times the current streak

    def reaction(self, kind: str) -> int:
        value: int = getattr(self, kind)
        return value


WEIGHT_FIELDS: tuple[str, ...] = tuple(a.name for a in attrs.fields(RankingWeights))
WEIGHT_MAX = 1000


class Scope(enum.StrEnum):
    GLOBAL = "global"
    FRIENDS = "friends"


class Period(enum.StrEnum):
    ALL = "all"
    MONTH = "month"
    WEEK = "week"
    DAY = "day"


@attrs.frozen
class Standing:
    rank: int
    user: Person  # the user's public part only
    points: int


@attrs.frozen
class BoardKey:
    """A position on a leaderboard: more points first, then the smaller user id."""

    points: int
    user_id: int


@attrs.frozen
class Leaderboard:
    scope: Scope
    period: Period
    since: datetime | None  # the period's start (UTC); None for all time
    items: list[Standing]
    next: BoardKey | None
    me: Standing | None  # None when I have no points in the period
    neighbours: list[Standing]  # who is just above and just below me


@attrs.frozen
class StreakState:
    current: int = 0
    max: int = 0
    last_day: date | None = None


@attrs.frozen
class Moment:
    """The day's BeReal moment in one time zone."""

    day: date
    time_zone: str
    at: datetime
    window: timedelta

    @property
    def window_ends_at(self) -> datetime:
        """When posting stops being on time; the moment's push ("two minutes to post")
        is not sent after it."""
        return self.at + self.window

    @property
    def reminder_ends_at(self) -> datetime:
        """Until when the second reminder (pushed when the window closes: "the moment has
        passed, but you can still post") is worth sending: the end of the moment's day in
        its zone, before the next day's moment can come (it is never earlier than the
        day's start), or one window after the window closes if that is later (a moment
        just before midnight)."""
        try:
            zone: tzinfo = ZoneInfo(self.time_zone)
        except (ValueError, KeyError):
            zone = UTC
        midnight = datetime.combine(self.day + timedelta(days=1), time(0), zone)
        return max(midnight.astimezone(UTC), self.window_ends_at + self.window)


@attrs.frozen
class UserStats:
    user: User
    videos: int
    reactions: dict[str, int]  # received, by kind
    comments: int  # received
    on_time_posts: int
    current_streak: int
    max_streak: int
    rank: int | None  # on the global all-time board
    watch: WatchTotals | None = None  # the views of their ready videos: the user's own only


@attrs.frozen
class StatsPoint:
    """One bucket [start, start + interval) of the admin time series."""

    start: date
    new_users: int
    dau: int  # active users per day, averaged over the bucket's days (rounded down)
    wau: int  # distinct active users in the 7 days ending on the bucket's last day
    mau: int  # ... in the 30 days ending on it
    uploads: int
    reactions: int
    comments: int
    reports_opened: int = 0  # cases opened
    reports_resolved: int = 0  # cases resolved
    median_resolve_seconds: int | None = None  # of the cases resolved in the bucket


@attrs.frozen
class DayFacts:
    """What a user's posts earned on one UTC day, before weights."""

    reactions: dict[str, int] = attrs.Factory(dict)  # from others, by kind
    comments: int = 0  # (video, other commenter) pairs whose first visible comment is that day
    on_time: int = 0  # ready videos posted on time (policies.rating caps what they earn)


@attrs.frozen
class RatingFacts:
    """Everything a user's rating is computed from, read from the rows."""

    user_id: int
    time_zone: str
    days: dict[date, DayFacts]
    post_days: list[date]  # local days (in time_zone) with a ready video
    max_reactions: int  # the most reactions on one of their ready videos
