"""v1 moderation: bans and suspensions (moderators and admins; the core checks roles)."""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from adapters.http.common import int_param, json_response, principal, read_body, services
from adapters.http.views import AccountStatusOut, BanBody, SuspendBody
from momentic_core.errors import Invalid

routes = web.RouteTableDef()


@routes.post("/v1/mod/users/{user_id}/ban")
async def ban(request: web.Request) -> web.Response:
    who = await principal(request)
    user_id = int_param(request, "user_id")
    body = await read_body(request, BanBody)
    user = await services(request).moderation.ban(who, user_id, body.reason)
    return json_response(AccountStatusOut.of(user))


@routes.post("/v1/mod/users/{user_id}/suspend")
async def suspend(request: web.Request) -> web.Response:
    who = await principal(request)
    user_id = int_param(request, "user_id")
    body = await read_body(request, SuspendBody)
    try:
        duration = timedelta(seconds=body.duration_seconds)
    except OverflowError:  # the core says which durations are allowed; this one is no time
        raise Invalid("A suspension lasts 1 minute to 365 days.", code="invalid_duration",
                      field="duration_seconds") from None
    user = await services(request).moderation.suspend(who, user_id, body.reason, duration)
    return json_response(AccountStatusOut.of(user))


@routes.post("/v1/mod/users/{user_id}/unban")
async def unban(request: web.Request) -> web.Response:
    who = await principal(request)
    user = await services(request).moderation.unban(who, int_param(request, "user_id"))
    return json_response(AccountStatusOut.of(user))
