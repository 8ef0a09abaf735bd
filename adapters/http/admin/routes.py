"""v1 administration: users with their strikes, roles, the audit trail and the runtime
settings (rating weights have their own routes in ranking/routes.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiohttp import web

from adapters.http import paging
from adapters.http.admin.views import (
    AdminUserOut,
    AdminUserPage,
    AuditPage,
    RoleBody,
    RoleOut,
    SettingsOut,
    SettingsPatchBody,
)
from adapters.http.common import int_param, json_response, principal, read_body, services
from adapters.http.contract import (
    ADMIN_ONLY,
    ID,
    LIMIT,
    NO_USER,
    NOT_STAFF,
    body,
    contract,
    cursor,
    json,
    path_id,
    problem,
)
from adapters.http.views import AuditOut
from momentic_core.errors import Invalid
from momentic_core.model.accounts import AccountStatus, Role
from momentic_core.model.moderation import AuditFilter, UserFilter
from momentic_core.services.moderation import parse_enum

routes = web.RouteTableDef()

# What the document promises: RFC 3339 with an offset (T or t, Z or z), any fraction.
_TIME = re.compile(
    r"([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ]([0-9]{2}:[0-9]{2}):([0-9]{2})(?:\.([0-9]+))?"
    r"([Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_WORD = re.compile(r"[a-z_.]{1,64}")
_QUERY = re.compile(r"[^\x00-\x20\x7f]{1,254}")


def _bad(name: str, what: str) -> Invalid:
    return Invalid(f"{name} is {what}.", code="invalid_query", field=name)


def _id_query(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 19 or not 0 < int(raw) < 2**63:
        raise _bad(name, "an id (1 to 2**63 - 1)")
    return int(raw)


def _time_query(request: web.Request, name: str) -> datetime | None:
    """An RFC 3339 time, in UTC; one out of Python's range (year 1 with a negative offset,
    say) is taken as the earliest or latest time there is, which no row passes."""
    raw = request.query.get(name)
    if raw is None:
        return None
    match = _TIME.fullmatch(raw)
    if match is None:
        raise _bad(name, "an RFC 3339 time with an offset (2026-11-27T08:30:00Z)")
    day, minutes, seconds, fraction, offset = match.groups()
    seconds = min(seconds, "59")  # a leap second is the second before it
    fraction = (fraction or "0")[:6].ljust(6, "0")
    offset = "+00:00" if offset in ("Z", "z") else offset
    try:
        at = datetime.fromisoformat(f"{day}T{minutes}:{seconds}.{fraction}{offset}")
    except ValueError:
        raise _bad(name, "not a real time") from None
    try:
        return at.astimezone(UTC)
    except OverflowError:
        return (datetime.min if at.year == 1 else datetime.max).replace(tzinfo=UTC)


def _word_query(request: web.Request, name: str) -> str | None:
    raw = request.query.get(name)
    if raw is not None and not _WORD.fullmatch(raw):
        raise _bad(name, "lower-case letters, dots and underscores (1 to 64)")
    return raw


# ---------------------------------------------------------------- users and roles


@routes.get("/v1/admin/users")
@contract(
    "Staff (moderators and admins): accounts by id, with their strike counts; search by a "
    "prefix of the email (admins) or the nickname, filter by role and status. Only admins "
    "see emails: a moderator's rows have email null, and their q matches nicknames only. "
    "Ban, suspend and unban with /v1/mod/users/{user_id}/ban, /suspend and /unban.",
    "admin", {200: json(AdminUserPage, "One page.")}, auth=True,
    params=[{"name": "q", "in": "query", "required": False,
             "schema": {"type": "string", "pattern": "^[^\\x00-\\x20\\x7f]{1,254}$"},
             "description": "A prefix of the email (admins only) or the nickname "
                            "(case-insensitive).",
             "example": "ale"},
            {"name": "role", "in": "query", "required": False,
             "schema": {"type": "string", "enum": [r.value for r in Role]},
             "example": "moderator"},
            {"name": "status", "in": "query", "required": False,
             "schema": {"type": "string", "enum": [s.value for s in AccountStatus]},
             "example": "banned"},
            cursor("admin-user", 42), LIMIT],
    errors=(NOT_STAFF, problem("A q with spaces or over 254 characters (invalid_query), an "
                               "unknown role or status, or a bad cursor.", "invalid_query")))
async def users(request: web.Request) -> web.Response:
    who = await principal(request)
    query = request.query.get("q")
    if query is not None and not _QUERY.fullmatch(query):
        raise _bad("q", "1 to 254 characters, no spaces or control characters")
    where = UserFilter(query=query, role=request.query.get("role"),
                       status=request.query.get("status"))
    limit, after = paging.limit(request), paging.read_id(request, "admin-user")
    svc = services(request)
    found = await svc.moderation.users(who, where, after, limit + 1)
    more, found = len(found) > limit, found[:limit]
    return json_response(AdminUserPage(
        items=[AdminUserOut.of(row, svc.media_url) for row in found],
        next_cursor=paging.encode("admin-user", found[-1].user.id) if more and found else None,
    ))


@routes.put("/v1/admin/users/{user_id}/role")
@contract(
    "Admins: set an account's role, in effect on its next request. A promotion keeps its "
    "sessions (the token it holds has the new role); a demotion refuses its older access "
    "tokens and closes its sockets. The last admin stays admin. Audited.", "admin",
    {200: json(RoleOut, "The account's role.")}, auth=True, params=[path_id("user_id")],
    body=body(RoleBody, {"role": "moderator"}),
    errors=(ADMIN_ONLY, NO_USER, problem("The last admin cannot be demoted.", "last_admin"),
            "concurrent_update"))
async def set_role(request: web.Request) -> web.Response:
    who = await principal(request)
    user_id = int_param(request, "user_id")
    body = await read_body(request, RoleBody)
    role = parse_enum(Role, body.role, "role")
    return json_response(RoleOut.of(await services(request).accounts.set_role(user_id, role, who)))


# ---------------------------------------------------------------- the audit trail


@routes.get("/v1/admin/audit")
@contract(
    "Admins: the audit trail, newest first: every staff action (case decisions and "
    "assignments, appeals, bans, suspensions, unbans, roles, settings) and the operator's "
    "(actor_id null).", "admin", {200: json(AuditPage, "One page.")}, auth=True,
    params=[
        {"name": "actor_id", "in": "query", "required": False, "schema": dict(ID),
         "example": 9},
        {"name": "action", "in": "query", "required": False,
         "schema": {"type": "string", "pattern": "^[a-z_.]{1,64}$"},
         "example": "case.resolve"},
        {"name": "target_type", "in": "query", "required": False,
         "schema": {"type": "string", "pattern": "^[a-z_.]{1,64}$"},
         "description": "video, comment, user, case or settings.", "example": "video"},
        {"name": "target_id", "in": "query", "required": False, "schema": dict(ID),
         "example": 1001},
        {"name": "from", "in": "query", "required": False,
         "schema": {"type": "string", "format": "date-time"},
         "description": "At or after (RFC 3339, with an offset).",
         "example": "2026-11-01T00:00:00Z"},
        {"name": "to", "in": "query", "required": False,
         "schema": {"type": "string", "format": "date-time"},
         "description": "Before.", "example": "2026-12-01T00:00:00Z"},
        cursor("audit", 880), LIMIT],
    errors=(ADMIN_ONLY, problem("A filter of the wrong shape, or a bad cursor.",
                                "invalid_query")))
async def audit(request: web.Request) -> web.Response:
    who = await principal(request)
    where = AuditFilter(
        actor_id=_id_query(request, "actor_id"),
        action=_word_query(request, "action"),
        target_type=_word_query(request, "target_type"),
        target_id=_id_query(request, "target_id"),
        since=_time_query(request, "from"),
        until=_time_query(request, "to"),
    )
    limit, before = paging.limit(request), paging.read_id(request, "audit")
    entries = await services(request).moderation.audit(who, where, before, limit + 1)
    more, entries = len(entries) > limit, entries[:limit]
    return json_response(AuditPage(
        items=[AuditOut.of(e) for e in entries],
        next_cursor=paging.encode("audit", entries[-1].id) if more and entries else None,
    ))


# ---------------------------------------------------------------- runtime settings


@routes.get("/v1/admin/settings")
@contract(
    "Admins: the runtime settings: what is in force, what admins stored over the "
    "deployment's MOMENTIC_* values, and the default rate limits. Rating weights have their "
    "own route: /v1/admin/ranking/weights.", "admin", {200: json(SettingsOut, "The settings.")},
    auth=True, errors=(ADMIN_ONLY,))
async def get_settings(request: web.Request) -> web.Response:
    who = await principal(request)
    config = services(request).config
    stored = await config.stored(who)
    return json_response(SettingsOut.of(await config.current(), stored))


@routes.patch("/v1/admin/settings")
@contract(
    "Admins: change settings; they apply at once on this instance and within 5 s on the "
    "others. Audited (with the reason).", "admin",
    {200: json(SettingsOut, "The settings after the change.")}, auth=True,
    body=body(SettingsPatchBody, {"changes": {"report_threshold": 5,
                                              "allowed_email_domains": ["bsu.by"]},
                                  "reason": "Exam week"}),
    errors=(ADMIN_ONLY, problem("An unknown setting or rate limit, or a value out of range.",
                                "invalid_setting"), "reason_too_long", "value_out_of_range"))
async def patch_settings(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, SettingsPatchBody)
    config = services(request).config
    effective = await config.update(who, body.changes, body.reason)
    stored = await config.stored(who)
    return json_response(SettingsOut.of(effective, stored))

