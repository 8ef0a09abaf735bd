"""The aiohttp application: middlewares (request id, access log, CORS preflight,
problem+json, rate limit), the response hygiene signal (security headers, CORS) and the
app factory. Handlers live in ``routes_*`` modules and stay thin."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

import attrs
from aiohttp import web, web_response

from adapters.http import keys
from adapters.http.converter import nul_character
from adapters.http.metrics import Gauges, Metrics, metrics_handler, metrics_middleware
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
from momentic_core.model.accounts import RateDecision
from momentic_core.ports import BlobStore, LiveEventSource
from momentic_core.services.accounts import Accounts
from momentic_core.services.config import Config
from momentic_core.services.devices import Devices, NotificationPreferences
from momentic_core.services.email_change import EmailChange
from momentic_core.services.engagement import Engagement, Live, Notifications
from momentic_core.services.feeds import Feeds
from momentic_core.services.mfa import TwoFactor
from momentic_core.services.moderation import Moderation
from momentic_core.services.profiles import Profiles
from momentic_core.services.ranking import Ranking, Stats
from momentic_core.services.search import Search
from momentic_core.services.shares import Shares
from momentic_core.services.social import Friends
from momentic_core.services.throttle import Throttle
from momentic_core.services.videos import Videos
from momentic_core.services.views import Views

if TYPE_CHECKING:
    from adapters.http.live import LiveOptions

log = logging.getLogger("momentic.http")
access_log = logging.getLogger("momentic.access")

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class Services:
    """What the handlers may call: use cases, and a readiness probe."""

    accounts: Accounts
    profiles: Profiles
    throttle: Throttle
    ready: Callable[[], Awaitable[None]]
    gauges: Gauges  # what /metrics reads of storage
    videos: Videos
    friends: Friends
    feeds: Feeds
    views: Views  # POST /v1/videos/{id}/view
    blobs: BlobStore
    media_url: Callable[[str], str]  # key -> URL a client can fetch (signed, or CDN)
    signed_media: SignedMedia | None  # set when the app itself serves media (/media/...)
    engagement: Engagement
    notifications: Notifications
    live: Live
    moderation: Moderation
    live_events: LiveEventSource  # committed events of every instance, for the sockets
    ranking: Ranking
    stats: Stats
    config: Config
    devices: Devices
    notification_preferences: NotificationPreferences
    two_factor: TwoFactor
    search: Search  # hashtags and search (issue 20 item 5)
    shares: Shares  # share links (/v/{slug}) opened by guests
    share_url: Callable[[int], str]  # video id -> its share link (public_url/v/{slug})
    email_change: EmailChange


class SignedMedia(Protocol):
    def verify_signature(self, key: str, exp: int, sig: str, now: datetime) -> bool: ...


class Backend(Protocol):
    """Opens and closes everything the services need (pools, clients)."""

    async def start(self) -> Services: ...

    async def stop(self) -> None: ...


@attrs.frozen
class HttpOptions:
    max_body_bytes: int = 1_048_576
    trusted_proxies: int = 0
    cors_origins: tuple[str, ...] = ()  # exact origins (scheme://host[:port]); () = no CORS
    hsts_seconds: int = 0  # Strict-Transport-Security max-age; 0 = no header (plain HTTP)
    body_timeout_seconds: float = 20.0  # a body's first bytes' grace; 0 = no body deadline
    body_min_rate: int = 500  # bytes/s that extend the body deadline (1 s per this many)
    docs: bool = True  # serve /openapi.json and Swagger UI at /docs
    metrics_token: str = ""  # bearer token of /metrics; empty: loopback clients only


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
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
_QUIET_PATHS = ("/healthz", "/readyz", "/docs", "/openapi.json", "/metrics")


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


_HTTP_CODES = {
    400: "bad_request",
    404: "route_not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
}


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    incoming = request.headers.get("X-Request-Id", "")
    rid = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
    token = request_id_var.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    finally:
        if not request.path.startswith(_QUIET_PATHS):
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
        code = _HTTP_CODES.get(exc.status, f"http_{exc.status}")
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


def create_app(
    backend: Backend, options: HttpOptions | None = None, live: LiveOptions | None = None
) -> web.Application:
    """The whole HTTP surface. ``backend`` opens pools on startup and closes them on cleanup;
    the live hub listens for events once it is up and closes its sockets on shutdown."""
    from adapters.http import (
        routes_admin,
        routes_auth,
        routes_devices,
        routes_email,
        routes_engagement,
        routes_legacy,
        routes_me,
        routes_mfa,
        routes_mod,
        routes_ranking,
        routes_search,
        routes_share,
        routes_social,
        routes_system,
        routes_videos,
    )
    from adapters.http.live import Hub
    from adapters.http.live import routes as routes_live
    from adapters.http.openapi import document

    options = options or HttpOptions()
    # The answers aiohttp's HTTP server gives before any app code (a request it cannot
    # parse: a header too long, a bad method) carry its default Server header,
    # "Python/3.x aiohttp/3.y.z", the one thing response_hygiene cannot reach.
    web_response.SERVER_SOFTWARE = SERVER  # type: ignore[attr-defined]  # not re-exported
    app = web.Application(
        middlewares=[
            metrics_middleware,  # outermost: every answer counts
            request_id_middleware,
            cors_preflight_middleware,
            problem_middleware,
            body_deadline_middleware,
            ip_rate_limit_middleware,
            encoding_middleware,
            text_middleware,
            routes_mfa.staff_enrolment_middleware,  # innermost: errors render as problems
        ],
        client_max_size=options.max_body_bytes,
        handler_args={"auto_decompress": False},  # see encoding_middleware
    )
    app[keys.OPTIONS] = options
    app[keys.METRICS] = Metrics()
    app[keys.AUTHENTICATED] = frozenset(
        (method.upper(), path)
        for path, operations in document()["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    )
    app.on_response_prepare.append(response_hygiene)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[keys.SERVICES] = await backend.start()
        yield
        await backend.stop()

    app.cleanup_ctx.append(lifecycle)
    hub = app[keys.HUB] = Hub(live)
    app.cleanup_ctx.append(hub.lifecycle)  # after the backend: it needs the services
    app.on_shutdown.append(hub.on_shutdown)  # sockets close before the server waits on them
    routes_system.track_shutdown(app)  # /readyz turns 503 first thing on shutdown
    # routes_social first: /v1/users/search before /v1/users/{user_id}
    for module in (
        routes_system, routes_auth, routes_social, routes_me, routes_videos, routes_engagement,
        routes_mod, routes_admin, routes_ranking, routes_legacy, routes_devices, routes_mfa,
        routes_email,
        routes_share,
    ):
        app.router.add_routes(module.routes)
    app.router.add_routes(routes_search.routes)
    if options.docs:
        app.router.add_routes(routes_system.docs_routes)
    app.router.add_routes(routes_live)
    app.router.add_get("/metrics", metrics_handler(options.metrics_token))
    return app
