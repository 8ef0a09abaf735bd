"""SMTP mail through aiosmtplib (STARTTLS or implicit TLS, optional login)."""

from __future__ import annotations

from email.message import EmailMessage

import aiosmtplib

from momentic_core.errors import Unavailable
from momentic_core.model.accounts import Mail


class SmtpMailer:
    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        username: str | None = None,
        password: str | None = None,
        security: str = "starttls",  # "none" | "starttls" | "tls"
        timeout: float = 10.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._username = username
        self._password = password
        if security not in ("none", "starttls", "tls"):
            # Anything else would have meant neither TLS nor STARTTLS: credentials in clear.
            raise ValueError(f"SMTP security {security!r}: none, starttls or tls")
        self._security = security
        self._timeout = timeout

    async def send(self, mail: Mail) -> None:
        message = EmailMessage()
        message["From"] = self._sender
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message.set_content(mail.text)
        try:
            await aiosmtplib.send(
                message,
                hostname=self._host,
                port=self._port,
                username=self._username,
                password=self._password,
                use_tls=self._security == "tls",
                start_tls=True if self._security == "starttls" else False,
                timeout=self._timeout,
            )
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise Unavailable(f"Mail could not be sent: {type(exc).__name__}") from exc
