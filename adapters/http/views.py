"""Wire shapes of the v1 API: request bodies and response views, with domain -> view maps."""

from __future__ import annotations

import typing
import zoneinfo
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

import attrs

from adapters.http.schema import (
    ID_MAX,
    Named,
    Schema,
    comment_text,
    counts_of,
    filled_text,
    one_of,
    text,
)
from adapters.http.views_devices import DeviceView, NotificationSettingsView
from momentic_core.model.accounts import (
    AccountStatus,
    ExternalIdentity,
    Person,
    Role,
    Session,
    TokenPair,
    User,
)
from momentic_core.model.engagement import (
    Comment,
    CommentLike,
    CommentView,
    Notification,
    NotificationKind,
    NotificationView,
    ReactionKind,
    Reactor,
    UserReaction,
)
from momentic_core.model.mfa import MfaStatus
from momentic_core.model.moderation import (
    Action,
    Appeal,
    AppealStatus,
    AuditEntry,
    Case,
    CaseStatus,
    CaseView,
    Report,
    ReportReason,
    RuntimeConfig,
    StaffUserView,
    TargetType,
)
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
from momentic_core.model.social import Contact, FeedItem, Relation
from momentic_core.model.videos import MediaLimits, Video, VideoStatus, Visibility
from momentic_core.model.views import WatchedDay
from momentic_core.policies import rules
from momentic_core.policies import views as view_rules
from momentic_core.policies.moments import late_by_seconds
from momentic_core.services.config import FOR_YOU_WEIGHT_MAX, MAX_RATE_WINDOW, SettingsInForce
from momentic_core.services.moderation import (
    APPEAL_MAX,
    MAX_SUSPENSION,
    NOTE_MAX,
    REASON_MAX,
)
from momentic_core.services.profiles import EXPORT_SECTIONS, UNSET
from momentic_core.services.social import Profile
from momentic_core.services.throttle import DEFAULT_LIMITS
from momentic_core.services.visibility import shareable


class MediaUrl(typing.Protocol):
    """URLs clients fetch stored media by (``Services.media_url``: an
    ``adapters.media_urls.MediaUrls``)."""

    def __call__(self, key: str, /) -> str:
        """Any key, at a URL for whoever may see what it belongs to."""
        ...

    def of_video(self, key: str, video: Video) -> str:
        """A file of ``video`` (its MP4, its thumbnail), as its visibility allows."""
        ...

    def hls(self, video: Video) -> str | None:
        """Its HLS master playlist; None for a video without one."""
        ...

    def origins(self) -> tuple[str, ...]:
        """scheme://host[:port] of every URL it hands out (for a Content-Security-Policy)."""
        ...


# ---------------------------------------------------------------- the field types the wire
# shares; their bounds come from the rules and settings (schema.py turns them into JSON
# Schema for the OpenAPI document).

_LIMITS = MediaLimits()  # the fixed ones (GET /v1/config publishes those in force)
_ID = Schema(minimum=1, maximum=ID_MAX, example=42)
Id = Annotated[int, _ID]  # a row id in a body
_EMAIL = Schema(format="email", maxLength=254, example="alex@bsu.by")
Email = Annotated[str, _EMAIL]
NewPassword = Annotated[str, Schema(
    minLength=rules.PASSWORD_MIN, maxLength=rules.PASSWORD_MAX,
    description="A new password may not be a commonly used one (422 password_too_common).")]
EmailCode = Annotated[str, Schema(pattern="^[0-9]{6}$", example="123456")]
DeviceName = Annotated[str | None, text(
    rules.DEVICE_NAME_MAX, "Shown in the session list; the User-Agent when absent.")]
TimeZone = Annotated[str, Named(
    "TimeZone", enum=sorted(zoneinfo.available_timezones()),
    description="An IANA time zone name.", example="Europe/Minsk")]
Description = Annotated[str, text(_LIMITS.description_max, "Trimmed; blank clears it.")]
Reason = Annotated[str, filled_text(REASON_MAX, "Why; shown to the user in their notification.")]
ReactionName = Annotated[str, one_of(ReactionKind)]
MyReaction = Annotated[str | None, Schema(enum=[*(k.value for k in ReactionKind), None])]
Day = Annotated[str, Schema(format="date", pattern="^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
NextCursor = Annotated[str | None, Schema(
    description="Pass as ?cursor= for the next page; null at the end.")]
Suspension = Schema(minimum=60, maximum=int(MAX_SUSPENSION.total_seconds()))


def _present(kind: str, *schemas: Schema, **keywords: Any) -> Schema:
    # An optional body field that, when sent, is of ``kind`` (the converter takes null as
    # absent; the document says what to send).
    out: dict[str, Any] = {}
    for schema in schemas:
        out.update(schema.keywords)
    return Schema(**out, **keywords, type=kind)
ShareUrl = Callable[[int], str]  # video id -> its share link (Services.share_url)

# ---------------------------------------------------------------- problems and system


@attrs.frozen
class ProblemView:
    """RFC 9457 problem details; `code` is stable, switch on it."""

    __schema_name__ = "Problem"
    # Open: some problems carry members of their own (limit, mfa_token, expires_in, ...).
    __schema__ = Schema(additionalProperties=True)

    type: str
    title: str
    status: int
    detail: str
    code: Annotated[str, Schema(
        anyOf=[{"$ref": "#/components/schemas/ErrorCode"}, {"type": "string"}],
        description="Stable: switch on it (ErrorCode lists every one).")]
    request_id: Annotated[str | None, _present("string")] = None
    field: Annotated[str | None, _present("string")] = None
    errors: Annotated[list[str] | None, _present("array")] = None
    until: str | None = None


@attrs.frozen
class StatusOut:
    status: str


# ---------------------------------------------------------------- requests


@attrs.frozen
class RegisterBody:
    email: Email
    password: NewPassword


@attrs.frozen
class VerifyBody:
    email: Email
    code: EmailCode
    password: str
    device_name: DeviceName = None


@attrs.frozen
class EmailBody:
    email: Email


@attrs.frozen
class PasswordGrantBody:
    grant_type: Literal["password"]
    email: Email
    password: NewPassword
    device_name: DeviceName = None


@attrs.frozen
class RefreshGrantBody:
    grant_type: Literal["refresh_token"]
    refresh_token: str


@attrs.frozen
class TokenBody:
    # One of two grants; parsed as one class, the core telling the grants apart (an
    # unknown grant_type is its 400 unsupported_grant_type, not a shape error).
    __schema_variants__ = (PasswordGrantBody, RefreshGrantBody)

    grant_type: str
    email: str | None = None
    password: str | None = None
    refresh_token: str | None = None
    device_name: str | None = None


@attrs.frozen
class SocialBody:
    id_token: str
    nonce: str | None = None
    device_name: DeviceName = None


@attrs.frozen
class ResetConfirmBody:
    email: Email
    code: EmailCode
    new_password: NewPassword


@attrs.frozen
class ChangePasswordBody:
    current_password: str
    new_password: NewPassword


@attrs.frozen
class DeleteAccountBody:
    password: Annotated[str | None, Schema(
        description="Required for accounts with a password.")] = None


@attrs.frozen
class ProfilePatchBody:
    """Absent fields stay as they are; ``null`` clears name, surname or bio."""

    nickname: Annotated[str, Schema(pattern=rules.NICKNAME_RE.pattern)] = attrs.field(
        default=UNSET)
    name: Annotated[str | None, text(rules.NAME_MAX)] = attrs.field(default=UNSET)
    surname: Annotated[str | None, text(rules.NAME_MAX)] = attrs.field(default=UNSET)
    bio: Annotated[str | None, text(rules.BIO_MAX)] = attrs.field(default=UNSET)
    time_zone: TimeZone = attrs.field(default=UNSET)
    private: bool = attrs.field(default=UNSET, metadata={"description": (
        "My videos for my friends only, whatever each upload said (their visibility reads "
        "friends while it is on; off restores each upload's choice).")})


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
    description: Annotated[str | None, text(
        _LIMITS.description_max, "Trimmed; blank clears it; null: unchanged.")] = None
    visibility: Annotated[str | None, Schema(
        enum=[*(v.value for v in Visibility), None])] = None  # None (or absent): unchanged


@attrs.frozen
class UploadBody:
    size_bytes: Annotated[int, Schema(minimum=1, description=(
        "Larger than max_video_bytes (GET /v1/config) is 413 video_too_large."))]
    content_type: Annotated[str, Schema(
        enum=list(_LIMITS.accepted_types),
        description="Any other type is 415 unsupported_media_type.")]
    description: Annotated[str | None, text(
        _LIMITS.description_max, "Trimmed; null or blank leaves it empty.")] = None
    visibility: Annotated[str, one_of(Visibility)] = "friends"


@attrs.frozen
class VideoForm:
    """A video in one request (multipart/form-data, streamed to storage as it comes)."""

    video_file: Annotated[str, Schema(
        contentMediaType="video/mp4",
        description="MP4, MOV or WebM; sniffed from its first bytes.")]
    description: Description = ""
    visibility: Annotated[str, one_of(Visibility)] = "friends"


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
        "description": "An expiring URL (the store's signed URL, or behind a CDN a token "
                       "path: README, Media behind a CDN); only when ready."})
    hls_url: str | None = attrs.field(metadata={
        "description": "HLS master playlist (two renditions: the MP4's and about 480p at "
                       "about 1 Mbps; fMP4 segments), at an expiring URL whose token is in "
                       "the path, so the playlists' relative URIs carry it; only when ready "
                       "(null for videos processed before HLS)."})
    thumbnail_url: str | None
    share_url: str | None = attrs.field(metadata={
        "description": "The video's web page, for anyone with the link (GET /v/{slug}: "
                       "the player and a link preview): only while the video is public "
                       "and ready; null otherwise."})
    created_at: datetime
    ready_at: datetime | None
    locked: bool = attrs.field(metadata={
        "description": "BeReal lock: a friend's moment of today before I posted mine. It "
                       "shows who and when only: description empty, counts 0, my_reaction, "
                       "sizes, duration and every URL null."})
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
            playback_url=(media_url.of_video(v.playback_key, v) if ready and v.playback_key
                          else None),
            hls_url=media_url.hls(v) if ready else None,
            thumbnail_url=(media_url.of_video(v.thumbnail_key, v) if ready and v.thumbnail_key
                           else None),
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
    next_cursor: NextCursor


@attrs.frozen
class ViewBody:
    watched_seconds: Annotated[float, Schema(minimum=0, maximum=86_400, description=(
        "Seconds of the video I watched, from 0 to its duration_seconds (up to "
        f"{view_rules.TOLERANCE_SECONDS:g} s more is taken as the whole video; more than that "
        "is 422 invalid_watched_seconds). Report as playback goes on: the day's view keeps "
        "the most reported."))]


@attrs.frozen
class ViewOut:
    __schema_name__ = "ViewRecorded"

    video_id: int
    counted: bool = attrs.field(metadata={"description": (
        "This report added my view of the day (the first of the UTC day); false for later "
        "reports that day, and always for the author, whose views never count.")})
    watched_seconds: float | None = attrs.field(metadata={"description": (
        "The most I reported watching today (milliseconds); null for the author.")})
    completed: bool = attrs.field(metadata={"description": (
        f"Today's view reached the end (at least {view_rules.COMPLETE_SHARE:.0%} of the "
        "video).")})
    view_count: int = attrs.field(metadata={"description": (
        "The video's views after this report.")})


@attrs.frozen
class PartOut:
    __schema_name__ = "UploadPart"  # "Part" is the answer of PUT .../parts/{part}

    number: int
    size_bytes: int
    url: str = attrs.field(metadata={"description": (
        "Absolute (direct to storage: send no Authorization) or relative to the API (send "
        "the bearer token).")})
    method: Annotated[str, Schema(enum=["PUT"])]
    received: bool


@attrs.frozen
class StoredPartOut:
    __schema_name__ = "Part"

    number: int
    size_bytes: int
    etag: str


@attrs.frozen
class AvatarUrlOut:
    avatar_url: str | None


@attrs.frozen
class UploadOut:
    id: int
    status: Annotated[str, Schema(enum=["open", "complete"])]
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
    user_id: Annotated[int | None, _present("integer", _ID)] = None
    nickname: Annotated[str | None, _present("string")] = None


@attrs.frozen
class UserCard:
    id: int
    nickname: str
    name: str | None
    surname: str | None
    avatar_url: str | None

    @classmethod
    def of(cls, u: User | Person, media_url: MediaUrl) -> UserCard:
        avatar = media_url(u.avatar_key) if u.avatar_key else None
        return cls(u.id, u.nickname, u.name, u.surname, avatar)


@attrs.frozen
class ContactOut:
    user: UserCard
    since: datetime


@attrs.frozen
class ContactPage:
    items: list[ContactOut]
    next_cursor: NextCursor


@attrs.frozen
class UserSearchPage:
    items: list[UserCard]
    next_cursor: NextCursor


@attrs.frozen
class RelationOut:
    relation: Annotated[str, Schema(enum=[Relation.REQUEST_SENT.value, Relation.FRIENDS.value])]


@attrs.frozen
class FeedItemOut:
    video: VideoOut
    reactions: dict[str, int]
    my_reaction: MyReaction
    comment_count: int
    locked: bool = attrs.field(metadata={"description": (
        "BeReal lock: post today to unlock (playback and thumbnail URLs are null while "
        "locked).")})
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
    next_cursor: Annotated[str | None, Schema(description="Older items: pass as ?cursor=.")]
    prev_cursor: Annotated[str | None, Schema(
        description="Newer items that arrived since: pass as ?cursor= to pull them.")]


@attrs.frozen
class FriendsFeedOut:
    day: Annotated[str, Schema(format="date")]
    locked: bool
    items: list[FeedItemOut]
    next_cursor: str | None
    prev_cursor: str | None


@attrs.frozen
class RankedPageOut:
    items: list[FeedItemOut]
    next_cursor: NextCursor


# ---------------------------------------------------------------- reactions and comments


@attrs.frozen
class ReactionBody:
    kind: ReactionName


@attrs.frozen
class ReactionCountsOut:
    """A video's reaction counts, as every listener hears them (live ``reactions.changed``);
    ReactionState adds the caller's own reaction."""

    __schema_name__ = "ReactionCounts"

    video_id: int
    reactions: Annotated[dict[str, int], counts_of(ReactionKind)]


@attrs.frozen
class ReactionsOut(ReactionCountsOut):
    __schema_name__ = "ReactionState"

    my_reaction: MyReaction


@attrs.frozen
class ReactorOut:
    user: UserCard
    kind: ReactionName
    created_at: datetime

    @classmethod
    def of(cls, r: Reactor, media_url: MediaUrl) -> ReactorOut:
        return cls(UserCard.of(r.user, media_url), r.kind.value, r.created_at)


@attrs.frozen
class ReactorPage:
    items: list[ReactorOut]
    next_cursor: str | None


CommentText = Annotated[str, comment_text(rules.COMMENT_MAX, (
    f"1 to {rules.COMMENT_MAX} characters after trimming; line breaks are kept. Blank is 422 "
    "comment_empty, control characters 422 control_characters."))]


@attrs.frozen
class CommentBody:
    body: CommentText
    parent_id: Annotated[int | None, _present(
        "integer", _ID, description="Reply to this top-level comment.")] = None


@attrs.frozen
class CommentPatchBody:
    body: CommentText


@attrs.frozen
class SharedCommentOut:
    """A comment as every listener sees it: Comment less the caller's own ``liked_by_me``
    (live ``comment.edited``; a frame goes to every listener alike)."""

    __schema_name__ = "SharedComment"

    id: int
    video_id: int
    parent_id: Annotated[int | None, Schema(
        description="The top-level comment this replies to.")]
    author: UserCard
    body: str
    created_at: datetime
    edited_at: datetime | None
    like_count: int
    reply_count: int

    @staticmethod
    def shown(comment: Comment, author: User | Person, media_url: MediaUrl) -> SharedCommentOut:
        c = comment
        return SharedCommentOut(
            id=c.id,
            video_id=c.video_id,
            parent_id=c.parent_id,
            author=UserCard.of(author, media_url),
            body=c.body,
            created_at=c.created_at,
            edited_at=c.edited_at,
            like_count=c.like_count,
            reply_count=c.reply_count,
        )


@attrs.frozen
class CommentOut(SharedCommentOut):
    liked_by_me: bool

    @classmethod
    def of(cls, view: CommentView, media_url: MediaUrl) -> CommentOut:
        shared = SharedCommentOut.shown(view.comment, view.author, media_url)
        return cls(**attrs.asdict(shared, recurse=False), liked_by_me=view.liked_by_me)


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
    kind: Annotated[str, one_of(NotificationKind)]
    created_at: datetime
    read_at: datetime | None
    actor: UserCard | None = attrs.field(metadata={"description": (
        "Who caused it; null for the system (or an actor who is gone, banned or "
        "suspended).")})
    video_id: int | None
    comment_id: int | None
    text: str | None = attrs.field(metadata={"description": (
        "A preview of the comment, the reaction kind, or the reason of a rejection or "
        "moderation.")})

    @classmethod
    def of(cls, view: NotificationView, media_url: MediaUrl) -> NotificationOut:
        return cls.shown(view.notification, view.actor, media_url)

    @classmethod
    def shown(
        cls, n: Notification, actor: User | Person | None, media_url: MediaUrl
    ) -> NotificationOut:
        return cls(
            id=n.id,
            kind=n.kind.value,
            created_at=n.created_at,
            read_at=n.read_at,
            actor=UserCard.of(actor, media_url) if actor else None,
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
    marked_read: int = attrs.field(metadata={"description": "How many were unread."})


# ---------------------------------------------------------------- moderation


@attrs.frozen
class BanBody:
    reason: Reason


@attrs.frozen
class SuspendBody:
    reason: Reason
    duration_seconds: Annotated[int, Suspension, Schema(
        description="Outside 60 s to 365 days: 422 invalid_duration.")]


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


# ---------------------------------------------------------------- reports, cases, appeals


@attrs.frozen
class ReportBody:
    target_type: Annotated[str, one_of(TargetType)]
    target_id: Id
    reason: Annotated[str, one_of(ReportReason)]
    note: Annotated[str | None, text(NOTE_MAX, "What the moderator should know.")] = None


@attrs.frozen
class ResolveBody:
    # A suspend decision without a duration is 422 invalid_duration: the schema says so, so
    # that a body it calls valid is one the server takes.
    __schema__ = Schema(**{
        "if": {"required": ["action"], "properties": {"action": {"const": "suspend"}}},
        "then": {"required": ["duration_seconds"],
                 "properties": {"duration_seconds": {"type": "integer"}}}})

    action: Annotated[str, one_of(Action)]
    reason: Reason
    duration_seconds: Annotated[int | None, Suspension, Schema(
        description="For suspend: 60 s to 365 days (else 422 invalid_duration).")] = None


@attrs.frozen
class AppealBody:
    """``email`` and ``password`` stand in for the token of a banned or suspended account."""

    case_id: Id
    body: Annotated[str, filled_text(
        APPEAL_MAX, f"Why the decision was wrong; 1 to {APPEAL_MAX} characters.")]
    email: Annotated[str | None, _present(
        "string", _EMAIL,
        description="Without a token only: the account's email.")] = None
    password: Annotated[str | None, _present(
        "string", description="Without a token only: its password.")] = None


@attrs.frozen
class DecideBody:
    accept: bool
    reason: Reason


@attrs.frozen
class ReportOut:
    id: int
    case_id: int
    reporter_id: int
    reason: Annotated[str, one_of(ReportReason)]
    note: str | None
    created_at: datetime

    @classmethod
    def of(cls, r: Report) -> ReportOut:
        return cls(r.id, r.case_id, r.reporter_id, r.reason.value, r.note, r.created_at)


@attrs.frozen
class TargetOut:
    __schema_name__ = "CaseTarget"

    type: Annotated[str, one_of(TargetType)]
    id: int
    owner: Annotated[UserCard | None, Schema(
        description="The video's or comment's author, or the user reported.")]
    text: Annotated[str | None, Schema(
        description="The video's description, the comment's body or the user's bio.")]
    status: Annotated[str, Schema(description=(
        "A video's status (ready, held, removed, ...), visible or hidden for a comment, the "
        "account's status for a user."))]
    video_id: Annotated[int | None, Schema(description="The video, or the comment's video.")]
    thumbnail_url: Annotated[str | None, Schema(
        description="A video's thumbnail, even while held.")]


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
    target_type: Annotated[str, one_of(TargetType)]
    target_id: int
    owner_id: Annotated[int, Schema(description="Who answers for the target.")]
    status: Annotated[str, one_of(CaseStatus)]
    report_count: Annotated[int, Schema(description="Distinct reporters.")]
    reasons: Annotated[list[Annotated[str, one_of(ReportReason)]], Schema(
        description="Every reason given, once each.")]
    held: Annotated[bool, Schema(description=(
        "Hidden from everyone until decided (the report threshold was reached)."))]
    assignee_id: int | None
    opened_at: datetime
    action: Annotated[str | None, Schema(enum=[*(a.value for a in Action), None])]
    decided_by: Annotated[int | None, Schema(description=(
        "null while open, or when the operator decided (momentic cases resolve)."))]
    decided_at: datetime | None
    decision_reason: str | None
    suspended_until: datetime | None

    @classmethod
    def of(cls, c: Case) -> CaseOut:
        return cls(**_case_fields(c))


@attrs.frozen
class CaseDetailOut(CaseOut):
    """A case with what a moderator needs to judge it."""

    target: Annotated[TargetOut | None, Schema(
        description="What was reported, read now; null once it is gone.")]
    reports: Annotated[list[ReportOut], Schema(
        description="Oldest first, with the reporters' notes.")]

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
    status: Annotated[str, one_of(AppealStatus)]
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
    role: Annotated[str, one_of(Role)]


_DOMAINS_DOC = (
    "Email domains allowed to register, case-insensitive: bsu.by admits addresses at bsu.by "
    "only (not at sub.bsu.by); *.bsu.by admits every subdomain of bsu.by (not bsu.by "
    "itself; list both for both); [\"*\"] admits any domain. An empty list is 422 "
    "invalid_setting; null resets to the deployment's list (MOMENTIC_ALLOWED_EMAIL_DOMAINS, "
    "whose empty value admits any domain).")
_DOMAIN = (r"^(\*|(\*\.)?([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*"
           r"[A-Za-z0-9-]{1,63})$")


@attrs.frozen
class RateLimitBody:
    """Anything else is 422 invalid_setting."""

    __schema__ = Schema(additionalProperties=False)

    count: Annotated[int, Schema(minimum=1, maximum=1_000_000)]
    window_seconds: Annotated[int, Schema(
        minimum=1, maximum=int(MAX_RATE_WINDOW.total_seconds()))]


@attrs.frozen
class SettingChangesBody:
    """Settings to change; null resets one to the deployment's value."""

    __schema__ = Schema(minProperties=1, additionalProperties=False)

    allowed_email_domains: Annotated[
        list[Annotated[str, Schema(pattern=_DOMAIN)]] | None,
        Schema(minItems=1, maxItems=200, description=_DOMAINS_DOC)] = UNSET
    max_video_bytes: Annotated[int | None, Schema(
        minimum=1_000_000, maximum=5_000_000_000)] = UNSET
    max_video_seconds: Annotated[float | None, Schema(minimum=1, maximum=600)] = UNSET
    bereal_lock: bool | None = UNSET
    report_threshold: Annotated[int | None, Schema(minimum=1, maximum=1000)] = UNSET
    staff_mfa_required: bool | None = UNSET
    for_you_completion_weight: Annotated[float | None, Schema(
        minimum=0, maximum=FOR_YOU_WEIGHT_MAX)] = UNSET
    moment_reminder: bool | None = UNSET
    rate_limits: Annotated[dict[str, RateLimitBody] | None, Schema(
        propertyNames={"enum": sorted(DEFAULT_LIMITS)},
        description=("Merged over the stored overrides; names as in rate_limit_defaults "
                     "(another name is 422). null drops every override."))] = UNSET


@attrs.frozen
class SettingsPatchBody:
    # The changes go to the core as they come: it checks each setting (422
    # invalid_setting); SettingChangesBody says what it takes.
    changes: Annotated[dict[str, Any], SettingChangesBody]
    reason: Annotated[str | None, text(REASON_MAX, "Why; kept in the audit trail.")] = None


@attrs.frozen
class AdminUserOut:
    id: int
    email: Annotated[str | None, Schema(
        description="null for moderators: only admins see email addresses")]
    email_verified: bool
    nickname: str
    name: str | None
    surname: str | None
    avatar_url: str | None
    role: Annotated[str, one_of(Role)]
    status: Annotated[str, one_of(AccountStatus)]
    suspended_until: datetime | None
    strikes: Annotated[int, Schema(
        description="Warnings standing (an accepted appeal lifts one).")]
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
    __schema_name__ = "UserRole"

    user_id: int
    role: Annotated[str, one_of(Role)]

    @classmethod
    def of(cls, u: User) -> RoleOut:
        return cls(u.id, u.role.value)


@attrs.frozen
class AuditOut:
    __schema_name__ = "AuditEntry"

    id: int
    actor_id: Annotated[int | None, Schema(
        description="null: the operator (the momentic command).")]
    action: Annotated[str, Schema(description=(
        "case.assign, case.resolve, appeal.accept, appeal.reject, user.ban, user.suspend, "
        "user.unban, user.set_role, settings.update."))]
    target_type: Annotated[str | None, Schema(
        description="video, comment, user, case or settings.")]
    target_id: int | None
    reason: str | None
    created_at: datetime
    data: Annotated[dict[str, Any], Schema(description="What changed, by action.")]

    @classmethod
    def of(cls, e: AuditEntry) -> AuditOut:
        return cls(e.id, e.actor_id, e.action, e.target_type, e.target_id, e.reason,
                   e.created_at, dict(e.data))


@attrs.frozen
class AuditPage:
    items: list[AuditOut]
    next_cursor: str | None


@attrs.frozen
class RateLimitOut:
    count: int
    window_seconds: int


def _limits(limits: dict[str, tuple[int, int]]) -> dict[str, RateLimitOut]:
    return {name: RateLimitOut(c, s) for name, (c, s) in sorted(limits.items())}


_SETTING = {name: Schema(description=text) for name, text in {
    "allowed_email_domains": _DOMAINS_DOC,
    "max_video_bytes": "Largest video upload.",
    "max_video_seconds": "Longest video.",
    "bereal_lock": "Friends' moments of today stay locked until I post.",
    "report_threshold": ("Distinct open reports that hide a video or comment until a "
                         "moderator decides."),
    "staff_mfa_required": ("Admins and moderators without two-factor authentication get 403 "
                           "mfa_enrolment_required from /v1/admin and /v1/mod."),
    "moment_reminder": ("A second push when the moment's window closes, to those who "
                        "have not posted for it."),
    "for_you_completion_weight": ("Weight of completion (the share of a video's views "
                                  "watched to the end) in the For-You score; 0: left out."),
    "rate_limits": "Overrides by limit name; the others keep rate_limit_defaults.",
}.items()}


@attrs.frozen
class EffectiveSettingsOut:
    """In force now (stored values over the deployment's MOMENTIC_* ones)."""

    allowed_email_domains: Annotated[list[str], _SETTING["allowed_email_domains"]]
    max_video_bytes: Annotated[int, _SETTING["max_video_bytes"]]
    max_video_seconds: Annotated[float, _SETTING["max_video_seconds"]]
    bereal_lock: Annotated[bool, _SETTING["bereal_lock"]]
    report_threshold: Annotated[int, _SETTING["report_threshold"]]
    staff_mfa_required: Annotated[bool, _SETTING["staff_mfa_required"]]
    for_you_completion_weight: Annotated[float, _SETTING["for_you_completion_weight"]]
    moment_reminder: Annotated[bool, _SETTING["moment_reminder"]]
    rate_limits: Annotated[dict[str, RateLimitOut], _SETTING["rate_limits"]]


@attrs.frozen
class StoredSettingsOut:
    """What admins set; null: the deployment's value."""

    allowed_email_domains: Annotated[list[str] | None, _SETTING["allowed_email_domains"]]
    max_video_bytes: Annotated[int | None, _SETTING["max_video_bytes"]]
    max_video_seconds: Annotated[float | None, _SETTING["max_video_seconds"]]
    bereal_lock: Annotated[bool | None, _SETTING["bereal_lock"]]
    report_threshold: Annotated[int | None, _SETTING["report_threshold"]]
    staff_mfa_required: Annotated[bool | None, _SETTING["staff_mfa_required"]]
    for_you_completion_weight: Annotated[float | None, _SETTING["for_you_completion_weight"]]
    moment_reminder: Annotated[bool | None, _SETTING["moment_reminder"]]
    rate_limits: Annotated[dict[str, RateLimitOut], _SETTING["rate_limits"]]


@attrs.frozen
class SettingsOut:
    """What is in force, what admins stored over the deployment's values (null: not set),
    and the rate limits an override replaces (both before MOMENTIC_RATE_LIMIT_MULTIPLIER,
    which scales them alike)."""

    # Dicts of the settings as the core holds them (one key per setting), documented by
    # the classes above.
    effective: Annotated[dict[str, Any], EffectiveSettingsOut]
    stored: Annotated[dict[str, Any], StoredSettingsOut]
    rate_limit_defaults: Annotated[dict[str, RateLimitOut], Schema(description=(
        "Every rate limit an override may replace, with its default. Both are scaled alike "
        "by MOMENTIC_RATE_LIMIT_MULTIPLIER (tests and load benchmarks raise it)."))]

    @classmethod
    def of(cls, effective: SettingsInForce, stored: RuntimeConfig) -> SettingsOut:
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
    revoked_at: Annotated[datetime | None, Schema(
        description="When it was signed out or revoked.")]

    @classmethod
    def of(cls, s: Session, current_id: int) -> ExportSessionOut:
        return cls(revoked_at=s.revoked_at, **attrs.asdict(SessionView.of(s, current_id)))


@attrs.frozen
class IdentityOut:
    provider: Annotated[str, Schema(enum=["apple", "google"])]
    email: str | None
    linked_at: datetime

    @classmethod
    def of(cls, i: ExternalIdentity) -> IdentityOut:
        return cls(i.provider, i.email, i.created_at)


@attrs.frozen
class ExportCommentOut(CommentOut):
    hidden: Annotated[bool, Schema(description="Hidden by moderation (held or removed).")]

    @classmethod
    def of(cls, view: CommentView, media_url: MediaUrl) -> ExportCommentOut:
        shared = CommentOut.of(view, media_url)
        return cls(hidden=view.comment.hidden,
                   **{f.name: getattr(shared, f.name) for f in attrs.fields(CommentOut)})


@attrs.frozen
class UserReactionOut:
    video_id: int
    kind: ReactionName
    created_at: Annotated[datetime, Schema(description="When I first reacted to it.")]

    @classmethod
    def of(cls, r: UserReaction) -> UserReactionOut:
        return cls(r.video_id, r.kind.value, r.created_at)


@attrs.frozen
class CommentLikeOut:
    comment_id: int
    video_id: Annotated[int, Schema(description="The comment's video.")]
    created_at: datetime

    @classmethod
    def of(cls, like: CommentLike) -> CommentLikeOut:
        return cls(like.comment_id, like.video_id, like.created_at)


@attrs.frozen
class FiledReportOut(ReportOut):
    """A report I filed, with what it was about (not the case: others' reports)."""

    target_type: Annotated[str, one_of(TargetType)]
    target_id: Annotated[int, Schema(description="What I reported.")]

    @classmethod
    def of(  # type: ignore[override]
        cls, r: Report, case: Case
    ) -> FiledReportOut:
        return cls(target_type=case.target_type.value, target_id=case.target_id,
                   **attrs.asdict(ReportOut.of(r)))


@attrs.frozen
class WatchedDayOut:
    video_id: int
    day: Annotated[str, Schema(format="date", description="The UTC day.")]
    watched_ms: Annotated[int, Schema(description="The most I watched of it that day.")]
    completed: Annotated[bool, Schema(description="Whether I watched it to the end.")]
    first_at: datetime
    last_at: datetime

    @classmethod
    def of(cls, w: WatchedDay) -> WatchedDayOut:
        return cls(w.video_id, w.day.isoformat(), w.watched_ms, w.completed, w.first_at,
                   w.last_at)


@attrs.frozen
class MfaStatusView:
    enabled: bool
    pending: bool
    recovery_codes_left: int

    @classmethod
    def of(cls, s: MfaStatus) -> MfaStatusView:
        return cls(s.enabled, s.pending, s.recovery_codes_left)


@attrs.frozen
class PendingEmailChangeOut:
    requested_at: datetime
    expires_at: Annotated[datetime, Schema(description="When the code mailed to the new "
                                           "address stops working.")]


# The fields of the export written before its sections (ExportOut's first ones).
EXPORT_HEAD = ("exported_at", "account", "two_factor", "email_change",
               "notification_settings")


@attrs.frozen
class ExportOut:
    """GET /v1/me/export, written section by section as it is read (this class declares
    the document; export_views renders its items)."""

    exported_at: Annotated[datetime, Schema(description=(
        "When the export began. Sections are read one page after another, not in one "
        "snapshot: an item made or removed while the export runs may or may not be in "
        "it."))]
    account: MeView
    two_factor: Annotated[MfaStatusView, Schema(description=(
        "As GET /v1/me/2fa (never the secret nor the recovery codes)."))]
    email_change: Annotated[PendingEmailChangeOut | None, Schema(description=(
        "An email change waiting for its code (POST /v1/me/email), or null. The new "
        "address is not kept: the code mailed there is bound to it."))]
    notification_settings: Annotated[NotificationSettingsView, Schema(
        description="As GET /v1/me/notification-settings.")]
    videos: Annotated[list[VideoOut], Schema(description=(
        "Every video I posted, in every status (rejected, held and removed ones too), "
        "newest first; playback and thumbnail URLs only while ready, as GET "
        "/v1/videos/{id} gives them."))]
    comments: Annotated[list[ExportCommentOut], Schema(description=(
        "Every comment and reply I wrote, oldest first (by id), on anyone's video."))]
    reactions: Annotated[list[UserReactionOut], Schema(
        description="My reaction to each video, by video id.")]
    comment_likes: Annotated[list[CommentLikeOut], Schema(
        description="The comments I like, by comment id.")]
    views: Annotated[list[WatchedDayOut], Schema(description=(
        "What I watched (POST /v1/videos/{id}/view): one entry per video and UTC day, by "
        "day then video id."))]
    friends: Annotated[list[ContactOut], Schema(description=(
        "My friends, newest friendship first (as GET /v1/friends: banned or suspended "
        "accounts left out)."))]
    friend_requests_sent: Annotated[list[ContactOut], Schema(
        description="Friend requests I sent that wait for an answer, newest first.")]
    friend_requests_received: Annotated[list[ContactOut], Schema(
        description="Friend requests to me that wait for my answer, newest first.")]
    blocks: Annotated[list[ContactOut], Schema(description=(
        "The users I blocked, newest first (who blocked me is not mine to see)."))]
    mutes: Annotated[list[ContactOut], Schema(description=(
        "The users I muted, newest first (who muted me is not mine to see)."))]
    reports: Annotated[list[FiledReportOut], Schema(description="The reports I filed, by id.")]
    appeals: Annotated[list[AppealOut], Schema(description="The appeals I wrote, by id.")]
    notifications: Annotated[list[NotificationOut], Schema(description=(
        "My notifications, newest first, as GET /v1/notifications shows them."))]
    sessions: Annotated[list[ExportSessionOut], Schema(description=(
        "Every session of mine (a sign-in on a device), signed-out ones too, by id."))]
    devices: Annotated[list[DeviceView], Schema(
        description="My push devices, oldest first, as GET /v1/me/devices.")]
    linked_identities: Annotated[list[IdentityOut], Schema(
        description="Apple and Google accounts linked to mine.")]
    audit: Annotated[list[AuditOut], Schema(description=(
        "Entries of the audit trail about me (my account, my videos and comments, cases "
        "about me), and staff actions I took, by id."))]


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
        "views": WatchedDayOut.of,
        "friends": contact,
        "friend_requests_sent": contact,
        "friend_requests_received": contact,
        "blocks": contact,
        "mutes": contact,
        "reports": lambda pair: FiledReportOut.of(*pair),
        "appeals": AppealOut.of,
        "notifications": lambda view: NotificationOut.of(view, media_url),
        "sessions": lambda s: ExportSessionOut.of(s, current_session),
        "devices": lambda d: DeviceView.of(d, current_session),
        "linked_identities": IdentityOut.of,
        "audit": AuditOut.of,
    }
    assert tuple(views) == EXPORT_SECTIONS, "one view per export section, in order"
    fields = tuple(attrs.fields_dict(ExportOut))
    assert fields == EXPORT_HEAD + EXPORT_SECTIONS, "ExportOut, in order"
    return views
