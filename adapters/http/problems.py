"""Errors as answers: the edge's own error kinds, the error-to-status table and the
RFC 9457 problem+json rendering that every error answer goes through.

A leaf of ``adapters.http``: the middlewares, the handlers and the OpenAPI document (which
lists each code under its status) import it."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from adapters.logs import request_id_var
from momentic_core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    MomenticError,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
    UnsupportedMedia,
)


class MalformedBody(MomenticError):
    """The body could not be parsed at all (not JSON, not UTF-8)."""

    code = "malformed_json"
    title = "Malformed request"


class BodyTimeout(MomenticError):
    """The request body did not arrive in time: the server closed the connection."""

    code = "body_timeout"
    title = "Request timeout"


class UpgradeRequired(MomenticError):
    """A plain HTTP request to a WebSocket endpoint."""

    code = "upgrade_required"
    title = "Upgrade required"


class UnsupportedEncoding(MomenticError):
    """A request body in a Content-Encoding other than identity: bodies are taken as sent,
    never inflated (no decompression bombs, no codec the server lacks)."""

    code = "unsupported_encoding"
    title = "Unsupported content encoding"


STATUS: dict[type[MomenticError], int] = {
    MalformedBody: 400,
    UpgradeRequired: 426,
    UnsupportedEncoding: 415,
    BodyTimeout: 408,
    TooLarge: 413,
    UnsupportedMedia: 415,
    Invalid: 422,
    NotFound: 404,
    Conflict: 409,
    Unauthenticated: 401,
    Forbidden: 403,
    RateLimited: 429,
    Unavailable: 503,
}

PROBLEM_TYPE = "https://momentic.app/problems/"
def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> web.Response:
    body = {"type": PROBLEM_TYPE + code, "title": title, "status": status, "detail": detail}
    body["code"] = code
    if (rid := request_id_var.get()) is not None:
        body["request_id"] = rid
    body.update({k: v for k, v in extra.items() if v is not None})
    return web.Response(
        status=status,
        text=json.dumps(body),
        content_type="application/problem+json",
        headers=headers,
    )


def error_response(exc: MomenticError) -> web.Response:
    status = next((s for kind, s in STATUS.items() if isinstance(exc, kind)), 400)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimited):
        headers["Retry-After"] = str(exc.retry_after)
        headers["X-RateLimit-Limit"] = str(exc.limit)
        headers["X-RateLimit-Remaining"] = "0"
        headers["X-RateLimit-Reset"] = str(exc.retry_after)
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = (
            f'Bearer error="invalid_token", error_description="{exc.code}"'
        )
    if isinstance(exc, Unavailable):
        headers["Retry-After"] = "5"
    if isinstance(exc, UpgradeRequired):
        headers["Upgrade"] = "websocket"
        headers["Connection"] = "Upgrade"
    if isinstance(exc, UnsupportedEncoding):
        headers["Accept-Encoding"] = "identity"  # RFC 9110 15.5.16: the codings we take
    return problem(status, exc.code, exc.title, exc.detail, headers=headers, **exc.extra)


# What the router's own answers (aiohttp's HTTP exceptions) are called.
HTTP_CODES = {
    400: "bad_request",
    404: "route_not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}
