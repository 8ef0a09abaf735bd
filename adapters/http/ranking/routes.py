"""v1 daily moment, leaderboards, user statistics, admin statistics and rating weights;
and the staff web interface at /admin (static ES modules that call the REST API)."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from aiohttp import web

from adapters.http import paging
from adapters.http.common import int_param, json_response, principal, read_json, services
from adapters.http.contract import (
    ADMIN_ONLY,
    LIMIT,
    STRING,
    body,
    content,
    contract,
    cursor,
    json,
    path_id,
    problem,
)
from adapters.http.ranking.views import (
    LeaderboardOut,
    MomentOut,
    StatsOut,
    StatsPointOut,
    UserStatsOut,
    WeightsOut,
    WeightsPatchBody,
)
from momentic_core.errors import Invalid
from momentic_core.model.ranking import BoardKey, Period, Scope
from momentic_core.services.ranking import parse_period, parse_scope

routes = web.RouteTableDef()

DASHBOARD = Path(__file__).parent.parent / "static" / "admin"
# The dashboard loads only its own files and talks only to this origin; its images (the
# thumbnails of reported videos, avatars) may also come from the media origins
# (MediaUrl.origins: the CDN, or the S3 endpoint clients reach), exactly those.
DASHBOARD_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:{media}; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def dashboard_csp(media_origins: tuple[str, ...]) -> str:
    return DASHBOARD_CSP.format(media="".join(f" {o}" for o in media_origins))
_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
# The page's scripts and style sheets: every .js and .css file in static/admin, no more.
ASSETS = tuple(sorted(p.name for p in DASHBOARD.iterdir() if p.suffix in (".js", ".css")))
_FILE = {"schema": STRING, "example": "(the file)"}
_DAY = {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}


@routes.get("/v1/moments/today")
@contract(
    "Today's BeReal moment in my time zone: one random time a day between "
    "MOMENTIC_MOMENT_START_HOUR and MOMENTIC_MOMENT_END_HOUR, the same for everyone in the "
    "zone and kept secret until it comes. A post within window_seconds after it is on time "
    "(videos carry moment_at, on_time and late_by_seconds).", "ranking",
    {200: json(MomentOut, "Where today's moment stands.")}, auth=True)
async def moment_today(request: web.Request) -> web.Response:
    who = await principal(request)
    moment, status = await services(request).ranking.moment_today(who)
    return json_response(MomentOut.of(moment, status))


@routes.get("/v1/ranking")
@contract(
    "A leaderboard: everyone (global) or me and my friends, by rating (all) or by the "
    "points earned this month, week or day (UTC; only users with points in it); best "
    "first, ties by user id. Banned and suspended accounts are left out. With my standing "
    "and my neighbours.", "ranking", {200: json(LeaderboardOut, "One page.")}, auth=True,
    params=[
        {"name": "scope", "in": "query", "required": False,
         "schema": {"type": "string", "enum": [s.value for s in Scope], "default": "global"},
         "example": "friends"},
        {"name": "period", "in": "query", "required": False,
         "schema": {"type": "string", "enum": [p.value for p in Period], "default": "all"},
         "example": "week"},
        cursor("board:global:week", 205, 61), LIMIT],
    errors=(problem("scope, period or limit is not one of its values (invalid_query), or "
                    "the cursor is not one this board issued (invalid_cursor).",
                    "invalid_query"),))
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
@contract(
    "A user's statistics: videos, reactions and comments received, on-time posts, streaks, "
    "rating and global rank.", "ranking", {200: json(UserStatsOut, "The statistics.")},
    auth=True, params=[path_id("user_id")],
    errors=(problem("No such user, or hidden (banned, suspended, or a block either way); "
                    "staff see them.", "user_not_found"),))
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
@contract(
    "Admins: new users, active users (DAU averaged per bucket, WAU, MAU), uploads, "
    "reactions and comments per day or week (UTC), at most 400 points. Default: the 30 "
    "buckets ending today.", "admin",
    {200: json(StatsOut, "One point per bucket, oldest first.")}, auth=True,
    params=[
        {"name": "from", "in": "query", "required": False,
         "schema": dict(_DAY, description="The first day; default: 30 buckets before to."),
         "example": "2026-10-29"},
        {"name": "to", "in": "query", "required": False,
         "schema": dict(_DAY, description="The last day; default: today (UTC)."),
         "example": "2026-11-27"},
        {"name": "interval", "in": "query", "required": False,
         "schema": {"type": "string", "enum": ["day", "week"], "default": "day"},
         "example": "day"}],
    errors=(ADMIN_ONLY, problem("A date that is not YYYY-MM-DD, from after to, more than 400 "
                                "points, or an interval other than day or week.",
                                "invalid_query")))
async def admin_stats(request: web.Request) -> web.Response:
    who = await principal(request)
    interval = request.query.get("interval", "day")
    points = await services(request).stats.series(
        who, _day(request, "from"), _day(request, "to"), interval
    )
    return json_response(StatsOut(interval, [StatsPointOut.of(p) for p in points]))


@routes.get("/v1/admin/ranking/weights")
@contract(
    "Admins: the rating weights (points per reaction kind, comment, on-time post, and per "
    "day of the current streak).", "admin", {200: json(WeightsOut, "The weights.")},
    auth=True, errors=(ADMIN_ONLY,))
async def get_weights(request: web.Request) -> web.Response:
    who = await principal(request)
    return json_response(WeightsOut.of(await services(request).ranking.weights(who)))


@routes.patch("/v1/admin/ranking/weights")
@contract(
    "Admins: change some weights. A background job then recomputes every rating from the "
    "rows with them.", "admin", {200: json(WeightsOut, "All the weights after the change.")},
    auth=True, body=body(WeightsPatchBody, {"heart": 3, "streak_day": 4}),
    errors=(ADMIN_ONLY, problem("Not an object of known weights, each a whole number from 0 "
                                "to 1000.", "invalid_weights")))
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


def _asset(request: web.Request, name: str) -> web.Response:
    path = DASHBOARD / name
    response = web.Response(
        body=path.read_bytes(), content_type=_TYPES[path.suffix], charset="utf-8"
    )
    response.headers["Content-Security-Policy"] = dashboard_csp(
        services(request).media_url.origins())
    response.headers["Cache-Control"] = "no-cache"
    return response


@routes.get("/admin")
@contract(
    "The staff web interface: a static page of ES modules (no build step, no CDN; a strict "
    "Content-Security-Policy) that signs a moderator or admin in and calls this API with "
    "their token: the case queue, appeals, users, roles, runtime settings, rating weights, "
    "the audit trail and the statistics.", "admin",
    {200: content("HTML page.", {"text/html": {"schema": STRING,
                                              "example": "<!doctype html>..."}})})
async def dashboard(request: web.Request) -> web.Response:
    return _asset(request, "index.html")


@routes.get("/admin/{name:[a-z_]+\\.(?:js|css)}")
@contract(
    "The staff interface's scripts (ES modules) and style sheet.", "admin",
    {200: content("The file.", {"text/javascript": _FILE, "text/css": _FILE})},
    params=[{"name": "name", "in": "path", "required": True,
             "schema": {"type": "string", "enum": list(ASSETS)}, "example": "admin.js"}],
    errors=(problem("Not one of the interface's files.", "route_not_found"),))
async def dashboard_asset(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in ASSETS:
        raise web.HTTPNotFound()  # the error middleware answers route_not_found
    return _asset(request, name)
