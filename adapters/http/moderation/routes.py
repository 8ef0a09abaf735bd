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
from adapters.http.contract import (
    LIMIT,
    MOD_ACTION,
    NOT_STAFF,
    REASON,
    TIME,
    body,
    contract,
    cursor,
    filter_param,
    json,
    path_id,
    problem,
)
from adapters.http.moderation.views import (
    AccountStatusOut,
    AppealBody,
    AppealPage,
    BanBody,
    CaseDetailOut,
    CaseOut,
    CasePage,
    DecideBody,
    ReportBody,
    ResolveBody,
    SuspendBody,
)
from adapters.http.views import AppealOut, ReportOut
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


_UID, _CASE_ID = [path_id("user_id")], [path_id("case_id")]
_NO_CASE = problem("No such case.", "case_not_found")
_CASE_TAKEN = problem("The case is closed (case_closed), or another moderator has it "
                      "(case_assigned; admins may take it over).", "case_closed")
_MOD_ERRORS = (
    problem("Needs the moderator role, and a target of a lower role.", "insufficient_role"),
    problem("No such user.", "user_not_found"),
    problem("The reason is blank or too long, or the target is oneself.", "reason_required"),
)


@routes.post("/v1/reports")
@contract(
    "Report a video, a comment or a user. One open report per reporter and target; reports "
    "on one target form a case. Once report_threshold distinct users (GET "
    "/v1/admin/settings) have reported a video or a comment, it is held: hidden from every "
    "feed and from everyone but its author and staff until a moderator decides. At most 20 "
    "reports a day.", "moderation", {201: json(ReportOut, "The report, in its case.")},
    auth=True,
    body=body(ReportBody, {"target_type": "video", "target_id": 1001, "reason": "spam",
                           "note": "Same clip posted ten times."}),
    errors=(problem("No such video, comment or user that I can see.", "video_not_found"),
            problem("I reported it already.", "report_exists"),
            problem("An unknown target type or reason, a note too long, or myself or my own "
                    "content (cannot_report_self).", "cannot_report_self"),
            problem("Too many reports today.", "too_many_reports"),
            *REASON, "cannot_report_self"))
async def report(request: web.Request) -> web.Response:
    who = await principal(request)
    body = await read_body(request, ReportBody)
    made = await services(request).moderation.report(
        who, body.target_type, body_id(body.target_id, "target_id"), body.reason, body.note
    )
    return json_response(ReportOut.of(made), status=201)


# ---------------------------------------------------------------- the case queue


@routes.get("/v1/mod/cases")
@contract(
    "Moderators: the case queue, most reports first, then the oldest. Each case carries "
    "its target's content and its reports.", "moderation",
    {200: json(CasePage, "One page.")}, auth=True,
    params=[filter_param("status", [s.value for s in CaseStatus], "open", "open"),
            filter_param("reason", [r.value for r in ReportReason], None, "spam"),
            filter_param("target_type", [t.value for t in TargetType], None, "video"),
            cursor("case", 3, TIME, 700), LIMIT],
    errors=(NOT_STAFF, problem("A filter that is not one of its values, or a cursor this "
                               "queue did not issue.", "invalid_query")))
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
@contract("Moderators: one case, with its target and reports.", "moderation",
          {200: json(CaseDetailOut, "The case.")}, auth=True, params=_CASE_ID,
          errors=(NOT_STAFF, _NO_CASE))
async def case(request: web.Request) -> web.Response:
    who = await principal(request)
    svc = services(request)
    view = await svc.moderation.case(who, int_param(request, "case_id"))
    return json_response(CaseDetailOut.of(view, svc.media_url))


@routes.post("/v1/mod/cases/{case_id}/assign")
@contract("Moderators: take an open case (assign it to myself).", "moderation",
          {200: json(CaseOut, "The case, mine.")}, auth=True, params=_CASE_ID,
          errors=(NOT_STAFF, _NO_CASE, _CASE_TAKEN))
async def assign(request: web.Request) -> web.Response:
    who = await principal(request)
    taken = await services(request).moderation.assign(who, int_param(request, "case_id"))
    return json_response(CaseOut.of(taken))


@routes.post("/v1/mod/cases/{case_id}/resolve")
@contract(
    "Moderators: decide an open case. dismiss lifts the hold; remove hides the content for "
    "good (restored if an appeal is accepted); warn records a strike and lifts the hold; "
    "suspend (duration_seconds) and ban close the owner's account at once (tokens "
    "refused, sockets closed with 4401) and remove the content. The owner is told the "
    "decision and its reason, the reporters the outcome. Audited.", "moderation",
    {200: json(CaseOut, "The case, resolved.")}, auth=True, params=_CASE_ID,
    body=body(ResolveBody, {"action": "suspend", "reason": "Spam, again.",
                            "duration_seconds": 604800}),
    errors=(problem("Needs the moderator role, and an owner of a lower role to warn, "
                    "suspend or ban.", "insufficient_role"), _NO_CASE, _CASE_TAKEN,
            problem("remove on a user (invalid_action), a suspension without a duration in "
                    "range (invalid_duration), or a blank reason (reason_required).",
                    "invalid_duration"), *MOD_ACTION, "note_too_long"))
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
@contract(
    "Appeal a decision about me (a removal, a warning, a suspension or a ban), once. Signed "
    "in, with the bearer token; a banned or suspended account, which cannot sign in, sends "
    "its email and password in the body instead. A moderator other than the one who "
    "decided judges it.", "moderation", {201: json(AppealOut, "The appeal, pending.")},
    auth=True, token_optional=True,
    body=body(AppealBody, {"case_id": 700, "body": "It was a different clip each time."}),
    errors=(problem("No token and no credentials, a bad token, or wrong credentials "
                    "(invalid_credentials).", "missing_token"),
            problem("The email is not verified.", "email_not_verified"),
            problem("No decision about me with this id.", "case_not_found"),
            problem("Nothing to appeal (dismissed or open: not_appealable), or appealed "
                    "already (appeal_exists).", "appeal_exists"),
            "body_too_long", "control_characters"))
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
@contract(
    "Moderators: appeals, oldest first.", "moderation",
    {200: json(AppealPage, "One page.")}, auth=True,
    params=[filter_param("status", [s.value for s in AppealStatus], "pending", "pending"),
            cursor("appeal", 710), LIMIT],
    errors=(NOT_STAFF, problem("A status that is not one of its values, or a bad cursor.",
                               "invalid_query")))
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
@contract(
    "Moderators: accept or reject an appeal; never of my own decision. Accepting restores "
    "the content, lifts the strike and reopens the account. The appellant is told. "
    "Audited.", "moderation", {200: json(AppealOut, "The appeal, decided.")}, auth=True,
    params=[path_id("appeal_id")],
    body=body(DecideBody, {"accept": True, "reason": "Different clips; a mistake."}),
    errors=(problem("Needs the moderator role (insufficient_role); the decision appealed "
                    "is mine (same_moderator).", "same_moderator"),
            problem("No such appeal.", "appeal_not_found"),
            problem("Decided already.", "appeal_decided"), "own_case", "same_moderator"))
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
@contract(
    "Ban an account until an unban: its sessions are revoked, its sockets closed (4401), "
    "it is told why. Moderators and admins, on lower roles.", "moderation",
    {200: json(AccountStatusOut, "The account's status.")}, auth=True, params=_UID,
    body=body(BanBody, {"reason": "Spam"}), errors=(*_MOD_ERRORS, *MOD_ACTION))
async def ban(request: web.Request) -> web.Response:
    who = await principal(request)
    user_id = int_param(request, "user_id")
    body = await read_body(request, BanBody)
    user = await services(request).moderation.ban(who, user_id, body.reason)
    return json_response(AccountStatusOut.of(user))


@routes.post("/v1/mod/users/{user_id}/suspend")
@contract(
    "Suspend an account for a while (1 minute to 365 days); as a ban otherwise.",
    "moderation", {200: json(AccountStatusOut, "The account's status.")}, auth=True,
    params=_UID, body=body(SuspendBody, {"reason": "Harassment", "duration_seconds": 604800}),
    errors=(*_MOD_ERRORS, *MOD_ACTION))
async def suspend(request: web.Request) -> web.Response:
    who = await principal(request)
    user_id = int_param(request, "user_id")
    body = await read_body(request, SuspendBody)
    user = await services(request).moderation.suspend(
        who, user_id, body.reason, _duration(body.duration_seconds)
    )
    return json_response(AccountStatusOut.of(user))


@routes.post("/v1/mod/users/{user_id}/unban")
@contract(
    "Lift a ban or suspension.", "moderation",
    {200: json(AccountStatusOut, "The account's status.")}, auth=True, params=_UID,
    errors=(*_MOD_ERRORS, problem("Not banned or suspended.", "not_banned"), *REASON,
            "own_case"))
async def unban(request: web.Request) -> web.Response:
    who = await principal(request)
    user = await services(request).moderation.unban(who, int_param(request, "user_id"))
    return json_response(AccountStatusOut.of(user))
