"""In-memory repositories and unit of work.

One ``MemoryStore`` holds every table as a dict. A unit of work holds the store's lock
for its whole life (so transactions are serial) and restores a snapshot on error.
The video, upload and job repositories live in ``adapters.memory.videos``.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta
from types import TracebackType
from typing import Any

import attrs

from momentic_core.errors import Conflict, NotFound
from momentic_core.model.accounts import (
    CodePurpose,
    ExternalIdentity,
    RateDecision,
    RefreshUse,
    Role,
    Session,
    User,
    VerificationCode,
)
from momentic_core.model.devices import Device, NotificationSettings
from momentic_core.model.engagement import Comment, LiveEvent, Notification
from momentic_core.model.mfa import Totp
from momentic_core.model.moderation import (
    Appeal,
    AuditEntry,
    Case,
    Report,
    RuntimeConfig,
    UserFilter,
)
from momentic_core.model.ranking import RankingWeights
from momentic_core.model.videos import Upload, Video, Visibility
from momentic_core.ports import RANKING_FIELDS, Clock

from .clock import SystemClock
from .devices import (
    InMemoryDeviceRepository,
    InMemoryNotificationSettingsRepository,
    forget_devices_of,
    forget_session,
)
from .engagement import (
    InMemoryCommentRepository,
    InMemoryEventOutbox,
    InMemoryNotificationRepository,
    InMemoryReactionRepository,
    ReactionRow,
    forget_engagement_of,
    forget_video,
    publish,
)
from .for_you import InMemoryForYouCandidates
from .mfa import InMemoryTotpRepository
from .moderation import (
    InMemoryAuditRepository,
    InMemoryConfigRepository,
    InMemoryModerationRepository,
    forget_moderation_of,
    search_users,
)
from .ranking import InMemoryRankingRepository, InMemoryStatsRepository
from .social import InMemoryFeedRepository, InMemorySocialRepository, SnapshotRow, forget_user
from .videos import (
    InMemoryJobQueue,
    InMemoryUploadRepository,
    InMemoryVideoRepository,
    JobRow,
    in_force,
)


@attrs.define
class _RefreshRow:
    session_id: int
    created_at: datetime
    used_at: datetime | None = None
    nonce: str | None = None


@attrs.define
class MemoryStore:
    users: dict[int, User] = attrs.Factory(dict)
    codes: dict[tuple[int, CodePurpose], VerificationCode] = attrs.Factory(dict)
    sessions: dict[int, Session] = attrs.Factory(dict)
    refresh_tokens: dict[str, _RefreshRow] = attrs.Factory(dict)
    identities: dict[tuple[str, str], ExternalIdentity] = attrs.Factory(dict)
    videos: dict[int, Video] = attrs.Factory(dict)
    uploads: dict[int, Upload] = attrs.Factory(dict)
    jobs: dict[int, JobRow] = attrs.Factory(dict)
    # Social tables (adapters.memory.social), keyed like their primary keys.
    friendships: dict[tuple[int, int], datetime] = attrs.Factory(dict)  # both directions
    friend_requests: dict[tuple[int, int], datetime] = attrs.Factory(dict)
    blocks: dict[tuple[int, int], datetime] = attrs.Factory(dict)
    video_views: dict[tuple[int, int], datetime] = attrs.Factory(dict)
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
    # Who hears committed live events (InMemoryLiveEventSource); not a table.
    listeners: list[Callable[[LiveEvent], None]] = attrs.Factory(list)
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
        "video_views",
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
    )

    def snapshot(self) -> dict[str, Any]:
        snap: dict[str, Any] = {t: dict(getattr(self, t)) for t in self._TABLES}
        snap["refresh_tokens"] = {k: attrs.evolve(v) for k, v in self.refresh_tokens.items()}
        return snap

    def restore(self, snap: dict[str, Any]) -> None:
        for table, rows in snap.items():
            setattr(self, table, rows)


class InMemoryUserRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    def _check_unique(self, user: User) -> None:
        for other in self._s.users.values():
            if other.id == user.id:
                continue
            if other.email.lower() == user.email.lower():
                raise Conflict("That email has an account.", code="email_taken")
            if other.nickname.lower() == user.nickname.lower():
                raise Conflict("That nickname is taken.", code="nickname_taken", field="nickname")

    async def add(self, user: User) -> User:
        user = attrs.evolve(user, id=next(self._s.ids))
        self._check_unique(user)
        self._s.users[user.id] = user
        return user

    async def get(self, user_id: int) -> User:
        try:
            return self._s.users[user_id]
        except KeyError:
            raise NotFound("No such user.", code="user_not_found") from None

    async def get_with_session(self, user_id: int, session_id: int) -> tuple[User, Session | None]:
        return await self.get(user_id), self._s.sessions.get(session_id)

    async def get_for_update(self, user_id: int) -> User:
        return await self.get(user_id)

    async def find_by_email(self, email: str) -> User | None:
        return next((u for u in self._s.users.values() if u.email.lower() == email.lower()), None)

    async def find_by_nickname(self, nickname: str) -> User | None:
        wanted = nickname.lower()
        return next((u for u in self._s.users.values() if u.nickname.lower() == wanted), None)

    async def update(self, user: User) -> User:
        stored = await self.get(user.id)
        self._check_unique(user)
        # Ratings and streaks belong to the ranking repository.
        user = attrs.evolve(user, **{f: getattr(stored, f) for f in RANKING_FIELDS})
        self._s.users[user.id] = user
        if user.private != stored.private:  # what the trigger on users.private does
            for video in [v for v in self._s.videos.values() if v.author_id == user.id]:
                self._s.videos[video.id] = in_force(self._s, video, choose=False)
        return user

    async def delete(self, user_id: int) -> None:
        s = self._s
        s.users.pop(user_id, None)
        s.codes = {k: v for k, v in s.codes.items() if k[0] != user_id}
        gone = {sid for sid, x in s.sessions.items() if x.user_id == user_id}
        s.sessions = {k: v for k, v in s.sessions.items() if k not in gone}
        s.refresh_tokens = {k: v for k, v in s.refresh_tokens.items() if v.session_id not in gone}
        s.identities = {k: v for k, v in s.identities.items() if v.user_id != user_id}
        forget_engagement_of(s, user_id)
        videos = {vid for vid, v in s.videos.items() if v.author_id == user_id}
        s.videos = {k: v for k, v in s.videos.items() if k not in videos}
        for vid in videos:
            forget_video(s, vid)
        s.uploads = {
            k: attrs.evolve(u, video_id=None) if u.video_id in videos else u
            for k, u in s.uploads.items()
            if u.user_id != user_id
        }
        forget_user(s, user_id)
        s.rating_points = {k: v for k, v in s.rating_points.items() if k[0] != user_id}
        s.activity = {k: v for k, v in s.activity.items() if k[0] != user_id}
        forget_moderation_of(s, user_id)
        forget_devices_of(s, user_id)
        s.totp.pop(user_id, None)

    async def search(self, where: UserFilter, after_id: int | None, limit: int) -> list[User]:
        return search_users(self._s, where, after_id, limit)

    async def count_with_role(self, role: Role) -> int:
        return sum(1 for u in self._s.users.values() if u.role is role)


class InMemoryCodeRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def put(self, code: VerificationCode) -> None:
        self._s.codes[(code.user_id, code.purpose)] = code

    async def get(self, user_id: int, purpose: CodePurpose) -> VerificationCode | None:
        return self._s.codes.get((user_id, purpose))

    async def record_failure(self, user_id: int, purpose: CodePurpose) -> int:
        code = self._s.codes.get((user_id, purpose))
        if code is None:
            return 0
        code = attrs.evolve(code, attempts=code.attempts + 1)
        self._s.codes[(user_id, purpose)] = code
        return code.attempts

    async def delete(self, user_id: int, purpose: CodePurpose) -> None:
        self._s.codes.pop((user_id, purpose), None)


class InMemorySessionRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def add(self, session: Session) -> Session:
        session = attrs.evolve(session, id=next(self._s.ids))
        self._s.sessions[session.id] = session
        return session

    async def get(self, session_id: int) -> Session | None:
        return self._s.sessions.get(session_id)

    async def list_for_user(self, user_id: int) -> list[Session]:
        live = [s for s in self._s.sessions.values() if s.user_id == user_id and not s.revoked_at]
        return sorted(live, key=lambda s: (s.last_used_at, s.id), reverse=True)

    async def page_for_user(self, user_id: int, after_id: int | None, limit: int) -> list[Session]:
        found = sorted(
            (s for s in self._s.sessions.values()
             if s.user_id == user_id and (after_id is None or s.id > after_id)),
            key=lambda s: s.id,
        )
        return found[: max(0, limit)]

    async def touch(self, session_id: int, at: datetime, ip: str | None) -> None:
        if (s := self._s.sessions.get(session_id)) is not None:
            self._s.sessions[session_id] = attrs.evolve(s, last_used_at=at, ip=ip or s.ip)

    async def revoke(self, session_id: int, at: datetime) -> None:
        s = self._s.sessions.get(session_id)
        if s is not None and s.revoked_at is None:
            self._s.sessions[session_id] = attrs.evolve(s, revoked_at=at)
            forget_session(self._s, session_id)

    async def revoke_all(self, user_id: int, at: datetime, keep: int | None = None) -> int:
        ids = [s.id for s in await self.list_for_user(user_id) if s.id != keep]
        for sid in ids:
            await self.revoke(sid, at)
        return len(ids)

    async def delete_ended(self, revoked_before: datetime, idle_before: datetime) -> int:
        gone = {
            s.id for s in self._s.sessions.values()
            if (s.revoked_at is not None and s.revoked_at < revoked_before)
            or s.last_used_at < idle_before
        }
        for sid in gone:
            del self._s.sessions[sid]
            forget_session(self._s, sid)  # ON DELETE CASCADE, as on PostgreSQL
        self._s.refresh_tokens = {
            h: row for h, row in self._s.refresh_tokens.items() if row.session_id not in gone
        }
        return len(gone)

    async def used_from(self, user_id: int, ip: str) -> bool:
        return any(s.user_id == user_id and s.ip == ip for s in self._s.sessions.values())

    async def add_refresh_token(self, token_hash: str, session_id: int, at: datetime) -> None:
        self._s.refresh_tokens[token_hash] = _RefreshRow(session_id=session_id, created_at=at)

    async def use_refresh_token(
        self, token_hash: str, at: datetime, nonce: str | None = None
    ) -> RefreshUse | None:
        row = self._s.refresh_tokens.get(token_hash)
        if row is None:
            return None
        if row.used_at is not None:
            return RefreshUse(row.session_id, True, row.used_at, row.nonce)
        row.used_at, row.nonce = at, nonce
        return RefreshUse(row.session_id, False, at, nonce)

    async def find_refresh_token(self, token_hash: str) -> RefreshUse | None:
        row = self._s.refresh_tokens.get(token_hash)
        if row is None:
            return None
        return RefreshUse(row.session_id, row.used_at is not None, row.used_at, row.nonce)


class InMemoryIdentityRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def find(self, provider: str, subject: str) -> ExternalIdentity | None:
        return self._s.identities.get((provider, subject))

    async def add(self, identity: ExternalIdentity) -> None:
        key = (identity.provider, identity.subject)
        if key in self._s.identities:
            raise Conflict("That identity is linked already.", code="identity_linked")
        self._s.identities[key] = identity

    async def list_for_user(self, user_id: int) -> list[ExternalIdentity]:
        return [i for i in self._s.identities.values() if i.user_id == user_id]


class InMemoryUnitOfWork:
    def __init__(
        self, store: MemoryStore, *, clock: Clock | None = None, read_only: bool = False
    ) -> None:
        self._store = store
        self._read_only = read_only  # checked: a write in a read-only block is a bug
        self.users = InMemoryUserRepository(store)
        self.codes = InMemoryCodeRepository(store)
        self.sessions = InMemorySessionRepository(store)
        self.identities = InMemoryIdentityRepository(store)
        self.videos = InMemoryVideoRepository(store)
        self.uploads = InMemoryUploadRepository(store)
        # The clock stamps enqueued jobs: pass the one the job runner uses.
        self.jobs = InMemoryJobQueue(store, clock or SystemClock())
        # The clock also tells whether a suspension is in force (feeds, lists, search).
        self.social = InMemorySocialRepository(store, clock or SystemClock())
        self.feeds = InMemoryFeedRepository(store, clock or SystemClock())
        self.candidates = InMemoryForYouCandidates(store, clock or SystemClock())
        now = (clock or SystemClock()).now
        self.reactions = InMemoryReactionRepository(store, now)
        self.comments = InMemoryCommentRepository(store, now)
        self.notifications = InMemoryNotificationRepository(store, now)
        self.events = InMemoryEventOutbox()
        self.ranking = InMemoryRankingRepository(store, now)
        self.stats = InMemoryStatsRepository(store)
        self.moderation = InMemoryModerationRepository(store)
        self.audit = InMemoryAuditRepository(store)
        self.config = InMemoryConfigRepository(store)
        self.devices = InMemoryDeviceRepository(store)
        self.notification_settings = InMemoryNotificationSettingsRepository(store)
        self.totp = InMemoryTotpRepository(store)
        self._snapshot: dict[str, Any] | None = None

    async def __aenter__(self) -> InMemoryUnitOfWork:
        task = asyncio.current_task()
        if self._store.lock.locked() and self._store.holder is task:
            # On PostgreSQL this would be a second transaction; here it would wait on
            # itself for ever. Fail at once instead of hanging the caller.
            raise RuntimeError("a unit of work was opened inside another in the same task")
        await self._store.lock.acquire()
        self._store.holder = task
        self._snapshot = self._store.snapshot()
        self.events.pending.clear()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc_type is not None and self._snapshot is not None:
                self._store.restore(self._snapshot)
            elif self._read_only and self._snapshot is not None:
                changed = [
                    table for table, rows in self._snapshot.items()
                    if getattr(self._store, table) != rows
                ] + (["events"] if self.events.pending else [])
                if changed:  # PostgreSQL would have committed these one by one
                    self._store.restore(self._snapshot)
                    raise RuntimeError(f"a read-only unit of work wrote {changed}")
            else:
                publish(self._store, self.events.pending)
        finally:
            self.events.pending = []
            self._snapshot = None
            self._store.holder = None
            self._store.lock.release()


class InMemoryRateLimiter:
    """Fixed windows per key, in this process only. Windows that ran out are dropped now
    and then (every ``PRUNE_EVERY`` hits), so keys that come once (addresses) never pile
    up."""

    PRUNE_EVERY = 10_000

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[datetime, int, timedelta]] = {}
        self._hits = 0

    def __len__(self) -> int:
        return len(self._windows)

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        now = self._clock.now()
        self._hits += 1
        if self._hits % self.PRUNE_EVERY == 0:
            self._windows = {
                k: w for k, w in self._windows.items() if w[0] + w[2] > now
            }
        start, count, _ = self._windows.get(key, (now, 0, window))
        if start + window <= now:
            start, count = now, 0
        count += 1
        self._windows[key] = (start, count, window)
        return RateDecision.of_window(count, limit, start + window - now, window)

    async def hit_many(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        return [await self.hit(key, limit, window) for key, limit, window in hits]
