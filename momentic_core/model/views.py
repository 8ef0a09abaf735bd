"""Views of videos: one per viewer, video and UTC day (POST /v1/videos/{id}/view)."""

from __future__ import annotations

from datetime import date, datetime

import attrs


@attrs.frozen
class ViewRecord:
    """What one report of watching adds: today's row, or the most of it so far."""

    video_id: int
    viewer_id: int
    day: date  # UTC
    watched_ms: int
    completed: bool
    at: datetime


@attrs.frozen
class ViewResult:
    """The viewer's row of the day after a report, and the video's count after it."""

    counted: bool  # this report added the viewer's view of the day (the first of it)
    watched_ms: int  # the most the viewer reported that day
    completed: bool
    view_count: int


@attrs.frozen
class WatchTotals:
    """An author's views over their ready videos."""

    views: int
    completed_views: int
    watched_ms: int

    @property
    def completion_rate(self) -> float | None:
        """The share of views that reached the end; None without views."""
        return self.completed_views / self.views if self.views else None


@attrs.frozen
class WatchedDay:
    """One of a viewer's rows: what they watched of one video on one UTC day (a data
    export's item)."""

    video_id: int
    day: date  # UTC
    watched_ms: int
    completed: bool
    first_at: datetime
    last_at: datetime
