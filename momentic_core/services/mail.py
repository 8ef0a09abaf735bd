"""Outgoing mail through an outbox: the job queue.

A use case queues its mail with ``queue_mail`` inside the unit of work that makes what the
mail carries (a verification code): both commit together or neither does. A ``send_mail``
job hands it to the ``Mailer``; when the mail server is down the job fails and the worker
retries it with exponential backoff (``MAIL_ATTEMPTS`` tries: about three hours), so no
code is lost. The payload holds the mail, code and all, only until it is sent: ``SendMail``
is a ``secret`` kind, so the worker clears its payload when it is done (or dead). A code's
mail that finds its code replaced when its turn comes is dropped (``mail_job_kinds``).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from momentic_core.errors import MomenticError, Unavailable
from momentic_core.model.accounts import Mail, VerificationCode
from momentic_core.model.jobs import SendMail
from momentic_core.ports import Clock, JobRunner, Mailer, UnitOfWork, UnitOfWorkFactory
from momentic_core.services.jobs import JobKind, Worker

log = logging.getLogger(__name__)

# Backoff 5 s doubling: the 12th try comes about 2 h 50 min after the first.
MAIL_ATTEMPTS = 12


async def queue_mail(
    tx: UnitOfWork, mail: Mail, now: datetime, mailed: VerificationCode | None = None
) -> None:
    """Queue ``mail`` in the caller's unit of work; a cheap insert, whatever the address.
    A mail that carries the code ``mailed`` (just stored) is sent only while it is still
    the user's code of that purpose (``mail_job_kinds``)."""
    await tx.jobs.enqueue(SendMail.of(mail, mailed), run_at=now, max_attempts=MAIL_ATTEMPTS)


def mail_job_kinds(mailer: Mailer, uow: UnitOfWorkFactory | None = None) -> list[JobKind[Any]]:
    """With ``uow``, a mail whose code was replaced (or spent) before it went out is
    dropped: mail workers (one per instance) may take two mails to one address at once and
    send them in either order, and the newer code's mail is on its way, so only mail with
    the valid code goes out and the last mail holds it."""

    async def current(job: SendMail) -> bool:
        if job.mailed is None or uow is None:
            return True
        async with uow(read_only=True) as tx:
            stored = await tx.codes.get(job.mailed.user_id, job.mailed.purpose)
        return stored is not None and stored.code_hash == job.mailed.code_hash

    async def send(job: SendMail) -> None:
        if not await current(job):
            log.info("a replaced code's mail dropped")
            return
        try:
            await mailer.send(job.mail)
        except MomenticError as exc:
            # Only the error's code reaches the job's last_error and the log: a mail server's
            # refusal may quote the subject, which holds the code.
            cause = f": {type(exc.__cause__).__name__}" if exc.__cause__ is not None else ""
            raise Unavailable(f"mail not sent ({exc.code}{cause})") from None

    return [JobKind(SendMail, send)]


class MailOutbox:
    """Delivers queued mail: ``deliver_due`` sends every due mail now, ``worker`` runs only
    mail (an instance's mail worker, so a long transcode never holds back a code)."""

    def __init__(
        self, runner: JobRunner, mailer: Mailer, clock: Clock,
        uow: UnitOfWorkFactory | None = None,
    ) -> None:
        self.worker = Worker(runner=runner, kinds=mail_job_kinds(mailer, uow), clock=clock)

    async def deliver_due(self) -> int:
        """Run due mail jobs until none is left; how many ran (sent or failed)."""
        ran = 0
        while await self.worker.run_once() is not None:
            ran += 1
        return ran
