"""Durable push delivery: every push goes through the job queue.

A notification's push job is queued in the unit of work that stores the notification
(``Notifier``), so it exists if and only if the notification does. Three job kinds:

- ``push.notification``: one notification to its user's devices: dropped when the user
  switched that kind off or it falls in their quiet hours (the in-app list keeps it
  either way); otherwise one ``push.deliver`` job per device, rendered in the device's
  language (else English), with the unread count as the badge and a deep link;
- ``push.moment``: the daily moment to a page of users of one zone (``send_moment``,
  which the hourly announcement calls per page);
- ``push.deliver``: one message to one device through the ``PushGateway``, sent only if
  that device (id, token and user) is still registered and its session is neither
  revoked nor idle past the session's time to live, looked up when it is sent: a token
  that moved to another account (a shared phone), a signed-out session, an expired one
  or a deleted device drops its queued and retrying pushes (logged). A passing
  failure (5xx, 429, timeout) raises, so the worker retries it with exponential backoff
  until ``max_attempts``; a permanent refusal is logged and never retried; a token the
  service calls unregistered (APNs 410 / ``Unregistered``, FCM ``UNREGISTERED``) is
  deleted with its device row (that id only).

A fan-out happens once: it claims its key (``moment:<user>:<day>``, ``n:<notification>``)
in the unit of work that queues its deliveries, so a retried fan-out, or the same page
taken by two instances, queues nothing twice, and a crash before the commit leaves the
key free for the retry. A delivery is at least once: a worker that dies after the
service accepted a push but before the job settled sends it again when the lease runs
out; the collapse id makes the phone show it once.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta
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
)
from momentic_core.model.engagement import Notification, NotificationView
from momentic_core.model.ranking import Moment
from momentic_core.policies import push_text
from momentic_core.ports import Clock, PushGateway, UnitOfWork, UnitOfWorkFactory
from momentic_core.services.jobs import JobKind

log = logging.getLogger(__name__)

PUSH_NOTIFICATION = "push.notification"
PUSH_MOMENT = "push.moment"
PUSH_DELIVER = "push.deliver"
DELIVER_ATTEMPTS = 6  # with the worker's backoff (5 s doubling): about 2.5 minutes


class PushRetry(Exception):
    """A passing failure of the push service: the job is tried again later."""


def message_payload(m: PushMessage, user_id: int) -> dict[str, Any]:
    return {
        "user_id": user_id, "device_id": m.device_id, "platform": m.platform.value,
        "token": m.token,
        "title": m.title, "body": m.body,
        "apns_environment": None if m.apns_environment is None else m.apns_environment.value,
        "badge": m.badge, "collapse_id": m.collapse_id, "data": dict(m.data),
    }


def message_of(p: dict[str, Any]) -> PushMessage:
    env = p.get("apns_environment")
    return PushMessage(
        device_id=int(p["device_id"]), platform=Platform(p["platform"]), token=p["token"],
        title=p["title"], body=p["body"],
        apns_environment=None if env is None else ApnsEnvironment(env),
        badge=p.get("badge"), collapse_id=p.get("collapse_id"), data=dict(p.get("data", {})),
    )


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


def render_moment(moment: Moment, device: Device, badge: int) -> PushMessage:
    title, body = push_text.render("moment", device.locale)
    return PushMessage(
        device_id=device.id, platform=device.platform, token=device.token, title=title,
        body=body, apns_environment=device.apns_environment, badge=badge,
        collapse_id=f"moment-{moment.day.isoformat()}",
        data={"kind": "moment", "day": moment.day.isoformat(), "time_zone": moment.time_zone,
              "at": moment.at.isoformat()},
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
    ) -> None:
        self._uow = uow
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
            PUSH_NOTIFICATION,
            {"user_id": notification.user_id, "notification_id": notification.id},
            max_attempts=5,
        )

    async def send(self, notification: NotificationView) -> None:
        """``PushSender.send``: queue the push of a notification already committed."""
        async with self._uow() as tx:
            await self.enqueue_notification(tx, notification.notification)

    async def send_moment(self, user_ids: list[int], moment: Moment) -> None:
        """``PushSender.send_moment``: queue the moment's push to these users, once per
        page (a page queued and not yet done is not queued twice)."""
        if not user_ids:
            return
        day, zone = moment.day.isoformat(), moment.time_zone
        async with self._uow() as tx:
            await tx.jobs.enqueue(
                PUSH_MOMENT, {"user_ids": list(user_ids), "zone": zone, "day": day,
                              "at": moment.at.isoformat(),
                              "window": moment.window.total_seconds()},
                dedupe_key=f"moment:{zone}:{day}:{user_ids[0]}", max_attempts=5,
            )

    # ------------------------------------------------------------ fan-out jobs

    async def fan_out_notification(self, payload: dict[str, Any]) -> PushCounts:
        user_id, notification_id = int(payload["user_id"]), int(payload["notification_id"])
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
            return PushCounts(queued=await self._queue(tx, messages))

    async def fan_out_moment(self, payload: dict[str, Any]) -> PushCounts:
        zone = str(payload["zone"])
        moment = Moment(
            day=date.fromisoformat(payload["day"]), time_zone=zone,
            at=datetime.fromisoformat(payload["at"]),
            window=timedelta(seconds=float(payload["window"])),
        )
        now = self._clock.now()
        messages: list[tuple[int, PushMessage]] = []
        ids = [int(u) for u in payload["user_ids"]]
        # Claimed in the unit of work that queues the deliveries: once per user and day,
        # whichever job, worker or instance gets there first.
        async with self._uow() as tx:
            keys = {f"moment:{u}:{moment.day.isoformat()}": u for u in ids}
            claimed = await tx.devices.claim(list(keys), now)
            mine = [u for k, u in keys.items() if k in claimed]
            skipped = len(ids) - len(mine)
            for user_id in mine:
                settings = await tx.notification_settings.get(int(user_id))
                if PushKind.MOMENT not in settings.enabled or (
                    not self.moment_overrides_quiet_hours and quiet_now(settings, zone, now)
                ):
                    skipped += 1
                    continue
                devices = await tx.devices.list_for_user(int(user_id))
                if not devices:
                    skipped += 1
                    continue
                badge = await tx.notifications.unread_count(int(user_id))
                messages += [(d.user_id, render_moment(moment, d, badge)) for d in devices]
            queued = await self._queue(tx, messages)
        return PushCounts(queued=queued, skipped=skipped)

    @staticmethod
    async def _queue(tx: UnitOfWork, messages: list[tuple[int, PushMessage]]) -> int:
        for user_id, m in messages:
            await tx.jobs.enqueue(PUSH_DELIVER, message_payload(m, user_id),
                                  max_attempts=DELIVER_ATTEMPTS)
        return len(messages)

    # ------------------------------------------------------------ delivery

    async def deliver(self, payload: dict[str, Any]) -> PushOutcome:
        """Raises PushRetry on a passing failure (the worker tries again later)."""
        message = message_of(payload)
        user_id = payload.get("user_id")  # None: queued before deliveries carried it
        async with self._uow(read_only=True) as tx:
            live = user_id is not None and await tx.devices.deliverable(
                message.device_id, message.token, int(user_id),
                self._clock.now() - self.session_ttl)
        if not live:
            log.info("push dropped: its device is gone, moved or signed out",
                     extra={"device": message.device_id})
            return PushOutcome.DROPPED
        result = await self._gateway.deliver(message)
        if result.outcome is PushOutcome.RETRY:
            raise PushRetry(result.reason or "push service unavailable")
        if result.outcome is PushOutcome.INVALID_TOKEN:
            async with self._uow() as tx:
                await tx.devices.delete_token(message.device_id, message.token)
            log.info("push token invalid; device forgotten",
                     extra={"device": message.device_id, "reason": result.reason})
        elif result.outcome is PushOutcome.REFUSED:
            log.warning("push refused", extra={"device": message.device_id,
                                               "reason": result.reason})
        return result.outcome


def push_job_kinds(pushes: Pushes) -> dict[str, JobKind]:
    """The worker's job kinds of pushes (``jobs.JobKind``s). A delivery's payload
    (a friend's name, the device token) is cleared once the job is settled."""
    return {
        PUSH_NOTIFICATION: JobKind(run=pushes.fan_out_notification),
        PUSH_MOMENT: JobKind(run=pushes.fan_out_moment),
        PUSH_DELIVER: JobKind(run=pushes.deliver, secret=True),
    }
