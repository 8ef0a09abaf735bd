"""Request and response views of the admin area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import attrs

from adapters.http.schema import Schema, one_of, text
from adapters.http.views import AuditOut, MediaUrl
from momentic_core.model.accounts import AccountStatus, Role, User
from momentic_core.model.moderation import RuntimeConfig, StaffUserView
from momentic_core.services.config import FOR_YOU_WEIGHT_MAX, MAX_RATE_WINDOW, SettingsInForce
from momentic_core.services.moderation import REASON_MAX
from momentic_core.services.profiles import UNSET
from momentic_core.services.throttle import DEFAULT_LIMITS

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
