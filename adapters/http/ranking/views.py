"""Request and response views of the ranking area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import attrs

from adapters.http.schema import Schema, counts_of, one_of
from adapters.http.views import MediaUrl, NextCursor, UserCard
from momentic_core.model.engagement import ReactionKind
from momentic_core.model.ranking import (
    WEIGHT_MAX,
    Leaderboard,
    Moment,
    Period,
    RankingWeights,
    Scope,
    Standing,
    StatsPoint,
    UserStats,
)
from momentic_core.services.profiles import UNSET

# ---------------------------------------------------------------- the field types the wire
# shares; their bounds come from the rules and settings (schema.py turns them into JSON
# Schema for the OpenAPI document).

Day = Annotated[str, Schema(format="date", pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


# ---------------------------------------------------------------- ranking and statistics


@attrs.frozen
class MomentOut:
    day: Annotated[Day, Schema(description="Today in my time zone.")]
    time_zone: Annotated[str, Schema(description="My time zone (PATCH /v1/me).")]
    status: Annotated[str, Schema(enum=["upcoming", "open", "closed"], description=(
        "upcoming: the moment has not come (its time stays secret); open: within the "
        "window, a post now is on time; closed: the window has passed, a post now is "
        "late."))]
    moment_at: Annotated[datetime | None, Schema(description="null while upcoming.")]
    window_ends_at: Annotated[datetime | None, Schema(description="null while upcoming.")]
    window_seconds: Annotated[int, Schema(description=(
        "How long after the moment a post is on time (MOMENTIC_MOMENT_WINDOW_SECONDS)."))]

    @classmethod
    def of(cls, m: Moment, status: str) -> MomentOut:
        known = status != "upcoming"
        return cls(
            day=m.day.isoformat(),
            time_zone=m.time_zone,
            status=status,
            moment_at=m.at if known else None,
            window_ends_at=m.window_ends_at if known else None,
            window_seconds=int(m.window.total_seconds()),
        )


@attrs.frozen
class StandingOut:
    rank: Annotated[int, Schema(
        minimum=1, description="1 for the most points; ties are ranked by user id.")]
    points: int
    user: UserCard

    @classmethod
    def of(cls, s: Standing, media_url: MediaUrl) -> StandingOut:
        return cls(s.rank, s.points, UserCard.of(s.user, media_url))


@attrs.frozen
class LeaderboardOut:
    scope: Annotated[str, one_of(Scope)]
    period: Annotated[str, one_of(Period)]
    since: Annotated[datetime | None, Schema(description=(
        "The period's start (UTC midnight: today, this ISO week's Monday, the 1st of the "
        "month); null for all."))]
    items: list[StandingOut]
    next_cursor: NextCursor
    me: Annotated[StandingOut | None, Schema(
        description="My standing; null when I have no points in the period.")]
    neighbours: Annotated[list[StandingOut], Schema(description=(
        "Up to two just above me and two just below, best first; empty when me is null."))]

    @classmethod
    def of(cls, b: Leaderboard, next_cursor: str | None, media_url: MediaUrl) -> LeaderboardOut:
        return cls(
            scope=b.scope.value,
            period=b.period.value,
            since=b.since,
            items=[StandingOut.of(s, media_url) for s in b.items],
            next_cursor=next_cursor,
            me=StandingOut.of(b.me, media_url) if b.me else None,
            neighbours=[StandingOut.of(s, media_url) for s in b.neighbours],
        )


@attrs.frozen
class UserStatsOut:
    user_id: int
    videos: Annotated[int, Schema(description="Ready videos.")]
    reactions: Annotated[dict[str, int], counts_of(ReactionKind), Schema(
        description="Received on those videos, by kind.")]
    comments: Annotated[int, Schema(description="Comments and replies received.")]
    on_time_posts: int
    current_streak: Annotated[int, Schema(description=(
        "Consecutive local days with a post, up to today or yesterday; 0 once a day is "
        "missed."))]
    max_streak: int
    max_reactions: Annotated[int, Schema(description="The most reactions on one video.")]
    rating: int
    rank: Annotated[int | None, Schema(description=(
        "On the global all-time leaderboard; null for a banned or suspended account."))]
    views: Annotated[int | None, Schema(description=(
        "Views of my ready videos (one per viewer and UTC day); null in anyone else's "
        "stats."))]
    watched_seconds: Annotated[float | None, Schema(description=(
        "Total watch time of those views; null in anyone else's stats."))]
    completion_rate: Annotated[float | None, Schema(minimum=0, maximum=1, description=(
        "The share of those views that reached the end; null without views and in anyone "
        "else's stats."))]

    @classmethod
    def of(cls, s: UserStats) -> UserStatsOut:
        return cls(
            user_id=s.user.id,
            videos=s.videos,
            reactions=dict(s.reactions),
            comments=s.comments,
            on_time_posts=s.on_time_posts,
            current_streak=s.current_streak,
            max_streak=s.max_streak,
            max_reactions=s.user.max_reactions,
            rating=s.user.rating,
            rank=s.rank,
            views=s.watch.views if s.watch else None,
            watched_seconds=s.watch.watched_ms / 1000 if s.watch else None,
            completion_rate=s.watch.completion_rate if s.watch else None,
        )


@attrs.frozen
class StatsPointOut:
    start: Annotated[Day, Schema(
        description="The bucket's first day (UTC); a bucket is one day or seven.")]
    new_users: int
    dau: Annotated[int, Schema(description="Active users per day, averaged over the bucket.")]
    wau: Annotated[int, Schema(description=(
        "Distinct active users in the 7 days ending on the bucket's last day."))]
    mau: Annotated[int, Schema(description="... in the 30 days ending on it.")]
    uploads: int
    reactions: int
    comments: int

    @classmethod
    def of(cls, p: StatsPoint) -> StatsPointOut:
        # The fields this view shows, by name: a field the core adds stays off the wire
        # until the view (and the OpenAPI schema) take it up.
        values = {name: getattr(p, name) for name in attrs.fields_dict(cls)}
        values["start"] = p.start.isoformat()
        return cls(**values)


@attrs.frozen
class StatsOut:
    interval: Annotated[str, Schema(enum=["day", "week"])]
    points: list[StatsPointOut]


Weight = Annotated[int, Schema(minimum=0, maximum=WEIGHT_MAX)]


@attrs.frozen
class WeightsOut:
    heart: Weight
    flame: Weight
    funny: Weight
    angry: Weight
    comment: Weight
    on_time: Weight
    streak_day: Weight

    @classmethod
    def of(cls, w: RankingWeights) -> WeightsOut:
        return cls(**attrs.asdict(w))


@attrs.frozen
class WeightsPatchBody:
    """Some of the weights; the others stay. Checked by the core as it comes (422
    invalid_weights for anything else), so the handler passes the object on."""

    __schema__ = Schema(minProperties=1, additionalProperties=False)

    heart: Weight = UNSET
    flame: Weight = UNSET
    funny: Weight = UNSET
    angry: Weight = UNSET
    comment: Weight = UNSET
    on_time: Weight = UNSET
    streak_day: Weight = UNSET
