"""A mailer that keeps what it sends, for tests."""

from __future__ import annotations

import asyncio
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

    async def wait_code(self, to: str) -> str:
        """``last_code``, waiting (up to 5 s) for the mail worker to send it (PostgreSQL)."""
        async with asyncio.timeout(5.0):
            while True:
                try:
                    return self.last_code(to)
                except LookupError:
                    await asyncio.sleep(0.01)
