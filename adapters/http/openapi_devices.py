"""The OpenAPI entries of push devices and notification settings (issue 17), kept apart
from ``openapi.py`` until the document is generated from typed route declarations; then
these move next to their handlers in ``routes_devices.py``. ``openapi.document`` merges
``paths(openapi)`` (which registers the examples first; the schemas come from
views_devices)."""

from __future__ import annotations

from typing import Any

from adapters.http import views_devices
from momentic_core.services import devices as rules

Json = dict[str, Any]

_DEVICE_EXAMPLE = {
    "id": 501, "platform": "ios", "token": "0f" * 32, "app_version": "1.4.0",
    "locale": "ru-BY", "apns_environment": "production", "current_session": True,
    "created_at": "2026-11-27T08:30:00.123456+00:00",
    "last_seen_at": "2026-11-27T08:30:00.123456+00:00",
}
_SETTINGS_EXAMPLE = {
    "moment": True, "reactions": False, "comments": True, "friend_requests": True,
    "moderation": True, "videos": True, "quiet_hours": {"start": "22:30", "end": "07:00"},
    "time_zone": "Europe/Minsk",
}


def paths(o: Any) -> Json:
    """``o``: the ``openapi`` module building the document (its helpers and tables)."""
    o.EXAMPLES.update({
        "Device": _DEVICE_EXAMPLE,
        "DeviceList": {"items": [_DEVICE_EXAMPLE]},
        "NotificationSettings": _SETTINGS_EXAMPLE,
    })
    tag = "notifications"
    bad_device = o._problem(
        f"{rules.INVALID_PUSH_TOKEN}: the token breaks its platform's format; "
        f"{rules.INVALID_DEVICE}: the platform, app version, locale or APNs environment; or "
        "a field of the wrong type.", rules.INVALID_PUSH_TOKEN, 422)
    bad_settings = o._problem(
        "An unknown switch, a value that is not true or false, or quiet hours that are not "
        "two different HH:MM times.", rules.INVALID_NOTIFICATION_SETTINGS, 422)
    return {
        "/v1/me/devices": {
            "post": o._op(
                "Register this phone's push token with my session (idempotent on the "
                "token; a token another account registered moves to me).", tag,
                {"201": o._json("Device", "Registered; new to my account."),
                 "200": o._json("Device", "A token of mine, refreshed.")},
                auth=True,
                body=o._body(views_devices.DeviceBody, {
                    "platform": "ios", "token": "0f" * 32, "app_version": "1.4.0",
                    "locale": "ru-BY", "apns_environment": "production"}),
                errors={"422": bad_device, "409": o._problem(
                    "I have max_devices_per_user (GET /v1/config) devices already.",
                    rules.TOO_MANY_DEVICES, 409)},
            ),
            "get": o._op("My push devices, oldest first.", tag,
                         {"200": o._json("DeviceList", "My devices.")}, auth=True),
        },
        "/v1/me/devices/{device_id}": {"delete": o._op(
            "Forget one of my push devices.", tag, {"204": o._NO_CONTENT}, auth=True,
            params=[o._path_id("device_id")],
            errors={"404": o._problem("No such device of mine.", rules.DEVICE_NOT_FOUND, 404)},
        )},
        "/v1/me/notification-settings": {
            "get": o._op("What is pushed to me; the in-app list keeps everything.", tag,
                         {"200": o._json("NotificationSettings", "My settings.")},
                         auth=True),
            "patch": o._op(
                "Switch pushes on or off by kind; set quiet hours (my time zone).", tag,
                {"200": o._json("NotificationSettings", "My settings now.")}, auth=True,
                body=o._body(views_devices.NotificationSettingsPatchBody, {"reactions": False,
                                     "quiet_hours": {"start": "22:30", "end": "07:00"}}),
                errors={"422": bad_settings},
            ),
        },
    }
