"""v1 profile and sessions: my account, others' public profiles."""

from __future__ import annotations

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
from adapters.http.converter import structure
from adapters.http.views import (
    ChangePasswordBody,
    DeleteAccountBody,
    MeView,
    ProfilePatchBody,
    PublicUserView,
    SessionList,
    SessionView,
    export_document,
)
from momentic_core.services.profiles import ProfileChanges

routes = web.RouteTableDef()


@routes.get("/v1/me")
async def get_me(request: web.Request) -> web.Response:
    who = await principal(request)
    svc = services(request)
    return json_response(MeView.of(await svc.profiles.me(who), svc.media_url))


@routes.patch("/v1/me")
async def patch_me(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, ProfilePatchBody)
    changes = ProfileChanges(
        nickname=body.nickname,
        name=body.name,
        surname=body.surname,
        bio=body.bio,
        time_zone=body.time_zone,
    )
    return json_response(MeView.of(
        await services(request).profiles.update_me(who, changes), services(request).media_url
    ))


@routes.delete("/v1/me")
async def delete_me(request: web.Request) -> web.Response:
    who = await principal(request)
    body = DeleteAccountBody()
    if request.can_read_body:
        body = structure(await read_json(request), DeleteAccountBody)
    await services(request).profiles.delete_me(who, body.password)
    return web.Response(status=204)


@routes.get("/v1/me/export")
async def export_me(request: web.Request) -> web.Response:
    who = await principal(request)
    export = await services(request).profiles.export(who)
    response = json_response(export_document(export, who.session_id, services(request).media_url))
    response.headers["Content-Disposition"] = 'attachment; filename="momentic-export.json"'
    response.headers["Cache-Control"] = "no-store"
    return response


@routes.post("/v1/me/password")
async def change_password(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, ChangePasswordBody)
    await services(request).accounts.change_password(
        who, body.current_password, body.new_password
    )
    return web.Response(status=204)


@routes.get("/v1/me/sessions")
async def list_sessions(request: web.Request) -> web.Response:
    who = await principal(request)
    sessions = await services(request).accounts.list_sessions(who)
    return json_response(SessionList([SessionView.of(s, who.session_id) for s in sessions]))


@routes.delete("/v1/me/sessions")
async def revoke_all_sessions(request: web.Request) -> web.Response:
    who = await principal(request)
    keep = bool_query(request, "keep_current")
    await services(request).accounts.revoke_all_sessions(who, keep_current=keep)
    return web.Response(status=204)


@routes.delete("/v1/me/sessions/{session_id}")
async def revoke_session(request: web.Request) -> web.Response:
    who = await principal(request)
    await services(request).accounts.revoke_session(who, int_param(request, "session_id"))
    return web.Response(status=204)


@routes.get("/v1/users/{user_id}")
async def get_user(request: web.Request) -> web.Response:
    who = await principal(request)
    svc = services(request)
    user = await svc.profiles.get_user(who, int_param(request, "user_id"))
    profile = await svc.friends.profile(who, user)
    return json_response(PublicUserView.of(profile, svc.media_url))
