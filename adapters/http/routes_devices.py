"""v1 push devices and notification settings (issue 17): the phone registers its APNs or
FCM token with the session it signed in with; the user chooses what is pushed."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.http.common import int_param, json_response, principal, read_body, read_json
from adapters.http.common import services as _services
from adapters.http.views_devices import (
    DeviceBody,
    DeviceList,
    DeviceView,
    NotificationSettingsView,
)
from momentic_core.errors import Invalid
from momentic_core.services.devices import INVALID_NOTIFICATION_SETTINGS, Registration

routes = web.RouteTableDef()


@routes.post("/v1/me/devices")
async def register_device(request: web.Request) -> web.Response:
    """201 for a token new to this account (Location: the device), 200 when it only
    refreshed one of mine."""
    who = await principal(request)
    body = await read_body(request, DeviceBody)
    device, created = await _services(request).devices.register(who, Registration(
        platform=body.platform, token=body.token, app_version=body.app_version,
        locale=body.locale, apns_environment=body.apns_environment,
    ))
    response = json_response(DeviceView.of(device, who.session_id), 201 if created else 200)
    if created:
        response.headers["Location"] = f"/v1/me/devices/{device.id}"
    return response


@routes.get("/v1/me/devices")
async def list_devices(request: web.Request) -> web.Response:
    who = await principal(request)
    found = await _services(request).devices.list(who)
    return json_response(DeviceList(items=[DeviceView.of(d, who.session_id) for d in found]))


@routes.delete("/v1/me/devices/{device_id}")
async def delete_device(request: web.Request) -> web.Response:
    who = await principal(request)
    await _services(request).devices.delete(who, int_param(request, "device_id"))
    return web.Response(status=204)


@routes.get("/v1/me/notification-settings")
async def get_notification_settings(request: web.Request) -> web.Response:
    who = await principal(request)
    settings, zone = await _services(request).notification_preferences.get(who)
    return json_response(NotificationSettingsView.of(settings, zone))


@routes.patch("/v1/me/notification-settings")
async def patch_notification_settings(request: web.Request) -> web.Response:
    who = await principal(request)
    changes: Any = await read_json(request)
    if not isinstance(changes, dict):
        raise Invalid("The body is a JSON object.", code=INVALID_NOTIFICATION_SETTINGS)
    settings, zone = await _services(request).notification_preferences.update(who, changes)
    return json_response(NotificationSettingsView.of(settings, zone))
