"""A mailer that writes each mail to the log: the embedded default shows codes there."""

from __future__ import annotations

import logging

from momentic_core.model.accounts import Mail

log = logging.getLogger("momentic.mail")


class ConsoleMailer:
    async def send(self, mail: Mail) -> None:
        log.warning("mail to %s | %s | %s", mail.to, mail.subject, mail.text.replace("\n", " "))
