"""Push devices (a phone's APNs or FCM token) and notification preferences.

A token belongs to one account at a time and to the session it was registered with:
signing out of that session, deleting or banning the account removes it.
"""

from __future__ import annotations

import enum
from datetime import UTC, datetime, time, timedelta
from email.utils import parsedate_to_datetime

import attrs

from momentic_core.model.engagement import NotificationKind


class Platform(enum.StrEnum):
    IOS = "ios"  # APNs
    ANDROID = "android"  # FCM


class ApnsEnvironment(enum.StrEnum):
    SANDBOX = "sandbox"  # development builds (api.sandbox.push.apple.com)
    PRODUCTION = "production"


@attrs.frozen
class Device:
    id: int
    user_id: int
    session_id: int
    platform: Platform
    token: str
    created_at: datetime
    last_seen_at: datetime
    app_version: str | None = None
    locale: str | None = None  # BCP 47 (en, ru-BY); None: the app did not say
    apns_environment: ApnsEnvironment | None = None  # iOS only


class PushKind(enum.StrEnum):
    """What a user switches pushes on and off by (the in-app list keeps everything)."""

    MOMENT = "moment"
    REACTIONS = "reactions"
    COMMENTS = "comments"  # comments on my videos and replies to mine
    FRIEND_REQUESTS = "friend_requests"  # requests and acceptances
    MODERATION = "moderation"  # decisions about me and my videos
    VIDEOS = "videos"  # my video is ready, or was rejected


# Each notification kind is pushed under one switch.
PUSH_KIND_OF: dict[NotificationKind, PushKind] = {
    NotificationKind.FRIEND_REQUEST: PushKind.FRIEND_REQUESTS,
    NotificationKind.FRIEND_ACCEPTED: PushKind.FRIEND_REQUESTS,
    NotificationKind.REACTION: PushKind.REACTIONS,
    NotificationKind.COMMENT: PushKind.COMMENTS,
    NotificationKind.REPLY: PushKind.COMMENTS,
    NotificationKind.VIDEO_READY: PushKind.VIDEOS,
    NotificationKind.VIDEO_REJECTED: PushKind.VIDEOS,
    NotificationKind.MODERATION: PushKind.MODERATION,
}


@attrs.frozen
class NotificationSettings:
    """A user's push preferences; a user who never set them has these defaults."""

    enabled: frozenset[PushKind] = frozenset(PushKind)
    # Quiet hours, in the user's time zone: from ``quiet_start`` until ``quiet_end``
    # (across midnight when start > end). Both None: none.
    quiet_start: time | None = None
    quiet_end: time | None = None

    def in_quiet_hours(self, local: time) -> bool:
        if self.quiet_start is None or self.quiet_end is None:
            return False
        start, end = self.quiet_start, self.quiet_end
        if start <= end:
            return start <= local < end
        return local >= start or local < end


@attrs.frozen
class PushMessage:
    """One push to one device, rendered: what an APNs or FCM adapter sends."""

    device_id: int
    platform: Platform
    token: str
    title: str
    body: str
    apns_environment: ApnsEnvironment | None = None
    badge: int | None = None  # the unread notifications (iOS shows it on the icon)
    collapse_id: str | None = None  # a newer push with the same id replaces this one
    # What the app deep-links from: kind, notification_id, video_id, comment_id (strings:
    # FCM data values are strings).
    data: dict[str, str] = attrs.Factory(dict)
    # A time-bound push (the moment, its reminder) is worth nothing after this: it is not
    # sent then (EXPIRED), and the service is told (APNs apns-expiration, FCM ttl) so a
    # phone that is offline does not get it late. None: any time.
    expires_at: datetime | None = None


class PushOutcome(enum.StrEnum):
    SENT = "sent"
    RETRY = "retry"  # 5xx, 429, a timeout or a lost connection: try again later
    INVALID_TOKEN = "invalid_token"  # the service says the token is dead: forget it
    REFUSED = "refused"  # a permanent refusal of this message: never retried
    DROPPED = "dropped"  # not sent: the device moved, was deleted or signed out
    EXPIRED = "expired"  # not sent: its time is over (``PushMessage.expires_at``)


# A Retry-After further off than this is taken as this: a wrong or hostile header must
# not park a delivery for days (and a job's attempts would outlive the pushes' point).
RETRY_AFTER_MAX = timedelta(hours=1)


def parse_retry_after(value: str | None) -> timedelta | datetime | None:
    """A ``Retry-After`` header (RFC 9110 §10.2.3): delta-seconds (a delay) or an
    HTTP-date (a time, parsed by ``email.utils``); None when absent or invalid (a
    negative or fractional number, a date that does not parse)."""
    value = (value or "").strip()
    if value.isascii() and value.isdigit():
        # Past a few digits it is over the cap anyway; int() of thousands of digits
        # raises (Python's limit on integer strings), and it need not be read.
        digits = value.lstrip("0") or "0"
        if len(digits) > len(str(int(RETRY_AFTER_MAX.total_seconds()))):
            return RETRY_AFTER_MAX
        return timedelta(seconds=min(int(digits), RETRY_AFTER_MAX.total_seconds()))
    try:
        at = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)  # "-0000": UTC


@attrs.frozen
class PushResult:
    outcome: PushOutcome
    reason: str | None = None  # the service's reason (BadDeviceToken, UNREGISTERED, ...)
    # RETRY: the service's Retry-After (``parse_retry_after``): not to be tried sooner.
    retry_after: timedelta | datetime | None = None
    # RETRY: the whole service is down or overloaded (FCM 503 UNAVAILABLE, APNs 503, FCM's
    # token endpoint down), not just this token: send it nothing more for now.
    service_wide: bool = False

    def not_before(self, now: datetime) -> datetime | None:
        """When the service lets this be tried again, at most RETRY_AFTER_MAX after
        ``now``; None without a Retry-After, or one already past."""
        if self.retry_after is None:
            return None
        at = (now + self.retry_after if isinstance(self.retry_after, timedelta)
              else self.retry_after)
        return min(at, now + RETRY_AFTER_MAX) if at > now else None
