"""The daily BeReal moment: one random time per day and time zone, the same on every
app instance, and unknowable to clients before it happens.

The moment of ``day`` in ``zone`` is the local time ``start_hour`` plus an offset drawn
from HMAC-SHA256(secret, "day|zone"), uniform over [start_hour, end_hour) to the second.
A local time that does not exist (a DST gap) moves forward by the gap, as zoneinfo does.

A video is ``on_time`` when it was created within ``window`` after the moment that
precedes it (today's moment once it has passed, else yesterday's); otherwise it is late
by the seconds since that moment.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import attrs

from momentic_core.model.ranking import Moment


@attrs.frozen
class MomentRules:
    secret: bytes
    start_hour: int = 9
    end_hour: int = 21
    window: timedelta = timedelta(minutes=2)

    def __attrs_post_init__(self) -> None:
        if not 0 <= self.start_hour < self.end_hour <= 24:
            raise ValueError("moment hours: 0 <= start < end <= 24")


def moment_of(rules: MomentRules, day: date, zone: str) -> Moment:
    span = (rules.end_hour - rules.start_hour) * 3600
    digest = hmac.new(rules.secret, f"{day.isoformat()}|{zone}".encode(), hashlib.sha256)
    offset = int.from_bytes(digest.digest()[:8], "big") % span
    tz = ZoneInfo(zone)
    local = datetime.combine(day, time(rules.start_hour), tz) + timedelta(seconds=offset)
    # Wall-clock arithmetic: normalize through UTC so a DST gap moves forward.
    at = local.astimezone(UTC)
    return Moment(day=day, time_zone=zone, at=at, window=rules.window)


def moment_before(rules: MomentRules, at: datetime, zone: str) -> Moment:
    """The latest moment at or before ``at``, in ``zone``."""
    day = at.astimezone(ZoneInfo(zone)).date()
    moment = moment_of(rules, day, zone)
    # Usually today's or yesterday's; a day the zone skipped (Samoa, 2011-12-30) has its
    # moment moved past the next day's, so look one day further back then.
    while moment.at > at:
        day -= timedelta(days=1)
        moment = moment_of(rules, day, zone)
    return moment


def punctuality(rules: MomentRules, created_at: datetime, zone: str) -> tuple[datetime, bool]:
    """(the moment a post answers, whether it is on time)."""
    moment = moment_before(rules, created_at, zone)
    return moment.at, created_at < moment.window_ends_at


def late_by_seconds(moment_at: datetime | None, on_time: bool, created_at: datetime) -> int | None:
    if moment_at is None or on_time:
        return None
    return int((created_at - moment_at).total_seconds())
