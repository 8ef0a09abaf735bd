"""Bad configuration stops ``momentic`` at once: one line on stderr, status 1, no traceback,
nothing started (issue 18 item 2). And STARTTLS in any spelling never sends in clear."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP

from adapters.config import Settings
from adapters.mail.smtp import SmtpMailer
from momentic_core.errors import Unavailable
from momentic_core.model.accounts import Mail

ROOT = Path(__file__).resolve().parents[2]


def _momentic(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTIC_")}
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli.main", *args],
        env=clean | {"MOMENTIC_DATA_DIR": str(tmp_path / "data")} | env,
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )


@pytest.mark.parametrize(
    ("args", "env", "line"),
    [
        (["migrate"], {"MOMENTIC_DATABSE_URL": "postgresql://db/momentic"},
         "MOMENTIC_DATABSE_URL: no such setting (did you mean MOMENTIC_DATABASE_URL?)"),
        (["serve"], {"MOMENTIC_HOST": "0.0.0.0"},
         "MOMENTIC_DATABASE_URL: not set, and the embedded database is refused when serving "
         "on 0.0.0.0 (not loopback); set MOMENTIC_DATABASE_URL, or "
         "MOMENTIC_ALLOW_EMBEDDED_DATABASE=1"),
        (["migrate"], {"MOMENTIC_CONTAINER": "1"},
         "MOMENTIC_DATABASE_URL: not set, and the embedded database is refused in the "
         "container image (its data would be lost with the container); set "
         "MOMENTIC_DATABASE_URL, or MOMENTIC_ALLOW_EMBEDDED_DATABASE=1"),
        (["serve"], {"MOMENTIC_MEMORY": "1", "MOMENTIC_LOG_LEVEL": "loud"},
         "MOMENTIC_LOG_LEVEL: 'loud' is not one of DEBUG, INFO, WARNING, ERROR"),
        (["serve"], {"MOMENTIC_DATABASE_URL": "mysql://root@db/momentic"},
         "MOMENTIC_DATABASE_URL: 'mysql://root@db/momentic' is not a postgres or postgresql "
         "URL with a host"),
        (["serve"], {"MOMENTIC_MEMORY": "1", "MOMENTIC_MOMENT_START_HOUR": "22"},
         "MOMENTIC_MOMENT_START_HOUR: moment hours 22..21 are not 0 <= "
         "MOMENTIC_MOMENT_START_HOUR < MOMENTIC_MOMENT_END_HOUR <= 24"),
        (["serve"], {"MOMENTIC_MEMORY": "1", "MOMENTIC_SMTP_SECURITY": "startls"},
         "MOMENTIC_SMTP_SECURITY: 'startls' is not one of none, starttls, tls"),
    ],
)
def test_the_cli_refuses_bad_settings_in_one_line(
    tmp_path: Path, args: list[str], env: dict[str, str], line: str
) -> None:
    done = _momentic(tmp_path, *args, **env)
    assert done.returncode == 1
    assert done.stderr == line + "\n"
    assert done.stdout == ""
    assert not (tmp_path / "data").exists()  # no embedded server, no key, nothing


async def test_starttls_in_capitals_refuses_a_server_without_it() -> None:
    """A server that offers no STARTTLS gets no mail (and no password) at all."""
    received: list[bytes] = []

    class Sink:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            received.append(getattr(envelope, "content", b""))
            return "250 OK"

    server = await asyncio.get_running_loop().create_server(
        lambda: SMTP(Sink(), hostname="mail.test", auth_require_tls=False), "127.0.0.1", 0
    )
    try:
        port = server.sockets[0].getsockname()[1]
        settings = Settings.from_env({"MOMENTIC_MEMORY": "1",
                                      "MOMENTIC_SMTP_SECURITY": "STARTTLS"})
        assert settings.smtp_security == "starttls"
        mailer = SmtpMailer("127.0.0.1", port, "x@test", security=settings.smtp_security,
                            timeout=5)
        with pytest.raises(Unavailable):
            await mailer.send(Mail(to="ann@bsu.by", subject="code", text="123456"))
        assert received == []
    finally:
        server.close()
        await server.wait_closed()


def test_the_mailer_refuses_an_unknown_security() -> None:
    with pytest.raises(ValueError, match="none, starttls or tls"):
        SmtpMailer("127.0.0.1", 25, "x@test", security="STARTTLS")
