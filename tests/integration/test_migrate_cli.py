"""``momentic migrate status|up|rollback`` against a fresh database (issue 18 item 5)."""

from __future__ import annotations

import json

import pytest

from adapters.cli.main import main
from adapters.postgres.migrate import MIGRATIONS_DIR

IDS = sorted(p.stem for p in MIGRATIONS_DIR.glob("*.sql") if not p.stem.endswith(".rollback"))


def _status(capsys: pytest.CaptureFixture[str]) -> dict[str, bool]:
    assert main(["migrate", "status", "--json"]) == 0
    return {row["id"]: row["applied"] for row in json.loads(capsys.readouterr().out)}


def test_status_up_rollback_and_up_again(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(IDS) > 2
    assert _status(capsys) == dict.fromkeys(IDS, False)

    assert main(["migrate", "up"]) == 0
    assert capsys.readouterr().out.startswith(f"applied {len(IDS)} migration(s): {IDS[0]}")
    assert _status(capsys) == dict.fromkeys(IDS, True)
    assert main(["migrate", "status"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0] == f"applied  {IDS[0]}" and text[-1] == f"{len(IDS)} applied, 0 pending"

    assert main(["migrate", "rollback"]) == 2  # not without --yes
    assert "--yes" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # argparse: not a count
        main(["migrate", "rollback", "--count", "0", "--yes"])
    assert refused.value.code == 2
    assert "--count: '0' is not a whole number of at least 1" in capsys.readouterr().err
    assert _status(capsys)[IDS[-1]] is True

    assert main(["migrate", "rollback", "--count", "2", "--yes"]) == 0
    assert capsys.readouterr().out == (
        f"rolled back 2 migration(s): {IDS[-1]}, {IDS[-2]}\n"
    )
    assert _status(capsys) == dict.fromkeys(IDS[:-2], True) | dict.fromkeys(IDS[-2:], False)

    assert main(["migrate"]) == 0  # bare migrate still means up
    assert capsys.readouterr().out == f"applied 2 migration(s): {IDS[-2]}, {IDS[-1]}\n"
    assert _status(capsys) == dict.fromkeys(IDS, True)
