"""Request and response views of the moderation area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import attrs

from adapters.http.schema import Schema, filled_text, one_of, text
from adapters.http.views import _EMAIL, _ID, AppealOut, MediaUrl, ReportOut, UserCard, _present
from momentic_core.model.accounts import AccountStatus, User
from momentic_core.model.moderation import (
    Action,
    Case,
    CaseStatus,
    CaseView,
    ReportReason,
    TargetType,
)
from momentic_core.services.moderation import APPEAL_MAX, MAX_SUSPENSION, NOTE_MAX, REASON_MAX

# ---------------------------------------------------------------- the field types the wire
# shares; their bounds come from the rules and settings (schema.py turns them into JSON
# Schema for the OpenAPI document).

Id = Annotated[int, _ID]  # a row id in a body
Reason = Annotated[str, filled_text(REASON_MAX, "Why; shown to the user in their notification.")]
Suspension = Schema(minimum=60, maximum=int(MAX_SUSPENSION.total_seconds()))


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
class AppealPage:
    items: list[AppealOut]
    next_cursor: str | None
