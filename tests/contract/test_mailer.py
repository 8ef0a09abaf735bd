"""The Mailer contract, on the in-memory mailer and on SMTP to a real test server."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import AsyncIterator
from email.message import Message
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from adapters.mail.smtp import SmtpMailer
from adapters.memory.mail import InMemoryMailer
from momentic_core.errors import Unavailable
from momentic_core.model.accounts import Mail


class _Sink:
    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


@pytest.fixture(params=["memory", "smtp"])
async def mailer_and_inbox(request: pytest.FixtureRequest) -> AsyncIterator[tuple[Any, Any]]:
    if request.param == "memory":
        mailer = InMemoryMailer()
        yield mailer, lambda: [(m.to, m.subject, m.text) for m in mailer.sent]
        return
    sink = _Sink()
    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(sink, hostname="mail.test"), "127.0.0.1", 0
    )
    port = server.sockets[0].getsockname()[1]

    def inbox() -> list[tuple[str, str, str]]:
        out = []
        for m in sink.messages:
            assert isinstance(m, email.message.EmailMessage)
            body = m.get_content().replace("\r\n", "\n").rstrip("\n")
            out.append((str(m["To"]), str(m["Subject"]), body))
        return out

    try:
        yield SmtpMailer("127.0.0.1", port, "Momentic <no-reply@test>", security="none"), inbox
    finally:
        server.close()
        await server.wait_closed()


async def test_a_sent_mail_arrives_whole(mailer_and_inbox: tuple[Any, Any]) -> None:
    mailer, inbox = mailer_and_inbox
    await mailer.send(Mail(to="ann@bsu.by", subject="Your code: 123456",
                           text="Your code is 123456.\nIt expires in 15 minutes."))
    await mailer.send(Mail(to="bob@bsu.by", subject="Ünïcode ✓", text="Привет"))
    assert inbox() == [
        ("ann@bsu.by", "Your code: 123456", "Your code is 123456.\nIt expires in 15 minutes."),
        ("bob@bsu.by", "Ünïcode ✓", "Привет"),
    ]


async def test_an_unreachable_smtp_server_is_unavailable() -> None:
    mailer = SmtpMailer("127.0.0.1", 1, "x@test", security="none", timeout=2)
    with pytest.raises(Unavailable):
        await mailer.send(Mail(to="ann@bsu.by", subject="s", text="t"))
