"""A pg_dump of a live database restores into a new one that the app serves from, as the
README's backup section says (issue 18 item 5)."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.cli.main import main
from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions

PG_DUMP = shutil.which("pg_dump")
PG_RESTORE = shutil.which("pg_restore")
PASSWORD = "correct horse battery"


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # main() configures logging; put it back
    monkeypatch.setenv("MOMENTIC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MOMENTIC_SECRET", "backup-test-secret")
    monkeypatch.setenv("MOMENTIC_STORAGE", "memory")
    monkeypatch.setenv("MOMENTIC_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("MOMENTIC_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("MOMENTIC_LOG_FORMAT", "text")
    yield
    root.handlers[:], root.level = handlers, level


@pytest.fixture
def restored(
    cli_env: None, make_database: Callable[[], str], monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path, capsys: pytest.CaptureFixture[str],
) -> str:
    """A live database with a user, dumped with pg_dump and restored into a new one (the
    README's commands); MOMENTIC_DATABASE_URL then names the restored one."""
    assert PG_DUMP and PG_RESTORE, "pg_dump and pg_restore are needed (postgresql-client)"
    live, copy = make_database(), make_database()
    monkeypatch.setenv("MOMENTIC_DATABASE_URL", live)
    assert main(["migrate"]) == 0
    assert main(["users", "create", "--email", "ann@bsu.by", "--password", PASSWORD]) == 0

    dump = tmp_path / "momentic.dump"
    subprocess.run([PG_DUMP, "--format=custom", "--no-owner", f"--file={dump}", live],
                   check=True, timeout=120)
    subprocess.run([PG_RESTORE, "--no-owner", "--exit-on-error", f"--dbname={copy}",
                    str(dump)], check=True, timeout=120)

    monkeypatch.setenv("MOMENTIC_DATABASE_URL", copy)
    capsys.readouterr()
    assert main(["migrate", "status", "--json"]) == 0
    assert all(row["applied"] for row in json.loads(capsys.readouterr().out))
    assert main(["migrate"]) == 0
    assert capsys.readouterr().out == "applied 0 migration(s)\n"
    return copy


async def test_a_dump_restores_into_a_new_database_that_serves(
    restored: str, aiohttp_client: Any,
) -> None:
    settings = Settings.from_env()
    assert settings.database_url == restored
    client = await aiohttp_client(
        create_app(Composition(settings), HttpOptions(max_body_bytes=64 * 1024))
    )
    assert (await client.get("/readyz")).status == 200
    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": "ann@bsu.by", "password": PASSWORD,
    })
    assert r.status == 200, await r.text()
    token = (await r.json())["access_token"]
    r = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status == 200 and (await r.json())["email"] == "ann@bsu.by"
