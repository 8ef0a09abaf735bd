"""Codes, tokens and passwords never reach the log when mail goes by SMTP (with the
console mailer, writing codes to the log is the point), even when the mail server
refuses a message and quotes it back."""

from __future__ import annotations

import asyncio
import email
import logging
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.logs import JsonFormatter

PASSWORD = "correct horse battery"


class QuotingSink:
    """Keeps every message; with ``refuse``, answers DATA with a 550 that quotes the
    subject, as some content filters do."""

    def __init__(self, refuse: bool) -> None:
        self.refuse = refuse
        self.codes: list[str] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content)
        subject = str(message["Subject"])
        if m := re.search(r"\b(\d{6})\b", subject):
            self.codes.append(m.group(1))
        return f"550 5.7.1 Rejected: {subject}" if self.refuse else "250 OK"


@pytest.fixture(params=[False, True], ids=["delivered", "refused"])
async def sink(request: pytest.FixtureRequest) -> AsyncIterator[QuotingSink]:
    sink = QuotingSink(refuse=request.param)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="mail.test"), "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()


async def _mails(sink: QuotingSink, count: int) -> None:
    """Mail goes out through the outbox (on the in-memory backend as the request ends):
    wait for it to arrive."""
    async with asyncio.timeout(5):
        while len(sink.codes) < count:
            await asyncio.sleep(0.01)


async def test_the_log_holds_no_code_token_or_password(
    aiohttp_client: Any, caplog: pytest.LogCaptureFixture, sink: QuotingSink, tmp_path: Path
) -> None:
    settings = Settings(
        memory=True, smtp_host="127.0.0.1", smtp_port=sink.port, smtp_security="none",
        data_dir=str(tmp_path), argon2_time_cost=1, argon2_memory_kib=1024,
    )
    client = await aiohttp_client(create_app(Composition(settings)))
    addr = "quiet@bsu.by"

    with caplog.at_level(logging.DEBUG):
        await client.post("/v1/auth/register", json={"email": addr, "password": PASSWORD})
        await _mails(sink, 1)
        code = sink.codes[-1]
        r = await client.post("/v1/auth/verify",
                              json={"email": addr, "code": code, "password": PASSWORD})
        assert r.status == 200, await r.text()
        tokens = await r.json()
        body = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
        await client.post("/v1/auth/token", json=body)
        await client.post("/v1/auth/token", json=body)  # reuse: logged, the token is not
        await client.post("/v1/auth/password-reset", json={"email": addr})
        await _mails(sink, 2)
        await client.post("/v1/auth/token",
                          json={"grant_type": "password", "email": addr, "password": PASSWORD})

    secrets = [PASSWORD, tokens["access_token"], tokens["refresh_token"], *sink.codes]
    assert len(sink.codes) == 2
    ours = [r for r in caplog.records if r.name != "mail.log"]  # not the test SMTP server's
    text = "\n".join(JsonFormatter().format(record) for record in ours)
    assert "momentic.access" in text
    assert [s[:12] for s in secrets if s in text] == []
