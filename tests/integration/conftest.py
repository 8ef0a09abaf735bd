"""Real peers for integration tests: an SMTP server (aiosmtpd) on a loopback port (its
pieces, ``MailSink`` and ``smtp_control``, live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest


@pytest.fixture
async def smtp_server(smtp_control: Any) -> AsyncIterator[Any]:
    """A ``MailSink`` behind a running SMTP server on a free loopback port."""
    mail_sink, start_smtp = smtp_control
    sink = mail_sink()
    server = await start_smtp(sink)
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
