"""Probes; the OpenAPI document and Swagger UI (served from local assets, no CDN), in
``docs_routes``: the app serves them unless ``HttpOptions.docs`` is off."""

from __future__ import annotations

import asyncio

import swagger_ui_bundle
from aiohttp import web

from adapters.http import keys
from adapters.http.common import json_response, services
from adapters.http.contract import STRING, content, contract, json
from adapters.http.metrics import is_operator
from adapters.http.problems import problem
from adapters.http.system.views import ReadyOut, ReplicaOut, StatusOut
from momentic_core.errors import MomenticError

routes = web.RouteTableDef()
docs_routes = web.RouteTableDef()

_DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Momentic API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/assets/swagger-init.js"></script>
</body></html>"""

# Swagger UI runs only its local bundle but styles itself inline and draws data: icons.
DOCS_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)

_DOCS_INIT = (
    "window.ui = SwaggerUIBundle({url: '/openapi.json', dom_id: '#ui', deepLinking: true});"
)


@routes.get("/healthz")
@contract("The process is alive.", "system", {200: json(StatusOut, "Alive.")})
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


# Set once the server starts shutting down (SIGTERM): /readyz answers 503 from then on, so
# a load balancer stops sending new requests while the ones in flight finish.
STOPPING = web.AppKey("stopping", asyncio.Event)


def track_shutdown(app: web.Application) -> None:
    """Called by create_app, before the app is frozen."""
    stopping = app[STOPPING] = asyncio.Event()

    async def mark(app: web.Application) -> None:
        stopping.set()

    app.on_shutdown.insert(0, mark)


@routes.get("/readyz")
@contract("The database answers (and the media storage, and Redis when configured); the "
          "body lists each streaming replica's state, which does not decide readiness.",
          "system", {200: json(ReadyOut, "Ready.", {"status": "ready", "replicas": [
              {"index": 1, "name": "replica-1:5432/momentic", "state": "up",
               "lag_seconds": 0.0},
              {"index": 2, "name": "replica-2:5432/momentic", "state": "down",
               "lag_seconds": None}]})},
          description="Only an operator is told the replicas' names (host:port/database): "
          "a request bearing MOMENTIC_METRICS_TOKEN as `Authorization: Bearer <token>` or, "
          "with no token set, a client connected directly from loopback, as for /metrics. "
          "Anyone else gets each replica's index, state and lag, with `name` null.")
async def readyz(request: web.Request) -> web.Response:
    stopping = request.app.get(STOPPING)
    if stopping is not None and stopping.is_set():
        return problem(503, "not_ready", "Not ready", "The server is shutting down.")
    try:
        await services(request).ready()
    except (MomenticError, OSError, TimeoutError) as exc:
        detail = exc.detail if isinstance(exc, MomenticError) else "The database cannot be reached."
        return problem(503, "not_ready", "Not ready", detail)
    return json_response(ReadyOut("ready", _replicas(request)))


def _replicas(request: web.Request) -> list[ReplicaOut]:
    """The replicas as this process last looked at them; a down one's lag is unknown.
    Their names (host:port/database) only to an operator, as /metrics would answer."""
    states = services(request).gauges.replicas
    named = is_operator(request, request.app[keys.OPTIONS].metrics_token)
    return [
        ReplicaOut(index, r.name if named else None, r.state,
                   None if r.state == "down" else round(r.lag_seconds, 3))
        for index, r in enumerate(states() if states is not None else [], start=1)
    ]


@docs_routes.get("/openapi.json")
@contract("This document.", "system", {200: content("OpenAPI 3.1.", {"application/json": {
    "schema": {"type": "object"}, "example": {"openapi": "3.1.0"}}})})
async def openapi(request: web.Request) -> web.Response:
    return web.json_response(request.app[keys.DOCUMENT])


@docs_routes.get("/docs")
@contract("Swagger UI.", "system", {200: content("HTML page.", {"text/html": {
    "schema": STRING, "example": "<!doctype html>..."}})})
async def docs(request: web.Request) -> web.Response:
    response = web.Response(text=_DOCS_PAGE, content_type="text/html")
    response.headers["Content-Security-Policy"] = DOCS_CSP
    return response


@docs_routes.get("/docs/assets/swagger-init.js")
async def docs_init(request: web.Request) -> web.Response:
    return web.Response(text=_DOCS_INIT, content_type="application/javascript")


docs_routes.static("/docs/assets", swagger_ui_bundle.swagger_ui_path)
