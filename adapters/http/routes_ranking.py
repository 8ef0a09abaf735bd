"""v1 daily moment, leaderboards, user statistics, admin statistics and rating weights;
and the staff web interface at /admin (static ES modules that call the REST API)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from aiohttp import web

from adapters.http import paging
from adapters.http.common import int_param, json_response, principal, read_json, services
from adapters.http.views import (
    LeaderboardOut,
    MomentOut,
    StatsOut,
    StatsPointOut,
    UserStatsOut,
    WeightsOut,
)
from momentic_core.errors import Invalid
from momentic_core.model.ranking import BoardKey
from momentic_core.services.ranking import parse_period, parse_scope

routes = web.RouteTableDef()

DASHBOARD = Path(__file__).parent / "static" / "admin"
# The dashboard loads only its own files and talks only to this origin.
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
# The page's scripts and style sheets: every .js and .css file in static/admin, no more.
ASSETS = tuple(sorted(p.name for p in DASHBOARD.iterdir() if p.suffix in (".js", ".css")))


@routes.get("/v1/moments/today")
async def moment_today(request: web.Request) -> web.Response:
    who = await principal(request)
    moment, status = await services(request).ranking.moment_today(who)
    return json_response(MomentOut.of(moment, status))


@routes.get("/v1/ranking")
async def leaderboard(request: web.Request) -> web.Response:
    who = await principal(request)
    scope = parse_scope(request.query.get("scope", "global"))
    period = parse_period(request.query.get("period", "all"))
    kind = f"board:{scope.value}:{period.value}"
    cursor = paging.read_score_id(request, kind)
    after = BoardKey(*cursor) if cursor else None
    board = await services(request).ranking.leaderboard(
        who, scope, period, after, paging.limit(request)
    )
    next_cursor = (
        paging.encode(kind, board.next.points, board.next.user_id) if board.next else None
    )
    return json_response(LeaderboardOut.of(board, next_cursor, services(request).media_url))


@routes.get("/v1/users/{user_id}/stats")
async def user_stats(request: web.Request) -> web.Response:
    who = await principal(request)
    stats = await services(request).ranking.user_stats(who, int_param(request, "user_id"))
    return json_response(UserStatsOut.of(stats))


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _day(request: web.Request, name: str) -> date | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    try:
        # Only YYYY-MM-DD, as documented: fromisoformat also takes 20261127 and 2026-W48-5.
        if not _DATE.fullmatch(raw):
            raise ValueError
        return date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"{name} is a date (YYYY-MM-DD).", code="invalid_query",
                      field=name) from None


@routes.get("/v1/admin/stats")
async def admin_stats(request: web.Request) -> web.Response:
    who = await principal(request)
    interval = request.query.get("interval", "day")
    points = await services(request).stats.series(
        who, _day(request, "from"), _day(request, "to"), interval
    )
    return json_response(StatsOut(interval, [StatsPointOut.of(p) for p in points]))


@routes.get("/v1/admin/ranking/weights")
async def get_weights(request: web.Request) -> web.Response:
    who = await principal(request)
    return json_response(WeightsOut.of(await services(request).ranking.weights(who)))


@routes.patch("/v1/admin/ranking/weights")
async def patch_weights(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_json(request)
    if not isinstance(body, dict):
        body = {}  # the core checks the role first, then refuses an empty change
    # JSON has one number type: 3.0 is the integer 3 (JSON Schema's "integer" and the
    # converter agree); anything else goes to the core as it came.
    values = {
        name: int(value) if type(value) is float and value.is_integer() else value
        for name, value in body.items()
    }
    weights = await services(request).ranking.set_weights(who, values)
    return json_response(WeightsOut.of(weights))


def _asset(name: str) -> web.Response:
    path = DASHBOARD / name
    response = web.Response(
        body=path.read_bytes(), content_type=_TYPES[path.suffix], charset="utf-8"
    )
    response.headers["Content-Security-Policy"] = DASHBOARD_CSP
    response.headers["Cache-Control"] = "no-cache"
    return response


@routes.get("/admin")
async def dashboard(request: web.Request) -> web.Response:
    return _asset("index.html")


@routes.get("/admin/{name:[a-z_]+\\.(?:js|css)}")
async def dashboard_asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()  # the error middleware answers route_not_found
    return _asset(name)
