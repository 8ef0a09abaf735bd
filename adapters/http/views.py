"""Wire shapes more than one area shares: request bodies and response
views, with domain -> view maps. Each area's own views are in
``adapters/http/<area>/views.py``; what two areas or the shared modules (live, openapi,
keys) use stays here."""

from __future__ import annotations

import typing
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import attrs

from adapters.http.schema import ID_MAX, Schema, comment_text, counts_of, one_of, text
from momentic_core.model.accounts import FeedAuthor, Person, User
from momentic_core.model.devices import (
    ApnsEnvironment,
    Device,
    NotificationSettings,
    Platform,
    PushKind,
)
from momentic_core.model.engagement import (
    Comment,
    CommentView,
    Notification,
    NotificationKind,
    NotificationView,
    ReactionKind,
)
from momentic_core.model.mfa import MfaStatus
from momentic_core.model.moderation import Appeal, AppealStatus, AuditEntry, Report, ReportReason
from momentic_core.model.social import FeedItem
from momentic_core.model.videos import MediaLimits, Video, VideoStatus, Visibility
from momentic_core.policies import rules
from momentic_core.policies.moments import late_by_seconds
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
_EMAIL = Schema(format="email", maxLength=254, example="alex@bsu.by")
Email = Annotated[str, _EMAIL]
NewPassword = Annotated[str, Schema(
    minLength=rules.PASSWORD_MIN, maxLength=rules.PASSWORD_MAX,
    description="A new password may not be a commonly used one (422 password_too_common).")]
EmailCode = Annotated[str, Schema(pattern="^[0-9]{6}$", example="123456")]
Description = Annotated[str, text(_LIMITS.description_max, "Trimmed; blank clears it.")]
ReactionName = Annotated[str, one_of(ReactionKind)]
MyReaction = Annotated[str | None, Schema(enum=[*(k.value for k in ReactionKind), None])]
NextCursor = Annotated[str | None, Schema(
    description="Pass as ?cursor= for the next page; null at the end.")]


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


# ---------------------------------------------------------------- videos


@attrs.frozen
class AuthorView:
    id: int
    nickname: str
    avatar_url: str | None

    @classmethod
    def of(cls, u: User | Person, media_url: MediaUrl) -> AuthorView:
        return cls(u.id, u.nickname, avatar_url(u, media_url))


def avatar_url(u: User | Person, media_url: MediaUrl) -> str | None:
    return media_url(u.avatar_key) if u.avatar_key else None


def video_urls(v: Video, media_url: MediaUrl, locked: bool) -> tuple[str | None, ...]:
    """(playback_url, hls_url, thumbnail_url) of a video: expiring URLs, made at each
    answer (items.RenderedItems never keeps them). A locked moment has none."""
    ready = v.status is VideoStatus.READY and not locked
    return (
        media_url.of_video(v.playback_key, v) if ready and v.playback_key else None,
        media_url.hls(v) if ready else None,
        media_url.of_video(v.thumbnail_key, v) if ready and v.thumbnail_key else None,
    )


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
        author: User | FeedAuthor,
        media_url: MediaUrl,
        locked: bool = False,
        my_reaction: str | None = None,
        *,
        share_url: ShareUrl | None = None,
    ) -> VideoOut:
        # BeReal: a locked moment shows who and when, not what (no media URLs).
        ready = v.status is VideoStatus.READY and not locked
        playback, hls, thumbnail = video_urls(v, media_url, locked)
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
            playback_url=playback,
            hls_url=hls,
            thumbnail_url=thumbnail,
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
class AvatarUrlOut:
    avatar_url: str | None


# ---------------------------------------------------------------- friends and feeds


@attrs.frozen
class UserCard:
    id: int
    nickname: str
    name: str | None
    surname: str | None
    avatar_url: str | None

    @classmethod
    def of(cls, u: User | Person, media_url: MediaUrl) -> UserCard:
        return cls(u.id, u.nickname, u.name, u.surname, avatar_url(u, media_url))


@attrs.frozen
class ContactOut:
    user: UserCard
    since: datetime


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


# ---------------------------------------------------------------- reactions and comments


@attrs.frozen
class ReactionCountsOut:
    """A video's reaction counts, as every listener hears them (live ``reactions.changed``);
    ReactionState adds the caller's own reaction."""

    __schema_name__ = "ReactionCounts"

    video_id: int
    reactions: Annotated[dict[str, int], counts_of(ReactionKind)]


CommentText = Annotated[str, comment_text(rules.COMMENT_MAX, (
    f"1 to {rules.COMMENT_MAX} characters after trimming; line breaks are kept. Blank is 422 "
    "comment_empty, control characters 422 control_characters."))]


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


# ---------------------------------------------------------------- reports, cases, appeals


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


# ---------------------------------------------------------------- administration


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


# ---------------------------------------------------------------- data export
# GET /v1/me/export: the item views of each section (momentic_core.services.profiles
# EXPORT_SECTIONS), the shared views where one fits.


@attrs.frozen
class MfaStatusView:
    enabled: bool
    pending: bool
    recovery_codes_left: int

    @classmethod
    def of(cls, s: MfaStatus) -> MfaStatusView:
        return cls(s.enabled, s.pending, s.recovery_codes_left)


# ---------------------------------------------------------- push devices and notification settings

HourMinute = Annotated[str, Schema(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$")]  # HH:MM


@attrs.frozen
class DeviceView:
    id: int
    platform: Annotated[str, one_of(Platform)]
    token: str
    app_version: str | None
    locale: str | None
    apns_environment: Annotated[str | None, Schema(
        enum=[*(e.value for e in ApnsEnvironment), None])]
    current_session: bool  # registered with the session making this request
    created_at: datetime
    last_seen_at: datetime

    @classmethod
    def of(cls, d: Device, session_id: int) -> DeviceView:
        return cls(
            id=d.id,
            platform=d.platform.value,
            token=d.token,
            app_version=d.app_version,
            locale=d.locale,
            apns_environment=None if d.apns_environment is None else d.apns_environment.value,
            current_session=d.session_id == session_id,
            created_at=d.created_at,
            last_seen_at=d.last_seen_at,
        )


@attrs.frozen
class QuietHoursView:
    start: HourMinute  # local time
    end: HourMinute


@attrs.frozen
class NotificationSettingsView:
    moment: bool
    reactions: bool
    comments: bool
    friend_requests: bool
    moderation: bool
    videos: bool
    quiet_hours: QuietHoursView | None
    time_zone: str  # the user's: quiet hours are in it

    @classmethod
    def of(cls, s: NotificationSettings, time_zone: str) -> NotificationSettingsView:
        quiet = None
        if s.quiet_start is not None and s.quiet_end is not None:
            quiet = QuietHoursView(
                start=s.quiet_start.strftime("%H:%M"), end=s.quiet_end.strftime("%H:%M")
            )
        on = {k.value: k in s.enabled for k in PushKind}
        return cls(quiet_hours=quiet, time_zone=time_zone, **on)


# ---------------------------------------------------------------- the iOS app in the field

Time = Annotated[str, Schema(format="date-time")]  # as isoformat() writes it


@attrs.frozen
class LegacyChatMessage:
    """A new comment as the app's chat shows it: the answer to posting one, and each frame
    of the chat socket (where ``liked_by_me`` is false: nobody has liked it yet)."""

    id: str
    author: Annotated[str, Schema(description="The author's nickname.")]
    text: str
    avatar_url: str | None
    created_at: Time
    like_count: int
    liked_by_me: bool

    @classmethod
    def of(
        cls, comment: Comment, author: User | Person, liked_by_me: bool, media_url: MediaUrl
    ) -> LegacyChatMessage:
        avatar = media_url(author.avatar_key) if author.avatar_key else None
        return cls(str(comment.id), author.nickname, comment.body, avatar,
                   comment.created_at.isoformat(), comment.like_count, liked_by_me)
