"""Mail through the outbox: queued with the code in one unit of work, sent by the
``send_mail`` job, retried while the mail server is down, its payload cleared once sent."""

from __future__ import annotations

import functools
from datetime import UTC, datetime, timedelta

from adapters.memory.clock import ManualClock
from adapters.memory.mail import InMemoryMailer
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from adapters.memory.videos import InMemoryJobRunner
from momentic_core.errors import Unavailable
from momentic_core.model.accounts import CodePurpose, Mail, VerificationCode
from momentic_core.model.jobs import SendMail
from momentic_core.services.mail import MAIL_ATTEMPTS, MailOutbox, queue_mail

MAIL = Mail(to="ann@example.com", subject="Your Momentic code: 123456", text="code 123456")


class FlakyMailer(InMemoryMailer):
    """Down (refusing, quoting the mail as some servers do) until ``up`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.up = False

    async def send(self, mail: Mail) -> None:
        if not self.up:
            raise Unavailable(f"550 rejected: {mail.subject}") from OSError("refused")
        await super().send(mail)


async def test_mail_waits_out_an_outage_and_its_payload_is_cleared_once_sent() -> None:
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    store = MemoryStore()
    mailer = FlakyMailer()
    runner = InMemoryJobRunner(store, clock)
    outbox = MailOutbox(runner, mailer, clock)
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        await queue_mail(tx, MAIL, clock.now())
    [job_id] = list(store.jobs)

    assert await outbox.deliver_due() == 1
    job = await runner.get(job_id)
    assert job is not None and (job.kind, job.status, job.max_attempts) == (
        SendMail.kind, "queued", MAIL_ATTEMPTS
    )
    assert job.last_error == "Unavailable: mail not sent (unavailable: OSError)"
    assert "123456" not in job.last_error  # the server's quote of the subject stays out
    assert job.payload["subject"] == MAIL.subject  # kept until it is sent

    mailer.up = True
    clock.advance(timedelta(minutes=1))
    assert await outbox.deliver_due() == 1
    assert mailer.sent == [MAIL]
    job = await runner.get(job_id)
    assert job is not None and (job.status, job.payload) == ("done", {})


async def test_mail_that_never_goes_out_dies_without_its_code() -> None:
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    store = MemoryStore()
    runner = InMemoryJobRunner(store, clock)
    outbox = MailOutbox(runner, FlakyMailer(), clock)
    async with InMemoryUnitOfWork(store, clock=clock) as tx:
        await queue_mail(tx, MAIL, clock.now())
    [job_id] = list(store.jobs)
    for _ in range(MAIL_ATTEMPTS):
        assert await outbox.deliver_due() == 1
        clock.advance(timedelta(days=1))
    job = await runner.get(job_id)
    assert job is not None and (job.status, job.attempts, job.payload) == (
        "dead", MAIL_ATTEMPTS, {}
    )


async def test_a_code_replaced_before_its_mail_went_out_is_not_mailed() -> None:
    """Two codes for one address (a double tap on sign-up): mail workers may take both
    mails at once and send them in either order, so the first code's mail, whose code the
    second replaced, is dropped when its turn comes; the last mail holds the valid code.
    A mail without a code goes out as ever."""
    clock = ManualClock(datetime(2026, 11, 27, 12, tzinfo=UTC))
    store = MemoryStore()
    mailer = InMemoryMailer()

    uow = functools.partial(InMemoryUnitOfWork, store, clock=clock)
    outbox = MailOutbox(InMemoryJobRunner(store, clock), mailer, clock, uow)
    mails = []
    for n in (1, 2):
        code = VerificationCode(
            user_id=7, purpose=CodePurpose.VERIFY_EMAIL, code_hash=f"hash {n}",
            created_at=clock.now(), expires_at=clock.now() + timedelta(minutes=15),
        )
        mails.append(Mail(to="ann@example.com", subject=f"code {n}", text=f"code {n}"))
        async with uow() as tx:
            await tx.codes.put(code)  # replaces the first
            await queue_mail(tx, mails[-1], clock.now(), mailed=code)
    async with uow() as tx:
        await queue_mail(tx, MAIL, clock.now())

    assert await outbox.deliver_due() == 3
    assert mailer.sent == [mails[1], MAIL]
    assert all(row.job.payload == {} for row in store.jobs.values())  # no code kept
