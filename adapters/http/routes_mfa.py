"""v1 two-factor authentication (issue 21 item 1): enrolment, confirmation, turning it
off, the second step of a sign-in, and the staff routes' enrolment requirement
(services.mfa says what each means)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.http.common import device, json_response, no_store, principal, read_body
from adapters.http.common import services as _services
from adapters.http.routes_auth import token_response
from adapters.http.views_mfa import (
    CodeBody,
    DisableBody,
    EnrolmentView,
    MfaSignInBody,
    MfaStatusView,
    RecoveryCodesView,
)

routes = web.RouteTableDef()

# The staff surface: the enrolment requirement applies here (and nowhere else).
STAFF_PREFIXES = ("/v1/admin/", "/v1/mod/")


@routes.get("/v1/me/2fa")
async def status(request: web.Request) -> web.Response:
    who = await principal(request)
    found = await _services(request).two_factor.status(who)
    return json_response(MfaStatusView(found.enabled, found.pending, found.recovery_codes_left))


@routes.post("/v1/me/2fa")
async def enrol(request: web.Request) -> web.Response:
    who = await principal(request)
    made = await _services(request).two_factor.enrol(who)
    return no_store(json_response(
        EnrolmentView(made.secret, made.otpauth_uri, made.digits, made.period), 201
    ))


@routes.post("/v1/me/2fa/confirm")
async def confirm(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, CodeBody)
    codes = await _services(request).two_factor.confirm(who, body.code)
    return no_store(json_response(RecoveryCodesView(codes)))


@routes.delete("/v1/me/2fa")
async def disable(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, DisableBody)
    await _services(request).two_factor.disable(who, body.password, body.code)
    return web.Response(status=204)


@routes.post("/v1/auth/2fa")
async def sign_in(request: web.Request) -> web.Response:
    body = await read_body(request, MfaSignInBody)
    pair = await _services(request).two_factor.sign_in(
        body.mfa_token, body.code, device(request, body.device_name)
    )
    return token_response(pair)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def staff_enrolment_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """Staff routes answer 403 mfa_enrolment_required to an admin or moderator without
    two-factor authentication while the runtime setting staff_mfa_required is on. A
    request without a token goes on to its handler (401 there)."""
    if (
        request.path.startswith(STAFF_PREFIXES)
        and request.method != "OPTIONS"
        and "Authorization" in request.headers
    ):
        who = await principal(request)
        await _services(request).two_factor.require_staff_enrolment(who)
    return await handler(request)
