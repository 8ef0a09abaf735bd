"""Background jobs: the stored row (``Job``) and one typed message per kind of job.

A kind of job is one frozen class, registered once under its kind name (``JOBS``), the
name stored in ``jobs.kind``. A use case queues an instance (``tx.jobs.enqueue(
ProcessVideo(video_id=...))``: the kind comes from its class); the worker hands the
handler of that kind (``services.jobs.JobKind``) the same class back. The stores' adapters
write a message's fields as the row's JSON payload and read them back by its kind
(``adapters.messages``), so the payload's shape is the class's fields; jobs queued by an
earlier release must still read, so a field is renamed or retyped only with its old
shape kept readable.

Commands, so imperative names (``SendMail``, ``ProcessVideo``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any, ClassVar, Self, TypeVar

import attrs

from momentic_core.model.accounts import CodePurpose, Mail, VerificationCode
from momentic_core.model.devices import PushMessage
from momentic_core.model.ranking import Moment


class JobMessage:
    """Base of every job's message: ``kind`` is its registered kind name."""

    kind: ClassVar[str]
    # The payload holds a secret (a mailed code, a device token): cleared once the job is
    # done or dead.
    secret: ClassVar[bool] = False


JOBS: dict[str, type[JobMessage]] = {}
J = TypeVar("J", bound=type[JobMessage])


def _kind(name: str, *, secret: bool = False) -> Callable[[J], J]:
    def register(cls: J) -> J:
        if name in JOBS:
            raise ValueError(f"two job kinds named {name}")
        cls.kind, cls.secret = name, secret
        JOBS[name] = cls
        return cls

    return register


@attrs.frozen
class BadPayload:
    """What a store reads for a job whose payload is not its kind's message (or whose
    kind has no message class): the worker buries such a job at once, with ``reason``."""

    reason: str


@attrs.frozen
class Job:
    id: int
    kind: str
    payload: dict[str, Any]  # as stored
    attempts: int
    max_attempts: int
    run_at: datetime
    created_at: datetime
    status: str = "queued"  # queued | running | done | dead
    last_error: str | None = None
    # The payload read as its kind's message by the store that returned the job.
    message: JobMessage | BadPayload | None = None


@attrs.frozen
class JobBacklog:
    """One job kind's standing, for operators: jobs queued (due now or later), running
    (leased) and dead (given up on, kept until pruned), and how long the oldest job that
    is due has waited (0 when none waits)."""

    kind: str
    queued: int
    running: int
    dead: int
    oldest_due_seconds: float


# ---------------------------------------------------------------- mail


@attrs.frozen
class MailedCode:
    """Which stored code a mail carries (``VerificationCode``'s user, purpose and hash)."""

    user_id: int
    purpose: CodePurpose
    code_hash: str


@_kind("send_mail", secret=True)
@attrs.frozen
class SendMail(JobMessage):
    to: str
    subject: str
    text: str
    # The code the mail carries, as stored: the mail goes out only while that code is the
    # user's current one (None: a mail without a code, or queued by an earlier release).
    # Not named ``code``: a ``code=`` keyword is an error code to the catalogue's scan.
    mailed: MailedCode | None = None

    @classmethod
    def of(cls, mail: Mail, mailed: VerificationCode | None = None) -> SendMail:
        return cls(
            to=mail.to, subject=mail.subject, text=mail.text,
            mailed=None if mailed is None
            else MailedCode(mailed.user_id, mailed.purpose, mailed.code_hash),
        )

    @property
    def mail(self) -> Mail:
        return Mail(to=self.to, subject=self.subject, text=self.text)


# ---------------------------------------------------------------- videos and housekeeping


@_kind("process_video")
@attrs.frozen
class ProcessVideo(JobMessage):
    video_id: int


@_kind("package_hls")
@attrs.frozen
class PackageHls(JobMessage):
    """A ready video's HLS presentation, made after the fact from its MP4 (a video
    processed before HLS; ``services.backfill`` queues these)."""

    video_id: int


@_kind("janitor")
@attrs.frozen
class RunJanitor(JobMessage):
    """Sweep what is left over: abandoned uploads, orphan blobs, old jobs and sessions."""


@_kind("feeds.refresh_for_you")
@attrs.frozen
class RefreshForYou(JobMessage):
    """Rebuild the For-You candidate table."""


# ---------------------------------------------------------------- ranking and moments


@_kind("recompute_ratings")
@attrs.frozen
class RecomputeRatings(JobMessage):
    """Rebuild every rating from the rows (the weights changed)."""


@_kind("break_streaks")
@attrs.frozen
class BreakStreaks(JobMessage):
    """Store the streaks broken since the last run."""


@_kind("announce_moment")
@attrs.frozen
class AnnounceMoment(JobMessage):
    """Push the day's moment to every active user of the zone."""

    zone: str
    day: date


@_kind("announce_moment_reminder")
@attrs.frozen
class AnnounceReminder(JobMessage):
    """When the moment's window closes: remind those of the zone who have not posted."""

    zone: str
    day: date


# ---------------------------------------------------------------- pushes


@_kind("push.notification")
@attrs.frozen
class PushNotification(JobMessage):
    """One notification to its user's devices."""

    user_id: int
    notification_id: int


@attrs.frozen
class _MomentPage(JobMessage):
    user_ids: list[int]
    zone: str
    day: date
    at: datetime
    window: timedelta

    @classmethod
    def of(cls, user_ids: list[int], moment: Moment) -> Self:
        return cls(user_ids=list(user_ids), zone=moment.time_zone, day=moment.day,
                   at=moment.at, window=moment.window)

    @property
    def moment(self) -> Moment:
        return Moment(day=self.day, time_zone=self.zone, at=self.at, window=self.window)


@_kind("push.moment")
@attrs.frozen
class PushMoment(_MomentPage):
    """The moment's push to a page of users of one zone."""


@_kind("push.reminder")
@attrs.frozen
class PushReminder(_MomentPage):
    """The moment's second reminder to a page of users of one zone."""


@attrs.frozen
class PushDelivery(PushMessage):
    """One rendered push to one device, as a delivery job carries it: the message's fields,
    then ``user_id`` the device's owner when it was rendered (None: queued before
    deliveries carried it; never sent), ``key`` what marks it settled (unique per push and
    device; None: unmarked)."""

    user_id: int | None = None
    key: str | None = None

    @classmethod
    def of(cls, m: PushMessage, user_id: int, key: str | None = None) -> PushDelivery:
        return cls(**_message_fields(m), user_id=user_id, key=key)

    @property
    def message(self) -> PushMessage:
        return PushMessage(**_message_fields(self))


def _message_fields(m: PushMessage) -> dict[str, Any]:
    fields = {f.name: getattr(m, f.name) for f in attrs.fields(PushMessage)}
    return fields | {"data": dict(m.data)}


@_kind("push.deliver", secret=True)
@attrs.frozen
class DeliverPushes(JobMessage):
    """Up to ``services.push.DELIVER_BATCH`` pushes (a friend's name, device tokens)."""

    messages: list[PushDelivery]
