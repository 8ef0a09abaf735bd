"""A mailer that keeps what it sends, for tests."""

from __future__ import annotations

import re

from momentic_core.model.accounts import Mail


class InMemoryMailer:
    def __init__(self) -> None:
        self.sent: list[Mail] = []

    async def send(self, mail: Mail) -> None:
        self.sent.append(mail)

    def last_code(self, to: str) -> str:
        """The 6-digit code in the newest mail to ``to``."""
        for mail in reversed(self.sent):
            if mail.to == to and (m := re.search(r"\b(\d{6})\b", mail.text)):
                return m.group(1)
        raise LookupError(f"no code mailed to {to}")
