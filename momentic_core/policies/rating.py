"""The rating: points for what a user's posts earn, with weights kept in the database.

    rating = sum over reactions others gave to my videos       of weights[kind]
           + sum over (video, other commenter) pairs           of weights.comment
           + sum over UTC days with an on-time ready video     of weights.on_time
           + weights.streak_day * current_streak

A commenter's comments on one video earn once (on the day of the first that is not
hidden by moderation), however many they write; on-time posts earn at most
``ON_TIME_PER_DAY`` per UTC day, however many zones the author tries. Reactions and
comments of the author on their own videos earn nothing, and only ready videos earn (a
video held or removed by moderation loses its points until restored). Every event is
dated (the reaction's, the comment's or the video's creation time), so a period's
leaderboard sums the points of events in the period (UTC days); the streak term counts
for the all-time rating only. Points are integers; weights are 0..1000.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from momentic_core.errors import Invalid
from momentic_core.model.ranking import WEIGHT_FIELDS, WEIGHT_MAX, Period, RankingWeights

ON_TIME_PER_DAY = 1  # on-time posts that earn, per UTC day


def check_weights(values: dict[str, object], base: RankingWeights) -> RankingWeights:
    """``base`` with the given fields replaced. Raises Invalid(code="invalid_weights")."""
    changes: dict[str, int] = {}
    for name, value in values.items():
        if name not in WEIGHT_FIELDS:
            raise Invalid(f"Unknown weight {name!r}.", code="invalid_weights", field=name)
        if isinstance(value, bool) or not isinstance(value, int) or not (
            0 <= value <= WEIGHT_MAX
        ):
            raise Invalid(
                f"{name} is a whole number from 0 to {WEIGHT_MAX}.",
                code="invalid_weights",
                field=name,
            )
        changes[name] = value
    return RankingWeights(**{**_as_dict(base), **changes})


def _as_dict(weights: RankingWeights) -> dict[str, int]:
    return {name: getattr(weights, name) for name in WEIGHT_FIELDS}


def period_start(period: Period, now: datetime) -> datetime | None:
    """The start (UTC) of the calendar day, ISO week or month that contains ``now``."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if period is Period.DAY:
        return day
    if period is Period.WEEK:
        return day - timedelta(days=day.weekday())
    if period is Period.MONTH:
        return day.replace(day=1)
    return None
