"""The OpenAPI entries of push devices and notification settings (issue 17), kept apart
from ``openapi.py`` until the document is generated from typed route declarations; then
these move next to their handlers in ``routes_devices.py``. ``openapi.document`` merges
``paths(openapi)`` (which registers the schemas and examples first)."""

from __future__ import annotations

from typing import Any

from momentic_core.services import devices as rules

Json = dict[str, Any]

_TOKEN_DOC = (
    "ios: the APNs device token, 64 to 200 hexadecimal characters (kept in lower case); "
    "android: the FCM registration token, 100 to 4096 of A-Z a-z 0-9 _ - :."
)
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
_HHMM = {"type": "string", "pattern": "^([01][0-9]|2[0-3]):[0-5][0-9]$"}
_KINDS = ["moment", "reactions", "comments", "friend_requests", "moderation", "videos"]


def paths(o: Any) -> Json:
    """``o``: the ``openapi`` module building the document (its helpers and tables)."""
    s, sn, time_, boolean = o._S, o._SN, o._TIME, {"type": "boolean"}
    quiet = {**o._obj(["start", "end"], {"start": _HHMM, "end": _HHMM}),
             "additionalProperties": False}  # the core refuses any other key
    o.SCHEMAS.update({
        "Device": o._obj(list(_DEVICE_EXAMPLE), {
            "id": o._INT, "platform": {"type": "string", "enum": ["ios", "android"]},
            "token": s, "app_version": sn, "locale": sn,
            "apns_environment": {"type": ["string", "null"],
                                 "enum": ["sandbox", "production", None]},
            "current_session": boolean, "created_at": time_, "last_seen_at": time_,
        }),
        "DeviceList": o._obj(["items"], {"items": {"type": "array",
                                                   "items": o._ref("Device")}}),
        "NotificationSettings": o._obj(list(_SETTINGS_EXAMPLE), {
            **{k: boolean for k in _KINDS},
            "quiet_hours": {"oneOf": [quiet, {"type": "null"}]},
            "time_zone": s,
        }),
    })
    o.EXAMPLES.update({
        "Device": _DEVICE_EXAMPLE,
        "DeviceList": {"items": [_DEVICE_EXAMPLE]},
        "NotificationSettings": _SETTINGS_EXAMPLE,
    })
    tag = "notifications"
    details = {
        "app_version": {"type": ["string", "null"], "pattern": f"^{rules.APP_VERSION.pattern}$"},
        "locale": {"type": ["string", "null"], "pattern": f"^{rules.LOCALE.pattern}$",
                   "description": "A language tag: en, ru-BY (ru_BY is read as ru-BY)."},
    }
    register = {"description": _TOKEN_DOC, "oneOf": [
        o._obj(["platform", "token", "apns_environment"], {
            "platform": {"const": "ios"},
            "token": {"type": "string", "pattern": f"^{rules.APNS_TOKEN.pattern}$"},
            "apns_environment": {"type": "string", "enum": ["sandbox", "production"]},
            **details,
        }),
        o._obj(["platform", "token"], {
            "platform": {"const": "android"},
            "token": {"type": "string", "pattern": f"^{rules.FCM_TOKEN.pattern}$"},
            "apns_environment": {"type": "null"},
            **details,
        }),
    ]}
    bad_device = o._problem(
        f"{rules.INVALID_PUSH_TOKEN}: the token breaks its platform's format; "
        f"{rules.INVALID_DEVICE}: the platform, app version, locale or APNs environment; or "
        "a field of the wrong type.", rules.INVALID_PUSH_TOKEN, 422)
    patch = {
        "type": "object",
        "description": "Any of the switches and quiet_hours (null: none); the rest stay.",
        "properties": {**{k: boolean for k in _KINDS},
                       "quiet_hours": {"oneOf": [quiet, {"type": "null"}]}},
        "additionalProperties": False,
        "minProperties": 1,
    }
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
                body=o._body(register, {"platform": "ios", "token": "0f" * 32,
                                        "app_version": "1.4.0", "locale": "ru-BY",
                                        "apns_environment": "production"}),
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
                body=o._body(patch, {"reactions": False,
                                     "quiet_hours": {"start": "22:30", "end": "07:00"}}),
                errors={"422": bad_settings},
            ),
        },
    }
