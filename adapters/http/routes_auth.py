"""v1 authentication: sign-up, verification, tokens, social sign-in, password reset."""

from __future__ import annotations

from aiohttp import web

from adapters.http.common import (
    device,
    json_response,
    no_store,
    principal,
    read_body,
    services,
)
from adapters.http.views import (
    Accepted,
    EmailBody,
    RegisterBody,
    ResetConfirmBody,
    SocialBody,
    TokenBody,
    TokenView,
    VerifyBody,
)
from momentic_core.errors import Invalid
from momentic_core.model.accounts import TokenPair

routes = web.RouteTableDef()

_SENT = "If the address can receive a code, one is on its way."


def token_response(pair: TokenPair) -> web.Response:
    return no_store(json_response(TokenView.of(pair)))


@routes.post("/v1/auth/register")
async def register(request: web.Request) -> web.Response:
    body = await read_body(request, RegisterBody)
    await services(request).accounts.register(body.email, body.password, device(request))
    return json_response(Accepted("pending_verification", _SENT), status=202)


@routes.post("/v1/auth/verify")
async def verify(request: web.Request) -> web.Response:
    body = await read_body(request, VerifyBody)
    pair = await services(request).accounts.verify_email(
        body.email, body.code, body.password, device(request, body.device_name)
    )
    return token_response(pair)


@routes.post("/v1/auth/resend-code")
async def resend_code(request: web.Request) -> web.Response:
    body = await read_body(request, EmailBody)
    await services(request).accounts.resend_code(body.email, device(request))
    return json_response(Accepted("sent", _SENT), status=202)


@routes.post("/v1/auth/token")
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
async def password_reset(request: web.Request) -> web.Response:
    body = await read_body(request, EmailBody)
    await services(request).accounts.request_password_reset(body.email, device(request))
    return json_response(Accepted("sent", _SENT), status=202)


@routes.post("/v1/auth/password-reset/confirm")
async def password_reset_confirm(request: web.Request) -> web.Response:
    body = await read_body(request, ResetConfirmBody)
    await services(request).accounts.reset_password(
        body.email, body.code, body.new_password, device(request)
    )
    return web.Response(status=204)


@routes.post("/v1/auth/logout")
async def logout(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).accounts.logout(who)
    return web.Response(status=204)
