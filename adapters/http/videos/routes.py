"""v1 videos: streaming and resumable uploads, reading and managing, avatars, limits,
and the media route that serves blobs of the local and in-memory stores."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

from aiohttp import BodyPartReader, MultipartReader, web
from aiohttp.http_exceptions import HttpProcessingError

from adapters.http import paging
from adapters.http.common import int_param, json_response, principal, read_body, services
from adapters.http.contract import (
    NO_CONTENT,
    NO_VIDEO,
    NOT_AUTHOR,
    NOT_YOURS_TO_DELETE,
    STRING,
    TIME,
    UPLOAD,
    Answer,
    binary_body,
    body,
    content,
    contract,
    json,
    path_id,
    problem,
)
from adapters.http.converter import nul_character
from adapters.http.videos.views import (
    ConfigOut,
    PartOut,
    StoredPartOut,
    UploadBody,
    UploadOut,
    VideoForm,
    VideoPage,
    VideoPatchBody,
)
from adapters.http.views import AvatarUrlOut, VideoOut
from adapters.media_urls import TOKEN_PREFIX, served_cache_control
from momentic_core.errors import Invalid, NotFound, TooLarge, UnsupportedMedia
from momentic_core.model.accounts import Principal, User
from momentic_core.model.engagement import ReactionKind
from momentic_core.model.videos import MediaLimits, StagedBlob
from momentic_core.services.videos import UploadState, VideoView

routes = web.RouteTableDef()

CHUNK = 256 * 1024
FIELD_MAX = 4096
AVATAR_TYPES = ("image/jpeg", "image/png", "image/webp")


# ---------------------------------------------------------------- helpers


def video_out(request: web.Request, view: VideoView) -> VideoOut:
    mine = view.my_reaction.value if view.my_reaction else None
    svc = services(request)
    return VideoOut.of(view.video, view.author, svc.media_url, view.locked, mine,
                       share_url=svc.share_url)


# What aiohttp's multipart reader raises for a body that is not a well-formed form (no or
# an empty boundary, a part cut off before its headers end or its closing boundary).
_MALFORMED = (ValueError, AssertionError, RuntimeError, HttpProcessingError)


def _malformed() -> Invalid:
    return Invalid("The multipart body is malformed.", code="malformed_multipart")


async def _read(part: BodyPartReader, size: int) -> bytes:
    try:
        return await part.read_chunk(size)
    except _MALFORMED:
        raise _malformed() from None


async def _chunks(part: BodyPartReader) -> AsyncIterator[bytes]:
    while chunk := await _read(part, CHUNK):
        yield chunk


async def _skip(part: BodyPartReader) -> None:
    while await _read(part, CHUNK):
        pass


async def _field(part: BodyPartReader) -> str:
    data = bytearray()
    while chunk := await _read(part, 1024):
        data += chunk
        if len(data) > FIELD_MAX:
            raise Invalid(f"The {part.name} field is too long.", code="field_too_long",
                          field=part.name)
    try:
        text = data.decode()
    except UnicodeDecodeError:
        raise Invalid(f"{part.name} is not UTF-8.", code="validation_failed",
                      field=part.name) from None
    if "\x00" in text:
        raise nul_character(part.name or "")
    return text


def _check_length(request: web.Request, limit: int, code: str = "video_too_large") -> None:
    """413 before the body is read when its Content-Length is over ``limit``."""
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"The request may have at most {limit} bytes.", code=code, limit=limit)


async def receive_video(
    request: web.Request, who: Principal, default_visibility: str
) -> tuple[StagedBlob, str | None, str]:
    """Stream the ``video_file`` part of a multipart form to storage; read the text fields
    (before or after the file). The caller publishes or discards the staged file."""
    svc = services(request)
    # The runtime limit, as the core caps the stream with (64 KiB for the form around it).
    _check_length(request, (await svc.config.current()).max_video_bytes + 64 * 1024)
    if not request.content_type.startswith("multipart/"):
        raise UnsupportedMedia("Send multipart/form-data with a video_file part.",
                               code="multipart_required")
    try:
        reader = await request.multipart()
    except (*_MALFORMED, KeyError):
        raise _malformed() from None
    fields: dict[str, str] = {}
    staged: StagedBlob | None = None
    try:
        async for part in _parts(reader):
            if part.name == "video_file" and staged is None:
                staged = await svc.videos.stage(who, _chunks(part))
            elif part.name in ("description", "visibility") and part.name not in fields:
                fields[part.name] = await _field(part)
            else:
                await _skip(part)
    except BaseException:
        if staged is not None:
            await svc.videos.discard(staged)
        raise
    if staged is None:
        raise Invalid("The form needs a video_file part.", code="validation_failed",
                      field="video_file")
    return staged, fields.get("description"), fields.get("visibility", default_visibility)


async def _parts(reader: MultipartReader) -> AsyncIterator[BodyPartReader]:
    while True:
        try:
            part = await reader.next()
        except _MALFORMED:
            raise _malformed() from None
        if part is None:
            return
        if not isinstance(part, BodyPartReader):
            raise Invalid("Nested multipart is not accepted.", code="malformed_multipart")
        yield part


def upload_out(request: web.Request, state: UploadState) -> UploadOut:
    upload = state.upload
    received = {p.number for p in state.received}
    done = upload.completed_at is not None
    base = f"/v1/uploads/{upload.id}/parts/"
    return UploadOut(
        id=upload.id,
        status="complete" if done else "open",
        size_bytes=upload.size_bytes,
        content_type=upload.content_type,
        part_size=upload.part_size,
        parts=[
            PartOut(
                number=t.number,
                size_bytes=t.size,
                url=t.url or f"{base}{t.number}",
                method="PUT",
                received=done or t.number in received,
            )
            for t in state.parts
        ],
        video_id=upload.video_id,
        created_at=upload.created_at,
        expires_at=upload.created_at + services(request).videos.limits.upload_ttl,
    )


# ---------------------------------------------------------------- routes

# What the uploads of a video (here and the legacy app's) and of an avatar declare.
MULTIPART_VIDEO = body(
    VideoForm, {"video_file": "(binary)", "description": "Sunset over the campus",
                "visibility": "public"}, media="multipart/form-data")
UPLOAD_ERRORS = (
    problem("Over the size limit; nothing is kept.", "video_too_large"),
    problem("Not an MP4, MOV or WebM video.", "unsupported_media_type"),
)
IMAGE_BODY = binary_body("image/jpeg", "image/png", "image/webp")
IMAGE_ERRORS = (
    problem("Over 5 MB.", "avatar_too_large"),
    problem("Not a JPEG, PNG or WebP image.", "unsupported_image"),
    problem(f"The image decodes to more than {MediaLimits().avatar_max_pixels:,} pixels (a "
            "JPEG counts at the 1/2, 1/4 or 1/8 scale it is decoded at; `limit` says how "
            "many), whatever its file size; or a field breaks a rule (validation_failed).",
            "image_too_large"),
)
_NO_UPLOAD = problem("No such upload of mine.", "upload_not_found")
CONTENT_REMOVED = problem(
    "A moderator removed my video of this very file (also if I deleted it since): it is "
    "not taken again; nothing is kept.", "content_removed")


@routes.get("/v1/config")
@contract(
    "Upload limits: sizes, duration, formats, description length. max_video_bytes and "
    "max_video_seconds are the runtime settings in force (an admin's change shows here "
    "within 5 seconds on every instance, as the uploads and the processing apply it).",
    "videos", {200: json(ConfigOut, "The limits.")})
async def config(request: web.Request) -> web.Response:
    svc = services(request)
    limits = svc.videos.limits
    now = await svc.config.current()  # what the uploads and the worker enforce
    return json_response(
        ConfigOut(
            max_video_bytes=now.max_video_bytes,
            max_video_seconds=now.max_video_seconds,
            accepted_video_types=list(limits.accepted_types),
            description_max_length=limits.description_max,
            visibilities=["friends", "public"],
            avatar_max_bytes=limits.avatar_max_bytes,
            avatar_types=list(AVATAR_TYPES),
            upload_part_size=limits.part_size,
            max_devices_per_user=now.max_devices_per_user,
        )
    )


@routes.post("/v1/videos")
@contract(
    "Upload a video in one request (multipart, streamed to storage). It is processed in "
    "the background: poll GET /v1/videos/{id} until status is ready.", "videos",
    {201: json(VideoOut, "Stored; processing."),
     200: json(VideoOut, "A file I uploaded before (the same bytes, by SHA-256): my video "
                         "of it, unchanged (the description and visibility sent are not "
                         "applied); nothing new is stored.")},
    auth=True, body=MULTIPART_VIDEO,
    errors=(*UPLOAD_ERRORS, *UPLOAD, CONTENT_REMOVED, "undecodable",
            "resolution_too_large"))
async def upload_video(request: web.Request) -> web.Response:
    who = await principal(request)
    staged, description, visibility = await receive_video(request, who, "friends")
    posted = await services(request).videos.publish(who, staged, description, visibility)
    video = posted.video
    view = await services(request).videos.get(who, video.id)
    response = json_response(video_out(request, view), status=200 if posted.duplicate else 201)
    response.headers["Location"] = f"/v1/videos/{video.id}"
    return response


@routes.get("/v1/videos/{video_id}")
@contract(
    "A video, with signed playback and thumbnail URLs when ready.", "videos",
    {200: json(VideoOut, "The video.")}, auth=True, params=[path_id("video_id")],
    errors=(NO_VIDEO,))
async def get_video(request: web.Request) -> web.Response:
    who = await principal(request)
    view = await services(request).videos.get(who, int_param(request, "video_id"))
    return json_response(video_out(request, view))


@routes.patch("/v1/videos/{video_id}")
@contract(
    "Change the description and/or the visibility (the author; an absent or null field "
    "stays as it is). Feeds, For-You, profiles and live subscriptions follow at once. A "
    "private account's videos stay friends-only: public is 409 account_private there "
    "(make the account public first); friends is kept as the video's own choice, so it "
    "stays friends-only when the account turns public.", "videos",
    {200: json(VideoOut, "The video.")}, auth=True, params=[path_id("video_id")],
    body=body(VideoPatchBody, {"description": "Sunset, take two", "visibility": "public"}),
    errors=(NO_VIDEO, NOT_AUTHOR, problem(
        "The video is held or removed, or public was asked of a private account's video.",
        "account_private"),
        "video_moderated", "description_too_long", "control_characters",
        "invalid_visibility", "account_private"))
async def patch_video(request: web.Request) -> web.Response:
    who = await principal(request)
    video_id = int_param(request, "video_id")
    body = await read_body(request, VideoPatchBody)
    svc = services(request).videos
    video = await svc.edit(who, video_id, description=body.description,
                           visibility=body.visibility)
    return json_response(video_out(request, await svc.get(who, video.id)))


@routes.delete("/v1/videos/{video_id}")
@contract(
    "Delete the video and its files (the author only: staff remove someone else's video "
    "through a moderation case, which is audited, tells the author and can be appealed).",
    "videos", {204: NO_CONTENT}, auth=True, params=[path_id("video_id")],
    errors=(NO_VIDEO, NOT_YOURS_TO_DELETE))
async def delete_video(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).videos.delete(who, int_param(request, "video_id"))
    return web.Response(status=204)


@routes.get("/v1/users/{user_id}/videos")
@contract(
    "A user's videos, newest first (others see ready public ones).", "videos",
    {200: json(VideoPage, "One page.")}, auth=True,
    params=[path_id("user_id"),
            {"name": "cursor", "in": "query", "required": False, "schema": STRING,
             "description": "next_cursor of the previous page, as it came; any other value "
                            "is 422 invalid_cursor.",
             "example": paging.encode("vid", TIME, 1001)},
            {"name": "limit", "in": "query", "required": False,
             "schema": {"type": "integer", "minimum": 1, "default": 20},
             "description": "Page size; more than 50 is taken as 50. Not a positive "
                            "integer: 422 invalid_query.",
             "example": 20}],
    errors=(problem("No such user.", "user_not_found"),))
async def user_videos(request: web.Request) -> web.Response:
    who = await principal(request)
    before, limit = paging.read_time_id(request, "vid"), paging.limit(request)
    svc = services(request)
    page = await svc.videos.list_by_user(who, int_param(request, "user_id"), before, limit + 1)
    more = len(page.videos) > limit
    videos = page.videos[:limit]
    items = [
        VideoOut.of(v, page.author, svc.media_url, v.id in page.locked,
                    my_reaction=_kind(page.my_reactions.get(v.id)), share_url=svc.share_url)
        for v in videos
    ]
    return json_response(
        VideoPage(
            items=items,
            next_cursor=(
                paging.encode("vid", videos[-1].created_at.isoformat(), videos[-1].id)
                if more
                else None
            ),
        )
    )


def _kind(kind: ReactionKind | None) -> str | None:
    return kind.value if kind else None


@routes.post("/v1/uploads")
@contract(
    "Start a resumable upload: PUT each part to its URL, then complete.", "videos",
    {201: json(UploadOut, "The upload and its part URLs.")}, auth=True,
    body=body(UploadBody, {"size_bytes": 20971520, "content_type": "video/mp4",
                           "description": "Sunset", "visibility": "friends"}),
    errors=(*UPLOAD_ERRORS, problem(
        "size_bytes is over max_video_bytes (video_too_large), or the JSON body is larger "
        "than allowed (body_too_large).", "video_too_large"),
        "invalid_size", "invalid_visibility", "description_too_long",
        "storage_unavailable"))
async def create_upload(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, UploadBody)
    state = await services(request).videos.create_upload(
        who, body.size_bytes, body.content_type, body.description, body.visibility
    )
    response = json_response(upload_out(request, state), status=201)
    response.headers["Location"] = f"/v1/uploads/{state.upload.id}"
    return response


@routes.get("/v1/uploads/{upload_id}")
@contract(
    "Which parts arrived, to resume after a dropped connection.", "videos",
    {200: json(UploadOut, "The upload.")}, auth=True, params=[path_id("upload_id")],
    errors=(_NO_UPLOAD,))
async def get_upload(request: web.Request) -> web.Response:
    who = await principal(request)
    state = await services(request).videos.upload_state(who, int_param(request, "upload_id"))
    return json_response(upload_out(request, state))


@routes.put("/v1/uploads/{upload_id}/parts/{part}")
@contract(
    "Send one part through the API (when its URL is relative).", "videos",
    {200: json(StoredPartOut, "Stored.")}, auth=True,
    params=[path_id("upload_id"), path_id("part")],
    body=binary_body("application/octet-stream"),
    errors=(_NO_UPLOAD,
            problem("Longer than the part (up front when its Content-Length is).",
                    "part_too_large"),
            "invalid_part", "invalid_part_size", "part_too_large", "storage_unavailable",
            "upload_complete"))
async def put_part(request: web.Request) -> web.Response:
    who = await principal(request)
    part = await services(request).videos.put_part(
        who,
        int_param(request, "upload_id"),
        int_param(request, "part"),
        request.content.iter_chunked(CHUNK),
        declared=request.content_length,
    )
    return web.json_response({"number": part.number, "size_bytes": part.size,
                              "etag": part.etag}, headers={"ETag": part.etag})


@routes.post("/v1/uploads/{upload_id}/complete")
@contract(
    "Join the parts and create the video; idempotent.", "videos",
    {200: json(VideoOut, "The video (processing); or, when the file is one I uploaded "
                         "before (the same bytes, by SHA-256), my video of it, unchanged, "
                         "and the joined copy is deleted.")}, auth=True,
    params=[path_id("upload_id")],
    errors=(_NO_UPLOAD, UPLOAD_ERRORS[1], CONTENT_REMOVED, "upload_incomplete",
            "upload_complete", "invalid_parts", "storage_unavailable"))
async def complete_upload(request: web.Request) -> web.Response:
    who = await principal(request)
    svc = services(request).videos
    video = await svc.complete_upload(who, int_param(request, "upload_id"))
    return json_response(video_out(request, await svc.get(who, video.id)))


@routes.put("/v1/me/avatar")
@contract(
    "Set my avatar: JPEG, PNG or WebP up to 5 MB, stored as a 512x512 JPEG without "
    "metadata.", "profile", {200: json(AvatarUrlOut, "The new avatar.")}, auth=True,
    body=IMAGE_BODY, errors=(*IMAGE_ERRORS, "undecodable", "storage_unavailable"))
async def put_avatar(request: web.Request) -> web.Response:
    who = await principal(request)
    user = await set_avatar(request, who)
    url = services(request).media_url(user.avatar_key) if user.avatar_key else None
    return web.json_response({"avatar_url": url})


async def set_avatar(request: web.Request, who: Principal) -> User:
    svc = services(request).videos
    limit = svc.limits.avatar_max_bytes
    if request.content_length is not None and request.content_length > limit:
        raise TooLarge(f"An avatar may have at most {limit} bytes.", code="avatar_too_large",
                       limit=limit)
    data = bytearray()
    async for chunk in request.content.iter_chunked(CHUNK):
        data += chunk
        if len(data) > limit:
            raise TooLarge(f"An avatar may have at most {limit} bytes.",
                           code="avatar_too_large", limit=limit)
    return await svc.set_avatar(who, bytes(data))


@routes.get("/media/{key:.+}")
@contract(
    "Media of the local and in-memory stores, at expiring signed URLs (Range, ETag); "
    "and at token paths, s/<exp>/<sig>/<key> without exp and sig (HLS files; every video "
    "file behind a CDN, whose edge checks the same tokens).",
    "media",
    {200: content("The bytes.", {"application/octet-stream": {
        "schema": STRING, "example": "(binary)"}}),
     206: content("A byte range.", {"application/octet-stream": {
         "schema": STRING, "example": "(binary)"}}),
     304: Answer("Not modified (If-None-Match).")},
    params=[{"name": "key", "in": "path", "required": True, "schema": STRING,
             "example": "videos/3f2a/thumb.jpg"},
            # A token path (s/<exp>/<sig>/<key>) carries both in the path and takes
            # neither here; a plain key without them is media_not_found.
            {"name": "exp", "in": "query", "required": False, "schema": {"type": "integer"},
             "description": "The signed URL's expiry (Unix seconds); needed by a plain "
             "key, not by a token path s/<exp>/<sig>/<key>.", "example": 1796000000},
            {"name": "sig", "in": "query", "required": False, "schema": STRING,
             "description": "The signed URL's signature; needed by a plain key, not by a "
             "token path.", "example": "kR1x..."}],
    errors=(problem("Unknown, or the link expired.", "media_not_found"), "invalid_key",
            "blob_not_found"))
async def media(request: web.Request) -> web.StreamResponse:
    """Blobs of the local and in-memory stores, at expiring signed URLs, with Range; and
    at token paths (``/media/s/<exp>/<sig>/<key>``, adapters.media_urls.MediaTokens) any
    key of the token's folder: HLS playlists and the files they name, and behind a CDN
    every video file (the check its edge makes, docs/cdn/media-worker.mjs). With S3 the
    app serves only the playlists and answers the rest with a redirect to S3's signed
    URL. Tokens are judged on the backend's clock."""
    svc = services(request)
    key = request.match_info["key"]
    now = datetime.now(UTC)
    gone = NotFound("No such media, or the link expired.", code="media_not_found")
    if key.startswith(f"{TOKEN_PREFIX}/"):
        # What a CDN's edge does (docs/cdn/media-worker.mjs), for the same token paths.
        found = svc.media_tokens.parse(key, svc.clock.now())
        if found is None:
            raise gone
        key, expires = found
        left = expires - svc.clock.now().timestamp()
        if svc.signed_media is None and not key.endswith(".m3u8"):
            raise web.HTTPFound(
                svc.blobs.signed_url(key, timedelta(seconds=left)),
                headers={"Cache-Control": "private, no-store"},
            )
    else:
        signer = svc.signed_media
        exp, sig = request.query.get("exp", ""), request.query.get("sig", "")
        if (
            signer is None
            or not (exp.isascii() and exp.isdigit())
            or len(exp) > 19  # before int(), which refuses over 4300 digits
            or not signer.verify_signature(key, int(exp), sig, now)
        ):
            raise gone
        left = int(exp) - now.timestamp()
    info = await svc.blobs.stat(key)
    if info is None:
        raise gone
    headers = {
        "ETag": info.etag,
        "Cache-Control": served_cache_control(info.cache_control, left),
        "Accept-Ranges": "bytes",
        "Content-Type": info.content_type,
    }
    if request.headers.get("If-None-Match") == info.etag:
        return web.Response(status=304, headers=headers)
    try:
        rng = request.http_range
    except ValueError:
        rng = slice(None)
    start, stop = rng.start, rng.stop
    if start is not None and start < 0:  # "bytes=-N": the last N bytes
        start, stop = max(0, info.size + start), info.size
    start = start or 0
    stop = info.size if stop is None else min(stop, info.size)
    status = 200
    if rng.start is not None or rng.stop is not None:
        if start >= info.size or start >= stop:
            raise web.HTTPRequestRangeNotSatisfiable(
                headers={"Content-Range": f"bytes */{info.size}"}
            )
        status = 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{info.size}"
    response = web.StreamResponse(status=status, headers=headers)
    response.content_length = stop - start
    await response.prepare(request)
    if request.method != "HEAD":
        # Closed at once when the client goes away mid-body (its file, its S3 stream).
        async with contextlib.aclosing(svc.blobs.read(key, start, stop)) as chunks:
            async for chunk in chunks:
                await response.write(chunk)
    await response.write_eof()
    return response
