"""v1 friends, blocks, mutes, user search and the three feeds."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from adapters.http import paging
from adapters.http.common import body_id, int_param, json_response, principal, read_body, services
from adapters.http.contract import (
    CURSOR,
    LIMIT,
    LOCKED,
    NO_CONTENT,
    NO_USER,
    NO_VIDEO,
    NOT_READY,
    TIME,
    body,
    contract,
    cursor,
    json,
    path_id,
    problem,
)
from adapters.http.items import ITEMS, Rendered, page_response
from adapters.http.social.views import (
    ContactPage,
    FeedPageOut,
    FriendRequestBody,
    FriendsFeedOut,
    RankedPageOut,
    RelationOut,
    UserSearchPage,
    ViewBody,
    ViewOut,
)
from adapters.http.views import ContactOut, UserCard
from momentic_core.errors import Invalid
from momentic_core.model.social import Contact, FeedPage

routes = web.RouteTableDef()

_UID = [path_id("user_id")]
_NO_REQUEST = problem("No such friend request.", "request_not_found")


def _contacts(request: web.Request, items: list[Contact], limit: int, kind: str) -> ContactPage:
    more = len(items) > limit
    items = items[:limit]
    url = services(request).media_url
    next_cursor = (
        paging.encode(kind, items[-1].since.isoformat(), items[-1].user.id) if more else None
    )
    return ContactPage(
        items=[ContactOut(UserCard.of(c.user, url), c.since) for c in items],
        next_cursor=next_cursor,
    )


async def _list(request: web.Request, kind: str) -> web.Response:
    who = await principal(request)
    limit = paging.limit(request)
    after = paging.read_time_id(request, kind)
    items = await services(request).friends.contacts(who, kind, after, limit + 1)
    return json_response(_contacts(request, items, limit, kind))


@routes.get("/v1/friends")
@contract("My friends, newest friendship first.", "friends",
          {200: json(ContactPage, "One page.")}, auth=True, params=[CURSOR, LIMIT])
async def list_friends(request: web.Request) -> web.Response:
    return await _list(request, "friends")


@routes.delete("/v1/friends/{user_id}")
@contract("Unfriend.", "friends", {204: NO_CONTENT}, auth=True, params=_UID,
          errors=(problem("Not friends.", "not_friends"),))
async def unfriend(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.unfriend(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.post("/v1/friend-requests")
@contract(
    "Send a friend request by user_id or nickname; if they asked me already (a moment ago, "
    "or at the same time), we become friends. The recipient is notified of one sender's "
    "requests once a day (UTC): asking, cancelling and asking again does not notify again.",
    "friends", {201: json(RelationOut, "Sent, or friends.")}, auth=True,
    body=body(FriendRequestBody, {"nickname": "sam"}),
    errors=(NO_USER, problem("Already friends or asked.", "request_exists"),
            "cannot_target_self", "already_friends", "request_exists", "user_blocked"))
async def send_request(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, FriendRequestBody)
    friends = services(request).friends
    user_id = None if body.user_id is None else body_id(body.user_id, "user_id")
    target = await friends.resolve(who, user_id, body.nickname)
    relation = await friends.request(who, target)
    return json_response(RelationOut(relation.value), status=201)


@routes.get("/v1/friend-requests")
@contract(
    "Friend requests to me (incoming) or from me (outgoing).", "friends",
    {200: json(ContactPage, "One page.")}, auth=True,
    params=[{"name": "direction", "in": "query", "required": False,
             "schema": {"type": "string", "enum": ["incoming", "outgoing"]},
             "example": "incoming"}, CURSOR, LIMIT])
async def list_requests(request: web.Request) -> web.Response:
    direction = request.query.get("direction", "incoming")
    if direction not in ("incoming", "outgoing"):
        raise Invalid("direction is incoming or outgoing.", code="invalid_query",
                      field="direction")
    return await _list(request, direction)


@routes.post("/v1/friend-requests/{user_id}/accept")
@contract("Accept this user's request.", "friends", {204: NO_CONTENT}, auth=True,
          params=_UID, errors=(_NO_REQUEST,))
async def accept(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.accept(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.post("/v1/friend-requests/{user_id}/decline")
@contract("Decline this user's request.", "friends", {204: NO_CONTENT}, auth=True,
          params=_UID, errors=(_NO_REQUEST,))
async def decline(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.decline(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.delete("/v1/friend-requests/{user_id}")
@contract("Cancel my request to this user.", "friends", {204: NO_CONTENT}, auth=True,
          params=_UID, errors=(_NO_REQUEST,))
async def cancel(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.cancel(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.get("/v1/blocks")
@contract("Users I blocked.", "friends", {200: json(ContactPage, "One page.")},
          auth=True, params=[CURSOR, LIMIT])
async def list_blocks(request: web.Request) -> web.Response:
    return await _list(request, "blocked")


@routes.put("/v1/blocks/{user_id}")
@contract(
    "Block: ends any friendship; each disappears from the other's feeds, profiles, "
    "comments, search and ranking.", "friends", {204: NO_CONTENT}, auth=True, params=_UID,
    errors=(NO_USER, "cannot_target_self"))
async def block(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.block(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.delete("/v1/blocks/{user_id}")
@contract("Unblock.", "friends", {204: NO_CONTENT}, auth=True, params=_UID,
          errors=(problem("Not blocked.", "not_blocked"),))
async def unblock(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.unblock(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.get("/v1/me/mutes")
@contract(
    "Users I muted, newest first (banned and suspended ones too, so I can unmute them).",
    "friends", {200: json(ContactPage, "One page.")}, auth=True,
    params=[cursor("muted", TIME, 42), LIMIT])
async def list_mutes(request: web.Request) -> web.Response:
    return await _list(request, "muted")


@routes.post("/v1/users/{user_id}/mute")
@contract(
    "Mute (idempotent). Muting hides the user from my feeds (friends, global, For-You), my "
    "notifications and my live events; they are not told and nothing changes on their "
    "side; a muted friend stays a friend (their profile and videos stay readable by their "
    "own routes).", "friends", {204: NO_CONTENT}, auth=True, params=_UID,
    errors=(NO_USER, problem("That is me.", "cannot_target_self")))
async def mute(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.mute(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.delete("/v1/users/{user_id}/mute")
@contract("Unmute (idempotent: unmuting someone not muted is 204 too).", "friends",
          {204: NO_CONTENT}, auth=True, params=_UID)
async def unmute(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.unmute(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.get("/v1/users/search")
@contract(
    "Users by nickname prefix.", "friends",
    {200: json(UserSearchPage, "One page, by nickname.")}, auth=True,
    params=[{"name": "q", "in": "query", "required": True,
             "schema": {"type": "string", "pattern": "^[a-zA-Z0-9_.]{1,30}$"},
             "example": "sa"}, CURSOR, LIMIT])
async def search(request: web.Request) -> web.Response:
    who = await principal(request)
    limit = paging.limit(request)
    after = paging.read_text_cursor(request, "nick")
    users = await services(request).friends.search(
        who, request.query.get("q", ""), after, limit + 1
    )
    more = len(users) > limit
    users = users[:limit]
    url = services(request).media_url
    return json_response(
        UserSearchPage(
            items=[UserCard.of(u, url) for u in users],
            next_cursor=paging.encode("nick", users[-1].nickname) if more else None,
        )
    )


def _feed_out(request: web.Request, page: FeedPage) -> tuple[list[Rendered], str | None,
                                                            str | None]:
    """The page's items as JSON values (rendered through the app's RenderedItems), and
    its cursors both ways."""
    url, share = services(request).media_url, services(request).share_url
    items = request.app[ITEMS].render(page.items, url, share)
    nxt = paging.keyset_cursor(page.next, newer=False) if page.next else None
    prev = paging.keyset_cursor(page.prev, newer=True) if page.prev else None
    return items, nxt, prev


@routes.get("/v1/feed/friends")
@contract(
    "My friends' videos of a day (default today, my time zone), newest first. Locked "
    "until I post today (BeReal).", "feeds", {200: json(FriendsFeedOut, "One page.")},
    auth=True,
    params=[{"name": "day", "in": "query", "required": False,
             "schema": {"type": "string", "format": "date"}, "example": "2026-11-27"},
            CURSOR, LIMIT])
async def friends_feed(request: web.Request) -> web.Response:
    who = await principal(request)
    raw_day = request.query.get("day")
    day = None
    if raw_day is not None:
        try:
            day = date.fromisoformat(raw_day)
        except ValueError:
            raise Invalid("day is YYYY-MM-DD.", code="invalid_query", field="day") from None
    cursor, newer = paging.read_keyset(request)
    shown_day, page = await services(request).feeds.friends(
        who, day, cursor, newer, paging.limit(request)
    )
    items, nxt, prev = _feed_out(request, page)
    locked = any(i.locked for i in page.items)
    return page_response(FriendsFeedOut(shown_day.isoformat(), locked, [], nxt, prev),
                         "items", items)


@routes.get("/v1/feed/global")
@contract("Public videos, newest first.", "feeds",
          {200: json(FeedPageOut, "One page.")}, auth=True, params=[CURSOR, LIMIT])
async def global_feed(request: web.Request) -> web.Response:
    who = await principal(request)
    cursor, newer = paging.read_keyset(request)
    page = await services(request).feeds.global_(who, cursor, newer, paging.limit(request))
    items, nxt, prev = _feed_out(request, page)
    return page_response(FeedPageOut([], nxt, prev), "items", items)


@routes.get("/v1/feed/for-you")
@contract(
    "Public videos ranked by freshness, engagement (decaying with age) and my friends' "
    "interactions; unseen ones only. The cursor pins the ranking, so pages neither repeat "
    "nor skip.", "feeds", {200: json(RankedPageOut, "One page.")}, auth=True,
    params=[CURSOR, LIMIT],
    errors=(problem("The ranking expired; start again without a cursor.",
                    "snapshot_expired"),))
async def for_you(request: web.Request) -> web.Response:
    who = await principal(request)
    snapshot = paging.read_pair(request, "rank")
    page = await services(request).feeds.for_you(who, snapshot, paging.limit(request))
    url, share = services(request).media_url, services(request).share_url
    nxt = paging.encode("rank", page.snapshot_id, page.next_rank) if page.next_rank else None
    return page_response(RankedPageOut([], nxt), "items",
                         request.app[ITEMS].render(page.items, url, share))


@routes.post("/v1/videos/{video_id}/view")
@contract(
    "Record that I watched a video, with the seconds watched. A view counts once per "
    "viewer, video and UTC day (a later report that day raises its watched time to the "
    "most reported, never lower, and adds no view); the author's never count. Only who "
    "may watch the video now counts (visibility, blocks, bans, the BeReal lock). For-You "
    "skips what I have viewed. Rate limit view:user.", "engagement",
    {200: json(ViewOut, "The view of the day, and the count.")}, auth=True,
    params=[path_id("video_id")],
    body=body(ViewBody, {"watched_seconds": 0.4}),
    errors=(NO_VIDEO, NOT_READY, LOCKED,
            problem("watched_seconds below 0 or past the video's end.",
                    "invalid_watched_seconds"), "invalid_watched_seconds"))
async def view(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, ViewBody)
    seen = await services(request).views.record(who, video_id, body.watched_seconds)
    return json_response(ViewOut(seen.video_id, seen.counted, seen.watched_seconds,
                                 seen.completed, seen.view_count))
