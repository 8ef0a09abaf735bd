"""v1 change of the account's email address (issue 21 item 2; services.email_change)."""

from __future__ import annotations

from aiohttp import web

from adapters.http.common import json_response, principal, read_body
from adapters.http.common import services as _services
from adapters.http.views import Accepted
from adapters.http.views_mfa import EmailChangeBody, EmailConfirmBody

routes = web.RouteTableDef()

_SENT = "If the address can receive a code, one is on its way."


@routes.post("/v1/me/email")
async def request_change(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, EmailChangeBody)
    await _services(request).email_change.request(who, body.email, body.password)
    return json_response(Accepted("sent", _SENT), status=202)


@routes.post("/v1/me/email/confirm")
async def confirm_change(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, EmailConfirmBody)
    await _services(request).email_change.confirm(who, body.email, body.code)
    return web.Response(status=204)
