"""Request and response views of push devices and notification settings (issue 17)."""

from __future__ import annotations

from datetime import datetime

import attrs

from momentic_core.model.devices import Device, NotificationSettings, PushKind


@attrs.frozen
class DeviceBody:
    platform: str
    token: str
    app_version: str | None = None
    locale: str | None = None
    apns_environment: str | None = None


@attrs.frozen
class DeviceView:
    id: int
    platform: str
    token: str
    app_version: str | None
    locale: str | None
    apns_environment: str | None
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
    start: str  # HH:MM, local time
    end: str


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
