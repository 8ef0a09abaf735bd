"""Request and response views of push devices and notification settings (issue 17)."""

from __future__ import annotations

from typing import Annotated, Literal

import attrs

from adapters.http.schema import Schema, one_of
from adapters.http.views import DeviceView, HourMinute
from momentic_core.model.devices import ApnsEnvironment
from momentic_core.services import devices as rules
from momentic_core.services.profiles import UNSET

# ---------------------------------------------------------- push devices and notification settings

AppVersion = Annotated[str | None, Schema(pattern=f"^{rules.APP_VERSION.pattern}$")]
Locale = Annotated[str | None, Schema(
    pattern=f"^{rules.LOCALE.pattern}$",
    description="A language tag: en, ru-BY (ru_BY is read as ru-BY).")]


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
class DeviceList:
    items: list[DeviceView]


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
