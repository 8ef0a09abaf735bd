"""Retry-After as the push gateways read it (RFC 9110 §10.2.3) and when a result lets a
push be tried again: delta-seconds or an HTTP-date, capped at RETRY_AFTER_MAX, anything
else ignored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from momentic_core.model.devices import (
    RETRY_AFTER_MAX,
    PushOutcome,
    PushResult,
    parse_retry_after,
)

NOW = datetime(2026, 12, 7, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(("header", "parsed"), [
    ("120", timedelta(seconds=120)),
    (" 0 ", timedelta(0)),
    ("99999999999999999999999", RETRY_AFTER_MAX),
    # Thousands of digits: more than int() reads from a string (ValueError before).
    pytest.param("9" * 5000, RETRY_AFTER_MAX, id="5000 nines"),
    pytest.param("0" * 5000 + "7", timedelta(seconds=7), id="7 after 5000 zeros"),
    ("0003600", RETRY_AFTER_MAX),
    ("3601", RETRY_AFTER_MAX),
    ("Mon, 07 Dec 2026 21:10:00 GMT", datetime(2026, 12, 7, 21, 10, tzinfo=UTC)),
    ("Mon, 07 Dec 2026 21:10:00 -0000", datetime(2026, 12, 7, 21, 10, tzinfo=UTC)),
    (None, None), ("", None), ("-5", None), ("1.5", None), ("soon", None),
    ("\u0661\u0662", None),  # Arabic-Indic digits are no delta-seconds
    ("Mon, 99 Foo 2026 21:10:00 GMT", None),
])
def test_parse_retry_after(header: str | None, parsed: object) -> None:
    assert parse_retry_after(header) == parsed


@pytest.mark.parametrize(("retry_after", "not_before"), [
    (timedelta(seconds=90), NOW + timedelta(seconds=90)),
    (NOW + timedelta(minutes=10), NOW + timedelta(minutes=10)),
    (NOW + timedelta(days=3), NOW + RETRY_AFTER_MAX),  # a date too far off: capped
    (NOW - timedelta(minutes=1), None),  # already past: nothing to wait for
    (timedelta(0), None),
    (None, None),
])
def test_not_before_is_relative_to_now_and_capped(
    retry_after: timedelta | datetime | None, not_before: datetime | None
) -> None:
    result = PushResult(PushOutcome.RETRY, "x", retry_after=retry_after)
    assert result.not_before(NOW) == not_before
