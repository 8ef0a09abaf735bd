"""Push devices and notification preferences: what a phone registers to be reached, and
what its user wants to hear about.

Token formats are checked strictly: an APNs device token is hexadecimal, 64 characters
today (32 bytes) and up to 200 (Apple reserves longer tokens); an FCM registration token
is 100 to 4,096 characters of letters, digits and ``_-:``. An iOS device names its APNs
environment (``sandbox`` for development builds, ``production``); an Android one names
none. A user has at most ``max_devices_per_user`` (a runtime setting, in GET /v1/config)
devices; registering a token they have already registered only refreshes it.
"""

from __future__ import annotations

import re
from datetime import time
from typing import Any

import attrs

from momentic_core.errors import Conflict, Invalid, NotFound, Unauthenticated
from momentic_core.model.accounts import Principal
from momentic_core.model.devices import (
    ApnsEnvironment,
    Device,
    NotificationSettings,
    Platform,
    PushKind,
)
from momentic_core.ports import Clock, UnitOfWorkFactory
from momentic_core.services.config import Config

# Stable codes of this module (problem+json ``code``).
INVALID_PUSH_TOKEN = "invalid_push_token"
INVALID_DEVICE = "invalid_device"  # platform, app version, locale or APNs environment
TOO_MANY_DEVICES = "too_many_devices"
DEVICE_NOT_FOUND = "device_not_found"
INVALID_NOTIFICATION_SETTINGS = "invalid_notification_settings"
CODES = (
    INVALID_PUSH_TOKEN, INVALID_DEVICE, TOO_MANY_DEVICES, DEVICE_NOT_FOUND,
    INVALID_NOTIFICATION_SETTINGS,
)

APNS_TOKEN = re.compile(r"(?:[0-9a-fA-F]{2}){32,100}")  # whole bytes
FCM_TOKEN = re.compile(r"[A-Za-z0-9_:\-]{100,4096}")
APP_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z.+\-_ ()]{0,31}")
LOCALE = re.compile(r"[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{2,8}){0,3}")
_TIME = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")


def _bad(field: str, message: str, code: str = INVALID_DEVICE) -> Invalid:
    return Invalid(message, code=code, field=field)


def check_token(platform: Platform, token: Any) -> str:
    """The token as stored (APNs hex in lower case). Raises Invalid(code=
    "invalid_push_token")."""
    if not isinstance(token, str):
        raise _bad("token", "token is a string.", INVALID_PUSH_TOKEN)
    if platform is Platform.IOS:
        if not APNS_TOKEN.fullmatch(token):
            raise _bad("token", "An APNs device token is 64 to 200 hexadecimal characters "
                       "(whole bytes).", INVALID_PUSH_TOKEN)
        return token.lower()
    if not FCM_TOKEN.fullmatch(token):
        raise _bad("token", "An FCM registration token is 100 to 4096 letters, digits, "
                   "'_', '-' or ':'.", INVALID_PUSH_TOKEN)
    return token


@attrs.frozen
class Registration:
    """What a phone sends: validated by ``Devices.register``."""

    platform: str
    token: str
    app_version: str | None = None
    locale: str | None = None
    apns_environment: str | None = None


def _enum(cls: Any, field: str, value: Any) -> Any:
    try:
        return cls(value)
    except ValueError:
        names = " or ".join(m.value for m in cls)
        raise _bad(field, f"{field} is {names}.") from None


class Devices:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, config: Config) -> None:
        self._uow = uow
        self._clock = clock
        self._config = config  # the most devices per user

    async def register(self, who: Principal, reg: Registration) -> tuple[Device, bool]:
        """Register (or refresh) this session's push token; (the device, whether it is new
        to this account). A token registered by another account moves to this one.
        Raises Invalid(code="invalid_push_token" | "invalid_device"),
        Conflict(code="too_many_devices"), Unauthenticated(code="token_revoked") when the
        caller's session was revoked meanwhile (its devices are gone with it: none is
        registered after the revocation)."""
        platform = _enum(Platform, "platform", reg.platform)
        token = check_token(platform, reg.token)
        env: ApnsEnvironment | None = None
        if platform is Platform.IOS:
            env = _enum(ApnsEnvironment, "apns_environment", reg.apns_environment)
        elif reg.apns_environment is not None:
            raise _bad("apns_environment", "apns_environment is for iOS devices only.")
        if reg.app_version is not None and not APP_VERSION.fullmatch(reg.app_version):
            raise _bad("app_version", "app_version is up to 32 letters, digits and . + - _.")
        locale = reg.locale
        if locale is not None:
            if not LOCALE.fullmatch(locale):
                raise _bad("locale", "locale is a language tag such as en or ru-BY.")
            locale = locale.replace("_", "-")
        limit = (await self._config.current()).max_devices_per_user
        now = self._clock.now()
        async with self._uow() as tx:
            await tx.users.get_for_update(who.user_id)  # counts and registrations in turn
            mine = {d.token: d for d in await tx.devices.list_for_user(who.user_id)}
            if token not in mine and len(mine) >= limit:
                raise Conflict(
                    f"At most {limit} devices per account; remove one first.",
                    code=TOO_MANY_DEVICES, limit=limit,
                )
            try:
                device, _ = await tx.devices.register(Device(
                    id=0, user_id=who.user_id, session_id=who.session_id, platform=platform,
                    token=token, app_version=reg.app_version, locale=locale,
                    apns_environment=env, created_at=now, last_seen_at=now,
                ))
            except NotFound as gone:
                if gone.code != "session_not_found":
                    raise
                raise Unauthenticated(
                    "This session was signed out; sign in again.", code="token_revoked"
                ) from None
        return device, token not in mine

    async def list(self, who: Principal) -> list[Device]:
        async with self._uow(read_only=True) as tx:
            return await tx.devices.list_for_user(who.user_id)

    async def delete(self, who: Principal, device_id: int) -> None:
        """Raises NotFound(code="device_not_found") (also for someone else's device)."""
        async with self._uow() as tx:
            if not await tx.devices.delete(who.user_id, device_id):
                raise NotFound("No such device.", code=DEVICE_NOT_FOUND)


def _clock_time(field: str, value: Any) -> time:
    if not isinstance(value, str) or not (m := _TIME.fullmatch(value)):
        raise _bad(field, f"{field} is a local time HH:MM.", INVALID_NOTIFICATION_SETTINGS)
    return time(int(m.group(1)), int(m.group(2)))


def apply_settings(current: NotificationSettings, changes: dict[str, Any]) -> NotificationSettings:
    """``changes``: any of the push kinds (true/false) and ``quiet_hours``
    ({start, end} local times "HH:MM", or null: none). Raises Invalid(code=
    "invalid_notification_settings")."""
    if not changes:
        raise Invalid("Nothing to change.", code=INVALID_NOTIFICATION_SETTINGS)
    enabled = set(current.enabled)
    start, end = current.quiet_start, current.quiet_end
    for name, value in changes.items():
        if name == "quiet_hours":
            if value is None:
                start = end = None
                continue
            if not isinstance(value, dict) or set(value) != {"start", "end"}:
                raise _bad(name, "quiet_hours is {start, end} or null.",
                           INVALID_NOTIFICATION_SETTINGS)
            start = _clock_time("quiet_hours.start", value["start"])
            end = _clock_time("quiet_hours.end", value["end"])  # equal to start: none
            continue
        try:
            kind = PushKind(name)
        except ValueError:
            raise _bad(name, f"Unknown setting {name!r}.", INVALID_NOTIFICATION_SETTINGS) from None
        if not isinstance(value, bool):
            raise _bad(name, f"{name} is true or false.", INVALID_NOTIFICATION_SETTINGS)
        (enabled.add if value else enabled.discard)(kind)
    return NotificationSettings(enabled=frozenset(enabled), quiet_start=start, quiet_end=end)


class NotificationPreferences:
    """Which pushes a user gets. The in-app list (``Notifications``) keeps every
    notification whatever these say."""

    def __init__(self, *, uow: UnitOfWorkFactory) -> None:
        self._uow = uow

    async def get(self, who: Principal) -> tuple[NotificationSettings, str]:
        """The settings and the time zone their quiet hours are in."""
        async with self._uow(read_only=True) as tx:
            user = await tx.users.get(who.user_id)
            return await tx.notification_settings.get(who.user_id), user.time_zone

    async def update(
        self, who: Principal, changes: dict[str, Any]
    ) -> tuple[NotificationSettings, str]:
        async with self._uow() as tx:
            user = await tx.users.get_for_update(who.user_id)
            settings = apply_settings(await tx.notification_settings.get(who.user_id), changes)
            await tx.notification_settings.save(who.user_id, settings)
        return settings, user.time_zone
