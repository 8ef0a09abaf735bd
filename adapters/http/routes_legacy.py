"""The routes of the iOS app in the field (../shared/mobile-client-contract.md).

Each is a thin translation of shape onto the same use cases as /v1; none has logic of
its own. Identity comes from the access token only, never from a body field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from adapters.http import live
from adapters.http.common import device, int_param, no_store, principal, read_body, services
from adapters.http.converter import unstructure
from adapters.http.routes_videos import receive_video, set_avatar
from adapters.http.views import AvatarUrlOut
from adapters.http.views_legacy import (
    LegacyComment,
    LegacyCommentRow,
    LegacyCredentials,
    LegacyDescription,
    LegacyEmail,
    LegacyFriendVideo,
    LegacyProfile,
    LegacyReaction,
    LegacyReactionSet,
    LegacyReactor,
    LegacyRefresh,
    LegacyStatus,
    LegacyTokens,
    LegacyUpload,
    LegacyVerified,
    LegacyVerify,
)
from momentic_core.errors import Forbidden
from momentic_core.model.engagement import CommentView
from momentic_core.services.engagement import comment_data
from momentic_core.services.profiles import ProfileChanges

routes = web.RouteTableDef()


def _both(path: str) -> list[str]:
    """The app's path and the same without (or with) the trailing slash."""
    return [path, path.rstrip("/")] if path.endswith("/") else [path, path + "/"]


_H = TypeVar("_H", bound=Callable[[web.Request], Awaitable[web.StreamResponse]])


def _legacy(method: str, path: str) -> Callable[[_H], _H]:
    """Register ``handler`` for the path with and without its trailing slash: the app adds
    slashes, and every legacy route answers the same either way (one handler)."""

    def register(handler: _H) -> _H:
        for variant in _both(path):
            routes.route(method, variant)(handler)
        return handler

    return register


@_legacy("POST", "/auth/register/")
async def register(request: web.Request) -> web.Response:
    body = await read_body(request, LegacyCredentials)
    await services(request).accounts.register(body.email, body.password, device(request))
    return web.json_response(unstructure(
        LegacyStatus(True, "Check your email for the verification code.")), status=201)


@_legacy("POST", "/auth/verify-code/")
async def verify_code(request: web.Request) -> web.Response:
    body = await read_body(request, LegacyVerify)
    pair = await services(request).accounts.verify_email(
        body.email, body.code, body.password, device(request)
    )
    return no_store(
        web.json_response(unstructure(LegacyVerified(
            True, "Email verified.", LegacyTokens(pair.access_token, pair.refresh_token))))
    )


@_legacy("POST", "/auth/resend-verify-code/")
async def resend(request: web.Request) -> web.Response:
    body = await read_body(request, LegacyEmail)
    await services(request).accounts.resend_code(body.email, device(request))
    return web.json_response(unstructure(
        LegacyStatus(True, "If the address can receive a code, one is on its way.")))


@_legacy("POST", "/auth/login/")
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LegacyCredentials)
    pair = await services(request).accounts.login(body.email, body.password, device(request))
    return no_store(web.json_response(unstructure(
        LegacyTokens(pair.access_token, pair.refresh_token))))


@_legacy("POST", "/auth/refresh/")
async def refresh(request: web.Request) -> web.Response:
    body = await read_body(request, LegacyRefresh)
    pair = await services(request).accounts.refresh(body.refresh, device(request))
    return no_store(web.json_response(unstructure(
        LegacyTokens(pair.access_token, pair.refresh_token))))


@_legacy("PATCH", "/user/profile/")
async def profile(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, LegacyProfile)
    changes = ProfileChanges(name=body.name, surname=body.surname, bio=body.bio)
    await services(request).profiles.update_me(who, changes)
    return web.Response(status=204)


@_legacy("POST", "/videos")
async def upload_video(request: web.Request) -> web.Response:
    """Multipart ``video_file`` and ``description``; a legacy upload is for friends.

    The app decodes ``filepath`` as a string; the earlier server put its storage path
    there. It is the video's path on this API (GET it for the playback URL once the
    video is ready), never the storage key of the upload."""
    who = await principal(request)
    staged, description, visibility = await receive_video(request, who, "friends")
    video = await services(request).videos.publish(who, staged, description, visibility)
    return web.json_response(unstructure(
        LegacyUpload(video.id, f"/v1/videos/{video.id}", "Video uploaded.")), status=201)


@_legacy("PATCH", "/videos/{video_id}")
async def edit_video(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, LegacyDescription)
    await services(request).videos.update_description(who, video_id, body.description)
    return web.Response(status=204)


@_legacy("DELETE", "/videos/{video_id}")
async def delete_video(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).videos.delete(who, int_param(request, "video_id"))
    return web.Response(status=204)


@_legacy("PATCH", "/user/avatar/")
async def avatar(request: web.Request) -> web.Response:
    """Raw JPEG bytes (the app sends Content-Type: image/jpeg)."""
    who = await principal(request)
    user = await set_avatar(request, who)
    url = services(request).media_url(user.avatar_key) if user.avatar_key else None
    return web.json_response(unstructure(AvatarUrlOut(url)))


@_legacy("GET", "/users/{user_id}/friends/videos")
async def friends_videos(request: web.Request) -> web.Response:
    """Today's videos of my friends, newest first (my own user id only)."""
    who = await principal(request)
    if int_param(request, "user_id") != who.user_id:
        raise Forbidden("You can only read your own friends' videos.", code="not_you")
    svc = services(request)
    _, page = await svc.feeds.friends(who, None, None, False, 50)
    out = []
    for item in page.items:
        v = item.video
        ready = not item.locked and v.playback_key is not None
        out.append(LegacyFriendVideo(
            video_id=v.id,
            user_id=item.author.id,
            nickname=item.author.nickname,
            description=v.description,
            filepath=(svc.media_url.of_video(v.playback_key, v) if ready and v.playback_key
                      else None),
            thumbnail_url=(
                svc.media_url.of_video(v.thumbnail_key, v) if ready and v.thumbnail_key
                else None
            ),
            locked=item.locked,
            created_at=v.created_at.isoformat(),
        ))
    return web.json_response(unstructure(out))


# ---------------------------------------------------------------- comments and reactions

# The app reads a whole list at once; it gets the first this many (oldest first for
# comments, as a chat reads; newest first for reactions).
LEGACY_LIST_MAX = 200


def _comment_row(view: CommentView, request: web.Request) -> LegacyCommentRow:
    c, author = view.comment, view.author
    url = services(request).media_url
    return LegacyCommentRow(
        comment_id=c.id,
        video_id=c.video_id,
        user_id=author.id,
        nickname=author.nickname,
        avatarURL=url(author.avatar_key) if author.avatar_key else None,
        content=c.body,
        created_at=c.created_at.isoformat(),
    )


@_legacy("GET", "/videos/{video_id}/comments/")
async def list_comments(request: web.Request) -> web.Response:
    who = await principal(request)
    views = await services(request).engagement.comments(
        who, int_param(request, "video_id"), None, None, LEGACY_LIST_MAX
    )
    return web.json_response(unstructure([_comment_row(v, request) for v in views]))


@_legacy("POST", "/videos/{video_id}/comments/")
async def post_comment(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, LegacyComment)
    svc = services(request)
    view = await svc.engagement.comment(who, video_id, body.text)
    message = live.chat_message(comment_data(view), svc.media_url)
    message["liked_by_me"] = view.liked_by_me
    return web.json_response(message, status=201)


@_legacy("POST", "/videos/{video_id}/reactions")
async def react(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, LegacyReaction)
    counts = await services(request).engagement.react(who, video_id, body.reaction_kind)
    return web.json_response(unstructure(LegacyReactionSet(video_id, body.reaction_kind, counts)))


@_legacy("DELETE", "/videos/{video_id}/reactions")
async def unreact(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).engagement.unreact(who, int_param(request, "video_id"))
    return web.Response(status=204)


@_legacy("GET", "/videos/{video_id}/reactions")
async def reactions(request: web.Request) -> web.Response:
    who = await principal(request)
    reactors = await services(request).engagement.reactors(
        who, int_param(request, "video_id"), None, LEGACY_LIST_MAX
    )
    return web.json_response(unstructure(
        [LegacyReactor(r.user.id, r.user.nickname, r.kind.value) for r in reactors]))


@_legacy("GET", "/ws/chat")
async def chat(request: web.Request) -> web.WebSocketResponse:
    """New comments of a video as chat messages; see adapters/http/live.py."""
    return await live.chat_socket(request)
