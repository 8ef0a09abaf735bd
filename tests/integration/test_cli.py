"""The ``momentic`` command against a fresh PostgreSQL database."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from adapters.cli.main import main


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, make_database: Callable[[], str], tmp_path: Path
) -> Iterator[str]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # main() configures logging; put it back
    url = make_database()
    monkeypatch.setenv("MOMENTIC_DATABASE_URL", url)
    monkeypatch.setenv("MOMENTIC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MOMENTIC_SECRET", "cli-test-secret")
    monkeypatch.setenv("MOMENTIC_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("MOMENTIC_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("MOMENTIC_LOG_FORMAT", "text")
    yield url
    root.handlers[:], root.level = handlers, level


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
