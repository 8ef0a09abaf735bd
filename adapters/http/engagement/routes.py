"""v1 reactions, comments, comment likes and notifications."""

from __future__ import annotations

from aiohttp import web

from adapters.http import paging
from adapters.http.common import body_id, int_param, json_response, principal, read_body, services
from adapters.http.contract import (
    COMMENT,
    COMMENT_LIMITS,
    LIMIT,
    LOCKED,
    NO_CONTENT,
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
from adapters.http.engagement.views import (
    CommentBody,
    CommentPage,
    CommentPatchBody,
    LikeOut,
    MarkedRead,
    NotificationPage,
    ReactionBody,
    ReactionsOut,
    ReactorOut,
    ReactorPage,
)
from adapters.http.views import CommentOut, NotificationOut
from momentic_core.model.engagement import CommentView

routes = web.RouteTableDef()

_VID, _CID = [path_id("video_id")], [path_id("comment_id")]
_NO_COMMENT = problem("No such comment (or not yours to see).", "comment_not_found")


# ---------------------------------------------------------------- reactions


@routes.put("/v1/videos/{video_id}/reaction")
@contract(
    "Set or replace my reaction (one per user and video; idempotent). The author hears of "
    "the first one, once.", "engagement",
    {200: json(ReactionsOut, "The counts after it, and mine.")}, auth=True, params=_VID,
    body=body(ReactionBody, {"kind": "heart"}),
    errors=(NO_VIDEO, NOT_READY, LOCKED,
            problem("kind is not heart, flame, funny or angry.", "invalid_reaction")))
async def react(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, ReactionBody)
    counts = await services(request).engagement.react(who, video_id, body.kind)
    return json_response(ReactionsOut(video_id, counts, body.kind))


@routes.delete("/v1/videos/{video_id}/reaction")
@contract(
    "Remove my reaction (idempotent).", "engagement",
    {200: json(ReactionsOut, "The counts after it (my_reaction null).")}, auth=True,
    params=_VID, errors=(NO_VIDEO,))
async def unreact(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    counts = await services(request).engagement.unreact(who, video_id)
    return json_response(ReactionsOut(video_id, counts, None))


@routes.get("/v1/videos/{video_id}/reactions")
@contract(
    "Who reacted, newest first (keyset on time and user).", "engagement",
    {200: json(ReactorPage, "One page.")}, auth=True,
    params=[*_VID, cursor("react", TIME, 43), LIMIT], errors=(NO_VIDEO,))
async def reactors(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    limit, after = paging.limit(request), paging.read_time_id(request, "react")
    svc = services(request)
    items = await svc.engagement.reactors(who, video_id, after, limit + 1)
    more, items = len(items) > limit, items[:limit]
    last = items[-1] if items else None
    return json_response(ReactorPage(
        items=[ReactorOut.of(r, svc.media_url) for r in items],
        next_cursor=(
            paging.encode("react", last.created_at.isoformat(), last.user.id)
            if more and last else None
        ),
    ))


# ---------------------------------------------------------------- comments


def _page(request: web.Request, views: list[CommentView], limit: int, kind: str) -> CommentPage:
    more, views = len(views) > limit, views[:limit]
    url = services(request).media_url
    last = views[-1].comment if views else None
    return CommentPage(
        items=[CommentOut.of(v, url) for v in views],
        next_cursor=(
            paging.encode(kind, last.created_at.isoformat(), last.id) if more and last else None
        ),
    )


@routes.post("/v1/videos/{video_id}/comments")
@contract(
    "Comment on a video, or reply to one of its top-level comments (parent_id; one level "
    "of replies).", "engagement",
    {201: json(CommentOut, "The comment (Location: /v1/comments/{id}).")}, auth=True,
    params=_VID, body=body(CommentBody, {"body": "What a sunset!", "parent_id": None}),
    errors=(problem("No such video, or no such comment on it.", "video_not_found"),
            NOT_READY, LOCKED, COMMENT_LIMITS, *COMMENT, "reply_depth"))
async def add_comment(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, CommentBody)
    svc = services(request)
    parent = None if body.parent_id is None else body_id(body.parent_id, "parent_id")
    view = await svc.engagement.comment(who, video_id, body.body, parent)
    response = json_response(CommentOut.of(view, svc.media_url), status=201)
    response.headers["Location"] = f"/v1/comments/{view.comment.id}"
    return response


@routes.get("/v1/videos/{video_id}/comments")
@contract(
    "Top-level comments, oldest first.", "engagement",
    {200: json(CommentPage, "One page.")}, auth=True,
    params=[*_VID, cursor("cmt", TIME, 501), LIMIT], errors=(NO_VIDEO,))
async def list_comments(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    limit, after = paging.limit(request), paging.read_time_id(request, "cmt")
    views = await services(request).engagement.comments(who, video_id, None, after, limit + 1)
    return json_response(_page(request, views, limit, "cmt"))


@routes.get("/v1/comments/{comment_id}")
@contract("One comment.", "engagement", {200: json(CommentOut, "The comment.")},
          auth=True, params=_CID, errors=(_NO_COMMENT,))
async def get_comment(request: web.Request) -> web.Response:
    who = await principal(request)
    svc = services(request)
    view = await svc.engagement.comment_view(who, int_param(request, "comment_id"))
    return json_response(CommentOut.of(view, svc.media_url))


@routes.get("/v1/comments/{comment_id}/replies")
@contract(
    "Replies to a top-level comment, oldest first.", "engagement",
    {200: json(CommentPage, "One page.")}, auth=True,
    params=[*_CID, cursor("reply", TIME, 502), LIMIT], errors=(_NO_COMMENT,))
async def list_replies(request: web.Request) -> web.Response:
    who = await principal(request)
    comment_id = int_param(request, "comment_id")
    limit, after = paging.limit(request), paging.read_time_id(request, "reply")
    views = await services(request).engagement.replies(who, comment_id, after, limit + 1)
    return json_response(_page(request, views, limit, "reply"))


@routes.patch("/v1/comments/{comment_id}")
@contract(
    "Edit my comment (edited_at is set).", "engagement",
    {200: json(CommentOut, "The comment.")}, auth=True, params=_CID,
    body=body(CommentPatchBody, {"body": "What a sunset, again!"}),
    errors=(_NO_COMMENT, COMMENT_LIMITS,
            problem("Only the author edits a comment.", "not_author"), *COMMENT))
async def edit_comment(request: web.Request) -> web.Response:
    who = await principal(request)
    comment_id = int_param(request, "comment_id")
    body = await read_body(request, CommentPatchBody)
    svc = services(request)
    view = await svc.engagement.edit_comment(who, comment_id, body.body)
    return json_response(CommentOut.of(view, svc.media_url))


@routes.delete("/v1/comments/{comment_id}")
@contract(
    "Delete a comment with its replies: its author or the video's author (staff remove "
    "someone else's comment through a moderation case).", "engagement",
    {204: NO_CONTENT}, auth=True, params=_CID,
    errors=(_NO_COMMENT, problem("Not the author nor the video's author (not_author); "
                                 "staff: through a case (moderation_required).",
                                 "not_author")))
async def delete_comment(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).engagement.delete_comment(who, int_param(request, "comment_id"))
    return web.Response(status=204)


async def _like(request: web.Request, liked: bool) -> web.Response:
    who = await principal(request)
    comment_id = int_param(request, "comment_id")
    count = await services(request).engagement.like(who, comment_id, liked)
    return json_response(LikeOut(comment_id, count, liked))


@routes.put("/v1/comments/{comment_id}/like")
@contract("Like a comment (idempotent).", "engagement",
          {200: json(LikeOut, "The like count after it.")}, auth=True, params=_CID,
          errors=(_NO_COMMENT,))
async def like(request: web.Request) -> web.Response:
    return await _like(request, True)


@routes.delete("/v1/comments/{comment_id}/like")
@contract("Unlike a comment (idempotent).", "engagement",
          {200: json(LikeOut, "The like count after it.")}, auth=True, params=_CID,
          errors=(_NO_COMMENT,))
async def unlike(request: web.Request) -> web.Response:
    return await _like(request, False)


# ---------------------------------------------------------------- notifications


@routes.get("/v1/notifications")
@contract(
    "My notifications, newest first, with the unread count. They also arrive live on my "
    "user channel (GET /v1/ws).", "notifications",
    {200: json(NotificationPage, "One page.")}, auth=True, params=[cursor("ntf", 90), LIMIT])
async def notifications(request: web.Request) -> web.Response:
    who = await principal(request)
    limit, before = paging.limit(request), paging.read_id(request, "ntf")
    svc = services(request)
    items, unread = await svc.notifications.list(who, before, limit + 1)
    more, items = len(items) > limit, items[:limit]
    return json_response(NotificationPage(
        items=[NotificationOut.of(n, svc.media_url) for n in items],
        unread_count=unread,
        next_cursor=paging.encode("ntf", items[-1].notification.id) if more and items else None,
    ))


@routes.post("/v1/notifications/read-all")
@contract("Mark all my notifications read.", "notifications",
          {200: json(MarkedRead, "How many were unread.")}, auth=True)
async def read_all(request: web.Request) -> web.Response:
    who = await principal(request)
    return json_response(MarkedRead(await services(request).notifications.mark_all_read(who)))


@routes.post("/v1/notifications/{notification_id}/read")
@contract(
    "Mark one notification read (idempotent).", "notifications", {204: NO_CONTENT},
    auth=True, params=[path_id("notification_id")],
    errors=(problem("No such notification of mine.", "notification_not_found"),))
async def read_one(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).notifications.mark_read(who, int_param(request, "notification_id"))
    return web.Response(status=204)
