"""Real peers for integration tests: an SMTP server (aiosmtpd) on a loopback port."""

from __future__ import annotations

import asyncio
import email
import re
from collections.abc import AsyncIterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP


class MailSink:
    """Keeps every message the SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    async def code_for(self, to: str, timeout: float = 5.0) -> str:
        """The 6-digit code in the newest message to ``to``, waiting for it to arrive."""
        async with asyncio.timeout(timeout):
            while True:
                for message in reversed(self.messages):
                    if message["To"] == to:
                        payload = message.get_payload(decode=True)
                        assert isinstance(payload, bytes)
                        if m := re.search(r"\b(\d{6})\b", payload.decode()):
                            return m.group(1)
                await asyncio.sleep(0.02)


async def start_smtp(sink: MailSink, port: int = 0) -> asyncio.Server:
    """Serve SMTP into ``sink`` on ``port`` (0: any free one, then in ``sink.port``)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="mail.test"), "127.0.0.1", port)
    sink.port = server.sockets[0].getsockname()[1]
    return server


@pytest.fixture
def smtp_control() -> tuple[type[MailSink], Any]:
    """``(MailSink, start_smtp)``: for a test that stops and starts its mail server."""
    return MailSink, start_smtp


@pytest.fixture
async def smtp_server() -> AsyncIterator[MailSink]:
    sink = MailSink()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="mail.test"), "127.0.0.1", 0
    )
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
