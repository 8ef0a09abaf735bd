"""The ``momentic`` command against a fresh PostgreSQL database."""

from __future__ import annotations

import asyncio
import json

import pytest

from adapters.cli.main import main
from adapters.config import Settings
from adapters.container import Composition
from momentic_core.errors import MomenticError
from momentic_core.services.accounts import DeviceInfo


def test_migrate_create_admin_and_set_roles(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    first = capsys.readouterr().out
    assert "migration(s): 20261127_01_accounts" in first and "applied 0" not in first
    assert main(["migrate"]) == 0
    assert "applied 0 migration(s)" in capsys.readouterr().out

    assert main(["users", "create", "--email", "Boss@BSU.by", "--password",
                 "correct horse battery", "--role", "admin"]) == 0
    out = capsys.readouterr().out
    assert "<boss@bsu.by>" in out and "role=admin" in out

    assert main(["users", "set-role", "--email", "boss@bsu.by", "--role", "user"]) == 2
    assert "last_admin" in capsys.readouterr().err

    assert main(["users", "create", "--email", "mod@bsu.by", "--password",
                 "correct horse battery"]) == 0
    capsys.readouterr()
    assert main(["users", "set-role", "--email", "mod@bsu.by", "--role", "moderator"]) == 0
    assert "is now moderator" in capsys.readouterr().out

    assert main(["users", "set-role", "--email", "ghost@bsu.by", "--role", "admin"]) == 2
    assert "user_not_found" in capsys.readouterr().err

    assert main(["users", "create", "--email", "weak@bsu.by", "--password", "password1"]) == 2
    assert "password_too_common" in capsys.readouterr().err


def test_moderation_and_settings_commands(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    for email in ("ann@bsu.by", "bob@bsu.by"):
        assert main(["users", "create", "--email", email, "--password",
                     "correct horse battery"]) == 0
    capsys.readouterr()

    async def report() -> tuple[int, int]:
        async with Composition(Settings.from_env()) as s:
            pair = await s.accounts.login("bob@bsu.by", "correct horse battery",
                                          DeviceInfo(ip="127.0.0.1"))
            bob = await s.accounts.authenticate(pair.access_token)
            ann = await s.accounts.find_by_email("ann@bsu.by")
            made = await s.moderation.report(bob, "user", ann.id, "spam", "Ads in every bio")
            return made.case_id, ann.id

    case_id, ann_id = asyncio.run(report())
    assert main(["cases", "list", "--json"]) == 0
    [listed] = json.loads(capsys.readouterr().out)
    assert (listed["id"], listed["target_id"], listed["reports"][0]["note"]) == (
        case_id, ann_id, "Ads in every bio")
    assert main(["cases", "resolve", str(case_id), "--action", "warn", "--reason",
                 "No ads", "--json"]) == 0
    decided = json.loads(capsys.readouterr().out)
    assert (decided["action"], decided["decided_by"]) == ("warn", None)
    assert main(["cases", "list", "--status", "resolved", "--json"]) == 0
    assert [c["id"] for c in json.loads(capsys.readouterr().out)] == [case_id]

    assert main(["users", "ban", "--email", "ann@bsu.by", "--reason", "Spam", "--days",
                 "1"]) == 0
    assert "is now suspended until" in capsys.readouterr().out
    assert main(["users", "unban", "--email", "ann@bsu.by"]) == 0
    assert "is now active" in capsys.readouterr().out

    assert main(["settings", "set", "report_threshold=2", "--reason", "Exam week",
                 "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["stored"]["report_threshold"] == 2
    assert main(["settings", "get", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["effective"]["report_threshold"] == 2
    assert main(["settings", "set", "report_threshold=0"]) == 2
    assert "invalid_setting" in capsys.readouterr().err


def test_users_list_filters_and_role_changes_that_keep_or_end_sessions(
    cli_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    for email, role in (("ann@bsu.by", "user"), ("bob@bsu.by", "user"),
                        ("boss@bsu.by", "admin"), ("mod@bsu.by", "moderator")):
        assert main(["users", "create", "--email", email, "--password",
                     "correct horse battery", "--role", role]) == 0
    assert main(["users", "ban", "--email", "bob@bsu.by", "--reason", "Spam"]) == 0
    capsys.readouterr()

    def listed(*flags: str) -> list[dict[str, object]]:
        assert main(["users", "list", "--json", *flags]) == 0
        rows = json.loads(capsys.readouterr().out)
        assert isinstance(rows, list)
        return rows

    everyone = listed()
    assert [u["email"] for u in everyone] == [
        "ann@bsu.by", "bob@bsu.by", "boss@bsu.by", "mod@bsu.by"], "by id, emails shown"
    assert set(everyone[0]) >= {"id", "email", "nickname", "role", "status", "strikes",
                                "email_verified", "created_at"}
    assert [u["email"] for u in listed("--role", "user")] == ["ann@bsu.by", "bob@bsu.by"]
    assert [u["email"] for u in listed("--status", "banned")] == ["bob@bsu.by"]
    assert [u["email"] for u in listed("--query", "BO")] == ["bob@bsu.by", "boss@bsu.by"]
    assert [u["email"] for u in listed("--limit", "2")] == ["ann@bsu.by", "bob@bsu.by"]
    assert [u["email"] for u in listed("--after", str(everyone[1]["id"]), "--limit", "1")
            ] == ["boss@bsu.by"]
    with pytest.raises(SystemExit):  # argparse refuses a role that does not exist
        main(["users", "list", "--role", "owner"])
    assert "invalid choice" in capsys.readouterr().err
    assert main(["users", "list"]) == 0
    table = capsys.readouterr().out
    assert "banned" in table and "moderat" in table  # (rich wraps long cells)

    async def signed_in(email: str) -> str:
        async with Composition(Settings.from_env()) as s:
            pair = await s.accounts.login(email, "correct horse battery",
                                          DeviceInfo(ip="127.0.0.1"))
            return pair.access_token

    async def role_of(token: str) -> str:
        async with Composition(Settings.from_env()) as s:
            try:
                return (await s.accounts.authenticate(token)).role.value
            except MomenticError as error:
                return error.code

    token = asyncio.run(signed_in("ann@bsu.by"))
    assert main(["users", "set-role", "--email", "ann@bsu.by", "--role", "moderator"]) == 0
    out = capsys.readouterr().out
    assert "is now moderator" in out and "sessions go on" in out
    assert asyncio.run(role_of(token)) == "moderator", "a promotion keeps the session"
    assert main(["users", "set-role", "--email", "ann@bsu.by", "--role", "user"]) == 0
    assert "signed out of every device" in capsys.readouterr().out
    assert asyncio.run(role_of(token)) == "token_revoked", "a demotion ends it"
