"""Reports, cases, decisions, appeals, the audit trail and the runtime settings."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from momentic_core.model.accounts import User


class TargetType(enum.StrEnum):
    VIDEO = "video"
    COMMENT = "comment"
    USER = "user"


class ReportReason(enum.StrEnum):
    SPAM = "spam"
    NUDITY = "nudity"
    VIOLENCE = "violence"
    HARASSMENT = "harassment"
    HATE = "hate"
    SELF_HARM = "self_harm"
    ILLEGAL = "illegal"
    OTHER = "other"


class CaseStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Action(enum.StrEnum):
    DISMISS = "dismiss"
    REMOVE = "remove"  # the content goes (hidden, restorable on appeal)
    WARN = "warn"  # a strike on the owner
    SUSPEND = "suspend"  # the owner, for a duration; the content goes too
    BAN = "ban"  # the owner, until an unban; the content goes too


class AppealStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@attrs.frozen
class Report:
    id: int
    case_id: int
    reporter_id: int
    reason: ReportReason
    created_at: datetime
    note: str | None = None


@attrs.frozen
class Case:
    """Every report on one target while it is open, and the decision that closes it."""

    id: int
    target_type: TargetType
    target_id: int
    owner_id: int  # who answers for the target: its author, or the user reported
    opened_at: datetime
    status: CaseStatus = CaseStatus.OPEN
    report_count: int = 0  # distinct reporters
    reasons: tuple[ReportReason, ...] = ()  # every reason given, once each
    held: bool = False  # hidden from everyone while it waits (the report threshold)
    assignee_id: int | None = None
    action: Action | None = None
    decided_by: int | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None
    suspended_until: datetime | None = None


@attrs.frozen
class TargetContent:
    """What a moderator needs to judge a target, read when the case is shown."""

    type: TargetType
    id: int
    owner: User | None
    text: str | None  # the video's description, the comment's body, the user's bio
    status: str  # the video's status, "visible"/"hidden" for a comment, the account's
    video_id: int | None = None  # the video (a comment's video, or the video itself)
    thumbnail_key: str | None = None


@attrs.frozen
class CaseView:
    case: Case
    target: TargetContent | None  # None once the target is gone
    reports: list[Report]


@attrs.frozen
class Appeal:
    id: int
    case_id: int
    user_id: int
    body: str
    created_at: datetime
    status: AppealStatus = AppealStatus.PENDING
    decided_by: int | None = None
    decided_at: datetime | None = None
    decision_reason: str | None = None


@attrs.frozen
class AuditEntry:
    id: int
    actor_id: int | None  # None: the operator (CLI)
    action: str  # e.g. "case.resolve", "user.ban", "settings.update"
    target_type: str | None
    target_id: int | None
    reason: str | None
    created_at: datetime
    data: dict[str, Any] = attrs.Factory(dict)


@attrs.frozen
class AuditFilter:
    actor_id: int | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


@attrs.frozen
class CaseFilter:
    status: CaseStatus | None = CaseStatus.OPEN
    reason: ReportReason | None = None
    target_type: TargetType | None = None
    not_owner: int | None = None  # leave out cases about this user (a moderator's own)


@attrs.frozen
class CaseKey:
    """A position in the queue: most reports first, then the oldest, then the id."""

    report_count: int
    opened_at: datetime
    id: int


@attrs.frozen
class UserFilter:
    query: str | None = None  # a prefix of the email (when by_email) or the nickname
    role: str | None = None
    status: str | None = None
    by_email: bool = True  # False: the query matches nicknames only (who may not see emails)


@attrs.frozen
class StaffUserView:
    """A user in the staff's user list, as the viewer may see them: ``email`` is None for
    a viewer who may not see addresses (moderators; admins do)."""

    user: User
    strikes: int
    email: str | None


@attrs.frozen
class RuntimeConfig:
    """Settings an admin changes at run time (stored in the database, applied within
    ``Config.TTL`` on every instance). None: the deployment's value (environment)."""

    allowed_email_domains: tuple[str, ...] | None = None
    max_video_bytes: int | None = None
    max_video_seconds: float | None = None
    bereal_lock: bool | None = None
    report_threshold: int | None = None
    # Admins and moderators must enrol in two-factor authentication to use staff routes.
    staff_mfa_required: bool | None = None
    # The weight of completion (the share of views watched to the end) in For-You's score.
    for_you_completion_weight: float | None = None
    # The second push of the moment, when its window closes, to those who have not posted.
    moment_reminder: bool | None = None
    # limit name -> (count, window in seconds), overriding services.throttle's defaults
    rate_limits: dict[str, tuple[int, int]] = attrs.Factory(dict)


CONFIG_KEYS: tuple[str, ...] = tuple(a.name for a in attrs.fields(RuntimeConfig))
