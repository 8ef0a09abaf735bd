"""v1 hashtags and search (issue 20 item 5): a hashtag's videos, trending hashtags, and
text search over descriptions and nicknames (``GET /v1/search?q=&type=videos|users``)."""

from __future__ import annotations

import math

from aiohttp import web

from adapters.http import paging
from adapters.http.common import json_response, principal, services
from adapters.http.contract import CURSOR, LIMIT, contract, json, problem
from adapters.http.items import page_response
from adapters.http.search.views import (
    HashtagPageOut,
    SearchResultsOut,
    TrendingOut,
    TrendingTagOut,
    UserMatchOut,
)
from adapters.http.social.routes import _feed_out
from momentic_core.errors import Invalid
from momentic_core.model.search import UserKeyset
from momentic_core.policies import rules
from momentic_core.services.search import SEARCH_LIMIT

routes = web.RouteTableDef()

SEARCH_TYPES = ("videos", "users")
USER_CURSOR = "user_match"  # [kind, score, nickname]

_RULE = (
    "Results are what the feeds would show me: ready videos (not held or removed) of "
    "authors who are verified and neither banned nor suspended, not blocked either way, "
    "public, mine or a friend's (a private account's videos are friends-only); a friend's "
    "moment behind the BeReal lock is left out until I post mine, so a page may hold "
    "fewer items than the limit while next_cursor says more follow."
)


@routes.get("/v1/hashtags/trending")
@contract(
    f"The hashtags of the most public videos created in the last {rules.TRENDING_HOURS} "
    "hours, counted by distinct videos (held, removed, friends-only and unfinished videos, "
    "and authors I may not see, count for nothing), most first, then by tag; limit clamped "
    "to 50.", "search", {200: json(TrendingOut, "The top tags.")}, auth=True,
    params=[LIMIT])
async def trending(request: web.Request) -> web.Response:
    who = await principal(request)
    tags = await services(request).search.trending(who, paging.limit(request))
    return json_response(TrendingOut(rules.TRENDING_HOURS, [TrendingTagOut.of(t) for t in tags]))


@routes.get("/v1/hashtags/{tag}/videos")
@contract(
    "The videos whose description has this hashtag, newest first (keyset pages, the "
    f"feeds' cursors). A hashtag is # then 1 to {rules.HASHTAG_MAX} Unicode letters, digits "
    "and _ with a letter among them, case-folded (#Минск is #минск); a video keeps its "
    f"first {rules.HASHTAGS_PER_VIDEO}. " + _RULE, "search",
    {200: json(HashtagPageOut, "One page.")}, auth=True,
    params=[{"name": "tag", "in": "path", "required": True,
             "schema": {"type": "string", "minLength": 1, "maxLength": rules.HASHTAG_MAX + 1,
                        "description": "With or without its # (%23); any case."},
             "example": "Минск"}, CURSOR, LIMIT],
    errors=(problem("invalid_hashtag: the tag has other characters, no letter, or is too "
                    "long; invalid_cursor, invalid_query (limit).", "invalid_hashtag"),
            "invalid_hashtag", "invalid_cursor"))
async def hashtag_videos(request: web.Request) -> web.Response:
    who = await principal(request)
    cursor, newer = paging.read_keyset(request)
    tag, page = await services(request).search.hashtag(
        who, request.match_info["tag"], cursor, newer, paging.limit(request)
    )
    items, nxt, prev = _feed_out(request, page)
    return page_response(HashtagPageOut(tag, [], nxt, prev), "items", items)


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
@contract(
    "Search, one kind of result per request. type=videos (the default): videos whose "
    f"description has, for every word of q (its first {rules.SEARCH_TERMS_MAX}; words are "
    "runs of letters, digits and _, case-folded), a word that begins with it (\"sun мин\" "
    "finds \"Sunset in #Минск\"), newest first. type=users: users whose nickname starts "
    "with q or is like it (pg_trgm trigram similarity at least "
    f"{rules.TRIGRAM_THRESHOLD}), most similar first, then by nickname; not me, not blocked "
    "either way, not banned, suspended or unverified. " + _RULE
    + f" Rate-limited per user ({SEARCH_LIMIT}).", "search",
    {200: json(SearchResultsOut, "One page of one type.")}, auth=True,
    params=[
        {"name": "q", "in": "query", "required": True,
         "schema": {"type": "string", "maxLength": rules.SEARCH_QUERY_MAX,
                    "pattern": "^[^\x00]*[^\\s\x00][^\x00]*$",
                    "description": "Not only blanks."},
         "example": "sunset минск"},
        {"name": "type", "in": "query", "required": False,
         "schema": {"type": "string", "enum": list(SEARCH_TYPES), "default": "videos"},
         "example": "videos"},
        {**CURSOR, "description": (
            "next_cursor of the previous page of the same type (videos: a feed's keyset; "
            f"users: [{USER_CURSOR}, score, nickname]).")},
        LIMIT],
    errors=(problem("invalid_query: q is only blanks or too long, or type is neither videos "
                    "nor users; invalid_cursor: a cursor of another type or list.",
                    "invalid_query"), "invalid_query", "invalid_cursor"))
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
    return page_response(SearchResultsOut("videos", [], [], nxt), "videos", items)
