"""Request and response views of push devices and notification settings (issue 17)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import attrs

from adapters.http.schema import Schema, one_of
from momentic_core.model.devices import (
    ApnsEnvironment,
    Device,
    NotificationSettings,
    Platform,
    PushKind,
)
from momentic_core.services import devices as rules
from momentic_core.services.profiles import UNSET

AppVersion = Annotated[str | None, Schema(pattern=f"^{rules.APP_VERSION.pattern}$")]
Locale = Annotated[str | None, Schema(
    pattern=f"^{rules.LOCALE.pattern}$",
    description="A language tag: en, ru-BY (ru_BY is read as ru-BY).")]
HourMinute = Annotated[str, Schema(pattern="^([01][0-9]|2[0-3]):[0-5][0-9]$")]  # HH:MM


@attrs.frozen
class IosDeviceBody:
    platform: Literal["ios"]
    token: Annotated[str, Schema(pattern=f"^{rules.APNS_TOKEN.pattern}$")]
    apns_environment: Annotated[str, one_of(ApnsEnvironment)]
    app_version: AppVersion = None
    locale: Locale = None


@attrs.frozen
class AndroidDeviceBody:
    platform: Literal["android"]
    token: Annotated[str, Schema(pattern=f"^{rules.FCM_TOKEN.pattern}$")]
    apns_environment: None = None
    app_version: AppVersion = None
    locale: Locale = None


@attrs.frozen
class DeviceBody:
    """ios: the APNs device token, 64 to 200 hexadecimal characters (kept in lower case);
    android: the FCM registration token, 100 to 4096 of A-Z a-z 0-9 _ - :."""

    # Parsed as one class; the core checks each platform's token and fields.
    __schema_variants__ = (IosDeviceBody, AndroidDeviceBody)

    platform: str
    token: str
    app_version: str | None = None
    locale: str | None = None
    apns_environment: str | None = None


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
class DeviceList:
    items: list[DeviceView]


@attrs.frozen
class QuietHoursView:
    start: HourMinute  # local time
    end: HourMinute


@attrs.frozen
class QuietHoursBody:
    """Two different times; any other key is refused."""

    __schema__ = Schema(additionalProperties=False)

    start: HourMinute
    end: HourMinute


@attrs.frozen
class NotificationSettingsPatchBody:
    """Any of the switches and quiet_hours (null: none); the rest stay. Checked by the core
    as it comes (422 invalid_notification_settings), so the handler passes the object on."""

    __schema__ = Schema(minProperties=1, additionalProperties=False)

    moment: bool = UNSET
    reactions: bool = UNSET
    comments: bool = UNSET
    friend_requests: bool = UNSET
    moderation: bool = UNSET
    videos: bool = UNSET
    quiet_hours: QuietHoursBody | None = UNSET


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
