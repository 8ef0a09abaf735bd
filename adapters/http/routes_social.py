"""v1 friends, blocks, mutes, user search and the three feeds."""

from __future__ import annotations

from datetime import date

from aiohttp import web

from adapters.http import paging
from adapters.http.common import body_id, int_param, json_response, principal, read_body, services
from adapters.http.views import (
    ContactOut,
    ContactPage,
    FeedItemOut,
    FeedPageOut,
    FriendRequestBody,
    FriendsFeedOut,
    RankedPageOut,
    RelationOut,
    UserCard,
    UserSearchPage,
    ViewBody,
    ViewOut,
)
from momentic_core.errors import Invalid
from momentic_core.model.social import Contact, FeedPage

routes = web.RouteTableDef()


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
async def list_friends(request: web.Request) -> web.Response:
    return await _list(request, "friends")


@routes.delete("/v1/friends/{user_id}")
async def unfriend(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.unfriend(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.post("/v1/friend-requests")
async def send_request(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, FriendRequestBody)
    friends = services(request).friends
    user_id = None if body.user_id is None else body_id(body.user_id, "user_id")
    target = await friends.resolve(who, user_id, body.nickname)
    relation = await friends.request(who, target)
    return json_response(RelationOut(relation.value), status=201)


@routes.get("/v1/friend-requests")
async def list_requests(request: web.Request) -> web.Response:
    direction = request.query.get("direction", "incoming")
    if direction not in ("incoming", "outgoing"):
        raise Invalid("direction is incoming or outgoing.", code="invalid_query",
                      field="direction")
    return await _list(request, direction)


@routes.post("/v1/friend-requests/{user_id}/accept")
async def accept(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.accept(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.post("/v1/friend-requests/{user_id}/decline")
async def decline(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.decline(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.delete("/v1/friend-requests/{user_id}")
async def cancel(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.cancel(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.get("/v1/blocks")
async def list_blocks(request: web.Request) -> web.Response:
    return await _list(request, "blocked")


@routes.put("/v1/blocks/{user_id}")
async def block(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.block(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.delete("/v1/blocks/{user_id}")
async def unblock(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.unblock(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.get("/v1/me/mutes")
async def list_mutes(request: web.Request) -> web.Response:
    return await _list(request, "muted")


@routes.post("/v1/users/{user_id}/mute")
async def mute(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.mute(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.delete("/v1/users/{user_id}/mute")
async def unmute(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).friends.unmute(who, int_param(request, "user_id"))
    return web.Response(status=204)


@routes.get("/v1/users/search")
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


def _feed_out(request: web.Request, page: FeedPage) -> tuple[list[FeedItemOut], str | None,
                                                            str | None]:
    url, share = services(request).media_url, services(request).share_url
    items = [FeedItemOut.of(i, url, share) for i in page.items]
    nxt = paging.keyset_cursor(page.next, newer=False) if page.next else None
    prev = paging.keyset_cursor(page.prev, newer=True) if page.prev else None
    return items, nxt, prev


@routes.get("/v1/feed/friends")
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
    locked = any(i.locked for i in items)
    return json_response(FriendsFeedOut(shown_day.isoformat(), locked, items, nxt, prev))


@routes.get("/v1/feed/global")
async def global_feed(request: web.Request) -> web.Response:
    who = await principal(request)
    cursor, newer = paging.read_keyset(request)
    page = await services(request).feeds.global_(who, cursor, newer, paging.limit(request))
    return json_response(FeedPageOut(*_feed_out(request, page)))


@routes.get("/v1/feed/for-you")
async def for_you(request: web.Request) -> web.Response:
    who = await principal(request)
    snapshot = paging.read_pair(request, "rank")
    page = await services(request).feeds.for_you(who, snapshot, paging.limit(request))
    url, share = services(request).media_url, services(request).share_url
    nxt = paging.encode("rank", page.snapshot_id, page.next_rank) if page.next_rank else None
    return json_response(RankedPageOut([FeedItemOut.of(i, url, share) for i in page.items],
                                       nxt))


@routes.post("/v1/videos/{video_id}/view")
async def view(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, ViewBody)
    seen = await services(request).views.record(who, video_id, body.watched_seconds)
    return json_response(ViewOut(seen.video_id, seen.counted, seen.watched_seconds,
                                 seen.completed, seen.view_count))
