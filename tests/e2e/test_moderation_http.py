"""Moderation and administration over real HTTP (in-memory backend): reports that hold
content, the case queue, decisions, appeals, bans that close sockets, the audit trail,
user administration and runtime settings that apply at once.

No test measures time: socket waits have a hang guard only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from aiohttp import WSMsgType
from engagement_support import PASSWORD, User, befriend, login, moderator, ready_video, user

from adapters.http import keys
from adapters.http.openapi import document
from momentic_core.model.accounts import Role

RECEIVE = 10.0  # hang guard for one frame, not a timing assertion


@pytest.fixture
async def env(make_video_env: Any) -> Any:
    return await make_video_env(rate_limit_multiplier=1000)


async def _json(response: Any, status: int, schema: str | None = None) -> Any:
    """The body of a response of ``status``; valid against the document's ``schema``."""
    assert response.status == status, (response.status, await response.text())
    body = await response.json()
    if schema is not None:
        jsonschema.Draft202012Validator(
            {"$ref": f"#/components/schemas/{schema}", "components": document()["components"]},
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        ).validate(body)
    return body


async def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    body = await _json(response, status)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert body["code"] == code, body
    return dict(body)


async def admin(env: Any, nickname: str = "boss") -> User:
    svc = env.client.app[keys.SERVICES]
    made = await svc.accounts.create_user(f"{nickname}@bsu.by", PASSWORD, Role.ADMIN)
    tokens = await login(env, f"{nickname}@bsu.by")
    return User(env.api.auth(tokens), made.id, made.nickname, tokens)


async def report(env: Any, who: User, target_type: str, target_id: int,
                 reason: str = "spam", note: str | None = None) -> dict[str, Any]:
    body = {"target_type": target_type, "target_id": target_id, "reason": reason}
    if note is not None:
        body["note"] = note
    return dict(await _json(await env.client.post("/v1/reports", json=body, headers=who.auth),
                            201, "Report"))


async def global_feed(env: Any, who: User) -> list[int]:
    page = await _json(await env.client.get("/v1/feed/global", headers=who.auth), 200)
    return [item["video"]["id"] for item in page["items"]]


async def notes(env: Any, who: User) -> list[str]:
    page = await _json(await env.client.get("/v1/notifications", headers=who.auth), 200)
    return [n["text"] for n in page["items"] if n["kind"] == "moderation"]


async def audit(env: Any, who: User, query: str = "") -> list[dict[str, Any]]:
    page = await _json(await env.client.get(f"/v1/admin/audit{query}", headers=who.auth), 200,
                       "AuditPage")
    return list(page["items"])


async def closed(ws: Any) -> tuple[int | None, str]:
    """Read until the server closes; its close code and reason."""
    while True:
        msg = await ws.receive(timeout=RECEIVE)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            return ws.close_code, msg.extra or ""


async def settings(env: Any, who: User, changes: dict[str, Any], reason: str | None = None,
                   status: int = 200) -> Any:
    body: dict[str, Any] = {"changes": changes}
    if reason is not None:
        body["reason"] = reason
    return await _json(await env.client.patch("/v1/admin/settings", json=body,
                                              headers=who.auth), status,
                       "Settings" if status == 200 else None)


# ---------------------------------------------------------------- a video case, end to end


async def test_reports_hold_a_video_a_ban_closes_the_account_an_appeal_restores_both(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann = await user(env, "ann")
    bob, cat, dan = await user(env, "bob"), await user(env, "cat"), await user(env, "dan")
    mod, mod2, boss = await moderator(env, "mod"), await moderator(env, "mod2"), await admin(env)
    video = await ready_video(env, ann, sample_clips["silent"])
    assert video in await global_feed(env, bob)

    first = await report(env, bob, "video", video, "spam", "Same clip ten times.")
    assert first["reporter_id"] == bob.id and first["note"] == "Same clip ten times."
    await _problem(await c.post("/v1/reports", json={
        "target_type": "video", "target_id": video, "reason": "hate"}, headers=bob.auth),
        409, "report_exists")
    await _problem(await c.post("/v1/reports", json={
        "target_type": "video", "target_id": video, "reason": "spam"}, headers=ann.auth),
        422, "cannot_report_self")
    await report(env, cat, "video", video, "other")
    assert video in await global_feed(env, dan), "two reports: below the threshold"
    third = await report(env, dan, "video", video, "spam")
    assert third["case_id"] == first["case_id"]
    case_id = first["case_id"]

    # Held: gone from every feed and from everyone but its author and staff.
    assert video not in await global_feed(env, bob)
    await _problem(await c.get(f"/v1/videos/{video}", headers=bob.auth), 404,
                   "video_not_found")
    mine = await _json(await c.get(f"/v1/videos/{video}", headers=ann.auth), 200)
    assert mine["status"] == "held"

    # The queue: the case with its target's content and the reports.
    await _problem(await c.get("/v1/mod/cases", headers=bob.auth), 403, "insufficient_role")
    queue = await _json(await c.get("/v1/mod/cases", headers=mod.auth), 200, "CasePage")
    [item] = queue["items"]
    assert (item["id"], item["target_type"], item["target_id"], item["owner_id"]) == (
        case_id, "video", video, ann.id)
    assert (item["status"], item["report_count"], item["held"]) == ("open", 3, True)
    assert item["reasons"] == ["spam", "other"]
    assert item["target"]["owner"]["nickname"] == "ann"
    assert item["target"]["status"] == "held" and item["target"]["video_id"] == video
    assert item["target"]["thumbnail_url"]
    assert [(r["reporter_id"], r["note"]) for r in item["reports"]] == [
        (bob.id, "Same clip ten times."), (cat.id, None), (dan.id, None)]
    assert await _json(await c.get(f"/v1/mod/cases/{case_id}", headers=mod.auth), 200,
                       "CaseDetail") == item

    # The author is connected when the moderator bans them.
    ws = await c.ws_connect("/v1/ws", headers=ann.auth)
    assert json.loads((await ws.receive(timeout=RECEIVE)).data)["type"] == "hello"

    taken = await _json(await c.post(f"/v1/mod/cases/{case_id}/assign", headers=mod.auth), 200,
                        "Case")
    assert taken["assignee_id"] == mod.id
    await _problem(await c.post(f"/v1/mod/cases/{case_id}/assign", headers=mod2.auth), 409,
                   "case_assigned")
    decided = await _json(await c.post(f"/v1/mod/cases/{case_id}/resolve", json={
        "action": "ban", "reason": "Spam, again."}, headers=mod.auth), 200, "Case")
    assert (decided["status"], decided["action"], decided["decided_by"]) == (
        "resolved", "ban", mod.id)
    assert decided["held"] is False and decided["decision_reason"] == "Spam, again."
    await _problem(await c.post(f"/v1/mod/cases/{case_id}/resolve", json={
        "action": "dismiss", "reason": "again"}, headers=mod.auth), 409, "case_closed")

    assert await closed(ws) == (4401, "account_banned")
    await _problem(await c.get("/v1/me", headers=ann.auth), 401, "token_revoked")
    await _problem(await c.post("/v1/auth/token", json={
        "grant_type": "password", "email": "ann@bsu.by", "password": PASSWORD}),
        403, "account_banned")
    detail = await _json(await c.get(f"/v1/mod/cases/{case_id}", headers=mod.auth), 200)
    assert detail["target"]["status"] == "removed"
    for reporter in (bob, cat, dan):
        assert await notes(env, reporter) == ["report reviewed: action taken"]

    # The banned author appeals with their credentials (no token can be had).
    appeal_body = {"case_id": case_id, "body": "A different clip each time."}
    await _problem(await c.post("/v1/appeals", json=appeal_body), 401, "missing_token")
    await _problem(await c.post("/v1/appeals", json={
        **appeal_body, "email": "ann@bsu.by", "password": "wrong horse battery"}),
        401, "invalid_credentials")
    await _problem(await c.post("/v1/appeals", json={
        **appeal_body, "email": "bob@bsu.by", "password": PASSWORD}), 404, "case_not_found")
    appeal = await _json(await c.post("/v1/appeals", json={
        **appeal_body, "email": "ann@bsu.by", "password": PASSWORD}), 201, "Appeal")
    assert (appeal["case_id"], appeal["user_id"], appeal["status"]) == (
        case_id, ann.id, "pending")
    await _problem(await c.post("/v1/appeals", json={
        **appeal_body, "email": "ann@bsu.by", "password": PASSWORD}), 409, "appeal_exists")

    pending = await _json(await c.get("/v1/mod/appeals", headers=mod2.auth), 200, "AppealPage")
    assert [a["id"] for a in pending["items"]] == [appeal["id"]]
    decide = f"/v1/mod/appeals/{appeal['id']}/decide"
    await _problem(await c.post(decide, json={"accept": True, "reason": "mine"},
                                headers=mod.auth), 403, "same_moderator")
    accepted = await _json(await c.post(decide, json={
        "accept": True, "reason": "Different clips; a mistake."}, headers=mod2.auth), 200,
        "Appeal")
    assert (accepted["status"], accepted["decided_by"]) == ("accepted", mod2.id)
    await _problem(await c.post(decide, json={"accept": False, "reason": "no"},
                                headers=boss.auth), 409, "appeal_decided")
    assert (await _json(await c.get("/v1/mod/appeals", headers=mod2.auth), 200))["items"] == []
    done = await _json(await c.get("/v1/mod/appeals?status=accepted", headers=mod2.auth), 200)
    assert [a["id"] for a in done["items"]] == [appeal["id"]]

    # The account is active and the video back.
    ann.auth = env.api.auth(await login(env, "ann@bsu.by"))
    me = await _json(await c.get("/v1/me", headers=ann.auth), 200)
    assert me["status"] == "active"
    assert video in await global_feed(env, bob)
    assert (await _json(await c.get(f"/v1/videos/{video}", headers=bob.auth), 200))[
        "status"] == "ready"
    assert await notes(env, ann) == [
        "appeal accepted: Different clips; a mistake.", "ban: Spam, again."]

    # Every staff action is in the audit trail; only admins read it.
    await _problem(await c.get("/v1/admin/audit", headers=mod.auth), 403, "insufficient_role")
    trail = await audit(env, boss)
    assert [(e["action"], e["actor_id"], e["target_type"], e["target_id"]) for e in trail] == [
        ("appeal.accept", mod2.id, "video", video),
        ("case.resolve", mod.id, "video", video),
        ("case.assign", mod.id, "case", case_id),
    ]
    assert trail[1]["reason"] == "Spam, again."
    assert trail[1]["data"]["decision"] == "ban"


# ---------------------------------------------------------------- a comment case


async def test_reports_hide_a_comment_removal_keeps_it_hidden_an_appeal_restores_it(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    cat, dan = await user(env, "cat"), await user(env, "dan")
    mod, mod2 = await moderator(env, "mod"), await moderator(env, "mod2")
    video = await ready_video(env, ann, sample_clips["silent"])
    made = await _json(await c.post(f"/v1/videos/{video}/comments", json={"body": "Rude!"},
                                    headers=bob.auth), 201)
    comment = made["id"]

    async def listed() -> list[int]:
        page = await _json(await c.get(f"/v1/videos/{video}/comments", headers=ann.auth), 200)
        return [item["id"] for item in page["items"]]

    for reporter in (ann, cat):
        await report(env, reporter, "comment", comment, "harassment")
    assert await listed() == [comment]
    first = await report(env, dan, "comment", comment, "harassment", "Insults.")
    assert await listed() == [], "three reports hold the comment"
    await _problem(await c.get(f"/v1/comments/{comment}", headers=cat.auth), 404,
                   "comment_not_found")

    case_id = first["case_id"]
    detail = await _json(await c.get(f"/v1/mod/cases/{case_id}", headers=mod.auth), 200,
                         "CaseDetail")
    assert detail["target"] == {
        "type": "comment", "id": comment, "owner": detail["target"]["owner"], "text": "Rude!",
        "status": "hidden", "video_id": video, "thumbnail_url": None}
    assert detail["target"]["owner"]["id"] == bob.id
    await _problem(await c.post(f"/v1/mod/cases/{case_id}/resolve", json={
        "action": "remove", "reason": "  "}, headers=mod.auth), 422, "reason_required")
    await _problem(await c.post(f"/v1/mod/cases/{case_id}/resolve", json={
        "action": "erase", "reason": "Insults"}, headers=mod.auth), 422, "validation_failed")
    await _json(await c.post(f"/v1/mod/cases/{case_id}/resolve", json={
        "action": "remove", "reason": "Insults"}, headers=mod.auth), 200)
    assert await listed() == []
    assert await notes(env, bob) == ["remove: Insults"]

    # The commenter is still signed in and appeals with the token.
    appeal = await _json(await c.post("/v1/appeals", json={
        "case_id": case_id, "body": "It was a joke between friends."}, headers=bob.auth), 201)
    await _problem(await c.post("/v1/appeals", json={
        "case_id": case_id, "body": "Me too"}, headers=cat.auth), 404, "case_not_found")
    await _json(await c.post(f"/v1/mod/appeals/{appeal['id']}/decide", json={
        "accept": True, "reason": "A joke, then."}, headers=mod2.auth), 200)
    assert await listed() == [comment], "the accepted appeal restores the comment"
    assert await notes(env, bob) == ["appeal accepted: A joke, then.", "remove: Insults"]


# ---------------------------------------------------------------- warn and dismiss


async def test_warn_records_a_strike_and_dismiss_lifts_the_hold(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    mod, mod2, boss = await moderator(env, "mod"), await moderator(env, "mod2"), await admin(env)
    await settings(env, boss, {"report_threshold": 1}, "One report is enough this week")
    warned = await ready_video(env, ann, sample_clips["silent"])
    dismissed = await ready_video(env, ann, sample_clips["silent"])

    warn_case = (await report(env, bob, "video", warned, "nudity"))["case_id"]
    dismiss_case = (await report(env, bob, "video", dismissed, "violence"))["case_id"]
    assert set(await global_feed(env, cat)) & {warned, dismissed} == set(), "one report holds"
    await _problem(await c.post("/v1/reports", json={
        "target_type": "video", "target_id": dismissed, "reason": "spam"}, headers=cat.auth),
        404, "video_not_found")

    await _json(await c.post(f"/v1/mod/cases/{warn_case}/resolve", json={
        "action": "warn", "reason": "Keep it decent"}, headers=mod.auth), 200)
    assert warned in await global_feed(env, cat), "a warning lifts the hold"
    users = await _json(await c.get("/v1/admin/users?q=ann", headers=mod.auth), 200,
                        "AdminUserPage")
    [row] = users["items"]
    assert (row["id"], row["email"], row["strikes"], row["status"]) == (
        ann.id, None, 1, "active"), "moderators see no email"
    assert await notes(env, ann) == ["warn: Keep it decent"]

    await _json(await c.post(f"/v1/mod/cases/{dismiss_case}/resolve", json={
        "action": "dismiss", "reason": "Cartoon violence"}, headers=mod.auth), 200)
    assert dismissed in await global_feed(env, cat), "dismissing lifts the hold"
    assert await notes(env, ann) == ["warn: Keep it decent"], "the owner hears of actions only"
    assert await notes(env, cat) == []
    assert await notes(env, bob) == ["report reviewed: no action",
                                     "report reviewed: action taken"]
    await _problem(await c.post("/v1/appeals", json={
        "case_id": dismiss_case, "body": "?"}, headers=ann.auth), 409, "not_appealable")

    # An accepted appeal lifts the strike.
    appeal = await _json(await c.post("/v1/appeals", json={
        "case_id": warn_case, "body": "It was art."}, headers=ann.auth), 201)
    rejected = await _json(await c.post(f"/v1/mod/appeals/{appeal['id']}/decide", json={
        "accept": False, "reason": "It was not."}, headers=mod2.auth), 200)
    assert rejected["status"] == "rejected"
    users = await _json(await c.get("/v1/admin/users?q=ann", headers=boss.auth), 200)
    assert users["items"][0]["strikes"] == 1, "a rejected appeal keeps the strike"

    resolved = await _json(await c.get("/v1/mod/cases?status=resolved", headers=mod.auth), 200)
    assert {i["id"]: i["action"] for i in resolved["items"]} == {
        warn_case: "warn", dismiss_case: "dismiss"}


# ---------------------------------------------------------------- the queue


async def test_the_queue_orders_filters_and_pages(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    mod = await moderator(env, "mod")
    video = await ready_video(env, ann, sample_clips["silent"])
    comment = (await _json(await c.post(f"/v1/videos/{video}/comments", json={"body": "Hi"},
                                        headers=bob.auth), 201))["id"]
    user_case = (await report(env, bob, "user", ann.id, "harassment"))["case_id"]
    video_case = (await report(env, bob, "video", video, "spam"))["case_id"]
    await report(env, cat, "video", video, "spam")
    comment_case = (await report(env, ann, "comment", comment, "spam"))["case_id"]

    async def ids(query: str = "") -> list[int]:
        page = await _json(await c.get(f"/v1/mod/cases{query}", headers=mod.auth), 200)
        return [item["id"] for item in page["items"]]

    # Most reports first, then the oldest.
    assert await ids() == [video_case, user_case, comment_case]
    assert await ids("?target_type=user") == [user_case]
    assert await ids("?reason=harassment") == [user_case]
    assert await ids("?reason=spam&target_type=comment") == [comment_case]
    assert await ids("?status=resolved") == []
    assert await ids("?status=all&target_type=all&reason=all") == [
        video_case, user_case, comment_case]
    user_detail = await _json(await c.get(f"/v1/mod/cases/{user_case}", headers=mod.auth), 200)
    assert user_detail["held"] is False, "a user is never held"
    assert user_detail["target"]["type"] == "user"
    assert user_detail["target"]["status"] == "active"

    seen, cursor = [], ""
    while True:
        page = await _json(await c.get(f"/v1/mod/cases?limit=1{cursor}", headers=mod.auth), 200)
        seen += [item["id"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        cursor = f"&cursor={page['next_cursor']}"
    assert seen == [video_case, user_case, comment_case]

    for query in ("?status=closed", "?reason=rude", "?target_type=song", "?cursor=abc",
                  "?limit=0"):
        body = await _json(await c.get(f"/v1/mod/cases{query}", headers=mod.auth), 422)
        assert body["code"] in ("invalid_query", "invalid_cursor"), body
    await _problem(await c.get("/v1/mod/cases/99999", headers=mod.auth), 404, "case_not_found")
    await _problem(await c.get("/v1/mod/appeals?status=open", headers=mod.auth), 422,
                   "invalid_query")
    await _problem(await c.post("/v1/reports", json={
        "target_type": "song", "target_id": 1, "reason": "spam"}, headers=bob.auth),
        422, "validation_failed")
    await _problem(await c.post("/v1/reports", json={
        "target_type": "video", "target_id": 99999, "reason": "spam"}, headers=bob.auth),
        404, "video_not_found")
    await _problem(await c.post("/v1/reports", json={
        "target_type": "video", "target_id": 2**63, "reason": "spam"}, headers=bob.auth),
        422, "invalid_id")


async def test_staff_remove_others_videos_through_a_case_not_a_delete(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    """A moderator's DELETE of a user's video (and an admin's of a moderator's) is
    refused in favour of the moderation route, which ranks, audits, notifies and can be
    appealed; the video stays until a case removes it."""
    c = env.client
    ann, mod, boss = await user(env, "ann"), await moderator(env, "mod"), await admin(env)
    video = await ready_video(env, ann, sample_clips["silent"])
    modded = await ready_video(env, mod, sample_clips["silent"])
    for who, target in ((mod, video), (boss, video), (boss, modded)):
        for path in (f"/v1/videos/{target}", f"/videos/{target}"):
            await _problem(await c.delete(path, headers=who.auth), 403, "moderation_required")
    assert await audit(env, boss) == []
    assert video in await global_feed(env, ann)

    case = (await report(env, mod, "video", video))["case_id"]
    await _json(await c.post(f"/v1/mod/cases/{case}/resolve", json={
        "action": "remove", "reason": "Spam"}, headers=mod.auth), 200)
    assert video not in await global_feed(env, boss)
    assert [(e["action"], e["actor_id"], e["target_id"]) for e in await audit(env, boss)] == [
        ("case.resolve", mod.id, video)]
    assert await notes(env, ann) == ["remove: Spam"]
    await _json(await c.post("/v1/appeals", json={"case_id": case, "body": "It was mine."},
                             headers=ann.auth), 201)


async def test_reports_per_day_are_limited(env: Any) -> None:
    svc = env.client.app[keys.SERVICES]
    bob = await user(env, "bob")
    targets = [
        (await svc.accounts.create_user(f"target{i}@bsu.by", PASSWORD)).id for i in range(21)
    ]
    for target in targets[:20]:
        await report(env, bob, "user", target, "spam")
    r = await env.client.post("/v1/reports", json={
        "target_type": "user", "target_id": targets[20], "reason": "spam"}, headers=bob.auth)
    body = await _problem(r, 429, "too_many_reports")
    assert body["status"] == 429 and r.headers["Retry-After"]


# ---------------------------------------------------------------- administration


async def test_users_roles_and_the_audit_trail(env: Any) -> None:
    c = env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    mod, boss = await moderator(env, "mod"), await admin(env)

    page = await _json(await c.get("/v1/admin/users?role=user&limit=1", headers=mod.auth), 200)
    assert [u["nickname"] for u in page["items"]] == ["ann"]
    rest = await _json(await c.get(f"/v1/admin/users?role=user&cursor={page['next_cursor']}",
                                   headers=mod.auth), 200)
    assert [u["nickname"] for u in rest["items"]] == ["bob"] and rest["next_cursor"] is None
    assert [u["id"] for u in (await _json(await c.get(
        "/v1/admin/users?q=BOB%40", headers=mod.auth), 200))["items"]] == [], \
        "a moderator's query matches nicknames only: no oracle for email addresses"
    found = (await _json(await c.get("/v1/admin/users?q=BOB%40", headers=boss.auth), 200,
                         "AdminUserPage"))["items"]
    assert [(u["id"], u["email"]) for u in found] == [(bob.id, "bob@bsu.by")], "admins do"
    assert {u["email"] for u in page["items"] + rest["items"]} == {None}
    await _problem(await c.get("/v1/admin/users", headers=ann.auth), 403, "insufficient_role")
    await _problem(await c.get("/v1/admin/users?q=a%20b", headers=mod.auth), 422,
                   "invalid_query")
    await _problem(await c.get("/v1/admin/users?role=owner", headers=mod.auth), 422,
                   "validation_failed")

    # Roles: admins only; a promotion keeps the user's token (their next request has the
    # new role), a demotion refuses the old tokens; the last admin stays.
    await _problem(await c.put(f"/v1/admin/users/{bob.id}/role", json={"role": "moderator"},
                               headers=mod.auth), 403, "insufficient_role")
    made = await _json(await c.put(f"/v1/admin/users/{bob.id}/role",
                                   json={"role": "moderator"}, headers=boss.auth), 200,
                         "UserRole")
    assert made == {"user_id": bob.id, "role": "moderator"}
    assert (await _json(await c.get("/v1/me", headers=bob.auth), 200))["role"] == "moderator"
    await _json(await c.get("/v1/mod/cases", headers=bob.auth), 200)  # the same token
    await _json(await c.put(f"/v1/admin/users/{mod.id}/role", json={"role": "user"},
                            headers=boss.auth), 200, "UserRole")
    await _problem(await c.get("/v1/me", headers=mod.auth), 401, "token_revoked")
    mod.auth = env.api.auth(await login(env, "mod@bsu.by"))
    await _problem(await c.get("/v1/mod/cases", headers=mod.auth), 403, "insufficient_role")
    await _json(await c.put(f"/v1/admin/users/{mod.id}/role", json={"role": "moderator"},
                            headers=boss.auth), 200, "UserRole")
    await _problem(await c.put(f"/v1/admin/users/{boss.id}/role", json={"role": "user"},
                               headers=boss.auth), 409, "last_admin")
    await _problem(await c.put(f"/v1/admin/users/{bob.id}/role", json={"role": "owner"},
                               headers=boss.auth), 422, "validation_failed")
    await _problem(await c.put("/v1/admin/users/99999/role", json={"role": "user"},
                               headers=boss.auth), 404, "user_not_found")

    # Bans and unbans (the existing routes) show in the list and the trail.
    await _json(await c.post(f"/v1/mod/users/{ann.id}/suspend", json={
        "reason": "Cool off", "duration_seconds": 3600}, headers=mod.auth), 200)
    suspended = await _json(await c.get("/v1/admin/users?status=suspended",
                                        headers=boss.auth), 200)
    assert [(u["id"], u["status"]) for u in suspended["items"]] == [(ann.id, "suspended")]
    assert suspended["items"][0]["suspended_until"]
    await _json(await c.post(f"/v1/mod/users/{ann.id}/unban", headers=boss.auth), 200)

    trail = await audit(env, boss)
    assert [(e["action"], e["actor_id"], e["target_id"]) for e in trail] == [
        ("user.unban", boss.id, ann.id),
        ("user.suspend", mod.id, ann.id),
        ("user.set_role", boss.id, mod.id),
        ("user.set_role", boss.id, mod.id),
        ("user.set_role", boss.id, bob.id),
    ]
    assert [e["data"] for e in trail[2:]] == [
        {"from": "user", "to": "moderator"}, {"from": "moderator", "to": "user"},
        {"from": "user", "to": "moderator"}]
    assert [e["action"] for e in await audit(env, boss, f"?actor_id={mod.id}")] == [
        "user.suspend"]
    assert [e["action"] for e in await audit(env, boss, "?action=user.set_role")] == [
        "user.set_role"] * 3
    assert len(await audit(env, boss, f"?target_type=user&target_id={ann.id}")) == 2
    assert await audit(env, boss, "?to=2000-01-01T00:00:00Z") == []
    assert len(await audit(env, boss, "?from=2000-01-01T00:00:00z&to=9999-12-31T23:59:59Z")) == 5
    assert len(await audit(env, boss, "?from=0001-01-01T00:00:00-05:00")) == 5
    first = await _json(await c.get("/v1/admin/audit?limit=2", headers=boss.auth), 200)
    older = await _json(await c.get(f"/v1/admin/audit?cursor={first['next_cursor']}",
                                    headers=boss.auth), 200)
    assert [e["id"] for e in first["items"] + older["items"]] == [e["id"] for e in trail]
    for query in ("?actor_id=0", "?actor_id=x", "?action=Case%20resolve",
                  "?from=2026-02-30T00:00:00Z", "?from=2026-11-27", "?cursor=x"):
        body = await _json(await c.get(f"/v1/admin/audit{query}", headers=boss.auth), 422)
        assert body["code"] in ("invalid_query", "invalid_cursor"), (query, body)


async def test_settings_apply_at_once_and_are_audited(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    mod, boss = await moderator(env, "mod"), await admin(env)

    shown = await _json(await c.get("/v1/admin/settings", headers=boss.auth), 200, "Settings")
    assert shown["effective"]["report_threshold"] == 3
    assert shown["effective"]["bereal_lock"] is True
    assert shown["effective"]["allowed_email_domains"] == ["*"]  # the environment's: any
    assert shown["stored"] == {
        "allowed_email_domains": None, "max_video_bytes": None, "max_video_seconds": None,
        "bereal_lock": None, "report_threshold": None, "staff_mfa_required": None,
        "for_you_completion_weight": None, "moment_reminder": None, "rate_limits": {}}
    assert shown["rate_limit_defaults"]["comment:user"]["window_seconds"] == 60
    for who in (ann, mod):
        await _problem(await c.get("/v1/admin/settings", headers=who.auth), 403,
                       "insufficient_role")
        await _problem(await c.patch("/v1/admin/settings", json={
            "changes": {"bereal_lock": False}}, headers=who.auth), 403, "insufficient_role")
    for changes in ({}, {"report_threshold": 0}, {"report_threshold": True}, {"nope": 1},
                    {"allowed_email_domains": ["not a domain"]}, {"allowed_email_domains": []},
                    {"rate_limits": {"nope:ip": {"count": 1, "window_seconds": 1}}}):
        await _problem(await c.patch("/v1/admin/settings", json={"changes": changes},
                                     headers=boss.auth), 422, "invalid_setting")
    await _problem(await c.patch("/v1/admin/settings", json={"changes": [1]},
                                 headers=boss.auth), 422, "validation_failed")

    # report_threshold 1: one report holds a video.
    changed = await settings(env, boss, {"report_threshold": 1}, "Exam week")
    assert changed["effective"]["report_threshold"] == 1
    assert changed["stored"]["report_threshold"] == 1
    video = await ready_video(env, ann, sample_clips["silent"])
    await report(env, bob, "video", video)
    assert video not in await global_feed(env, bob)

    # bereal_lock false: a friend's moment of today is open before I post mine.
    await befriend(env, ann, bob)
    await ready_video(env, ann, sample_clips["silent"], visibility="friends")
    feed = await _json(await c.get("/v1/feed/friends", headers=bob.auth), 200)
    assert feed["locked"] is True
    await settings(env, boss, {"bereal_lock": False})
    feed = await _json(await c.get("/v1/feed/friends", headers=bob.auth), 200)
    assert feed["locked"] is False and feed["items"][0]["video"]["playback_url"]

    # allowed_email_domains: a registration from elsewhere is refused.
    await settings(env, boss, {"allowed_email_domains": ["BSU.by", "*.edu"]})
    await _problem(await c.post("/v1/auth/register", json={
        "email": "eve@gmail.com", "password": PASSWORD}), 422, "email_domain_not_allowed")
    r = await c.post("/v1/auth/register", json={"email": "eve@cs.mit.edu",
                                                "password": PASSWORD})
    assert r.status == 202, await r.text()

    # Rate limits merge; null resets a setting to the deployment's value.
    limits = {"comment:user": {"count": 10, "window_seconds": 60}}
    shown = await settings(env, boss, {"rate_limits": limits, "allowed_email_domains": None})
    assert shown["effective"]["rate_limits"] == limits
    assert shown["stored"]["allowed_email_domains"] is None
    assert shown["effective"]["allowed_email_domains"] == ["*"]

    trail = await audit(env, boss, "?action=settings.update")
    assert [(e["actor_id"], e["target_type"], e["reason"]) for e in trail][-1] == (
        boss.id, "settings", "Exam week")
    assert [e["data"]["changes"] for e in trail] == [
        {"rate_limits": limits, "allowed_email_domains": None},
        {"allowed_email_domains": ["BSU.by", "*.edu"]},
        {"bereal_lock": False},
        {"report_threshold": 1},
    ]


async def test_allowed_email_domains_any_is_explicit_and_null_restores_the_environment(
    make_video_env: Any,
) -> None:
    env = await make_video_env(rate_limit_multiplier=1000, allowed_email_domains="bsu.by,*.edu")
    c = env.client
    boss = await admin(env)

    async def admits(*emails: str) -> list[bool]:
        answers = []
        for email in emails:
            r = await c.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
            body = await r.json() if r.status != 202 else {}
            assert r.status == 202 or body["code"] == "email_domain_not_allowed", body
            answers.append(r.status == 202)
        return answers

    shown = await _json(await c.get("/v1/admin/settings", headers=boss.auth), 200, "Settings")
    assert shown["effective"]["allowed_email_domains"] == ["bsu.by", "*.edu"]
    # bsu.by is that domain only; *.edu every domain under edu.
    assert await admits("a@bsu.by", "a@fpmi.bsu.by", "a@cs.mit.edu", "a@gmail.com") == [
        True, False, True, False]

    # An empty list would admit nobody (or, read carelessly, everybody): refused.
    body = await _problem(await c.patch("/v1/admin/settings", json={
        "changes": {"allowed_email_domains": []}}, headers=boss.auth), 422, "invalid_setting")
    assert "*" in body["detail"]
    assert await admits("b@gmail.com") == [False]

    changed = await settings(env, boss, {"allowed_email_domains": ["*.BSU.by"]})
    assert changed["effective"]["allowed_email_domains"] == ["*.bsu.by"]
    assert await admits("b@fpmi.bsu.by", "b@bsu.by", "b@cs.mit.edu") == [True, False, False]

    changed = await settings(env, boss, {"allowed_email_domains": ["*"]})
    assert changed["effective"]["allowed_email_domains"] == ["*"]
    assert await admits("c@gmail.com", "c@bsu.by") == [True, True]

    changed = await settings(env, boss, {"allowed_email_domains": None})
    assert changed["stored"]["allowed_email_domains"] is None
    assert changed["effective"]["allowed_email_domains"] == ["bsu.by", "*.edu"]
    assert await admits("d@gmail.com", "d@bsu.by") == [False, True]
