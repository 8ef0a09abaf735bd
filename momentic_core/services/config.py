"""Runtime settings: what admins change without a restart.

The deployment (environment) gives the defaults; what an admin sets is stored and wins.
Each instance keeps the merged values for ``TTL``, so a change reaches every instance
within that time (the instance that made it at once). Every service that applies one of
these settings, and every route that publishes one, reads it from the same ``Config``.

Allowed email domains: ``bsu.by`` admits addresses at bsu.by only (not sub.bsu.by);
``*.bsu.by`` admits every subdomain of bsu.by (not bsu.by itself); ``*`` admits any domain.
An empty list is refused (it would admit nobody, or, read carelessly, everybody); ``None``
resets the setting to the deployment's list.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timedelta
from typing import Any

import attrs

from momentic_core.errors import Invalid
from momentic_core.model.accounts import Principal, Role
from momentic_core.model.moderation import CONFIG_KEYS, AuditEntry, RuntimeConfig
from momentic_core.policies import permissions, rules
from momentic_core.ports import Clock, UnitOfWorkFactory

REASON_MAX = 500
_DOMAIN = re.compile(r"^(\*\.)?([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


# The longest window an admin may give a rate limit (the defaults' longest is a day).
MAX_RATE_WINDOW = timedelta(days=7)
# The most weight For-You may give completion (freshness weighs 1, a friend 2).
FOR_YOU_WEIGHT_MAX = 100


@attrs.frozen
class SettingsInForce:
    """The settings in force: stored values over the deployment's (which the composition
    root reads from the environment; there are no defaults here)."""

    allowed_email_domains: tuple[str, ...]  # patterns (see the module); ("*",): any
    max_video_bytes: int
    max_video_seconds: float
    bereal_lock: bool
    report_threshold: int
    rate_limits: dict[str, tuple[int, int]]  # overrides of services.throttle's limits only
    max_devices_per_user: int  # push devices (deployment only: not an admin setting)
    staff_mfa_required: bool  # staff routes need an enrolled authenticator (services.mfa)
    for_you_completion_weight: float  # policies.ranking: the completion term's weight
    moment_reminder: bool  # services.push: the second reminder when the window closes


def _bad(name: str, message: str) -> Invalid:
    return Invalid(message, code="invalid_setting", field=name)


def _int(name: str, value: Any, low: int, high: int) -> int:
    # JSON has one number type: 300.0 is the integer 300 (as JSON Schema's "integer" says).
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(name, f"{name} is a whole number from {low} to {high}.")
    return value


def check_value(name: str, value: Any, limit_names: tuple[str, ...]) -> Any:
    """The stored form of one setting (None resets it). Raises Invalid(code=
    "invalid_setting")."""
    if name not in CONFIG_KEYS:
        raise _bad(name, f"Unknown setting {name!r}.")
    if value is None:
        return {} if name == "rate_limits" else None
    if name == "allowed_email_domains":
        if not isinstance(value, list) or not 1 <= len(value) <= 200 or not all(
            isinstance(d, str) and (d.strip() == "*" or _DOMAIN.fullmatch(d.strip().lower()))
            for d in value
        ):
            raise _bad(
                name, 'A list of 1 to 200 domains such as bsu.by or *.edu; ["*"]: any domain.'
            )
        return tuple(dict.fromkeys(d.strip().lower() for d in value))
    if name == "max_video_bytes":
        return _int(name, value, 1_000_000, 5_000_000_000)
    if name == "max_video_seconds":
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and 1 <= value <= 600
        ):
            raise _bad(name, "max_video_seconds is from 1 to 600.")
        return float(value)
    if name == "for_you_completion_weight":
        if isinstance(value, bool) or not isinstance(value, int | float) or not (
            math.isfinite(value) and 0 <= value <= FOR_YOU_WEIGHT_MAX
        ):
            raise _bad(name, f"{name} is from 0 to {FOR_YOU_WEIGHT_MAX}.")
        return float(value)
    if name in ("bereal_lock", "staff_mfa_required", "moment_reminder"):
        if not isinstance(value, bool):
            raise _bad(name, f"{name} is true or false.")
        return value
    if name == "report_threshold":
        return _int(name, value, 1, 1000)
    # rate_limits: {"name": {"count": n, "window_seconds": s}} merged over the stored ones
    if not isinstance(value, dict):
        raise _bad(name, "rate_limits maps a limit name to {count, window_seconds}.")
    limits: dict[str, tuple[int, int]] = {}
    for limit, spec in value.items():
        if limit not in limit_names:
            raise _bad(name, f"Unknown rate limit {limit!r}.")
        if not isinstance(spec, dict) or set(spec) != {"count", "window_seconds"}:
            raise _bad(name, "Each rate limit is {count, window_seconds}.")
        limits[limit] = (
            _int(name, spec["count"], 1, 1_000_000),
            _int(name, spec["window_seconds"], 1, int(MAX_RATE_WINDOW.total_seconds())),
        )
    return limits


class Config:
    TTL = timedelta(seconds=5)

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        defaults: SettingsInForce,
        limit_names: tuple[str, ...],
    ) -> None:
        """``defaults``: the deployment's values; ``limit_names``: the rate limits an
        admin may override."""
        self._uow = uow
        self._clock = clock
        self.defaults = defaults
        self.limit_names = limit_names
        self._cached: tuple[datetime, SettingsInForce] | None = None

    def _merge(self, stored: RuntimeConfig) -> SettingsInForce:
        values = {
            name: getattr(stored, name)
            for name in CONFIG_KEYS
            if name != "rate_limits" and getattr(stored, name) is not None
        }
        return attrs.evolve(self.defaults, rate_limits=dict(stored.rate_limits), **values)

    async def current(self) -> SettingsInForce:
        now = self._clock.now()
        if self._cached is not None and now - self._cached[0] < self.TTL:
            return self._cached[1]
        async with self._uow() as tx:
            stored = await tx.config.load()
        effective = self._merge(stored)
        self._cached = (now, effective)
        return effective

    async def stored(self, actor: Principal | None) -> RuntimeConfig:
        if actor is not None:
            permissions.require_role(actor.role, Role.ADMIN)
        async with self._uow() as tx:
            return await tx.config.load()

    async def update(
        self, actor: Principal | None, changes: dict[str, Any], reason: str | None = None
    ) -> SettingsInForce:
        """Admins (or the operator, ``actor`` None) change settings; ``None`` resets one
        to the deployment's value. Audited. Raises Invalid(code="invalid_setting")."""
        if actor is not None:
            permissions.require_role(actor.role, Role.ADMIN)
        if not changes:
            raise Invalid("Nothing to change.", code="invalid_setting")
        reason = rules.check_text(reason, "reason", REASON_MAX)
        checked = {name: check_value(name, v, self.limit_names) for name, v in changes.items()}
        now = self._clock.now()
        async with self._uow() as tx:
            await tx.config.lock()
            stored = await tx.config.load()
            if checked.get("rate_limits"):
                checked["rate_limits"] = {**stored.rate_limits, **checked["rate_limits"]}
            stored = attrs.evolve(stored, **checked)
            await tx.config.save(stored)
            await tx.audit.add(AuditEntry(
                id=0, actor_id=actor.user_id if actor else None, action="settings.update",
                target_type="settings", target_id=None, reason=reason, created_at=now,
                data={"changes": {k: _jsonable(v) for k, v in changes.items()}},
            ))
        effective = self._merge(stored)
        self._cached = (now, effective)
        return effective


def _jsonable(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    return value
