"""Wire shapes of the v1 API: request bodies and response views, with domain -> view maps."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import attrs

from adapters.http.schema import Schema, counts_of, one_of
from momentic_core.model.accounts import (
    AccountStatus,
    ExternalIdentity,
    Role,
    Session,
    TokenPair,
    User,
)
from momentic_core.model.engagement import (
    CommentLike,
    CommentView,
    NotificationView,
    ReactionKind,
    Reactor,
    UserReaction,
)
from momentic_core.model.moderation import (
    Appeal,
    AuditEntry,
    Case,
    CaseView,
    Report,
    RuntimeConfig,
    StaffUserView,
)
from momentic_core.model.ranking import (
    Leaderboard,
    Moment,
    RankingWeights,
    Standing,
    StatsPoint,
    UserStats,
)
from momentic_core.model.social import Contact, FeedItem, Relation
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.policies.moments import late_by_seconds
from momentic_core.services.config import Effective
from momentic_core.services.profiles import EXPORT_SECTIONS, UNSET
from momentic_core.services.social import Profile
from momentic_core.services.throttle import DEFAULT_LIMITS
from momentic_core.services.visibility import shareable

MediaUrl = Callable[[str], str]
ShareUrl = Callable[[int], str]  # video id -> its share link (Services.share_url)

# ---------------------------------------------------------------- requests


@attrs.frozen
class RegisterBody:
    email: str
    password: str


@attrs.frozen
class VerifyBody:
    email: str
    code: str
    password: str
    device_name: str | None = None


@attrs.frozen
class EmailBody:
    email: str


@attrs.frozen
class TokenBody:
    grant_type: str
    email: str | None = None
    password: str | None = None
    refresh_token: str | None = None
    device_name: str | None = None


@attrs.frozen
class SocialBody:
    id_token: str
    nonce: str | None = None
    device_name: str | None = None


@attrs.frozen
class ResetConfirmBody:
    email: str
    code: str
    new_password: str


@attrs.frozen
class ChangePasswordBody:
    current_password: str
    new_password: str


@attrs.frozen
class DeleteAccountBody:
    password: str | None = None


@attrs.frozen
class ProfilePatchBody:
    """Absent fields stay as they are; ``null`` clears name, surname or bio."""

    nickname: str = attrs.field(default=UNSET)
    name: str | None = attrs.field(default=UNSET)
    surname: str | None = attrs.field(default=UNSET)
    bio: str | None = attrs.field(default=UNSET)
    time_zone: str = attrs.field(default=UNSET)
    private: bool = attrs.field(default=UNSET)


# ---------------------------------------------------------------- responses


@attrs.frozen
class TokenView:
    access_token: str
    token_type: Annotated[str, Schema(enum=["Bearer"])]
    expires_in: int
    refresh_token: str
    session_id: int

    @classmethod
    def of(cls, pair: TokenPair) -> TokenView:
        return cls(
            access_token=pair.access_token,
            token_type=pair.token_type,
            expires_in=pair.expires_in,
            refresh_token=pair.refresh_token,
            session_id=pair.session_id,
        )


def _profile_fields(u: User, media_url: MediaUrl) -> dict[str, Any]:
    """The fields every view of a user shares."""
    return {
        "id": u.id,
        "nickname": u.nickname,
        "name": u.name,
        "surname": u.surname,
        "bio": u.bio,
        "avatar_url": media_url(u.avatar_key) if u.avatar_key else None,
        "rating": u.rating,
        "current_streak": u.current_streak,
        "max_streak": u.max_streak,
        "max_reactions": u.max_reactions,
        "created_at": u.created_at,
    }


@attrs.frozen
class PublicUserView:
    id: int
    nickname: str
    relation: Annotated[str, one_of(Relation)]
    friend_count: int
    name: str | None
    surname: str | None
    bio: str | None
    avatar_url: str | None
    rating: int
    current_streak: int
    max_streak: int
    max_reactions: int
    created_at: datetime

    @classmethod
    def of(cls, p: Profile, media_url: MediaUrl) -> PublicUserView:
        return cls(
            relation=p.relation.value,
            friend_count=p.friend_count,
            **_profile_fields(p.user, media_url),
        )


@attrs.frozen
class MeView:
    id: int
    email: str
    email_verified: bool
    nickname: str
    name: str | None
    surname: str | None
    bio: str | None
    time_zone: str
    role: Annotated[str, one_of(Role)]
    status: Annotated[str, one_of(AccountStatus)]
    avatar_url: str | None
    rating: int
    current_streak: int
    max_streak: int
    max_reactions: int
    created_at: datetime
    private: bool  # my videos are for my friends only, whatever each upload said

    @classmethod
    def of(cls, u: User, media_url: MediaUrl) -> MeView:
        return cls(
            email=u.email,
            email_verified=u.email_verified,
            time_zone=u.time_zone,
            private=u.private,
            role=u.role.value,
            status=u.status.value,
            **_profile_fields(u, media_url),
        )


@attrs.frozen
class SessionView:
    id: int
    device_name: str | None
    ip: str | None
    created_at: datetime
    last_used_at: datetime
    current: bool

    @classmethod
    def of(cls, s: Session, current_id: int) -> SessionView:
        return cls(
            id=s.id,
            device_name=s.device_name,
            ip=s.ip,
            created_at=s.created_at,
            last_used_at=s.last_used_at,
            current=s.id == current_id,
        )


@attrs.frozen
class SessionList:
    items: list[SessionView]


@attrs.frozen
class Accepted:
    status: str
    message: str


# ---------------------------------------------------------------- videos


@attrs.frozen
class VideoPatchBody:
    description: str | None = None  # None (or absent): unchanged
    visibility: str | None = None


@attrs.frozen
class UploadBody:
    size_bytes: int
    content_type: str
    description: str | None = None
    visibility: str = "friends"


@attrs.frozen
class AuthorView:
    id: int
    nickname: str
    avatar_url: str | None

    @classmethod
    def of(cls, u: User, media_url: MediaUrl) -> AuthorView:
        return cls(u.id, u.nickname, media_url(u.avatar_key) if u.avatar_key else None)


@attrs.frozen
class VideoOut:
    id: int
    author: AuthorView
    description: str
    visibility: Annotated[str, one_of(Visibility)]
    status: Annotated[str, one_of(VideoStatus)] = attrs.field(metadata={
        "description": "held (reported past the threshold) and removed (by a moderator) only "
                       "ever reach the author."})
    status_reason: str | None = attrs.field(metadata={
        "description": "Why a video was rejected or failed: undecodable, too_long, ..."})
    duration_seconds: float | None
    size_bytes: int | None
    width: int | None
    height: int | None
    playback_url: str | None = attrs.field(metadata={
        "description": "Expiring signed URL (or CDN URL); only when ready."})
    thumbnail_url: str | None
    share_url: str | None = attrs.field(metadata={
        "description": "The video's web page, for anyone with the link (GET /v/{slug}: "
                       "the player and a link preview): only while the video is public "
                       "and ready; null otherwise."})
    created_at: datetime
    ready_at: datetime | None
    locked: bool = attrs.field(metadata={
        "description": "BeReal lock: a friend's moment of today before I posted mine; playback "
                       "and thumbnail URLs are null."})
    reactions: Annotated[dict[str, int], counts_of(ReactionKind)]
    comment_count: int = attrs.field(metadata={"description": "Comments and replies."})
    view_count: int = attrs.field(metadata={
        "description": "Views: one per viewer and UTC day (POST /v1/videos/{id}/view), the "
                       "author's never."})
    my_reaction: Annotated[str | None, Schema(enum=[*(k.value for k in ReactionKind), None])] = (
        attrs.field(metadata={"description": "My reaction to it, or null."}))
    moment_at: datetime | None = attrs.field(metadata={
        "description": "The daily moment the post answers: the latest moment of the author's "
                       "time zone at or before created_at."})
    on_time: bool = attrs.field(metadata={
        "description": "Posted within the moment's window (GET /v1/moments/today "
                       "window_seconds) after moment_at."})
    late_by_seconds: Annotated[int | None, Schema(minimum=0)] = attrs.field(metadata={
        "description": "Seconds from moment_at to created_at when late; null when on time (or "
                       "moment_at is null)."})

    @classmethod
    def of(
        cls,
        v: Video,
        author: User,
        media_url: MediaUrl,
        locked: bool = False,
        my_reaction: str | None = None,
        *,
        share_url: ShareUrl | None = None,
    ) -> VideoOut:
        # BeReal: a locked moment shows who and when, not what (no media URLs).
        ready = v.status is VideoStatus.READY and not locked
        return cls(
            id=v.id,
            author=AuthorView.of(author, media_url),
            description=v.description,
            visibility=v.visibility.value,
            status=v.status.value,
            status_reason=v.status_reason,
            duration_seconds=v.duration_seconds,
            size_bytes=v.size_bytes,
            width=v.width,
            height=v.height,
            playback_url=media_url(v.playback_key) if ready and v.playback_key else None,
            thumbnail_url=media_url(v.thumbnail_key) if ready and v.thumbnail_key else None,
            share_url=(share_url(v.id) if share_url and ready and shareable(v, author)
                       else None),
            created_at=v.created_at,
            ready_at=v.ready_at,
            locked=locked,
            reactions=dict(v.reactions),
            comment_count=v.comment_count,
            view_count=v.view_count,
            my_reaction=my_reaction,
            moment_at=v.moment_at,
            on_time=v.on_time,
            late_by_seconds=late_by_seconds(v.moment_at, v.on_time, v.created_at),
        )


@attrs.frozen
class VideoPage:
    items: list[VideoOut]
    next_cursor: str | None


@attrs.frozen
class ViewBody:
    watched_seconds: float


@attrs.frozen
class ViewOut:
    __schema_name__ = "ViewRecorded"

    video_id: int
    counted: bool
    watched_seconds: float | None
    completed: bool
    view_count: int


@attrs.frozen
class PartOut:
    __schema_name__ = "UploadPart"  # "Part" is the answer of PUT .../parts/{part}

    number: int
    size_bytes: int
    url: str
    method: str
    received: bool


@attrs.frozen
class UploadOut:
    id: int
    status: str  # open | complete
    size_bytes: int
    content_type: str
    part_size: int
    parts: list[PartOut]
    video_id: int | None
    created_at: datetime
    expires_at: datetime


@attrs.frozen
class ConfigOut:
    max_video_bytes: int
    max_video_seconds: float
    accepted_video_types: list[str]
    description_max_length: int
    visibilities: list[str]
    avatar_max_bytes: int
    avatar_types: list[str]
    upload_part_size: int
    max_devices_per_user: int  # push devices per account (POST /v1/me/devices)


# ---------------------------------------------------------------- friends and feeds


@attrs.frozen
class FriendRequestBody:
    user_id: int | None = None
    nickname: str | None = None


@attrs.frozen
class UserCard:
    id: int
    nickname: str
    name: str | None
    surname: str | None
    avatar_url: str | None

    @classmethod
    def of(cls, u: User, media_url: MediaUrl) -> UserCard:
        avatar = media_url(u.avatar_key) if u.avatar_key else None
        return cls(u.id, u.nickname, u.name, u.surname, avatar)


@attrs.frozen
class ContactOut:
    user: UserCard
    since: datetime


@attrs.frozen
class ContactPage:
    items: list[ContactOut]
    next_cursor: str | None


@attrs.frozen
class UserSearchPage:
    items: list[UserCard]
    next_cursor: str | None


@attrs.frozen
class RelationOut:
    relation: str


@attrs.frozen
class FeedItemOut:
    video: VideoOut
    reactions: dict[str, int]
    my_reaction: str | None
    comment_count: int
    locked: bool
    created_at: datetime

    @classmethod
    def of(
        cls, item: FeedItem, media_url: MediaUrl, share_url: ShareUrl | None = None
    ) -> FeedItemOut:
        video = VideoOut.of(item.video, item.author, media_url, locked=item.locked,
                            my_reaction=item.my_reaction, share_url=share_url)
        return cls(
            video=video,
            reactions=dict(item.reactions),
            my_reaction=item.my_reaction,
            comment_count=item.comment_count,
            locked=item.locked,
            created_at=item.video.created_at,
        )


@attrs.frozen
class FeedPageOut:
    items: list[FeedItemOut]
    next_cursor: str | None
    prev_cursor: str | None


@attrs.frozen
class FriendsFeedOut:
    day: str
    locked: bool
    items: list[FeedItemOut]
    next_cursor: str | None
    prev_cursor: str | None


@attrs.frozen
class RankedPageOut:
    items: list[FeedItemOut]
    next_cursor: str | None


# ---------------------------------------------------------------- reactions and comments


@attrs.frozen
class ReactionBody:
    kind: str


@attrs.frozen
class ReactionsOut:
    video_id: int
    reactions: dict[str, int]
    my_reaction: str | None


@attrs.frozen
class ReactorOut:
    user: UserCard
    kind: str
    created_at: datetime

    @classmethod
    def of(cls, r: Reactor, media_url: MediaUrl) -> ReactorOut:
        return cls(UserCard.of(r.user, media_url), r.kind.value, r.created_at)


@attrs.frozen
class ReactorPage:
    items: list[ReactorOut]
    next_cursor: str | None


@attrs.frozen
class CommentBody:
    body: str
    parent_id: int | None = None


@attrs.frozen
class CommentPatchBody:
    body: str


@attrs.frozen
class CommentOut:
    id: int
    video_id: int
    parent_id: int | None
    author: UserCard
    body: str
    created_at: datetime
    edited_at: datetime | None
    like_count: int
    reply_count: int
    liked_by_me: bool

    @classmethod
    def of(cls, view: CommentView, media_url: MediaUrl) -> CommentOut:
        c = view.comment
        return cls(
            id=c.id,
            video_id=c.video_id,
            parent_id=c.parent_id,
            author=UserCard.of(view.author, media_url),
            body=c.body,
            created_at=c.created_at,
            edited_at=c.edited_at,
            like_count=c.like_count,
            reply_count=c.reply_count,
            liked_by_me=view.liked_by_me,
        )


@attrs.frozen
class CommentPage:
    items: list[CommentOut]
    next_cursor: str | None


@attrs.frozen
class LikeOut:
    comment_id: int
    like_count: int
    liked_by_me: bool


# ---------------------------------------------------------------- notifications


@attrs.frozen
class NotificationOut:
    id: int
    kind: str
    created_at: datetime
    read_at: datetime | None
    actor: UserCard | None
    video_id: int | None
    comment_id: int | None
    text: str | None

    @classmethod
    def of(cls, view: NotificationView, media_url: MediaUrl) -> NotificationOut:
        n = view.notification
        return cls(
            id=n.id,
            kind=n.kind.value,
            created_at=n.created_at,
            read_at=n.read_at,
            actor=UserCard.of(view.actor, media_url) if view.actor else None,
            video_id=n.video_id,
            comment_id=n.comment_id,
            text=n.text,
        )


@attrs.frozen
class NotificationPage:
    items: list[NotificationOut]
    unread_count: int
    next_cursor: str | None


@attrs.frozen
class MarkedRead:
    marked_read: int


# ---------------------------------------------------------------- moderation


@attrs.frozen
class BanBody:
    reason: str


@attrs.frozen
class SuspendBody:
    reason: str
    duration_seconds: int


@attrs.frozen
class AccountStatusOut:
    user_id: int
    status: Annotated[str, one_of(AccountStatus)]
    suspended_until: datetime | None

    @classmethod
    def of(cls, u: User) -> AccountStatusOut:
        return cls(u.id, u.status.value, u.suspended_until)


# ---------------------------------------------------------------- ranking and statistics


@attrs.frozen
class MomentOut:
    day: str
    time_zone: str
    status: str  # upcoming | open | closed
    moment_at: datetime | None  # null while upcoming: the time stays secret until then
    window_ends_at: datetime | None
    window_seconds: int

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
    rank: int
    points: int
    user: UserCard

    @classmethod
    def of(cls, s: Standing, media_url: MediaUrl) -> StandingOut:
        return cls(s.rank, s.points, UserCard.of(s.user, media_url))


@attrs.frozen
class LeaderboardOut:
    scope: str
    period: str
    since: datetime | None
    items: list[StandingOut]
    next_cursor: str | None
    me: StandingOut | None
    neighbours: list[StandingOut]

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
    videos: int
    reactions: dict[str, int]
    comments: int
    on_time_posts: int
    current_streak: int
    max_streak: int
    max_reactions: int
    rating: int
    rank: int | None

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
        )


@attrs.frozen
class StatsPointOut:
    start: str
    new_users: int
    dau: int
    wau: int
    mau: int
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
    interval: str
    points: list[StatsPointOut]


@attrs.frozen
class WeightsOut:
    heart: int
    flame: int
    funny: int
    angry: int
    comment: int
    on_time: int
    streak_day: int

    @classmethod
    def of(cls, w: RankingWeights) -> WeightsOut:
        return cls(**attrs.asdict(w))


# ---------------------------------------------------------------- reports, cases, appeals


@attrs.frozen
class ReportBody:
    target_type: str
    target_id: int
    reason: str
    note: str | None = None


@attrs.frozen
class ResolveBody:
    action: str
    reason: str
    duration_seconds: int | None = None


@attrs.frozen
class AppealBody:
    """``email`` and ``password`` stand in for the token of a banned or suspended account."""

    case_id: int
    body: str
    email: str | None = None
    password: str | None = None


@attrs.frozen
class DecideBody:
    accept: bool
    reason: str


@attrs.frozen
class ReportOut:
    id: int
    case_id: int
    reporter_id: int
    reason: str
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, r: Report) -> ReportOut:
        return cls(r.id, r.case_id, r.reporter_id, r.reason.value, r.note, r.created_at)


@attrs.frozen
class TargetOut:
    type: str
    id: int
    owner: UserCard | None
    text: str | None
    status: str
    video_id: int | None
    thumbnail_url: str | None


def _case_fields(c: Case) -> dict[str, Any]:
    """The fields every view of a case shares."""
    return {
        "id": c.id,
        "target_type": c.target_type.value,
        "target_id": c.target_id,
        "owner_id": c.owner_id,
        "status": c.status.value,
        "report_count": c.report_count,
        "reasons": [r.value for r in c.reasons],
        "held": c.held,
        "assignee_id": c.assignee_id,
        "opened_at": c.opened_at,
        "action": c.action.value if c.action else None,
        "decided_by": c.decided_by,
        "decided_at": c.decided_at,
        "decision_reason": c.decision_reason,
        "suspended_until": c.suspended_until,
    }


@attrs.frozen
class CaseOut:
    id: int
    target_type: str
    target_id: int
    owner_id: int
    status: str
    report_count: int
    reasons: list[str]
    held: bool
    assignee_id: int | None
    opened_at: datetime
    action: str | None
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None
    suspended_until: datetime | None

    @classmethod
    def of(cls, c: Case) -> CaseOut:
        return cls(**_case_fields(c))


@attrs.frozen
class CaseDetailOut(CaseOut):
    """A case with what a moderator needs to judge it."""

    target: TargetOut | None  # null once the target is gone
    reports: list[ReportOut]

    @classmethod
    def of(  # type: ignore[override]
        cls, view: CaseView, media_url: MediaUrl
    ) -> CaseDetailOut:
        t = view.target
        target = None
        if t is not None:
            target = TargetOut(
                type=t.type.value,
                id=t.id,
                owner=UserCard.of(t.owner, media_url) if t.owner else None,
                text=t.text,
                status=t.status,
                video_id=t.video_id,
                thumbnail_url=media_url(t.thumbnail_key) if t.thumbnail_key else None,
            )
        return cls(
            target=target,
            reports=[ReportOut.of(r) for r in view.reports],
            **_case_fields(view.case),
        )


@attrs.frozen
class CasePage:
    items: list[CaseDetailOut]
    next_cursor: str | None


@attrs.frozen
class AppealOut:
    id: int
    case_id: int
    user_id: int
    body: str
    status: str
    created_at: datetime
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None

    @classmethod
    def of(cls, a: Appeal) -> AppealOut:
        return cls(
            id=a.id, case_id=a.case_id, user_id=a.user_id, body=a.body, status=a.status.value,
            created_at=a.created_at, decided_by=a.decided_by, decided_at=a.decided_at,
            decision_reason=a.decision_reason,
        )


@attrs.frozen
class AppealPage:
    items: list[AppealOut]
    next_cursor: str | None


# ---------------------------------------------------------------- administration


@attrs.frozen
class RoleBody:
    role: str


@attrs.frozen
class SettingsPatchBody:
    changes: dict[str, Any]
    reason: str | None = None


@attrs.frozen
class AdminUserOut:
    id: int
    email: str | None  # None for moderators: only admins see addresses
    email_verified: bool
    nickname: str
    name: str | None
    surname: str | None
    avatar_url: str | None
    role: str
    status: str
    suspended_until: datetime | None
    strikes: int
    created_at: datetime

    @classmethod
    def of(cls, row: StaffUserView, media_url: MediaUrl) -> AdminUserOut:
        u = row.user
        return cls(
            id=u.id, email=row.email, email_verified=u.email_verified, nickname=u.nickname,
            name=u.name, surname=u.surname,
            avatar_url=media_url(u.avatar_key) if u.avatar_key else None,
            role=u.role.value, status=u.status.value, suspended_until=u.suspended_until,
            strikes=row.strikes, created_at=u.created_at,
        )


@attrs.frozen
class AdminUserPage:
    items: list[AdminUserOut]
    next_cursor: str | None


@attrs.frozen
class RoleOut:
    user_id: int
    role: str

    @classmethod
    def of(cls, u: User) -> RoleOut:
        return cls(u.id, u.role.value)


@attrs.frozen
class AuditOut:
    id: int
    actor_id: int | None  # null: the operator (the momentic command)
    action: str
    target_type: str | None
    target_id: int | None
    reason: str | None
    created_at: datetime
    data: dict[str, Any]

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(e.id, e.actor_id, e.action, e.target_type, e.target_id, e.reason,
                   e.created_at, dict(e.data))


@attrs.frozen
class AuditPage:
    items: list[AuditOut]
    next_cursor: str | None


def _limits(limits: dict[str, tuple[int, int]]) -> dict[str, dict[str, int]]:
    return {name: {"count": c, "window_seconds": s} for name, (c, s) in sorted(limits.items())}


@attrs.frozen
class SettingsOut:
    """What is in force, what admins stored over the deployment's values (null: not set),
    and the rate limits an override replaces (both before MOMENTIC_RATE_LIMIT_MULTIPLIER,
    which scales them alike)."""

    effective: dict[str, Any]
    stored: dict[str, Any]
    rate_limit_defaults: dict[str, dict[str, int]]

    @classmethod
    def of(cls, effective: Effective, stored: RuntimeConfig) -> SettingsOut:
        def values(source: Any) -> dict[str, Any]:
            out = attrs.asdict(source, recurse=False)
            domains = out["allowed_email_domains"]
            out["allowed_email_domains"] = list(domains) if domains is not None else None
            out["rate_limits"] = _limits(out["rate_limits"])
            return out

        defaults = {name: (limit.count, int(limit.window.total_seconds()))
                    for name, limit in DEFAULT_LIMITS.items()}
        # The admin settings only: deployment-only values (max_devices_per_user) are
        # published where they apply (GET /v1/config).
        now = {k: v for k, v in values(effective).items() if k in values(stored)}
        return cls(now, values(stored), _limits(defaults))


# ---------------------------------------------------------------- data export
# GET /v1/me/export: the item views of each section (momentic_core.services.profiles
# EXPORT_SECTIONS), the shared views where one fits.


@attrs.frozen
class ExportSessionOut(SessionView):
    revoked_at: datetime | None

    @classmethod
    def of(cls, s: Session, current_id: int) -> ExportSessionOut:
        return cls(revoked_at=s.revoked_at, **attrs.asdict(SessionView.of(s, current_id)))


@attrs.frozen
class IdentityOut:
    provider: str
    email: str | None
    linked_at: datetime

    @classmethod
    def of(cls, i: ExternalIdentity) -> IdentityOut:
        return cls(i.provider, i.email, i.created_at)


@attrs.frozen
class ExportCommentOut(CommentOut):
    hidden: bool  # by moderation: held past the report threshold, or removed

    @classmethod
    def of(cls, view: CommentView, media_url: MediaUrl) -> ExportCommentOut:
        shared = CommentOut.of(view, media_url)
        return cls(hidden=view.comment.hidden,
                   **{f.name: getattr(shared, f.name) for f in attrs.fields(CommentOut)})


@attrs.frozen
class UserReactionOut:
    video_id: int
    kind: str
    created_at: datetime

    @classmethod
    def of(cls, r: UserReaction) -> UserReactionOut:
        return cls(r.video_id, r.kind.value, r.created_at)


@attrs.frozen
class CommentLikeOut:
    comment_id: int
    video_id: int
    created_at: datetime

    @classmethod
    def of(cls, like: CommentLike) -> CommentLikeOut:
        return cls(like.comment_id, like.video_id, like.created_at)


@attrs.frozen
class FiledReportOut(ReportOut):
    """A report I filed, with what it was about (not the case: others' reports)."""

    target_type: str
    target_id: int

    @classmethod
    def of(  # type: ignore[override]
        cls, r: Report, case: Case
    ) -> FiledReportOut:
        return cls(target_type=case.target_type.value, target_id=case.target_id,
                   **attrs.asdict(ReportOut.of(r)))


def export_views(
    user: User, current_session: int, media_url: MediaUrl,
    share_url: ShareUrl | None = None,
) -> dict[str, Callable[[Any], Any]]:
    """Section name -> the view of one of its items, for ``user``'s export."""

    def video(item: tuple[Video, ReactionKind | None]) -> VideoOut:
        v, mine = item
        return VideoOut.of(v, user, media_url, my_reaction=mine.value if mine else None,
                           share_url=share_url)

    def contact(c: Contact) -> ContactOut:
        return ContactOut(UserCard.of(c.user, media_url), c.since)

    views: dict[str, Callable[[Any], Any]] = {
        "videos": video,
        "comments": lambda view: ExportCommentOut.of(view, media_url),
        "reactions": UserReactionOut.of,
        "comment_likes": CommentLikeOut.of,
        "friends": contact,
        "friend_requests_sent": contact,
        "friend_requests_received": contact,
        "blocks": contact,
        "reports": lambda pair: FiledReportOut.of(*pair),
        "appeals": AppealOut.of,
        "notifications": lambda view: NotificationOut.of(view, media_url),
        "sessions": lambda s: ExportSessionOut.of(s, current_session),
        "linked_identities": IdentityOut.of,
        "audit": AuditOut.of,
    }
    assert tuple(views) == EXPORT_SECTIONS, "one view per export section, in order"
    return views
