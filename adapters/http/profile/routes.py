"""v1 profile and sessions: my account, others' public profiles, my data export."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import orjson
from aiohttp import web

from adapters.http.common import (
    bool_query,
    int_param,
    json_response,
    principal,
    read_body,
    read_json,
    services,
)
from adapters.http.contract import (
    NEW_PASSWORD,
    NO_CONTENT,
    PROFILE_TEXT,
    STRING,
    body,
    contract,
    json,
    path_id,
    problem,
)
from adapters.http.converter import structure, unstructure
from adapters.http.middlewares import streamed_headers
from adapters.http.profile.views import (
    EXPORT_HEAD,
    ChangePasswordBody,
    DeleteAccountBody,
    ExportOut,
    MeView,
    PendingEmailChangeOut,
    ProfilePatchBody,
    PublicUserView,
    SessionList,
    SessionView,
    export_views,
)
from adapters.http.views import MfaStatusView, NotificationSettingsView
from momentic_core.services.profiles import ProfileChanges
from momentic_core.services.throttle import DEFAULT_LIMITS

log = logging.getLogger("momentic.http")
routes = web.RouteTableDef()
_EXPORTS = DEFAULT_LIMITS["export:user"]


@routes.get("/v1/me")
@contract("My account.", "profile", {200: json(MeView, "My account.")}, auth=True)
async def get_me(request: web.Request) -> web.Response:
    who = await principal(request)
    svc = services(request)
    return json_response(MeView.of(await svc.profiles.me(who), svc.media_url))


@routes.patch("/v1/me")
@contract(
    "Change my profile; absent fields stay, null clears name, surname or bio.", "profile",
    {200: json(MeView, "The updated account.")}, auth=True,
    body=body(ProfilePatchBody, {"nickname": "alex", "bio": "Film student",
                                 "time_zone": "Europe/Minsk"}),
    errors=(problem("The nickname is taken.", "nickname_taken"),
            problem("The time zone changed twice in the last 24 hours already; see "
                    "Retry-After.", "time_zone_change_limited"),
            "invalid_nickname", "invalid_time_zone", "concurrent_update", *PROFILE_TEXT))
async def patch_me(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, ProfilePatchBody)
    changes = ProfileChanges(
        nickname=body.nickname,
        name=body.name,
        surname=body.surname,
        bio=body.bio,
        time_zone=body.time_zone,
        private=body.private,
    )
    return json_response(MeView.of(
        await services(request).profiles.update_me(who, changes), services(request).media_url
    ))


@routes.delete("/v1/me")
@contract(
    "Delete my account and everything it owns. Password accounts confirm with the "
    "password.", "profile", {204: NO_CONTENT}, auth=True,
    body=body(DeleteAccountBody, {"password": "correct horse battery"}, required=False),
    errors=("invalid_credentials",))
async def delete_me(request: web.Request) -> web.Response:
    who = await principal(request)
    body = DeleteAccountBody()
    if request.can_read_body:
        body = structure(await read_json(request), DeleteAccountBody)
    await services(request).profiles.delete_me(who, body.password)
    return web.Response(status=204)


def _json(value: Any) -> bytes:
    return orjson.dumps(unstructure(value))


@routes.get("/v1/me/export")
@contract(
    "Everything held about me, as one JSON document (a download).", "profile",
    {200: json(ExportOut, "The export, streamed.", headers={"Content-Disposition": {
        "description": "attachment; filename=\"momentic-export.json\"", "schema": STRING}})},
    auth=True, errors=(problem(
        f"More than {_EXPORTS.count} exports in "
        f"{int(_EXPORTS.window.total_seconds()) // 60} minutes (rate limit export:user).",
        "rate_limited"),),
    description="The account, then every section, each an array in a fixed order (the "
    "schema describes every field). The document is written as it is read, page by page, "
    "so it starts at once and holds any amount; a failure after the first byte cuts the "
    "connection (a broken download, never a short document that looks whole). It holds "
    "what I made and what is recorded about me, not other people's private data: others "
    "appear as their public card (or only their id, in a report or audit entry).")
async def export_me(request: web.Request) -> web.StreamResponse:
    """Everything about me as one JSON document, written as it is read: the account, then
    each section (``EXPORT_SECTIONS``) as an array, one write per page read, so memory
    stays bounded whatever the account holds. Errors before the first byte (rate limit,
    token) are problem+json; once the status is out, a failure cuts the connection, so a
    client never takes a cut-off export for a complete one."""
    who = await principal(request)
    svc = services(request)
    export = await svc.profiles.export(who)
    views = export_views(export.user, who.session_id, svc.media_url, svc.share_url)
    response = web.StreamResponse(headers={
        "Content-Type": "application/json",
        "Content-Disposition": 'attachment; filename="momentic-export.json"',
        "Cache-Control": "no-store",
        **streamed_headers(request),
    })
    await response.prepare(request)
    try:
        async with contextlib.aclosing(export.batches) as batches:
            pending = export.email_change
            head: dict[str, Any] = {
                "exported_at": export.exported_at,
                "account": MeView.of(export.user, svc.media_url),
                "two_factor": MfaStatusView.of(export.two_factor),
                "email_change": None if pending is None else PendingEmailChangeOut(
                    pending.requested_at, pending.expires_at),
                "notification_settings": NotificationSettingsView.of(
                    export.notification_settings, export.user.time_zone),
            }
            await response.write(b"{" + b",".join(
                _json(name) + b":" + _json(head[name]) for name in EXPORT_HEAD))
            section: str | None = None
            async for batch in batches:
                parts: list[bytes] = []
                if batch.section != section:
                    parts.append(b"]," if section is not None else b",")
                    parts += [_json(batch.section), b":["]
                    first, section = True, batch.section
                view = views[batch.section]
                for item in batch.items:
                    parts.append(_json(view(item)) if first else b"," + _json(view(item)))
                    first = False
                await response.write(b"".join(parts))
            await response.write(b"]}" if section is not None else b"}")
        await response.write_eof()
    except Exception as exc:
        # The status and headers are out: no problem+json can follow. Drop the connection
        # instead of ending the body, so the download reads as broken, not as complete.
        if isinstance(exc, ConnectionError):
            log.info("export: the client went away", extra={"user_id": who.user_id})
        else:
            log.exception("export failed mid-stream", extra={"user_id": who.user_id})
        if request.transport is not None:
            request.transport.abort()
    return response


@routes.post("/v1/me/password")
@contract(
    "Change my password; my other sessions are revoked.", "profile", {204: NO_CONTENT},
    auth=True,
    body=body(ChangePasswordBody, {"current_password": "correct horse battery",
                                   "new_password": "new horse battery"}),
    errors=("invalid_credentials", *NEW_PASSWORD))
async def change_password(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, ChangePasswordBody)
    await services(request).accounts.change_password(
        who, body.current_password, body.new_password
    )
    return web.Response(status=204)


@routes.get("/v1/me/sessions")
@contract("My signed-in devices.", "profile",
          {200: json(SessionList, "Sessions, most recently used first.")}, auth=True)
async def list_sessions(request: web.Request) -> web.Response:
    who = await principal(request)
    sessions = await services(request).accounts.list_sessions(who)
    return json_response(SessionList([SessionView.of(s, who.session_id) for s in sessions]))


@routes.delete("/v1/me/sessions")
@contract(
    "Revoke all my sessions (keep_current=true keeps this one).", "profile",
    {204: NO_CONTENT}, auth=True,
    params=[{"name": "keep_current", "in": "query", "required": False,
             "schema": {"type": "boolean"}, "example": True}])
async def revoke_all_sessions(request: web.Request) -> web.Response:
    who = await principal(request)
    keep = bool_query(request, "keep_current")
    await services(request).accounts.revoke_all_sessions(who, keep_current=keep)
    return web.Response(status=204)


@routes.delete("/v1/me/sessions/{session_id}")
@contract(
    "Revoke one of my sessions.", "profile", {204: NO_CONTENT}, auth=True,
    params=[path_id("session_id")],
    errors=(problem("No such session of mine.", "session_not_found"),))
async def revoke_session(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).accounts.revoke_session(who, int_param(request, "session_id"))
    return web.Response(status=204)


@routes.get("/v1/users/{user_id}")
@contract(
    "A user's public profile (never the email).", "profile",
    {200: json(PublicUserView, "The profile.")}, auth=True, params=[path_id("user_id")],
    errors=(problem("No such user.", "user_not_found"),))
async def get_user(request: web.Request) -> web.Response:
    who = await principal(request)
    svc = services(request)
    user = await svc.profiles.get_user(who, int_param(request, "user_id"))
    profile = await svc.friends.profile(who, user)
    return json_response(PublicUserView.of(profile, svc.media_url))
