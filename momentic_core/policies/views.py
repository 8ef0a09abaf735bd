"""When a view counts as watched to the end, and what a report of watched time may say.

A player reports the seconds watched of a video whose duration the server measured
(rounded to milliseconds) and the client measured again (AVPlayer, ExoPlayer): the two
differ by a frame or so, so a report up to ``TOLERANCE_SECONDS`` over the duration is
taken as the whole video; more than that is refused.
"""

from __future__ import annotations

COMPLETE_SHARE = 0.9  # a view that watched this share of the video reached the end
TOLERANCE_SECONDS = 1.0


def watched_ms(watched_seconds: float, duration_seconds: float) -> int | None:
    """The watched time to store, in milliseconds (clamped to the duration), or None when
    the report is out of range (negative, not finite, or past the tolerance)."""
    if not 0 <= watched_seconds <= duration_seconds + TOLERANCE_SECONDS:
        return None  # (NaN compares false: refused too)
    return round(min(watched_seconds, duration_seconds) * 1000)


def completed(watched: int, duration_seconds: float) -> bool:
    """``watched`` milliseconds reach the end of a video of ``duration_seconds``."""
    return watched >= COMPLETE_SHARE * duration_seconds * 1000
