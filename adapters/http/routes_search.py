"""v1 hashtags and search (issue 20 item 5): a hashtag's videos, trending hashtags, and
text search over descriptions and nicknames (``GET /v1/search?q=&type=videos|users``)."""

from __future__ import annotations

import math

from aiohttp import web

from adapters.http import paging
from adapters.http.common import json_response, principal, services
from adapters.http.routes_social import _feed_out
from adapters.http.views_search import (
    HashtagPageOut,
    SearchResultsOut,
    TrendingOut,
    TrendingTagOut,
    UserMatchOut,
)
from momentic_core.errors import Invalid
from momentic_core.model.search import UserKeyset
from momentic_core.policies import rules

routes = web.RouteTableDef()

SEARCH_TYPES = ("videos", "users")
USER_CURSOR = "user_match"  # [kind, score, nickname]


@routes.get("/v1/hashtags/trending")
async def trending(request: web.Request) -> web.Response:
    who = await principal(request)
    tags = await services(request).search.trending(who, paging.limit(request))
    return json_response(TrendingOut(rules.TRENDING_HOURS, [TrendingTagOut.of(t) for t in tags]))


@routes.get("/v1/hashtags/{tag}/videos")
async def hashtag_videos(request: web.Request) -> web.Response:
    who = await principal(request)
    cursor, newer = paging.read_keyset(request)
    tag, page = await services(request).search.hashtag(
        who, request.match_info["tag"], cursor, newer, paging.limit(request)
    )
    return json_response(HashtagPageOut(tag, *_feed_out(request, page)))


def _user_cursor(request: web.Request) -> UserKeyset | None:
    token = request.query.get("cursor")
    if not token:
        return None
    score, nickname = paging.decode(token, USER_CURSOR, 2)
    if (
        not isinstance(score, int | float) or isinstance(score, bool)
        or not math.isfinite(score) or not 0 <= score <= 1
        or not isinstance(nickname, str)
    ):
        raise Invalid("The cursor is not valid.", code="invalid_cursor", field="cursor")
    return float(score), nickname


@routes.get("/v1/search")
async def search(request: web.Request) -> web.Response:
    who = await principal(request)
    kind = request.query.get("type", "videos")
    if kind not in SEARCH_TYPES:
        raise Invalid("type is videos or users.", code="invalid_query", field="type")
    q = request.query.get("q", "")
    limit = paging.limit(request)
    search = services(request).search
    if kind == "users":
        found = await search.users(who, q, _user_cursor(request), limit)
        url = services(request).media_url
        nxt = paging.encode(USER_CURSOR, *found.next) if found.next else None
        return json_response(SearchResultsOut(
            "users", [], [UserMatchOut.of(m, url) for m in found.items], nxt))
    cursor, newer = paging.read_keyset(request)
    page = await search.videos(who, q, cursor, newer, limit)
    items, nxt, _ = _feed_out(request, page)
    return json_response(SearchResultsOut("videos", items, [], nxt))
