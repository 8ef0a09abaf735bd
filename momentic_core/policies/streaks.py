"""Posting streaks: consecutive local days (in the user's time zone) with a ready video.

``extend`` is the incremental rule applied when a video becomes ready; it answers None
when the new day is older than the last one counted (a late-processed video), or is the
day after a last day whose streak the daily job already stored as 0 (a video posted just
before midnight and processed after the job ran); the caller then rebuilds from every
day with ``from_days`` (also the brute-force reference of the property tests). A streak
whose last day is before yesterday is broken: ``current_at`` reads it as 0 at once, and
the daily job stores the 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from momentic_core.model.ranking import StreakState

ONE_DAY = timedelta(days=1)


def local_day(at: datetime, zone: str) -> date:
    return at.astimezone(ZoneInfo(zone)).date()


def extend(state: StreakState, day: date) -> StreakState | None:
    if state.last_day is None or day > state.last_day + ONE_DAY:
        current = 1
    elif day == state.last_day + ONE_DAY:
        if state.current == 0:  # the daily job stored 0: the run up to last_day is unknown
            return None
        current = state.current + 1
    elif day == state.last_day:
        return state
    else:
        return None
    return StreakState(current=current, max=max(state.max, current), last_day=day)


def from_days(days: Iterable[date]) -> StreakState:
    """The streak state of a set of posting days (the reference: one pass, sorted)."""
    state = StreakState()
    for day in sorted(set(days)):
        next_state = extend(state, day)
        assert next_state is not None
        state = next_state
    return state


def current_at(state: StreakState, today: date) -> int:
    """The streak as of ``today``: alive while the last day is today or yesterday."""
    if state.last_day is None or state.last_day < today - ONE_DAY:
        return 0
    return state.current
