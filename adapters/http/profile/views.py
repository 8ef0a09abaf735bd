"""Request and response views of the profile area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import attrs

from adapters.http.schema import Named, Schema, one_of, text
from adapters.http.views import (
    AppealOut,
    AuditOut,
    CommentOut,
    ContactOut,
    DeviceView,
    MediaUrl,
    MfaStatusView,
    NewPassword,
    NotificationOut,
    NotificationSettingsView,
    ReactionName,
    ReportOut,
    ShareUrl,
    UserCard,
    VideoOut,
)
from momentic_core.model.accounts import AccountStatus, ExternalIdentity, Role, Session, User
from momentic_core.model.engagement import CommentLike, CommentView, ReactionKind, UserReaction
from momentic_core.model.moderation import Case, Report, TargetType
from momentic_core.model.social import Contact, Relation
from momentic_core.model.videos import Video
from momentic_core.model.views import WatchedDay
from momentic_core.policies import rules
from momentic_core.services.profiles import EXPORT_SECTIONS, UNSET
from momentic_core.services.social import Profile

# ---------------------------------------------------------------- the field types the wire
# shares; their bounds come from the rules and settings (schema.py turns them into JSON
# Schema for the OpenAPI document).

TimeZone = Annotated[str, Named(
    "TimeZone", enum=sorted(zoneinfo.available_timezones()),
    description="An IANA time zone name.", example="Europe/Minsk")]


# ---------------------------------------------------------------- requests


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
