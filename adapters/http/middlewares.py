"""The middlewares (request id and access log, CORS preflight, problem+json, the body
deadline, the per-IP rate limit, content encodings, NUL characters) and the response
hygiene signal (security headers, CORS), in the order ``app.create_app`` installs them.

They read the app's state through ``keys`` and render errors through ``problems``; no
handler module is imported here."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.acting import acting_scope
from adapters.http import keys
from adapters.http.converter import nul_character
from adapters.http.problems import (
    HTTP_CODES,
    BodyTimeout,
    UnsupportedEncoding,
    error_response,
    problem,
)
from adapters.logs import request_id_var
from adapters.tracing import tag_request
from momentic_core.errors import MomenticError
from momentic_core.model.accounts import RateDecision

log = logging.getLogger("momentic.http")
access_log = logging.getLogger("momentic.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_QUIET_PATHS = ("/healthz", "/readyz", "/docs", "/openapi.json", "/metrics")


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-Id", "")
    rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    token = request_id_var.set(rid)
    tag_request(rid)  # on the request's span, when OTEL_* variables switch tracing on
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    finally:
        # The line's fields are built only when it goes out (the log level may be above
        # INFO): the check is the one logging.info makes first.
        if access_log.isEnabledFor(logging.INFO) and not request.path.startswith(_QUIET_PATHS):
            access_log.info(
                "%s %s %s",
                request.method,
                request.path,
                status,
                extra={
                    "method": request.method,
                    "path": request.path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "user_id": request.get(keys.USER_ID),
                },
            )
        request_id_var.reset(token)


@web.middleware
async def problem_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except MomenticError as exc:
        response = error_response(exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        code = HTTP_CODES.get(exc.status, f"http_{exc.status}")
        headers = {k: v for k, v in exc.headers.items() if k.lower() in ("allow",)}
        detail = exc.text if exc.text and not exc.text.startswith(str(exc.status)) else exc.reason
        response = problem(exc.status, code, exc.reason, detail, headers=headers)
    except Exception:
        log.exception("unhandled error", extra={"path": request.path})
        response = problem(
            500, "internal_error", "Internal error", "Something went wrong on our side."
        )
    if "X-RateLimit-Limit" not in response.headers:
        response.headers.update(rate_limit_headers(request))
    return response


def rate_limit_headers(request: web.Request) -> dict[str, str]:
    """The caller's rate-limit standing (``X-RateLimit-*``), once a limit was counted."""
    decision: RateDecision | None = request.get(keys.RATE)
    if decision is None:
        return {}
    return {
        "X-RateLimit-Limit": str(decision.limit),
        "X-RateLimit-Remaining": str(decision.remaining),
        "X-RateLimit-Reset": str(decision.reset_after),
    }


def streamed_headers(request: web.Request) -> dict[str, str]:
    """What the middlewares add to an answer once its handler returns (X-Request-Id, the
    rate limit), for a handler that sends its headers itself (``StreamResponse.prepare``),
    before the middlewares see the response."""
    headers = rate_limit_headers(request)
    if (rid := request_id_var.get()) is not None:
        headers["X-Request-Id"] = rid
    return headers


@web.middleware
async def body_deadline_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """A request body must arrive within ``body_timeout_seconds`` plus one second for
    every ``body_min_rate`` bytes received (Apache mod_reqtimeout's body=20,MinRate=500),
    else the connection is closed. aiohttp has no such limit of its own: a client that
    trickles its body (slowloris) would hold the connection and the handler for ever.
    The handler's read then fails, which answers 408 ``body_timeout`` in the access log
    (the client, cut off, hears nothing). Headers need no deadline here: until they are
    complete, aiohttp's keep-alive timer closes the connection."""
    options = request.app[keys.OPTIONS]
    if not request.body_exists or options.body_timeout_seconds <= 0:
        return await handler(request)
    loop = asyncio.get_running_loop()
    started = loop.time()
    late = False
    timer: asyncio.TimerHandle

    def check() -> None:
        nonlocal timer, late
        content = request.content
        if content.is_eof():
            return
        due = (started + options.body_timeout_seconds
               + content.total_bytes / max(1, options.body_min_rate))
        if loop.time() < due:
            timer = loop.call_at(due, check)
            return
        late = True
        log.info("request body too slow; connection closed",
                 extra={"path": request.path, "received_bytes": content.total_bytes})
        request.protocol.force_close()

    timer = loop.call_at(started + options.body_timeout_seconds, check)
    try:
        return await handler(request)
    except Exception:
        if late:
            raise BodyTimeout("The request body did not arrive in time.") from None
        raise
    finally:
        timer.cancel()


def client_ip(request: web.Request) -> str:
    """The peer address, or behind N trusted proxies the address the outermost of them
    saw: the N-th X-Forwarded-For entry from the right (entries further left are the
    client's own say, and anyone can forge them)."""
    trusted = request.app[keys.OPTIONS].trusted_proxies
    if trusted > 0:
        forwarded = ",".join(request.headers.getall("X-Forwarded-For", []))
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-min(trusted, len(hops))][:64]
    return request.remote or "unknown"


def _authenticates(request: web.Request) -> bool:
    """Whether the matched operation takes a bearer token (its ``security`` in the OpenAPI
    document): its handler then asks who calls (``common.principal``) before anything else.
    An unknown path or method, and every other route, never does."""
    route = request.match_info.route
    if route.resource is None:
        return False
    method = "GET" if route.method == "HEAD" else route.method
    return (method, route.resource.canonical) in request.app[keys.AUTHENTICATED]


@web.middleware
async def ip_rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts the per-IP limit, and refuses a request over it before its handler runs. A
    request with a bearer token to an operation that authenticates has it counted by
    ``common.principal`` together with the per-user one, in one statement (and refused
    there, valid token or not). Any other request is counted here, up front, whatever its
    Authorization header says: a header alone never takes a request out of the per-IP
    bucket."""
    if request.path.startswith(_QUIET_PATHS) or request.method == "OPTIONS":
        return await handler(request)
    throttle = request.app[keys.SERVICES].throttle
    bearer = request.headers.get("Authorization", "").lower().startswith("bearer ")
    if not (bearer and _authenticates(request)):
        request[keys.RATE] = await throttle.check("api:ip", client_ip(request))
        return await handler(request)
    request[keys.IP_PENDING] = client_ip(request)
    try:
        return await handler(request)
    finally:
        # Left pending only by a handler that failed before it asked who calls: counted,
        # as every request is.
        ip = request.pop(keys.IP_PENDING, None)
        if ip is not None:
            await throttle.allow("api:ip", ip)


@web.middleware
async def encoding_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A body in any Content-Encoding but identity is 415 ``unsupported_encoding`` before a
    byte of it is read. aiohttp's own inflating is off (``create_app``): it would inflate
    gzip and deflate, and answer br or zstd from its parser, before any middleware, with a
    text/plain 400 naming the library to install."""
    if request.body_exists:
        codings = request.headers.get("Content-Encoding", "")
        if any(c.strip().lower() not in ("", "identity") for c in codings.split(",")):
            raise UnsupportedEncoding(
                "Send the body as it is: no Content-Encoding but identity is accepted."
            )
    return await handler(request)


@web.middleware
async def text_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The path and the query string are text like any other: one holding a NUL character
    is 422 ``nul_character`` (naming the path parameter or query parameter), before any
    handler reads it. Bodies are checked where they are read (``converter.structure``, the
    video form's fields)."""
    if "\x00" in request.path:
        names = [name for name, value in request.match_info.items() if "\x00" in value]
        raise nul_character(names[0] if names else "path")
    for name, value in request.query.items():
        if "\x00" in name or "\x00" in value:
            raise nul_character(name)
    return await handler(request)


# What every response carries unless its route set its own (the /docs page and the /admin
# dashboard bring their own Content-Security-Policy).
API_CSP = "default-src 'none'; frame-ancestors 'none'"
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": API_CSP,
}
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = "Authorization, Content-Type"
CORS_EXPOSE = (
    "X-Request-Id, Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, "
    "WWW-Authenticate, ETag, Content-Range"
)
CORS_MAX_AGE = "600"


def _allowed_origin(request: web.Request) -> str | None:
    """The request's Origin when it is on the allow-list (an exact match), else None."""
    origin = request.headers.get("Origin")
    if origin and origin in request.app[keys.OPTIONS].cors_origins:
        return origin
    return None


@web.middleware
async def cors_preflight_middleware(
    request: web.Request, handler: Handler
) -> web.StreamResponse:
    """A CORS preflight from an allowed origin is answered here, for any path: the router
    has no OPTIONS routes. Other origins' preflights reach the router (405, no CORS)."""
    if (
        request.method == "OPTIONS"
        and "Access-Control-Request-Method" in request.headers
        and _allowed_origin(request) is not None
    ):
        return web.Response(
            status=204,
            headers={
                "Access-Control-Allow-Methods": CORS_METHODS,
                "Access-Control-Allow-Headers": CORS_HEADERS,
                "Access-Control-Max-Age": CORS_MAX_AGE,
            },
        )
    return await handler(request)


# What the Server header says: the product, no software or version to look up flaws of.
SERVER = "momentic"


async def response_hygiene(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: runs for every response the app sends (handlers, problem+json
    errors, static files, WebSocket handshakes), so no path can miss the headers."""
    headers = response.headers
    headers["Server"] = SERVER
    for name, value in SECURITY_HEADERS.items():
        headers.setdefault(name, value)
    options = request.app[keys.OPTIONS]
    if options.hsts_seconds > 0:
        headers.setdefault("Strict-Transport-Security", f"max-age={options.hsts_seconds}")
    # Anything answered to a request that carried credentials stays out of shared and
    # browser caches, unless the route chose its own policy (media, the dashboard).
    if "Authorization" in request.headers and "Cache-Control" not in headers:
        headers["Cache-Control"] = "no-store"
    if options.cors_origins:
        vary = ",".join(headers.getall("Vary", []))
        if "origin" not in vary.lower():
            headers["Vary"] = f"{vary}, Origin" if vary else "Origin"
        origin = _allowed_origin(request)
        if origin is not None:
            # Never "*", never an unlisted origin; no Allow-Credentials: tokens travel in
            # the Authorization header, not in cookies.
            headers["Access-Control-Allow-Origin"] = origin
            headers["Access-Control-Expose-Headers"] = CORS_EXPOSE


@web.middleware
async def acting_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A fresh ``adapters.acting.Acting`` for the request: ``common.principal`` names the
    caller in it, and the database adapter keeps their reads after their writes (replicas)."""
    with acting_scope():
        return await handler(request)
