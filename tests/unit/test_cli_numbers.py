"""The ``momentic`` command's numeric options refuse what they cannot mean (a batch of 0,
a negative limit, NaN days) as argparse does a bad choice: a message naming the option,
exit status 2, before anything runs."""

from __future__ import annotations

import pytest

from adapters.cli.main import parser

WHOLE = "is not a whole number of at least 1"

REFUSED = [
    (["backfill", "hls", "--batch"], ["0", "-1", "1.5", "x"], WHOLE),
    (["migrate", "rollback", "--count"], ["0", "-2"], WHOLE),
    (["users", "list", "--limit"], ["0", "-1"], WHOLE),
    (["cases", "list", "--limit"], ["0", "-1"], WHOLE),
    (["appeals", "list", "--limit"], ["0", "-1"], WHOLE),
    (["audit", "--limit"], ["0", "-1"], WHOLE),
    (["cases", "resolve", "1", "--action", "dismiss", "--reason", "r", "--duration-seconds"],
     ["0", "-60"], WHOLE),
    (["users", "ban", "--email", "a@b.by", "--reason", "r", "--days"],
     ["0", "-1", "nan", "inf"], "is not a number above 0"),
    (["janitor", "--min-age-seconds"], ["-1", "nan", "inf"], "is not a number of at least 0"),
    (["serve", "--workers"], ["-1"], "is not a whole number of at least 0"),
    (["serve", "--port"], ["0", "-1", "65536"], "is not a port (1-65535)"),
]


@pytest.mark.parametrize(
    ("argv", "value", "why"),
    [(argv, value, why) for argv, values, why in REFUSED for value in values],
)
def test_a_number_out_of_range_is_refused(
    argv: list[str], value: str, why: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parser().parse_args([*argv, value])
    assert exited.value.code == 2
    assert f"argument {argv[-1]}: {value!r} {why}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "attr", "expected"),
    [
        (["backfill", "hls", "--batch", "1"], "batch", 1),
        (["backfill", "hls"], "batch", 200),
        (["migrate", "rollback", "--count", "3"], "count", 3),
        (["users", "list", "--limit", "1"], "limit", 1),
        (["users", "ban", "--email", "a@b.by", "--reason", "r", "--days", "0.5"], "days", 0.5),
        (["janitor", "--min-age-seconds", "0"], "min_age_seconds", 0.0),
        (["serve", "--workers", "0"], "workers", 0),
        (["serve", "--port", "65535"], "port", 65535),
    ],
)
def test_a_number_in_range_is_taken(argv: list[str], attr: str, expected: float) -> None:
    assert getattr(parser().parse_args(argv), attr) == expected
