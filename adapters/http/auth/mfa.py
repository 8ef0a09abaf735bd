"""v1 two-factor authentication (issue 21 item 1): enrolment, confirmation, turning it
off, the second step of a sign-in, and the staff routes' enrolment requirement
(services.mfa says what each means)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.http.auth.routes import token_response
from adapters.http.auth.views import (
    CodeBody,
    DisableBody,
    EnrolmentView,
    MfaSignInBody,
    RecoveryCodesView,
    TokenView,
    qr_svg,
)
from adapters.http.common import device, json_response, no_store, principal, read_body
from adapters.http.common import services as _services
from adapters.http.contract import NO_CONTENT, body, contract, json, problem
from adapters.http.views import MfaStatusView
from momentic_core.services import mfa

routes = web.RouteTableDef()

_BAD_CODE = problem("The code is wrong, outside the drift, of a step used already, or a spent "
                    "recovery code.", mfa.INVALID_MFA_CODE)

# The staff surface: the enrolment requirement applies here (and nowhere else).
STAFF_PREFIXES = ("/v1/admin/", "/v1/mod/")


@routes.get("/v1/me/2fa")
@contract("Whether two-factor authentication is on, pending confirmation, and how many "
          "recovery codes are left.", "auth",
          {200: json(MfaStatusView, "My two-factor state.")}, auth=True)
async def status(request: web.Request) -> web.Response:
    who = await principal(request)
    found = await _services(request).two_factor.status(who)
    return json_response(MfaStatusView.of(found))


@routes.post("/v1/me/2fa")
@contract(
    "Start enrolling an authenticator app: a new secret, its otpauth:// URI and that URI "
    "as an SVG QR code, answered "
    "this once (a pending enrolment is replaced). Nothing changes at sign-in until POST "
    "/v1/me/2fa/confirm.", "auth",
    {201: json(EnrolmentView, "The secret, pending confirmation.")}, auth=True,
    errors=(problem("Two-factor authentication is on already.", mfa.MFA_ALREADY_ENABLED),))
async def enrol(request: web.Request) -> web.Response:
    who = await principal(request)
    made = await _services(request).two_factor.enrol(who)
    return no_store(json_response(
        EnrolmentView(made.secret, made.otpauth_uri, qr_svg(made.otpauth_uri), made.digits,
                      made.period), 201
    ))


@routes.post("/v1/me/2fa/confirm")
@contract(
    "Turn the pending authenticator on with one of its codes; answers ten recovery codes, "
    "this once (stored hashed).", "auth",
    {200: json(RecoveryCodesView, "On; keep these somewhere safe.")}, auth=True,
    body=body(CodeBody, {"code": "123456"}),
    errors=(problem("No enrolment is pending.", mfa.MFA_NOT_PENDING), _BAD_CODE))
async def confirm(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, CodeBody)
    codes = await _services(request).two_factor.confirm(who, body.code)
    return no_store(json_response(RecoveryCodesView(codes)))


@routes.delete("/v1/me/2fa")
@contract(
    "Turn two-factor authentication off: my password (none for an account made by social "
    "sign-in) and a code or a recovery code.", "auth", {204: NO_CONTENT}, auth=True,
    body=body(DisableBody, {"code": "123456", "password": "correct horse battery"}),
    errors=(problem("Two-factor authentication is off.", mfa.MFA_NOT_ENABLED), _BAD_CODE))
async def disable(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, DisableBody)
    await _services(request).two_factor.disable(who, body.password, body.code)
    return web.Response(status=204)


@routes.post("/v1/auth/2fa")
@contract(
    "The second step of a sign-in: a password (POST /v1/auth/token) or social sign-in of "
    "an account with two-factor authentication answers 403 mfa_required with mfa_token; "
    "post it here with a code for the tokens. The token lasts "
    f"{int(mfa.CHALLENGE_TTL.total_seconds())} s and dies with a password change; it may "
    "be retried with another code within the rate limits (mfa:ip, mfa:user).", "auth",
    {200: json(TokenView, "Signed in.")},
    body=body(MfaSignInBody, {"mfa_token": "eyJ1IjoxLCJlIjoxNzk0MDAwMDAwLCJwIjoiYWJjIn0.c2ln",
                              "code": "123456", "device_name": "iPhone 15"}),
    errors=(problem("The challenge is unknown, forged or expired: sign in again.",
                    mfa.INVALID_MFA_TOKEN),
            problem("The account is banned or suspended.", "account_banned"), _BAD_CODE))
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
