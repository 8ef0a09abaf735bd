"""v1 change of the account's email address (issue 21 item 2; services.email_change)."""

from __future__ import annotations

from aiohttp import web

from adapters.http.auth.views import Accepted, EmailChangeBody, EmailConfirmBody
from adapters.http.common import json_response, principal, read_body
from adapters.http.common import services as _services
from adapters.http.contract import NO_CONTENT, body, contract, json, problem
from momentic_core.services import email_change

routes = web.RouteTableDef()

_SENT = "If the address can receive a code, one is on its way."


@routes.post("/v1/me/email")
@contract(
    "Change my email address: a code goes to the new one (15 minutes, 5 tries). The same "
    "answer whether or not the address has an account (one that has gets a mail saying "
    "someone tried, and no code). My password is required (none for an account made by "
    "social sign-in); the allowed email domains apply.", "profile",
    {202: json(Accepted, "Sent, if the address can receive a code.")}, auth=True,
    body=body(EmailChangeBody, {"email": "alex.new@bsu.by",
                                "password": "correct horse battery"}),
    errors=(problem("Wrong password.", "invalid_credentials"),
            problem("Not an email address, a domain that is not allowed, or my address "
                    "already.", "email_domain_not_allowed"),
            "invalid_email", "email_domain_not_allowed", email_change.EMAIL_UNCHANGED,
            "invalid_credentials"))
async def request_change(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, EmailChangeBody)
    await _services(request).email_change.request(who, body.email, body.password)
    return json_response(Accepted("sent", _SENT), status=202)


@routes.post("/v1/me/email/confirm")
@contract(
    "Move my account to the new address with the code mailed there; the old address is "
    "told by mail. My sessions stay.", "profile", {204: NO_CONTENT}, auth=True,
    body=body(EmailConfirmBody, {"email": "alex.new@bsu.by", "code": "123456"}),
    errors=(problem("A wrong, expired or spent code, or another address than the code was "
                    "sent to.", "invalid_code"),
            problem("The address got an account since the code was sent.", "email_taken"),
            "invalid_code", "email_taken"))
async def confirm_change(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, EmailConfirmBody)
    await _services(request).email_change.confirm(who, body.email, body.code)
    return web.Response(status=204)
