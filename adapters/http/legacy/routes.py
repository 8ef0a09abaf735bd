"""The routes of the iOS app in the field (../shared/mobile-client-contract.md).

Each is a thin translation of shape onto the same use cases as /v1; none has logic of
its own. Identity comes from the access token only, never from a body field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from adapters.http.common import device, int_param, no_store, principal, read_body, services
from adapters.http.contract import (
    BAD_LOGIN,
    COMMENT,
    COMMENT_LIMITS,
    CRED_EXAMPLE,
    ID,
    LOCKED,
    NO_CONTENT,
    NO_VIDEO,
    NOT_AUTHOR,
    NOT_READY,
    NOT_YOURS_TO_DELETE,
    PROFILE_TEXT,
    SIGN_UP,
    SWITCHING,
    TIME,
    UPLOAD,
    body,
    contract,
    json,
    path_id,
    problem,
)
from adapters.http.converter import unstructure
from adapters.http.legacy.views import (
    LegacyComment,
    LegacyCommentRow,
    LegacyComments,
    LegacyCredentials,
    LegacyDescription,
    LegacyEmail,
    LegacyFriendVideo,
    LegacyFriendVideos,
    LegacyProfile,
    LegacyReaction,
    LegacyReactionSet,
    LegacyReactor,
    LegacyReactors,
    LegacyRefresh,
    LegacyStatus,
    LegacyTokens,
    LegacyUpload,
    LegacyVerified,
    LegacyVerify,
)
from adapters.http.live import routes as live
from adapters.http.videos.routes import (
    CONTENT_REMOVED,
    IMAGE_BODY,
    IMAGE_ERRORS,
    MULTIPART_VIDEO,
    UPLOAD_ERRORS,
    receive_video,
    set_avatar,
)
from adapters.http.views import AvatarUrlOut, LegacyChatMessage
from momentic_core.errors import Forbidden
from momentic_core.model.engagement import CommentView
from momentic_core.services.profiles import ProfileChanges

routes = web.RouteTableDef()

_TAG = "legacy mobile"
_VID = [path_id("video_id")]
_WS_CHAT = """\
Legacy app: new comments of one video, live. Each text frame is a chat message \
(LegacyChatMessage: {"id", "author", "text", "avatar_url", "created_at", "like_count", \
"liked_by_me"}) for each new top-level comment. Send the access token as \
`Authorization: Bearer <token>` (401 problem+json without one, before any upgrade). \
Choose the video with `?video_id=` at connect and/or by sending a text frame \
`{"video_id": 12}`, which moves the chat to that video. A video I may not see (or no \
longer may see: a block, an unfriend, moderation) closes the \
socket with 4404 (with `?video_id=`, the handshake is refused with 404); a frame of \
another shape closes it with 1008. Closes with 4401 and 4408 as GET /v1/ws."""


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
@contract("Legacy app: register.", _TAG, {201: json(LegacyStatus, "Code sent.")},
          body=body(LegacyCredentials, CRED_EXAMPLE), errors=SIGN_UP)
async def register(request: web.Request) -> web.Response:
    body = await read_body(request, LegacyCredentials)
    await services(request).accounts.register(body.email, body.password, device(request))
    return web.json_response(unstructure(
        LegacyStatus(True, "Check your email for the verification code.")), status=201)


@_legacy("POST", "/auth/verify-code/")
@contract(
    "Legacy app: verify the email code and sign in.", _TAG,
    {200: json(LegacyVerified, "Verified.")},
    body=body(LegacyVerify, {"email": "alex@bsu.by", "password": "correct horse battery",
                             "code": "123456"}),
    errors=("invalid_code", "email_taken"))
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
@contract("Legacy app: resend the code.", _TAG, {200: json(LegacyStatus, "Sent.")},
          body=body(LegacyEmail, {"email": "alex@bsu.by"}))
async def resend(request: web.Request) -> web.Response:
    body = await read_body(request, LegacyEmail)
    await services(request).accounts.resend_code(body.email, device(request))
    return web.json_response(unstructure(
        LegacyStatus(True, "If the address can receive a code, one is on its way.")))


@_legacy("POST", "/auth/login/")
@contract("Legacy app: log in.", _TAG, {200: json(LegacyTokens, "Tokens.")},
          body=body(LegacyCredentials, CRED_EXAMPLE), errors=(*BAD_LOGIN, "mfa_required"))
async def login(request: web.Request) -> web.Response:
    body = await read_body(request, LegacyCredentials)
    pair = await services(request).accounts.login(body.email, body.password, device(request))
    return no_store(web.json_response(unstructure(
        LegacyTokens(pair.access_token, pair.refresh_token))))


@_legacy("POST", "/auth/refresh/")
@contract("Legacy app: rotate the refresh token.", _TAG,
          {200: json(LegacyTokens, "Tokens.")},
          body=body(LegacyRefresh, {"refresh": "q8V4m1xv0b2vS9cK"}),
          errors=("invalid_refresh_token", "refresh_token_reused"))
async def refresh(request: web.Request) -> web.Response:
    body = await read_body(request, LegacyRefresh)
    pair = await services(request).accounts.refresh(body.refresh, device(request))
    return no_store(web.json_response(unstructure(
        LegacyTokens(pair.access_token, pair.refresh_token))))


@_legacy("PATCH", "/user/profile/")
@contract(
    "Legacy app: edit the profile (a `token` body field is ignored).", _TAG,
    {204: NO_CONTENT}, auth=True,
    body=body(LegacyProfile, {"name": "Alex", "surname": "Ivanov", "bio": None}),
    errors=PROFILE_TEXT)
async def profile(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, LegacyProfile)
    changes = ProfileChanges(name=body.name, surname=body.surname, bio=body.bio)
    await services(request).profiles.update_me(who, changes)
    return web.Response(status=204)


@_legacy("POST", "/videos")
@contract(
    "Legacy app: upload a video (multipart video_file, description).", _TAG,
    {201: json(LegacyUpload, "Stored; processing."),
     200: json(LegacyUpload, "A file I uploaded before (the same bytes): my video of it; "
                             "nothing new is stored.",
               {"video_id": 1001, "filepath": "/v1/videos/1001",
                "message": "Video already uploaded."})},
    auth=True, body=MULTIPART_VIDEO, errors=(*UPLOAD_ERRORS, *UPLOAD, CONTENT_REMOVED))
async def upload_video(request: web.Request) -> web.Response:
    """Multipart ``video_file`` and ``description``; a legacy upload is for friends.

    The app decodes ``filepath`` as a string; the earlier server put its storage path
    there. It is the video's path on this API (GET it for the playback URL once the
    video is ready), never the storage key of the upload."""
    who = await principal(request)
    staged, description, visibility = await receive_video(request, who, "friends")
    posted = await services(request).videos.publish(who, staged, description, visibility)
    video = posted.video
    if posted.duplicate:  # any 2xx is success to the app: the video it has already
        return web.json_response(unstructure(
            LegacyUpload(video.id, f"/v1/videos/{video.id}", "Video already uploaded.")))
    return web.json_response(unstructure(
        LegacyUpload(video.id, f"/v1/videos/{video.id}", "Video uploaded.")), status=201)


@_legacy("PATCH", "/videos/{video_id}")
@contract(
    "Legacy app: change the description.", _TAG, {204: NO_CONTENT}, auth=True,
    params=_VID, body=body(LegacyDescription, {"description": "Sunset, take two"}),
    errors=(NO_VIDEO, NOT_AUTHOR, "video_moderated", "description_too_long"))
async def edit_video(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, LegacyDescription)
    await services(request).videos.update_description(who, video_id, body.description)
    return web.Response(status=204)


@_legacy("DELETE", "/videos/{video_id}")
@contract("Legacy app: delete a video (the author only).", _TAG, {204: NO_CONTENT},
          auth=True, params=_VID, errors=(NO_VIDEO, NOT_YOURS_TO_DELETE))
async def delete_video(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).videos.delete(who, int_param(request, "video_id"))
    return web.Response(status=204)


@_legacy("PATCH", "/user/avatar/")
@contract(
    "Legacy app: set the avatar from raw JPEG bytes.", _TAG,
    {200: json(AvatarUrlOut, "The new avatar.")}, auth=True, body=IMAGE_BODY,
    errors=(*IMAGE_ERRORS, "undecodable", "storage_unavailable"))
async def avatar(request: web.Request) -> web.Response:
    """Raw JPEG bytes (the app sends Content-Type: image/jpeg)."""
    who = await principal(request)
    user = await set_avatar(request, who)
    url = services(request).media_url(user.avatar_key) if user.avatar_key else None
    return web.json_response(unstructure(AvatarUrlOut(url)))


@_legacy("GET", "/users/{user_id}/friends/videos")
@contract(
    "Legacy app: my friends' videos of today (my own user id only).", _TAG,
    {200: json(LegacyFriendVideos, "Newest first.")}, auth=True,
    params=[path_id("user_id")], errors=(problem("Not your user id.", "not_you"),))
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
@contract(
    "Legacy app: a video's comments, oldest first (the first 200).", _TAG,
    {200: json(LegacyComments, "The comments.")}, auth=True, params=_VID,
    errors=(NO_VIDEO,))
async def list_comments(request: web.Request) -> web.Response:
    who = await principal(request)
    views = await services(request).engagement.comments(
        who, int_param(request, "video_id"), None, None, LEGACY_LIST_MAX
    )
    return web.json_response(unstructure([_comment_row(v, request) for v in views]))


@_legacy("POST", "/videos/{video_id}/comments/")
@contract(
    "Legacy app: comment. Only text is used; the author is the token's.", _TAG,
    {201: json(LegacyChatMessage, "The comment as a chat message.")}, auth=True,
    params=_VID,
    body=body(LegacyComment, {"author": "sam", "text": "What a sunset!", "avatarURL": None,
                              "createdAt": TIME}),
    errors=(NO_VIDEO, NOT_READY, LOCKED, COMMENT_LIMITS, *COMMENT, "reply_depth"))
async def post_comment(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, LegacyComment)
    svc = services(request)
    view = await svc.engagement.comment(who, video_id, body.text)
    message = LegacyChatMessage.of(view.comment, view.author, view.liked_by_me, svc.media_url)
    return web.json_response(unstructure(message), status=201)


@_legacy("POST", "/videos/{video_id}/reactions")
@contract(
    "Legacy app: set or replace my reaction.", _TAG,
    {200: json(LegacyReactionSet, "The counts after it.")}, auth=True, params=_VID,
    body=body(LegacyReaction, {"reaction_kind": "flame"}),
    errors=(NO_VIDEO, NOT_READY, LOCKED,
            problem("Not heart, flame, funny or angry.", "invalid_reaction")))
async def react(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, LegacyReaction)
    counts = await services(request).engagement.react(who, video_id, body.reaction_kind)
    return web.json_response(unstructure(LegacyReactionSet(video_id, body.reaction_kind, counts)))


@_legacy("DELETE", "/videos/{video_id}/reactions")
@contract("Legacy app: remove my reaction.", _TAG, {204: NO_CONTENT}, auth=True,
          params=_VID, errors=(NO_VIDEO,))
async def unreact(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).engagement.unreact(who, int_param(request, "video_id"))
    return web.Response(status=204)


@_legacy("GET", "/videos/{video_id}/reactions")
@contract("Legacy app: who reacted, newest first (the first 200).", _TAG,
          {200: json(LegacyReactors, "The reactions.")}, auth=True, params=_VID,
          errors=(NO_VIDEO,))
async def reactions(request: web.Request) -> web.Response:
    who = await principal(request)
    reactors = await services(request).engagement.reactors(
        who, int_param(request, "video_id"), None, LEGACY_LIST_MAX
    )
    return web.json_response(unstructure(
        [LegacyReactor(r.user.id, r.user.nickname, r.kind.value) for r in reactors]))


@_legacy("GET", "/ws/chat")
@contract(
    "Legacy app: live comments of a video over a WebSocket.", _TAG, {101: SWITCHING},
    auth=True,
    params=[{"name": "video_id", "in": "query", "required": False, "schema": dict(ID),
             "example": 1001}],
    errors=(*live.WS_ERRORS, NO_VIDEO), description=_WS_CHAT)
async def chat(request: web.Request) -> web.WebSocketResponse:
    """New comments of a video as chat messages; see adapters/http/live/routes.py."""
    return await live.chat_socket(request)
