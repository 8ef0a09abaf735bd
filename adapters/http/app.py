"""The aiohttp app factory: the middlewares in their order, the routes, the live hub and
the backend's lifecycle. What the modules share lives in leaves that never import this
one: ``keys`` (app and request keys, the services record, the options), ``problems``
(the error-to-status table, problem+json) and ``middlewares``. Handlers live in
``<area>/routes.py`` modules (area packages) and stay thin."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Protocol

from aiohttp import web, web_response

from adapters import tracing
from adapters.http import keys
from adapters.http.items import ITEMS, RenderedItems
from adapters.http.keys import HttpOptions, Services
from adapters.http.metrics import METRICS, Metrics, metrics_middleware, metrics_routes
from adapters.http.middlewares import (
    SERVER,
    acting_middleware,
    body_deadline_middleware,
    cors_preflight_middleware,
    encoding_middleware,
    ip_rate_limit_middleware,
    problem_middleware,
    request_id_middleware,
    response_hygiene,
    text_middleware,
)

if TYPE_CHECKING:
    from adapters.http.live.routes import LiveOptions


class ServicesLifecycle(Protocol):
    """Opens and closes everything the services need (pools, clients)."""

    async def start(self) -> Services: ...

    async def stop(self) -> None: ...


def create_app(
    backend: ServicesLifecycle, options: HttpOptions | None = None, live: LiveOptions | None = None
) -> web.Application:
    """The whole HTTP surface. ``backend`` opens pools on startup and closes them on cleanup;
    the live hub listens for events once it is up and closes its sockets on shutdown."""
    # Each area's routes module by its area's name (the parameter ``live`` is the live
    # options, so the live area's route table is ``live_routes``).
    from adapters.http.admin import routes as admin
    from adapters.http.auth import email_change, mfa
    from adapters.http.auth import routes as auth
    from adapters.http.devices import routes as devices
    from adapters.http.engagement import routes as engagement
    from adapters.http.legacy import routes as legacy
    from adapters.http.live.routes import HUB, Hub
    from adapters.http.live.routes import routes as live_routes
    from adapters.http.moderation import routes as moderation
    from adapters.http.openapi import document
    from adapters.http.profile import routes as profile
    from adapters.http.ranking import routes as ranking
    from adapters.http.search import routes as search
    from adapters.http.share import routes as share
    from adapters.http.social import routes as social
    from adapters.http.system import routes as system
    from adapters.http.videos import routes as videos

    options = options or HttpOptions()
    # The answers aiohttp's HTTP server gives before any app code (a request it cannot
    # parse: a header too long, a bad method) carry its default Server header,
    # "Python/3.x aiohttp/3.y.z", the one thing response_hygiene cannot reach.
    web_response.SERVER_SOFTWARE = SERVER  # type: ignore[attr-defined]  # not re-exported
    app = web.Application(
        middlewares=[
            *tracing.server_middlewares(),  # a span per request, when OTEL_* ask for it
            metrics_middleware,  # outermost of ours: every answer counts
            request_id_middleware,
            acting_middleware,
            cors_preflight_middleware,
            problem_middleware,
            body_deadline_middleware,
            ip_rate_limit_middleware,
            encoding_middleware,
            text_middleware,
            mfa.staff_enrolment_middleware,  # innermost: errors render as problems
        ],
        client_max_size=options.max_body_bytes,
        handler_args={"auto_decompress": False},  # see encoding_middleware
    )
    app[keys.OPTIONS] = options
    app[METRICS] = Metrics()
    app[ITEMS] = RenderedItems()  # feed items rendered once per process (items.py)
    app[keys.DOCUMENT] = document()
    app[keys.AUTHENTICATED] = frozenset(
        (method.upper(), path)
        for path, operations in app[keys.DOCUMENT]["paths"].items()
        for method, operation in operations.items()
        if operation.get("security")
    )
    app.on_response_prepare.append(response_hygiene)

    async def lifecycle(app: web.Application) -> AsyncIterator[None]:
        app[keys.SERVICES] = await backend.start()
        yield
        await backend.stop()

    app.cleanup_ctx.append(lifecycle)
    hub = app[HUB] = Hub(live)
    app.cleanup_ctx.append(hub.lifecycle)  # after the backend: it needs the services
    app.on_shutdown.append(hub.on_shutdown)  # sockets close before the server waits on them
    system.track_shutdown(app)  # /readyz turns 503 first thing on shutdown
    # social/routes.py first: /v1/users/search before /v1/users/{user_id}
    for module in (
        system, auth, social, profile, videos, engagement, moderation, admin, ranking, legacy,
        devices, mfa, email_change, share,
    ):
        app.router.add_routes(module.routes)
    app.router.add_routes(search.routes)
    if options.docs:
        app.router.add_routes(system.docs_routes)
    app.router.add_routes(live_routes)
    app.router.add_routes(metrics_routes(options.metrics_token))
    return app
