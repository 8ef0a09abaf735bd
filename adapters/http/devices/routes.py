"""v1 push devices and notification settings (issue 17): the phone registers its APNs or
FCM token with the session it signed in with; the user chooses what is pushed."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.http.common import int_param, json_response, principal, read_body, read_json
from adapters.http.common import services as _services
from adapters.http.contract import NO_CONTENT, body, contract, json, path_id, problem
from adapters.http.devices.views import DeviceBody, DeviceList, NotificationSettingsPatchBody
from adapters.http.views import DeviceView, NotificationSettingsView
from momentic_core.errors import Invalid
from momentic_core.services import devices as rules
from momentic_core.services.devices import INVALID_NOTIFICATION_SETTINGS, Registration

routes = web.RouteTableDef()


@routes.post("/v1/me/devices")
@contract(
    "Register this phone's push token with my session (idempotent on the token; a token "
    "another account registered moves to me).", "notifications",
    {201: json(DeviceView, "Registered; new to my account."),
     200: json(DeviceView, "A token of mine, refreshed.")},
    auth=True,
    body=body(DeviceBody, {"platform": "ios", "token": "0f" * 32, "app_version": "1.4.0",
                           "locale": "ru-BY", "apns_environment": "production"}),
    errors=(problem(f"{rules.INVALID_PUSH_TOKEN}: the token breaks its platform's format; "
                    f"{rules.INVALID_DEVICE}: the platform, app version, locale or APNs "
                    "environment; or a field of the wrong type.", rules.INVALID_PUSH_TOKEN),
            problem("I have max_devices_per_user (GET /v1/config) devices already.",
                    rules.TOO_MANY_DEVICES)))
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
@contract("My push devices, oldest first.", "notifications",
          {200: json(DeviceList, "My devices.")}, auth=True)
async def list_devices(request: web.Request) -> web.Response:
    who = await principal(request)
    found = await _services(request).devices.list(who)
    return json_response(DeviceList(items=[DeviceView.of(d, who.session_id) for d in found]))


@routes.delete("/v1/me/devices/{device_id}")
@contract(
    "Forget one of my push devices.", "notifications", {204: NO_CONTENT}, auth=True,
    params=[path_id("device_id")],
    errors=(problem("No such device of mine.", rules.DEVICE_NOT_FOUND),))
async def delete_device(request: web.Request) -> web.Response:
    who = await principal(request)
    await _services(request).devices.delete(who, int_param(request, "device_id"))
    return web.Response(status=204)


@routes.get("/v1/me/notification-settings")
@contract(
    "What is pushed to me; the in-app list keeps everything.", "notifications",
    {200: json(NotificationSettingsView, "My settings.")}, auth=True)
async def get_notification_settings(request: web.Request) -> web.Response:
    who = await principal(request)
    settings, zone = await _services(request).notification_preferences.get(who)
    return json_response(NotificationSettingsView.of(settings, zone))


@routes.patch("/v1/me/notification-settings")
@contract(
    "Switch pushes on or off by kind; set quiet hours (my time zone).", "notifications",
    {200: json(NotificationSettingsView, "My settings now.")}, auth=True,
    body=body(NotificationSettingsPatchBody, {"reactions": False, "quiet_hours": {
        "start": "22:30", "end": "07:00"}}),
    errors=(problem("An unknown switch, a value that is not true or false, or quiet hours "
                    "that are not two different HH:MM times.",
                    rules.INVALID_NOTIFICATION_SETTINGS),))
async def patch_notification_settings(request: web.Request) -> web.Response:
    who = await principal(request)
    changes: Any = await read_json(request)
    if not isinstance(changes, dict):
        raise Invalid("The body is a JSON object.", code=INVALID_NOTIFICATION_SETTINGS)
    settings, zone = await _services(request).notification_preferences.update(who, changes)
    return json_response(NotificationSettingsView.of(settings, zone))
