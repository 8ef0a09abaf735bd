"""The in-memory tables: one ``MemoryStore`` holds every table as a dict.

A leaf of this package: it imports none of its modules, so every repository module may
name it, and the row types that only memory keeps live here with it. The repositories
live by area (``adapters.memory.videos``, ``.social``, ...; users, codes, sessions and
identities in ``.repositories``); ``adapters.memory.uow`` opens units of work on a store.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import attrs

from momentic_core.model.accounts import (
    CodePurpose,
    ExternalIdentity,
    Session,
    User,
    VerificationCode,
)
from momentic_core.model.devices import Device, NotificationSettings
from momentic_core.model.engagement import Comment, Notification, ReactionKind
from momentic_core.model.events import Event
from momentic_core.model.jobs import Job
from momentic_core.model.mfa import Totp
from momentic_core.model.moderation import Appeal, AuditEntry, Case, Report, RuntimeConfig
from momentic_core.model.ranking import RankingWeights
from momentic_core.model.videos import Upload, Video, Visibility
from momentic_core.ports import RateLimiter


@attrs.frozen
class ReactionRow:
    kind: ReactionKind
    created_at: datetime


@attrs.frozen
class SnapshotRow:
    user_id: int
    created_at: datetime
    video_ids: tuple[int, ...]


@attrs.frozen
class JobRow:
    """A stored job with the bookkeeping the model does not show."""

    job: Job
    locked_until: datetime | None
    dedupe_key: str | None
    updated_at: datetime


@attrs.frozen
class ViewRow:
    """One viewer's view of a video on one UTC day (adapters.memory.views)."""

    watched_ms: int
    completed: bool
    first_at: datetime
    last_at: datetime


@attrs.define
class RefreshRow:
    session_id: int
    created_at: datetime
    used_at: datetime | None = None
    nonce: str | None = None


@attrs.define
class MemoryStore:
    users: dict[int, User] = attrs.Factory(dict)
    codes: dict[tuple[int, CodePurpose], VerificationCode] = attrs.Factory(dict)
    sessions: dict[int, Session] = attrs.Factory(dict)
    refresh_tokens: dict[str, RefreshRow] = attrs.Factory(dict)
    identities: dict[tuple[str, str], ExternalIdentity] = attrs.Factory(dict)
    videos: dict[int, Video] = attrs.Factory(dict)
    uploads: dict[int, Upload] = attrs.Factory(dict)
    jobs: dict[int, JobRow] = attrs.Factory(dict)
    # Social tables (adapters.memory.social), keyed like their primary keys.
    friendships: dict[tuple[int, int], datetime] = attrs.Factory(dict)  # both directions
    friend_requests: dict[tuple[int, int], datetime] = attrs.Factory(dict)
    blocks: dict[tuple[int, int], datetime] = attrs.Factory(dict)
    mutes: dict[tuple[int, int], datetime] = attrs.Factory(dict)  # (muter, muted)
    video_views: dict[tuple[int, int], datetime] = attrs.Factory(dict)
    # (video, viewer, UTC day) -> the day's view (adapters.memory.views)
    daily_views: dict[tuple[int, int, date], ViewRow] = attrs.Factory(dict)
    feed_snapshots: dict[int, SnapshotRow] = attrs.Factory(dict)
    for_you_candidates: dict[int, float] = attrs.Factory(dict)  # video -> base score
    for_you_refresh: dict[int, datetime] = attrs.Factory(dict)  # one row, key 1
    # Engagement tables (adapters.memory.engagement).
    reactions: dict[tuple[int, int], ReactionRow] = attrs.Factory(dict)  # (video, user)
    comments: dict[int, Comment] = attrs.Factory(dict)
    comment_likes: dict[tuple[int, int], datetime] = attrs.Factory(dict)  # (comment, user)
    notifications: dict[int, Notification] = attrs.Factory(dict)
    # Ranking and statistics tables (adapters.memory.ranking).
    rating_points: dict[tuple[int, date], int] = attrs.Factory(dict)  # (user, UTC day)
    ranking_weights: dict[int, RankingWeights] = attrs.Factory(dict)  # one row, key 1
    activity: dict[tuple[int, date], bool] = attrs.Factory(dict)  # (user, UTC day)
    # Moderation tables (adapters.memory.moderation).
    cases: dict[int, Case] = attrs.Factory(dict)
    reports: dict[int, Report] = attrs.Factory(dict)
    appeals: dict[int, Appeal] = attrs.Factory(dict)
    strikes: dict[int, tuple[int, datetime]] = attrs.Factory(dict)  # case -> (user, at)
    audit: dict[int, AuditEntry] = attrs.Factory(dict)
    config: dict[int, RuntimeConfig] = attrs.Factory(dict)  # one row, key 1
    # Push tables (adapters.memory.devices).
    devices: dict[int, Device] = attrs.Factory(dict)
    notification_settings: dict[int, NotificationSettings] = attrs.Factory(dict)
    push_claims: dict[str, datetime] = attrs.Factory(dict)
    totp: dict[int, Totp] = attrs.Factory(dict)  # adapters.memory.mfa, by user
    # What each video's upload (or last edit) chose; videos hold the visibility in force
    # (a private author's are friends-only: adapters.memory.videos.in_force).
    chosen_visibility: dict[int, Visibility] = attrs.Factory(dict)
    # (author, SHA-256) of removed videos their author deleted (migration 20261207_79).
    removed_contents: dict[tuple[int, str], datetime] = attrs.Factory(dict)
    # The rate-limit counters a unit of work counts in (``UnitOfWork.rate_limits``): the
    # storage's limiter; not a table (a count stays when the block rolls back).
    rate_limits: RateLimiter | None = None
    # Who hears committed live events (InMemoryLiveEventSource); not a table.
    listeners: list[Callable[[Event], None]] = attrs.Factory(list)
    ids: itertools.count[int] = attrs.Factory(lambda: itertools.count(1))
    lock: asyncio.Lock = attrs.Factory(asyncio.Lock)
    holder: asyncio.Task[Any] | None = None  # the task whose unit of work holds ``lock``

    _TABLES = (
        "users",
        "codes",
        "sessions",
        "refresh_tokens",
        "identities",
        "videos",
        "uploads",
        "jobs",
        "friendships",
        "friend_requests",
        "blocks",
        "mutes",
        "video_views",
        "daily_views",
        "feed_snapshots",
        "for_you_candidates",
        "for_you_refresh",
        "reactions",
        "comments",
        "comment_likes",
        "notifications",
        "rating_points",
        "ranking_weights",
        "activity",
        "cases",
        "reports",
        "appeals",
        "strikes",
        "audit",
        "config",
        "devices",
        "notification_settings",
        "push_claims",
        "totp",
        "chosen_visibility",
        "removed_contents",
    )

    def snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = {t: dict(getattr(self, t)) for t in self._TABLES}
        snap["refresh_tokens"] = {k: attrs.evolve(v) for k, v in self.refresh_tokens.items()}
        return snap

    def restore(self, snap: dict[str, Any]) -> None:
        for table, rows in snap.items():
            setattr(self, table, rows)
