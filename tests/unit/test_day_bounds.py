"""The friends feed's day: [midnight, next midnight) in the viewer's zone, DST included."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from momentic_core.errors import Invalid
from momentic_core.services.feeds import day_bounds


def test_a_plain_day_is_24_hours_at_the_zones_midnights() -> None:
    start, end = day_bounds(date(2026, 11, 27), "Asia/Tokyo")
    assert (start, end) == (
        datetime(2026, 11, 26, 15, tzinfo=UTC),
        datetime(2026, 11, 27, 15, tzinfo=UTC),
    )


def test_dst_days_are_23_and_25_hours() -> None:
    spring = day_bounds(date(2026, 3, 29), "Europe/Berlin")
    autumn = day_bounds(date(2026, 10, 25), "Europe/Berlin")
    assert spring == (datetime(2026, 3, 28, 23, tzinfo=UTC), datetime(2026, 3, 29, 22, tzinfo=UTC))
    assert autumn == (
        datetime(2026, 10, 24, 22, tzinfo=UTC),
        datetime(2026, 10, 25, 23, tzinfo=UTC),
    )


def test_a_day_whose_midnight_does_not_exist_starts_at_its_first_instant() -> None:
    # Chile springs forward at 00:00 (to 01:00) on 2026-09-06.
    start, end = day_bounds(date(2026, 9, 6), "America/Santiago")
    assert start == datetime(2026, 9, 6, 4, tzinfo=UTC)  # 00:00 -04 == 01:00 -03
    assert end == datetime(2026, 9, 7, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "zone"),
    [(date.max, "UTC"), (date.min, "Asia/Tokyo"), (date.max, "America/Los_Angeles")],
)
def test_a_day_at_the_ends_of_the_calendar_is_invalid_not_a_crash(day: date, zone: str) -> None:
    with pytest.raises(Invalid) as err:
        day_bounds(day, zone)
    assert (err.value.code, err.value.extra["field"]) == ("invalid_query", "day")
