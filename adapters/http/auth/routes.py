"""v1 authentication: sign-up, verification, tokens, social sign-in, password reset."""

from __future__ import annotations

from aiohttp import web

from adapters.http.auth.views import (
    Accepted,
    EmailBody,
    RegisterBody,
    ResetConfirmBody,
    SocialBody,
    TokenBody,
    TokenView,
    VerifyBody,
)
from adapters.http.common import (
    device,
    json_response,
    no_store,
    principal,
    read_body,
    services,
)
from adapters.http.contract import (
    BAD_LOGIN,
    CRED_EXAMPLE,
    NEW_PASSWORD,
    NO_CONTENT,
    REFUSED_ACCOUNT,
    SIGN_UP,
    body,
    contract,
    json,
    problem,
)
from momentic_core.errors import Invalid
from momentic_core.model.accounts import TokenPair

routes = web.RouteTableDef()

_SENT = "If the address can receive a code, one is on its way."


def token_response(pair: TokenPair) -> web.Response:
    return no_store(json_response(TokenView.of(pair)))


@routes.post("/v1/auth/register")
@contract(
    "Start a sign-up; a 6-digit code is emailed. Same answer for known addresses.", "auth",
    {202: json(Accepted, "Accepted.")}, body=body(RegisterBody, CRED_EXAMPLE), errors=SIGN_UP)
async def register(request: web.Request) -> web.Response:
    body = await read_body(request, RegisterBody)
    await services(request).accounts.register(body.email, body.password, device(request))
    return json_response(Accepted("pending_verification", _SENT), status=202)


@routes.post("/v1/auth/verify")
@contract(
    "Verify the email with its code and the sign-up password; signs this device in.", "auth",
    {200: json(TokenView, "Signed in.")},
    body=body(VerifyBody, {"email": "alex@bsu.by", "code": "123456",
                           "password": "correct horse battery", "device_name": "iPhone 15"}),
    errors=("invalid_code", "email_taken", "device_name_too_long", "control_characters"))
async def verify(request: web.Request) -> web.Response:
    body = await read_body(request, VerifyBody)
    pair = await services(request).accounts.verify_email(
        body.email, body.code, body.password, device(request, body.device_name)
    )
    return token_response(pair)


@routes.post("/v1/auth/resend-code")
@contract(
    "Send a new verification code. Same answer for any address.", "auth",
    {202: json(Accepted, "Accepted.")}, body=body(EmailBody, {"email": "alex@bsu.by"}),
    errors=("invalid_email",))
async def resend_code(request: web.Request) -> web.Response:
    body = await read_body(request, EmailBody)
    await services(request).accounts.resend_code(body.email, device(request))
    return json_response(Accepted("sent", _SENT), status=202)


@routes.post("/v1/auth/token")
@contract(
    "OAuth 2.0-style token endpoint: grant_type password (log in) or refresh_token "
    "(rotate; a spent refresh token presented again revokes its session, unless it "
    "is a retry within MOMENTIC_REFRESH_GRACE_SECONDS of its first use while its "
    "successor is unused: that answers the same successor again).", "auth",
    {200: json(TokenView, "Tokens (RFC 6749 section 5.1).")},
    body=body(TokenBody, {"grant_type": "password", "email": "alex@bsu.by",
                          "password": "correct horse battery", "device_name": "iPhone 15"}),
    errors=(*BAD_LOGIN, problem(
        "Rate limited; see Retry-After. Sign-in guesses count per address, per "
        "account and address (10 wrong ones lock that address out of that account "
        "only), and per account from everywhere: past that ceiling only the right "
        "password from an address the account signed in from before gets in. "
        "Unknown and known emails are answered alike.", "rate_limited"),
        "invalid_grant", "unsupported_grant_type", "invalid_refresh_token",
        "refresh_token_reused", "device_name_too_long", *REFUSED_ACCOUNT, "mfa_required"))
async def token(request: web.Request) -> web.Response:
    body = await read_body(request, TokenBody)
    accounts = services(request).accounts
    if body.grant_type == "password":
        if body.email is None or body.password is None:
            raise Invalid("The password grant needs email and password.", code="invalid_grant")
        pair = await accounts.login(body.email, body.password, device(request, body.device_name))
    elif body.grant_type == "refresh_token":
        if body.refresh_token is None:
            raise Invalid("The refresh_token grant needs refresh_token.", code="invalid_grant")
        pair = await accounts.refresh(body.refresh_token, device(request))
    else:
        raise Invalid(
            "grant_type is password or refresh_token.", code="unsupported_grant_type"
        )
    return token_response(pair)


@routes.post("/v1/auth/social/{provider}")
@contract(
    "Sign in with Apple or Google: post the provider's ID token.", "auth",
    {200: json(TokenView, "Signed in.")},
    params=[{"name": "provider", "in": "path", "required": True,
             "schema": {"type": "string", "enum": ["apple", "google"]}, "example": "apple"}],
    body=body(SocialBody, {"id_token": "eyJraWQiOiJ...", "nonce": "n-0S6_WzA2Mj"}),
    errors=(problem("The ID token is not valid.", "invalid_id_token"),
            "unknown_provider", "provider_unavailable", "email_not_verified_by_provider",
            "identity_linked", "email_taken", "device_name_too_long", *REFUSED_ACCOUNT,
            "mfa_required"))
async def social(request: web.Request) -> web.Response:
    body = await read_body(request, SocialBody)
    pair = await services(request).accounts.sign_in_with_provider(
        request.match_info["provider"],
        body.id_token,
        body.nonce,
        device(request, body.device_name),
    )
    return token_response(pair)


@routes.post("/v1/auth/password-reset")
@contract(
    "Email a password reset code. Same answer for any address.", "auth",
    {202: json(Accepted, "Accepted.")}, body=body(EmailBody, {"email": "alex@bsu.by"}),
    errors=("invalid_email",))
async def password_reset(request: web.Request) -> web.Response:
    body = await read_body(request, EmailBody)
    await services(request).accounts.request_password_reset(body.email, device(request))
    return json_response(Accepted("sent", _SENT), status=202)


@routes.post("/v1/auth/password-reset/confirm")
@contract(
    "Set a new password with the emailed code; every session is revoked.", "auth",
    {204: NO_CONTENT},
    body=body(ResetConfirmBody, {"email": "alex@bsu.by", "code": "123456",
                                 "new_password": "new horse battery"}),
    errors=("invalid_code", *NEW_PASSWORD))
async def password_reset_confirm(request: web.Request) -> web.Response:
    body = await read_body(request, ResetConfirmBody)
    await services(request).accounts.reset_password(
        body.email, body.code, body.new_password, device(request)
    )
    return web.Response(status=204)


@routes.post("/v1/auth/logout")
@contract("Revoke this session.", "auth", {204: NO_CONTENT}, auth=True)
async def logout(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).accounts.logout(who)
    return web.Response(status=204)
