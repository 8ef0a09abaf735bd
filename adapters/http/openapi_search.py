"""The OpenAPI entries of hashtags and search (issue 20 item 5), kept apart from
``openapi.py`` as ``openapi_devices`` is. Their components come from the views
(``views_search``, through ``adapters/http/schema.py``); ``openapi.document`` merges
``paths(openapi)``."""

from __future__ import annotations

from typing import Any

from adapters.http import paging
from adapters.http.routes_search import USER_CURSOR
from adapters.http.schema import Components
from adapters.http.views_search import HashtagPageOut, SearchResultsOut, TrendingOut
from momentic_core.policies import rules
from momentic_core.services.search import SEARCH_LIMIT

Json = dict[str, Any]

TAG = {"name": "search", "description": "Hashtags, trending hashtags, search over "
       "descriptions and nicknames."}

# Codes beyond each response's own (openapi.CODES_BY_OPERATION takes them).
CODES_BY_OPERATION = {
    "get_v1_hashtags_tag_videos": ("invalid_hashtag", "invalid_cursor"),
    "get_v1_search": ("invalid_query", "invalid_cursor"),
}

_RULE = (
    "Results are what the feeds would show me: ready videos (not held or removed) of "
    "authors who are verified and neither banned nor suspended, not blocked either way, "
    "public, mine or a friend's (a private account's videos are friends-only); a friend's "
    "moment behind the BeReal lock is left out until I post mine, so a page may hold "
    "fewer items than the limit while next_cursor says more follow."
)


def paths(o: Any) -> Json:
    """``o``: the ``openapi`` module building the document (its helpers and tables)."""
    built = Components()
    for view in (HashtagPageOut, TrendingOut, SearchResultsOut):
        built.ref(view)
    # The new components; those they refer to (FeedItem, UserCard) are the document's.
    o.SCHEMAS.update({n: s for n, s in built.schemas.items() if n not in o.SCHEMAS})
    item = o._FEED_ITEM_EXAMPLE
    older = paging.encode("older", o.TIME, 1001)
    o.EXAMPLES.update({
        "HashtagPage": {"tag": "минск", "items": [item], "next_cursor": older,
                        "prev_cursor": paging.encode("newer", o.TIME, 1001)},
        "Trending": {"window_hours": rules.TRENDING_HOURS,
                     "items": [{"tag": "sunset", "video_count": 12},
                               {"tag": "минск", "video_count": 5}]},
        "SearchResults": {"type": "videos", "videos": [item], "users": [],
                          "next_cursor": older},
    })
    tag = "search"
    tag_param = {
        "name": "tag", "in": "path", "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": rules.HASHTAG_MAX + 1,
                   "description": "With or without its # (%23); any case."},
        "example": "Минск",
    }
    q = {
        "name": "q", "in": "query", "required": True,
        "schema": {"type": "string", "maxLength": rules.SEARCH_QUERY_MAX,
                   "pattern": "^[^\x00]*[^\\s\x00][^\x00]*$",
                   "description": "Not only blanks."},
        "example": "sunset минск",
    }
    kind = {"name": "type", "in": "query", "required": False,
            "schema": {"type": "string", "enum": ["videos", "users"], "default": "videos"},
            "example": "videos"}
    cursor = {**o._CURSOR, "description": (
        "next_cursor of the previous page of the same type (videos: a feed's keyset; "
        f"users: [{USER_CURSOR}, score, nickname])."
    )}
    return {
        "/v1/hashtags/trending": {"get": o._op(
            f"The hashtags of the most public videos created in the last "
            f"{rules.TRENDING_HOURS} hours, counted by distinct videos (held, removed, "
            "friends-only and unfinished videos, and authors I may not see, count for "
            "nothing), most first, then by tag; limit clamped to 50.", tag,
            {"200": o._json("Trending", "The top tags.")}, auth=True, params=[o._LIMIT])},
        "/v1/hashtags/{tag}/videos": {"get": o._op(
            "The videos whose description has this hashtag, newest first (keyset pages, "
            f"the feeds' cursors). A hashtag is # then 1 to {rules.HASHTAG_MAX} Unicode "
            "letters, digits and _ with a letter among them, case-folded (#Минск is "
            f"#минск); a video keeps its first {rules.HASHTAGS_PER_VIDEO}. " + _RULE, tag,
            {"200": o._json("HashtagPage", "One page.")}, auth=True,
            params=[tag_param, o._CURSOR, o._LIMIT],
            errors={"422": o._problem(
                "invalid_hashtag: the tag has other characters, no letter, or is too "
                "long; invalid_cursor, invalid_query (limit).", "invalid_hashtag", 422)})},
        "/v1/search": {"get": o._op(
            "Search, one kind of result per request. type=videos (the default): videos "
            "whose description has, for every word of q (its first "
            f"{rules.SEARCH_TERMS_MAX}; words are runs of letters, digits and _, "
            "case-folded), a word that begins with it (\"sun мин\" finds \"Sunset in "
            "#Минск\"), newest first. type=users: users whose nickname starts with q or "
            "is like it (pg_trgm trigram similarity at least "
            f"{rules.TRIGRAM_THRESHOLD}), most similar first, then by nickname; not me, "
            "not blocked either way, not banned, suspended or unverified. " + _RULE
            + f" Rate-limited per user ({SEARCH_LIMIT}).", tag,
            {"200": o._json("SearchResults", "One page of one type.")}, auth=True,
            params=[q, kind, cursor, o._LIMIT],
            errors={"422": o._problem(
                "invalid_query: q is only blanks or too long, or type is neither videos "
                "nor users; invalid_cursor: a cursor of another type or list.",
                "invalid_query", 422)})},
    }
