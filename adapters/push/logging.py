"""A ``PushSender`` that writes each push to the structured log: the stand-in until APNs
and FCM credentials exist. It logs ids and the kind only, never the text (a comment
preview is the user's words)."""

from __future__ import annotations

import logging

from momentic_core.model.engagement import NotificationView
from momentic_core.model.ranking import Moment

log = logging.getLogger("momentic.push")


class LoggingPushSender:
    def __init__(self) -> None:
        self.sent = 0

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
