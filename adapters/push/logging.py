"""A push gateway that writes each push to the structured log: the development default
(no APNs or FCM credentials). It logs ids and the kind only, never the text (a push can
name a friend)."""

from __future__ import annotations

import logging

from momentic_core.model.devices import PushMessage, PushOutcome, PushResult
from momentic_core.model.engagement import NotificationView
from momentic_core.model.ranking import Moment

log = logging.getLogger("momentic.push")


class LoggingPushSender:
    def __init__(self) -> None:
        self.sent = 0
        self.delivered: list[PushMessage] = []  # what ``deliver`` took (tests read it)

    async def deliver(self, message: PushMessage) -> PushResult:
        self.sent += 1
        self.delivered.append(message)
        log.info("push", extra={"device": message.device_id, "platform": message.platform.value,
                                "kind": message.data.get("kind"), "badge": message.badge})
        return PushResult(PushOutcome.SENT)

    async def send(self, notification: NotificationView) -> None:
        n = notification.notification
        self.sent += 1
        log.info(
            "push",
            extra={"user": n.user_id, "kind": n.kind.value, "notification": n.id},
        )

    async def send_moment(self, user_ids: list[int], moment: Moment) -> None:
        self.sent += len(user_ids)
        log.info(
            "moment push",
            extra={"users": len(user_ids), "time_zone": moment.time_zone,
                   "moment": moment.at.isoformat()},
        )

    async def reminder_on(self) -> bool:
        return True

    async def send_reminder(self, user_ids: list[int], moment: Moment) -> None:
        self.sent += len(user_ids)
        log.info(
            "moment reminder push",
            extra={"users": len(user_ids), "time_zone": moment.time_zone,
                   "moment": moment.at.isoformat()},
        )
