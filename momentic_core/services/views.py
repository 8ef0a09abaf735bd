"""Views: ``POST /v1/videos/{id}/view`` with the seconds watched.

A view counts once per viewer, video and UTC day; a later report of the same day raises
that day's watched time to the most reported (never lower), and may complete it, but adds
no view. Only a viewer who may watch the video now counts: the one visibility rule
(``services.visibility.open_video``: visible to them, not behind the BeReal lock, ready).
The author's own views are never counted (answered, with ``counted`` false). Every
report also marks the video seen for For-You, as before. The counters move with the rows
in one unit of work (``ViewRepository``)."""

from __future__ import annotations

import math
from datetime import UTC

import attrs

from momentic_core.errors import Invalid
from momentic_core.model.accounts import Principal
from momentic_core.model.views import ViewRecord
from momentic_core.policies import views as rules
from momentic_core.ports import Clock, UnitOfWorkFactory
from momentic_core.services import visibility
from momentic_core.services.config import Config
from momentic_core.services.throttle import Throttle


@attrs.frozen
class ViewOutcome:
    video_id: int
    counted: bool  # this report added the viewer's view of the day
    watched_seconds: float | None  # the viewer's most of the day; None for the author
    completed: bool  # that reached the end (policies.views.COMPLETE_SHARE)
    view_count: int


def _invalid(detail: str) -> Invalid:
    return Invalid(detail, code="invalid_watched_seconds", field="watched_seconds")


class Views:
    def __init__(
        self, *, uow: UnitOfWorkFactory, clock: Clock, config: Config, throttle: Throttle
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._config = config  # the BeReal lock, the longest video
        self._throttle = throttle

    async def record(self, who: Principal, video_id: int, watched_seconds: float) -> ViewOutcome:
        """Raises RateLimited, NotFound(code="video_not_found"), Forbidden(code=
        "moment_locked"), Conflict(code="video_not_ready"), Invalid(code=
        "invalid_watched_seconds") for a negative time or one past the video's end."""
        try:
            seconds = float(watched_seconds)
        except OverflowError:  # an integer past any float
            seconds = math.inf
        if not math.isfinite(seconds) or seconds < 0:
            raise _invalid("watched_seconds is a number of seconds from 0.")
        await self._throttle.check("view:user", str(who.user_id))
        settings = await self._config.current()  # (before the unit of work: it may read)
        now = self._clock.now()
        async with self._uow() as tx:
            found = await visibility.open_video(tx, now, who, video_id, settings.bereal_lock)
            video = found.video
            duration = video.duration_seconds or settings.max_video_seconds
            watched = rules.watched_ms(seconds, duration)
            if watched is None:
                raise _invalid(f"The video lasts {duration} seconds.")
            await tx.feeds.record_view(who.user_id, video_id, now)  # For-You: seen
            if video.author_id == who.user_id:
                return ViewOutcome(video_id, False, None, False, video.view_count)
            result = await tx.views.record(ViewRecord(
                video_id=video_id,
                viewer_id=who.user_id,
                day=now.astimezone(UTC).date(),
                watched_ms=watched,
                completed=rules.completed(watched, duration),
                at=now,
            ))
        return ViewOutcome(
            video_id=video_id,
            counted=result.counted,
            watched_seconds=result.watched_ms / 1000,
            completed=result.completed,
            view_count=result.view_count,
        )
