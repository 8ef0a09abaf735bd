"""The ``momentic`` command's moderation and settings commands on the in-memory backend:
every invocation shares one store, as invocations share one database in production."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from adapters.cli import main as cli
from adapters.clock import SystemClock
from adapters.config import Settings
from adapters.container import Composition, Storage
from adapters.http.keys import Services
from adapters.memory.engagement import InMemoryLiveEventSource
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from adapters.memory.videos import InMemoryJobRunner
from momentic_core.errors import Invalid
from momentic_core.model.accounts import Principal, Role
from momentic_core.model.moderation import AuditFilter, UserFilter
from momentic_core.services.accounts import DeviceInfo

PASSWORD = "correct horse battery"
HERE = DeviceInfo(ip="127.0.0.1")


async def _ready() -> None:
    return None


@pytest.fixture
def storage(monkeypatch: pytest.MonkeyPatch) -> Iterator[Storage]:
    """One in-memory store behind every ``momentic`` invocation of the test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # main() configures logging; put it back
    store, clock = MemoryStore(), SystemClock()
    shared = Storage(
        uow=functools.partial(InMemoryUnitOfWork, store, clock=clock),
        rate_limiter=InMemoryRateLimiter(clock),
        runner=InMemoryJobRunner(store, clock),
        ready=_ready,
        live=InMemoryLiveEventSource(store),
    )
    monkeypatch.setattr(cli, "Composition", functools.partial(Composition, storage=shared))
    for name, value in {"MEMORY": "1", "ARGON2_MEMORY_KIB": "1024", "ARGON2_TIME_COST": "1",
                        "LOG_FORMAT": "text", "SECRET": "cli-test-secret"}.items():
        monkeypatch.setenv(f"MOMENTIC_{name}", value)
    monkeypatch.setenv("COLUMNS", "200")  # rich tables: room for every column
    yield shared
    root.handlers[:], root.level = handlers, level


def run(storage: Storage, work: Callable[[Services], Awaitable[Any]]) -> Any:
    """Use the services directly, on the shared store (to set the scene, and to check)."""

    async def go() -> Any:
        async with Composition(Settings.from_env(), storage=storage) as services:
            return await work(services)

    return asyncio.run(go())


async def signed_in(s: Services, nickname: str, role: Role = Role.USER) -> Principal:
    email = f"{nickname}@bsu.by"
    await s.accounts.create_user(email, PASSWORD, role)
    pair = await s.accounts.login(email, PASSWORD, HERE)
    return await s.accounts.authenticate(pair.access_token)


def out_json(capsys: pytest.CaptureFixture[str]) -> Any:
    return json.loads(capsys.readouterr().out)


def test_cases_list_and_resolve_as_the_operator(
    storage: Storage, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scene(s: Services) -> dict[str, Any]:
        ann, bob, cat = [await signed_in(s, n) for n in ("ann", "bob", "cat")]
        boss = await signed_in(s, "boss", Role.ADMIN)
        first = await s.moderation.report(bob, "user", ann.user_id, "harassment", "Rude DMs")
        await s.moderation.report(cat, "user", ann.user_id, "spam")
        second = await s.moderation.report(ann, "user", bob.user_id, "spam")
        nickname = (await s.accounts.find_by_email("ann@bsu.by")).nickname
        return {"ann": ann, "bob": bob, "boss": boss, "ann_case": first.case_id,
                "bob_case": second.case_id, "nickname": nickname}

    w = run(storage, scene)
    assert cli.main(["cases", "list", "--json"]) == 0
    listed = out_json(capsys)
    assert [c["id"] for c in listed] == [w["ann_case"], w["bob_case"]], "most reports first"
    assert (listed[0]["report_count"], listed[0]["reasons"]) == (2, ["harassment", "spam"])
    assert listed[0]["target"]["owner"]["id"] == w["ann"].user_id
    assert [r["note"] for r in listed[0]["reports"]] == ["Rude DMs", None]
    assert cli.main(["cases", "list", "--reason", "harassment", "--json"]) == 0
    assert [c["id"] for c in out_json(capsys)] == [w["ann_case"]]
    assert cli.main(["cases", "list", "--target-type", "video", "--json"]) == 0
    assert out_json(capsys) == []
    assert cli.main(["cases", "list"]) == 0
    table = capsys.readouterr().out
    assert "cases (open)" in table and w["nickname"] in table and "harassment" in table

    assert cli.main(["cases", "resolve", str(w["ann_case"]), "--action", "suspend",
                     "--reason", "Harassment"]) == 2
    assert "invalid_duration" in capsys.readouterr().err
    assert cli.main(["cases", "resolve", str(w["ann_case"]), "--action", "suspend",
                     "--reason", "Harassment", "--duration-seconds", "3600", "--json"]) == 0
    decided = out_json(capsys)
    assert (decided["status"], decided["action"], decided["decided_by"]) == (
        "resolved", "suspend", None)
    assert decided["suspended_until"] and decided["decision_reason"] == "Harassment"
    assert cli.main(["cases", "resolve", str(w["ann_case"]), "--action", "dismiss",
                     "--reason", "again"]) == 2
    assert "case_closed" in capsys.readouterr().err
    assert cli.main(["cases", "resolve", "99999", "--action", "warn", "--reason", "x"]) == 2
    assert "case_not_found" in capsys.readouterr().err
    assert cli.main(["cases", "resolve", str(w["bob_case"]), "--action", "warn",
                     "--reason", "Be nice"]) == 0
    assert capsys.readouterr().out.strip() == f"case {w['bob_case']} resolved: warn (Be nice)"
    assert cli.main(["cases", "list", "--status", "resolved", "--json"]) == 0
    assert {c["id"]: c["action"] for c in out_json(capsys)} == {
        w["ann_case"]: "suspend", w["bob_case"]: "warn"}

    async def check(s: Services) -> None:
        ann = await s.accounts.find_by_email("ann@bsu.by")
        assert ann.status.value == "suspended"
        users = await s.moderation.users(w["boss"], UserFilter(query="bob"), None, 10)
        assert [(u.email, u.strikes) for u in users] == [("bob@bsu.by", 1)]
        trail = await s.moderation.audit(w["boss"], AuditFilter(action="case.resolve"), None, 10)
        assert [(e.actor_id, e.target_id) for e in trail] == [
            (None, w["bob"].user_id), (None, w["ann"].user_id)], "the operator: no actor"
        notes, _ = await s.notifications.list(w["bob"], None, 10)
        assert [n.notification.text for n in notes] == [
            "warn: Be nice", "report reviewed: action taken"]

    run(storage, check)


def test_users_ban_and_unban_by_email(
    storage: Storage, capsys: pytest.CaptureFixture[str]
) -> None:
    run(storage, lambda s: signed_in(s, "ann"))
    assert cli.main(["users", "ban", "--email", "ANN@bsu.by", "--reason", "Spam"]) == 0
    assert capsys.readouterr().out.strip().endswith("<ann@bsu.by> is now banned")
    assert cli.main(["users", "unban", "--email", "ann@bsu.by"]) == 0
    assert capsys.readouterr().out.strip().endswith("is now active")
    assert cli.main(["users", "unban", "--email", "ann@bsu.by"]) == 2
    assert "not_banned" in capsys.readouterr().err
    assert cli.main(["users", "ban", "--email", "ann@bsu.by", "--reason", "Cool off",
                     "--days", "2"]) == 0
    assert " is now suspended until 20" in capsys.readouterr().out
    assert cli.main(["users", "ban", "--email", "ann@bsu.by", "--reason", " "]) == 2
    assert "reason_required" in capsys.readouterr().err
    assert cli.main(["users", "ban", "--email", "ghost@bsu.by", "--reason", "Spam"]) == 2
    assert "user_not_found" in capsys.readouterr().err

    async def check(s: Services) -> None:
        boss = await signed_in(s, "boss", Role.ADMIN)
        trail = await s.moderation.audit(boss, AuditFilter(target_type="user"), None, 10)
        assert [(e.action, e.actor_id, e.reason) for e in trail] == [
            ("user.suspend", None, "Cool off"), ("user.unban", None, None),
            ("user.ban", None, "Spam")]

    run(storage, check)


def test_settings_get_and_set(storage: Storage, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["settings", "get", "--json"]) == 0
    shown = out_json(capsys)
    assert shown["effective"]["report_threshold"] == 3
    assert shown["stored"] == {
        "allowed_email_domains": None, "max_video_bytes": None, "max_video_seconds": None,
        "bereal_lock": None, "report_threshold": None, "staff_mfa_required": None,
        "for_you_completion_weight": None, "moment_reminder": None, "rate_limits": {}}
    assert shown["rate_limit_defaults"]["login:ip"] == {"count": 30, "window_seconds": 300}

    assert cli.main(["settings", "set", "report_threshold=1", "bereal_lock=false",
                     'allowed_email_domains=["bsu.by"]', "--reason", "Exam week",
                     "--json"]) == 0
    changed = out_json(capsys)
    assert changed["effective"]["report_threshold"] == 1
    assert changed["effective"]["bereal_lock"] is False
    assert changed["stored"]["allowed_email_domains"] == ["bsu.by"]
    assert cli.main(["settings", "get"]) == 0
    table = capsys.readouterr().out
    assert "runtime settings" in table and "report_threshold" in table

    for bad, code in (("report_threshold=0", "invalid_setting"),
                      ("colour=1", "invalid_setting")):
        assert cli.main(["settings", "set", bad]) == 2
        assert code in capsys.readouterr().err
    for bad in ("report_threshold", "report_threshold=abc"):
        assert cli.main(["settings", "set", bad]) == 2
        assert "NAME=JSON" in capsys.readouterr().err

    async def refused(s: Services) -> None:
        with pytest.raises(Invalid) as error:
            await s.accounts.register("eve@gmail.com", PASSWORD, HERE)
        assert error.value.code == "email_domain_not_allowed"

    run(storage, refused)
    assert cli.main(["settings", "set", "allowed_email_domains=null", "--json"]) == 0
    assert out_json(capsys)["stored"]["allowed_email_domains"] is None

    async def check(s: Services) -> None:
        boss = await signed_in(s, "boss", Role.ADMIN)
        trail = await s.moderation.audit(boss, AuditFilter(action="settings.update"), None, 10)
        assert [(e.actor_id, e.reason, e.data["changes"]) for e in trail] == [
            (None, None, {"allowed_email_domains": None}),
            (None, "Exam week", {"report_threshold": 1, "bereal_lock": False,
                                 "allowed_email_domains": ["bsu.by"]}),
        ]

    run(storage, check)


def test_case_detail_appeals_and_audit_as_the_operator(
    storage: Storage, capsys: pytest.CaptureFixture[str]
) -> None:
    async def scene(s: Services) -> dict[str, Any]:
        ann, bob = [await signed_in(s, n) for n in ("ann", "bob")]
        mod = await signed_in(s, "mod", Role.MODERATOR)
        made = await s.moderation.report(bob, "user", ann.user_id, "spam", "Ads everywhere")
        await s.moderation.resolve(mod, made.case_id, "warn", "No ads")
        appeal = await s.moderation.appeal(ann, made.case_id, "Those were not ads")
        return {"ann": ann, "mod": mod, "case": made.case_id, "appeal": appeal.id}

    w = run(storage, scene)
    assert cli.main(["cases", "show", str(w["case"])]) == 0
    shown = out_json(capsys)
    assert (shown["id"], shown["action"], shown["target"]["owner"]["id"]) == (
        w["case"], "warn", w["ann"].user_id)
    assert [r["note"] for r in shown["reports"]] == ["Ads everywhere"]
    assert cli.main(["cases", "show", "99999"]) == 2
    assert "case_not_found" in capsys.readouterr().err

    assert cli.main(["appeals", "list", "--json"]) == 0
    assert [(a["id"], a["status"]) for a in out_json(capsys)] == [(w["appeal"], "pending")]
    assert cli.main(["appeals", "list"]) == 0
    assert "Those were not ads" in capsys.readouterr().out
    assert cli.main(["appeals", "decide", str(w["appeal"]), "accept", "--reason",
                     "Fair enough", "--json"]) == 0
    decided = out_json(capsys)
    assert (decided["status"], decided["decided_by"], decided["decision_reason"]) == (
        "accepted", None, "Fair enough")
    assert cli.main(["appeals", "decide", str(w["appeal"]), "reject", "--reason", "x"]) == 2
    assert "appeal_decided" in capsys.readouterr().err
    assert cli.main(["appeals", "list", "--status", "pending", "--json"]) == 0
    assert out_json(capsys) == []

    assert cli.main(["audit", "--json"]) == 0
    entries = out_json(capsys)
    assert [(e["action"], e["actor_id"]) for e in entries] == [
        ("appeal.accept", None), ("case.resolve", w["mod"].user_id)], "newest first"
    assert cli.main(["audit", "--actor", str(w["mod"].user_id), "--json"]) == 0
    assert [e["action"] for e in out_json(capsys)] == ["case.resolve"]
    assert cli.main(["audit", "--before", str(entries[0]["id"]), "--json"]) == 0
    assert [e["id"] for e in out_json(capsys)] == [entries[1]["id"]]
    assert cli.main(["audit"]) == 0
    assert "operator" in capsys.readouterr().out
