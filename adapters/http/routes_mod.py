"""v1 moderation: reports, the case queue and its decisions, appeals, and bans and
suspensions (moderators and admins; the core checks roles)."""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import TypeVar

from aiohttp import web

from adapters.http import paging
from adapters.http.common import (
    body_id,
    device,
    int_param,
    json_response,
    principal,
    read_body,
    services,
)
from adapters.http.views import (
    AccountStatusOut,
    AppealBody,
    AppealOut,
    AppealPage,
    BanBody,
    CaseDetailOut,
    CaseOut,
    CasePage,
    DecideBody,
    ReportBody,
    ReportOut,
    ResolveBody,
    SuspendBody,
)
from momentic_core.errors import Invalid
from momentic_core.model.accounts import Principal
from momentic_core.model.moderation import (
    AppealStatus,
    CaseFilter,
    CaseKey,
    CaseStatus,
    ReportReason,
    TargetType,
)

routes = web.RouteTableDef()

E = TypeVar("E", bound=enum.Enum)
ALL = "all"


def choice(request: web.Request, name: str, kind: type[E], default: E | None) -> E | None:
    """An enum query parameter, or ``all`` (None); ``default`` when absent. Raises
    Invalid(code="invalid_query")."""
    raw = request.query.get(name)
    if raw is None:
        return default
    if raw == ALL:
        return None
    try:
        return kind(raw)
    except ValueError:
        choices = ", ".join([*(k.value for k in kind), ALL])
        raise Invalid(f"{name} is one of {choices}.", code="invalid_query",
                      field=name) from None


def _duration(seconds: int) -> timedelta:
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # the core says which durations are allowed; this one is no time
        raise Invalid("A suspension lasts 1 minute to 365 days.", code="invalid_duration",
                      field="duration_seconds") from None


# ---------------------------------------------------------------- reports


@routes.post("/v1/reports")
async def report(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, ReportBody)
    made = await services(request).moderation.report(
        who, body.target_type, body_id(body.target_id, "target_id"), body.reason, body.note
    )
    return json_response(ReportOut.of(made), status=201)


# ---------------------------------------------------------------- the case queue


@routes.get("/v1/mod/cases")
async def cases(request: web.Request) -> web.Response:
    who = await principal(request)
    where = CaseFilter(
        status=choice(request, "status", CaseStatus, CaseStatus.OPEN),
        reason=choice(request, "reason", ReportReason, None),
        target_type=choice(request, "target_type", TargetType, None),
    )
    limit, cursor = paging.limit(request), paging.read_count_time_id(request, "case")
    after = CaseKey(*cursor) if cursor else None
    svc = services(request)
    views = await svc.moderation.cases(who, where, after, limit + 1)
    more, views = len(views) > limit, views[:limit]
    last = views[-1].case if views else None
    return json_response(CasePage(
        items=[CaseDetailOut.of(v, svc.media_url) for v in views],
        next_cursor=(
            paging.encode("case", last.report_count, last.opened_at.isoformat(), last.id)
            if more and last else None
        ),
    ))


@routes.get("/v1/mod/cases/{case_id}")
async def case(request: web.Request) -> web.Response:
    who = await principal(request)
    svc = services(request)
    view = await svc.moderation.case(who, int_param(request, "case_id"))
    return json_response(CaseDetailOut.of(view, svc.media_url))


@routes.post("/v1/mod/cases/{case_id}/assign")
async def assign(request: web.Request) -> web.Response:
    who = await principal(request)
    taken = await services(request).moderation.assign(who, int_param(request, "case_id"))
    return json_response(CaseOut.of(taken))


@routes.post("/v1/mod/cases/{case_id}/resolve")
async def resolve(request: web.Request) -> web.Response:
    who = await principal(request)
    case_id = int_param(request, "case_id")
    body = await read_body(request, ResolveBody)
    decided = await services(request).moderation.resolve(
        who, case_id, body.action, body.reason,
        None if body.duration_seconds is None else _duration(body.duration_seconds),
    )
    return json_response(CaseOut.of(decided))


# ---------------------------------------------------------------- appeals


@routes.post("/v1/appeals")
async def appeal(request: web.Request) -> web.Response:
    svc = services(request)
    who: Principal | None = None
    if "Authorization" in request.headers:
        who = await principal(request)
    body = await read_body(request, AppealBody)
    if who is None:
        if body.email is None or body.password is None:
            who = await principal(request)  # 401 missing_token
        else:  # a banned or suspended account has no token: its credentials say who it is
            who = await svc.accounts.appellant(body.email, body.password, device(request))
    made = await svc.moderation.appeal(who, body_id(body.case_id, "case_id"), body.body)
    return json_response(AppealOut.of(made), status=201)


@routes.get("/v1/mod/appeals")
async def appeals(request: web.Request) -> web.Response:
    who = await principal(request)
    status = choice(request, "status", AppealStatus, AppealStatus.PENDING)
    limit, after = paging.limit(request), paging.read_id(request, "appeal")
    items = await services(request).moderation.appeals(who, status, after, limit + 1)
    more, items = len(items) > limit, items[:limit]
    return json_response(AppealPage(
        items=[AppealOut.of(a) for a in items],
        next_cursor=paging.encode("appeal", items[-1].id) if more and items else None,
    ))


@routes.post("/v1/mod/appeals/{appeal_id}/decide")
async def decide(request: web.Request) -> web.Response:
    who = await principal(request)
    appeal_id = int_param(request, "appeal_id")
    body = await read_body(request, DecideBody)
    decided = await services(request).moderation.decide_appeal(
        who, appeal_id, body.accept, body.reason
    )
    return json_response(AppealOut.of(decided))


# ---------------------------------------------------------------- accounts


@routes.post("/v1/mod/users/{user_id}/ban")
async def ban(request: web.Request) -> web.Response:
    who = await principal(request)
    user_id = int_param(request, "user_id")
    body = await read_body(request, BanBody)
    user = await services(request).moderation.ban(who, user_id, body.reason)
    return json_response(AccountStatusOut.of(user))


@routes.post("/v1/mod/users/{user_id}/suspend")
async def suspend(request: web.Request) -> web.Response:
    who = await principal(request)
    user_id = int_param(request, "user_id")
    body = await read_body(request, SuspendBody)
    user = await services(request).moderation.suspend(
        who, user_id, body.reason, _duration(body.duration_seconds)
    )
    return json_response(AccountStatusOut.of(user))


@routes.post("/v1/mod/users/{user_id}/unban")
async def unban(request: web.Request) -> web.Response:
    who = await principal(request)
    user = await services(request).moderation.unban(who, int_param(request, "user_id"))
    return json_response(AccountStatusOut.of(user))
