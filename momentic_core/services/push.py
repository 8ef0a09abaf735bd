"""Durable push delivery: every push goes through the job queue.

A notification's push job is queued in the unit of work that stores the notification
(``Notifier``), so it exists if and only if the notification does. Four job kinds
(their messages in ``model.jobs``):

- ``push.notification`` (``PushNotification``): one notification to its user's devices:
  dropped when the user switched that kind off or it falls in their quiet hours (the
  in-app list keeps it either way); otherwise a message per device in ``push.deliver``
  jobs (batches of up to ``DELIVER_BATCH``), rendered in the device's language (else
  English), with the unread count as the badge and a deep link;
- ``push.moment`` (``PushMoment``): the daily moment to a page of users of one zone
  (``send_moment``, which the announcement calls per page), and ``push.reminder``
  (``PushReminder``): the second reminder to a page (``send_reminder``): those of them
  who have not posted for the moment when its window closes, while the runtime setting
  ``moment_reminder`` is on. Both follow the moment's switch and its rule for quiet
  hours (``moment_overrides_quiet_hours``); each page's settings, devices and badges
  are read in one statement each. Their deliveries are due at the moment (the reminder's
  when the window closes), so they come before the pages queued after them, and they are
  time-bound (``PushMessage.expires_at``): the moment's until its window closes, the
  reminder's until ``Moment.reminder_ends_at``; one not sent by then is dropped
  (``expired``), never sent late;
- ``push.deliver`` (``DeliverPushes``): messages to devices (up to ``DELIVER_BATCH``; a
  job queued before batches holds one message, read as a batch of one) through the
  ``PushGateway``, ``concurrency`` at a time (HTTP/2 streams on one connection), as a
  sliding window: a send starts as soon as another is answered and marked. Each is sent
  only if that device (id, token and user) is still registered and its session is
  neither revoked nor idle past the session's time to live, looked up when it is sent: a
  token that moved to another account (a shared phone), a signed-out session, an expired
  one or a deleted device drops its queued and retrying pushes (logged). A permanent refusal
  is logged and never retried; a token the service calls unregistered (APNs 410 /
  ``Unregistered``, FCM ``UNREGISTERED``) is deleted with its device row (that id only).
  Every message settled (sent, refused, dropped, expired) is marked (``sent:<key>`` in
  the claims) by a marker task, a unit of work per batch of answers (at least a quarter
  of ``concurrency``, the rest at the end) while the other sends go on; a passing
  failure (5xx, 429, timeout) of any leaves it unmarked and the job raises, so the
  worker runs it again with exponential backoff until ``DELIVER_ATTEMPTS``, sending only
  what is unmarked, and no sooner than the latest ``Retry-After`` of those failures
  (capped at ``RETRY_AFTER_MAX``). An answer for the whole service
  (``PushResult.service_wide``: FCM's or APNs' 503) stops the job's sends to that
  service: those not started yet wait for the retry with the failures (unmarked, not
  sent), while its pushes to other services go on; such a retry is a pause, not an
  attempt (``deliver_job``), so a long outage (Retry-After up to an hour, each time)
  never uses up the attempts of pushes that were never tried.

A fan-out happens once: it claims its key (``moment:<user>:<day>``,
``reminder:<user>:<day>``, ``n:<notification>``) in the unit of work that queues its
deliveries, so a retried fan-out, or the same page taken by two instances, queues
nothing twice, and a crash before the commit leaves the key free for the retry. A
delivery is at least once: a worker that dies after the service accepted a push but
before its answer was marked sends it again when the lease runs out: at most
``concurrency`` pushes, since a send's slot is free again only once its answer is marked
(in flight and answered-not-marked together); the collapse id makes the phone show it
once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import attrs

from momentic_core.errors import NotFound
from momentic_core.model.devices import (
    PUSH_KIND_OF,
    ApnsEnvironment,
    Device,
    NotificationSettings,
    Platform,
    PushKind,
    PushMessage,
    PushOutcome,
    PushResult,
)
from momentic_core.model.engagement import Notification, NotificationView
from momentic_core.model.jobs import (
    DeliverPushes,
    PushDelivery,
    PushMoment,
    PushNotification,
    PushReminder,
)
from momentic_core.model.ranking import Moment
from momentic_core.policies import push_text
from momentic_core.ports import Clock, PushGateway, UnitOfWork, UnitOfWorkFactory
from momentic_core.services.jobs import JobKind, RetryLater

log = logging.getLogger(__name__)

# A delivery job's failed attempts (with the worker's backoff, 5 s doubling: about 2.5
# minutes); an attempt its service paused is not counted (``deliver_job``).
DELIVER_ATTEMPTS = 6
DELIVER_BATCH = 250  # messages per delivery job
# How long a job a service paused without a Retry-After waits before it tries again.
SERVICE_PAUSE = timedelta(seconds=30)


class PushRetry(RetryLater):
    """A passing failure of the push service: the job is tried again later, not before
    ``not_before`` (the service's Retry-After) if it is given."""


def quiet_now(settings: NotificationSettings, time_zone: str, now: datetime) -> bool:
    try:
        zone = ZoneInfo(time_zone)
    except (ValueError, KeyError):
        zone = ZoneInfo("UTC")
    return settings.in_quiet_hours(now.astimezone(zone).time())


def render_notification(
    n: NotificationView, device: Device, badge: int
) -> PushMessage:
    note = n.notification
    actor = n.actor.nickname if n.actor is not None else None
    title, body = push_text.render(note.kind, device.locale, actor)
    data = {"kind": note.kind.value, "notification_id": str(note.id)}
    if note.video_id is not None:
        data["video_id"] = str(note.video_id)
    if note.comment_id is not None:
        data["comment_id"] = str(note.comment_id)
    # Pushes about one thing replace each other on the phone (ten reactions to one video
    # show as the last one).
    about = note.comment_id or note.video_id or note.actor_id or note.id
    return PushMessage(
        device_id=device.id, platform=device.platform, token=device.token, title=title,
        body=body, apns_environment=device.apns_environment, badge=badge,
        collapse_id=f"{note.kind.value}-{about}", data=data,
    )


def render_moment(
    moment: Moment, device: Device, badge: int, kind: str = "moment"
) -> PushMessage:
    """``kind``: "moment", or "moment_reminder" (the second reminder, which replaces the
    moment's push on the phone: the same collapse id). Both are time-bound: the moment's
    until its window closes, the reminder until ``Moment.reminder_ends_at``."""
    title, body = push_text.render(kind, device.locale)
    return PushMessage(
        device_id=device.id, platform=device.platform, token=device.token, title=title,
        body=body, apns_environment=device.apns_environment, badge=badge,
        collapse_id=f"moment-{moment.day.isoformat()}",
        data={"kind": kind, "day": moment.day.isoformat(), "time_zone": moment.time_zone,
              "at": moment.at.isoformat()},
        expires_at=moment.window_ends_at if kind == "moment" else moment.reminder_ends_at,
    )


@attrs.frozen
class PushCounts:
    queued: int = 0
    skipped: int = 0  # switched off, quiet hours, or no device


class Pushes:
    """Queues and delivers pushes. Also the ``PushSender`` the ranking announces the
    moment through."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        gateway: PushGateway,
        moment_overrides_quiet_hours: bool = True,
        session_ttl: timedelta = timedelta(days=60),
        concurrency: int = 100,
        reminder_on: Callable[[], Awaitable[bool]] | None = None,
    ) -> None:
        self._uow = uow
        self.concurrency = max(1, concurrency)  # pushes in flight per delivery job
        # Whether the second reminder is on now (the runtime setting); None: off.
        self._reminder_on = reminder_on
        self.session_ttl = session_ttl  # AccountSettings.session_ttl: idle past it is dead
        self._clock = clock
        self._gateway = gateway
        self.moment_overrides_quiet_hours = moment_overrides_quiet_hours

    # ------------------------------------------------------------ queueing

    @staticmethod
    async def enqueue_notification(tx: UnitOfWork, notification: Notification) -> None:
        """Call in the unit of work that stores the notification. A user with no device
        gets no job (a device registered later does not get old notifications)."""
        if not await tx.devices.count_for_user(notification.user_id):
            return
        await tx.jobs.enqueue(
            PushNotification(user_id=notification.user_id, notification_id=notification.id),
            max_attempts=5,
        )

    async def send(self, notification: NotificationView) -> None:
        """``PushSender.send``: queue the push of a notification already committed."""
        async with self._uow() as tx:
            await self.enqueue_notification(tx, notification.notification)

    async def send_moment(self, user_ids: list[int], moment: Moment) -> None:
        """``PushSender.send_moment``: queue the moment's push to these users, once per
        page (a page queued and not yet done is not queued twice)."""
        await self._send_page(PushMoment, "moment", user_ids, moment)

    async def send_reminder(self, user_ids: list[int], moment: Moment) -> None:
        """``PushSender.send_reminder``: queue the second reminder to those of these
        users who will not have posted for the moment by the time it is fanned out."""
        await self._send_page(PushReminder, "reminder", user_ids, moment)

    async def reminder_on(self) -> bool:
        """Whether the second reminder is on (the runtime setting ``moment_reminder``)."""
        return self._reminder_on is not None and await self._reminder_on()

    async def _send_page(
        self, kind: type[PushMoment | PushReminder], prefix: str, user_ids: list[int],
        moment: Moment,
    ) -> None:
        if not user_ids:
            return
        day, zone = moment.day.isoformat(), moment.time_zone
        async with self._uow() as tx:
            await tx.jobs.enqueue(
                kind.of(user_ids, moment),
                dedupe_key=f"{prefix}:{zone}:{day}:{user_ids[0]}", max_attempts=5,
            )

    # ------------------------------------------------------------ fan-out jobs

    async def fan_out_notification(self, job: PushNotification) -> PushCounts:
        user_id, notification_id = job.user_id, job.notification_id
        async with self._uow(read_only=True) as tx:
            views = await tx.notifications.list(user_id, notification_id + 1, 1)
            if not views or views[0].notification.id != notification_id:
                return PushCounts()  # gone with its video, comment or user
            try:
                user = await tx.users.get(user_id)
            except NotFound:
                return PushCounts()
            settings = await tx.notification_settings.get(user_id)
            devices = await tx.devices.list_for_user(user_id)
            badge = await tx.notifications.unread_count(user_id)
        view = views[0]
        kind = PUSH_KIND_OF[view.notification.kind]
        if (
            not devices or kind not in settings.enabled
            or quiet_now(settings, user.time_zone, self._clock.now())
        ):
            return PushCounts(skipped=1)
        messages = [(d.user_id, render_notification(view, d, badge)) for d in devices]
        async with self._uow() as tx:
            if not await tx.devices.claim([f"n:{notification_id}"], self._clock.now()):
                return PushCounts(skipped=1)  # fanned out already (a retried job)
            return PushCounts(queued=await self._queue(tx, messages, f"n:{notification_id}"))

    async def fan_out_moment(self, job: PushMoment) -> PushCounts:
        return await self._fan_out_page(job, "moment")

    async def fan_out_reminder(self, job: PushReminder) -> PushCounts:
        if not await self.reminder_on():
            return PushCounts(skipped=len(job.user_ids))  # switched off since
        return await self._fan_out_page(job, "reminder")

    async def _fan_out_page(self, job: PushMoment | PushReminder, prefix: str) -> PushCounts:
        """A page of the moment ("moment") or of its second reminder ("reminder")."""
        moment = job.moment
        day, zone, now = moment.day.isoformat(), moment.time_zone, self._clock.now()
        ids = list(job.user_ids)
        # Claimed in the unit of work that queues the deliveries: once per user and day,
        # whichever job, worker or instance gets there first.
        async with self._uow() as tx:
            if prefix == "reminder":  # only those who have not posted for the moment
                posted = await tx.ranking.posted_for_moment(ids, moment.at)
                ids = [u for u in ids if u not in posted]
            keys = {f"{prefix}:{u}:{day}": u for u in ids}
            claimed = await tx.devices.claim(list(keys), now) if keys else set()
            mine = [u for k, u in keys.items() if k in claimed]
            settings = await tx.notification_settings.get_many(mine) if mine else {}
            wanted = [
                u for u in mine
                if PushKind.MOMENT in settings[u].enabled and (
                    self.moment_overrides_quiet_hours
                    or not quiet_now(settings[u], zone, now))
            ]
            devices = await tx.devices.list_for_users(wanted) if wanted else []
            owners = sorted({d.user_id for d in devices})
            badges = await tx.notifications.unread_counts(owners) if owners else {}
            kind = "moment" if prefix == "moment" else "moment_reminder"
            messages = [(d.user_id, render_moment(moment, d, badges.get(d.user_id, 0), kind))
                        for d in devices]
            # Due at the moment (the reminder: when the window closes), which is before
            # any page the announcement queues after it (due when queued): the queue
            # takes jobs by due time, so a worker sends this page's pushes before it
            # fans out later pages, and the first pushes go out while the announcement
            # is still reading the zone.
            due = moment.at if prefix == "moment" else moment.window_ends_at
            queued = await self._queue(tx, messages, f"{prefix}:{day}", run_at=due)
        return PushCounts(queued=queued, skipped=len(job.user_ids) - len(owners))

    @staticmethod
    async def _queue(
        tx: UnitOfWork, messages: list[tuple[int, PushMessage]], key: str,
        run_at: datetime | None = None,
    ) -> int:
        """Queue the messages in delivery jobs of up to DELIVER_BATCH, due at ``run_at``
        (None: now); ``key`` and the device id mark each settled."""
        for start in range(0, len(messages), DELIVER_BATCH):
            batch = [PushDelivery.of(m, user_id, f"{key}:{m.device_id}")
                     for user_id, m in messages[start:start + DELIVER_BATCH]]
            await tx.jobs.enqueue(DeliverPushes(batch), run_at=run_at,
                                  max_attempts=DELIVER_ATTEMPTS)
        return len(messages)

    # ------------------------------------------------------------ delivery

    async def deliver_job(self, job: DeliverPushes) -> dict[str, int]:
        """A ``push.deliver`` job. Returns the count of each outcome; raises PushRetry
        when some are to be tried again (only those are, on the next attempt: the others
        are marked settled). When a service paused the job (a ``service_wide`` answer),
        the retry is ``paused``: not counted as an attempt, since the pushes held back
        were not tried (and the one that was got the service's answer, not its own; a
        push's own failure in the same attempt goes uncounted with them, its retry paced
        by the pause); it waits for the service's Retry-After, or ``SERVICE_PAUSE``
        without one. Time-bound pushes held that long expire rather than go out late."""
        items = job.messages
        outcomes = await self._deliver(items)
        counts: dict[str, int] = {}
        for result in filter(None, outcomes):
            counts[result.outcome.value] = counts.get(result.outcome.value, 0) + 1
        retry = [r for r in filter(None, outcomes) if r.outcome is PushOutcome.RETRY]
        if retry:
            now = self._clock.now()

            def not_before(r: PushResult) -> datetime | None:
                at = r.not_before(now)
                return now + SERVICE_PAUSE if at is None and r.service_wide else at

            paused = any(r.service_wide for r in retry)
            due = max(filter(None, map(not_before, retry)), default=None)
            later = "" if due is None else f" (not before {due.isoformat()})"
            raise PushRetry(f"{len(retry)} of {len(items)} pushes to retry: "
                            f"{retry[0].reason or 'push service unavailable'}{later}"
                            f"{'; paused by the service, not an attempt' if paused else ''}",
                            not_before=due, paused=paused)
        return counts

    async def _deliver(
        self, items: list[PushDelivery]
    ) -> list[PushResult | None]:
        """Send what is not settled yet, ``concurrency`` at a time (``_Window``), marking
        the answers as they come. Each item's result, or None when an earlier attempt
        settled it."""
        messages = [p.message for p in items]
        keys = [f"sent:{p.key}" if p.key else None for p in items]
        users = [p.user_id for p in items]
        results: list[PushResult | None] = [None] * len(items)
        now = self._clock.now()
        async with self._uow(read_only=True) as tx:
            marked = [k for k in keys if k is not None]
            settled = await tx.devices.claimed(marked) if marked else set()
            pending = [i for i, k in enumerate(keys) if k is None or k not in settled]
            # Past its time (the moment's window closed): not sent late, not looked up.
            expired = [i for i in pending
                       if (at := messages[i].expires_at) is not None and at <= now]
            over = set(expired)
            pending = [i for i in pending if i not in over]
            targets = [(messages[i].device_id, messages[i].token, users[i])
                       for i in pending if users[i] is not None]
            live = await tx.devices.deliverable_many(
                [(d, t, u) for d, t, u in targets if u is not None],
                now - self.session_ttl) if targets else set()
        for i in expired:
            results[i] = PushResult(PushOutcome.EXPIRED)
        if expired:
            log.info("pushes expired: their time is over; not sent", extra={
                "count": len(expired), "kind": messages[expired[0]].data.get("kind")})
        # None: queued before deliveries carried the user; never sent.
        dropped = [i for i in pending
                   if users[i] is None or messages[i].device_id not in live]
        for i in dropped:
            results[i] = PushResult(PushOutcome.DROPPED)
            log.info("push dropped: its device is gone, moved or signed out",
                     extra={"device": messages[i].device_id})
        gone = set(dropped)
        to_send = [i for i in pending if i not in gone]
        window = _Window(self.concurrency, messages, keys, self._gateway.deliver, self._mark)
        await window.run(to_send, [str(keys[i]) for i in (*expired, *dropped)
                                   if keys[i] is not None])
        return [r if r is not None else window.results[i] for i, r in enumerate(results)]

    async def _mark(self, done: list[str], invalid: list[PushMessage]) -> None:
        """Mark these deliveries settled, forgetting the devices of ``invalid``: one unit
        of work."""
        async with self._uow() as tx:
            for m in invalid:
                await tx.devices.delete_token(m.device_id, m.token)
                log.info("push token invalid; device forgotten", extra={"device": m.device_id})
            if done:
                await tx.devices.claim(done, self._clock.now())


class _Window:
    """One delivery job's sends as a sliding window of ``slots``: a send starts as soon
    as a slot is free, not when a whole round has answered. A slot is held from the send
    until its answer is marked settled (a RETRY frees it at once: nothing to mark), so at
    most ``slots`` pushes are ever sent and not marked, which bounds what a kill -9 sends
    twice. One marker task marks the answers (``mark``: a unit of work) in batches of at
    least a quarter of the slots, and the rest once the sends are over, while the other
    slots keep sending. The first failure stops new sends, the ones in flight are
    awaited, then it is raised: after a gateway that raised, the marker marks what was
    answered; after a failed commit the marker is gone, so the answers of its batch and
    those that arrive after it stay unmarked and the job's retry sends them again, as
    after a kill -9 (still at most ``slots``: no send starts once it failed, and each
    of them held a slot). A RETRY for the whole service (``service_wide``) stops new sends
    to that service (platform and APNs environment): the messages to it not sent yet get
    that result (held back, retried with the failures), the others go on."""

    def __init__(
        self, slots: int, messages: list[PushMessage], keys: list[str | None],
        deliver: Callable[[PushMessage], Awaitable[PushResult]],
        mark: Callable[[list[str], list[PushMessage]], Awaitable[None]],
    ) -> None:
        self._capacity = slots
        self._batch = max(1, slots // 4)
        self._slots = asyncio.Semaphore(slots)
        self._messages, self._keys = messages, keys
        self._deliver, self._mark = deliver, mark
        self.results: list[PushResult | None] = [None] * len(messages)
        self._paused: dict[tuple[Platform, ApnsEnvironment | None], PushResult] = {}
        self._answered: list[int] = []  # settled, not marked yet (each holds a slot)
        self._wake = asyncio.Event()
        self._sending = True
        self._failure: Exception | None = None

    async def run(self, to_send: list[int], settled: list[str]) -> None:
        """Send ``to_send``; ``settled``: keys to mark with the first batch (dropped)."""
        marker = asyncio.create_task(self._marker(settled), name="push-marker")
        flight: set[asyncio.Task[None]] = set()
        try:
            for i in to_send:
                if self._held(i):
                    continue
                await self._slots.acquire()
                if self._failure is not None:
                    break
                if self._held(i):  # its service asked for a pause while this waited
                    self._slots.release()
                    continue
                task = asyncio.create_task(self._send(i))
                flight.add(task)
                task.add_done_callback(flight.discard)
            if flight:
                await asyncio.wait(flight)
            self._sending = False
            self._wake.set()
            await marker
        except BaseException:  # cancelled (the worker stops): nothing more goes out
            for task in (*flight, marker):
                task.cancel()
            await asyncio.gather(*flight, marker, return_exceptions=True)
            raise
        if self._failure is not None:
            raise self._failure

    def _held(self, i: int) -> bool:
        """Whether message ``i`` waits for the retry: its service paused the job's sends."""
        pause = self._paused.get(_service(self._messages[i]))
        if pause is None:
            return False
        self.results[i] = attrs.evolve(pause, reason=f"held back ({pause.reason})")
        return True

    def _fail(self, exc: Exception) -> None:
        if self._failure is None:
            self._failure = exc
            for _ in range(self._capacity):  # the send loop may wait for a slot
                self._slots.release()

    async def _send(self, i: int) -> None:
        try:
            result = await self._deliver(self._messages[i])
        except Exception as exc:  # the port never raises; one that does stops the job
            self._slots.release()
            self._fail(exc)
            return
        self.results[i] = result
        if result.outcome is PushOutcome.RETRY:
            service = _service(self._messages[i])
            if result.service_wide and service not in self._paused:
                self._paused[service] = result  # before the slot is free: none slips by
                log.warning("push service asks to back off; this job sends it no more "
                            "until its retry", extra={
                                "platform": service[0].value, "reason": result.reason,
                                "retry_after": str(result.retry_after)})
            self._slots.release()
            return
        if result.outcome is PushOutcome.REFUSED:
            log.warning("push refused", extra={"device": self._messages[i].device_id,
                                               "reason": result.reason})
        self._answered.append(i)
        if len(self._answered) >= self._batch:
            self._wake.set()

    async def _marker(self, settled: list[str]) -> None:
        done = list(settled)
        while True:
            batch, self._answered = self._answered, []
            done += [key for i in batch if (key := self._keys[i]) is not None]
            invalid = [self._messages[i] for i in batch
                       if (r := self.results[i]) is not None
                       and r.outcome is PushOutcome.INVALID_TOKEN]
            if done or invalid:
                try:
                    await self._mark(done, invalid)
                except Exception as exc:
                    self._fail(exc)
                    return
                done = []
            for _ in batch:
                self._slots.release()
            while self._sending and len(self._answered) < self._batch:
                self._wake.clear()
                await self._wake.wait()
            if not self._sending and not self._answered:
                return


def _service(m: PushMessage) -> tuple[Platform, ApnsEnvironment | None]:
    """The service a message goes to: FCM, or APNs in one environment."""
    return m.platform, m.apns_environment if m.platform is Platform.IOS else None


def push_job_kinds(pushes: Pushes) -> list[JobKind[Any]]:
    """The worker's job kinds of pushes (``jobs.JobKind``s). A delivery's payload
    (a friend's name, the device token) is cleared once the job is settled
    (``DeliverPushes.secret``)."""
    return [
        JobKind(PushNotification, pushes.fan_out_notification),
        JobKind(PushMoment, pushes.fan_out_moment),
        JobKind(PushReminder, pushes.fan_out_reminder),
        JobKind(DeliverPushes, pushes.deliver_job),
    ]
