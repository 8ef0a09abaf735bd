"""Real peers for integration tests: an SMTP server (aiosmtpd) on a loopback port (its
pieces, ``MailSink`` and ``smtp_control``, live in tests/conftest.py), and the
environment of the ``momentic`` command (``cli_env``)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
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


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch, make_database: Callable[[], str], tmp_path: Path
) -> Iterator[str]:
    """The environment the ``momentic`` command reads, on a fresh database (its URL),
    for tests that call ``adapters.cli.main.main`` in this process."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level  # main() configures logging; put it back
    url = make_database()
    monkeypatch.setenv("MOMENTIC_DATABASE_URL", url)
    monkeypatch.setenv("MOMENTIC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MOMENTIC_SECRET", "cli-test-secret")
    monkeypatch.setenv("MOMENTIC_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("MOMENTIC_ARGON2_TIME_COST", "1")
    monkeypatch.setenv("MOMENTIC_LOG_FORMAT", "text")
    yield url
    root.handlers[:], root.level = handlers, level
