"""Mail handed over in the background: a request never waits on SMTP, so an address with
an account answers as fast as one without, and a slow mail server slows no sign-up."""

from __future__ import annotations

import asyncio
import logging

from momentic_core.errors import MomenticError
from momentic_core.model.accounts import Mail
from momentic_core.ports import Mailer

log = logging.getLogger("momentic.mail")


class BackgroundMailer:
    def __init__(self, inner: Mailer) -> None:
        self._inner = inner
        self._tasks: set[asyncio.Task[None]] = set()

    async def send(self, mail: Mail) -> None:
        task = asyncio.create_task(self._deliver(mail))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, mail: Mail) -> None:
        try:
            await self._inner.send(mail)
        except MomenticError as exc:
            # No traceback: an SMTP refusal may quote the subject, which holds the code.
            log.error("mail not sent", extra={"error_code": exc.code})

    async def drain(self) -> None:
        """Wait (up to 10 s) for mail still being handed over, at shutdown."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=10.0)
