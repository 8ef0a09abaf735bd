"""The account use cases on real PostgreSQL under concurrency: what the in-memory unit of
work (serial by construction) cannot show."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from typing import Any

import asyncpg
import pytest
from config_support import runtime_config

from adapters.crypto.passwords import Argon2PasswordHasher
from adapters.crypto.tokens import JoseTokenSigner, load_or_create_key
from adapters.memory.clock import ManualClock
from adapters.memory.mail import InMemoryMailer
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.postgres.uow import PostgresUnitOfWork
from adapters.postgres.videos import PostgresJobRunner
from momentic_core.errors import Invalid, MomenticError
from momentic_core.services.accounts import Accounts, DeviceInfo
from momentic_core.services.mail import MailOutbox
from momentic_core.services.throttle import Throttle

PASSWORD = "correct horse battery"
DEVICE = DeviceInfo(ip="203.0.113.7", name="phone")


@pytest.fixture
def mailer() -> InMemoryMailer:
    return InMemoryMailer()


@pytest.fixture
def accounts(clean_pg_pool: asyncpg.Pool, mailer: InMemoryMailer) -> Accounts:
    clock = ManualClock()
    uow = functools.partial(PostgresUnitOfWork, clean_pg_pool)
    config = runtime_config(uow, clock)
    return Accounts(
        uow=uow,
        hasher=Argon2PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1),
        tokens=JoseTokenSigner(load_or_create_key(None, None)),
        clock=clock,
        throttle=Throttle(InMemoryRateLimiter(clock), multiplier=100, config=config),
        config=config,
        mail_queued=MailOutbox(
            PostgresJobRunner(clean_pg_pool, clock), mailer, clock, uow
        ).deliver_due,
    )


class Gate:
    """Holds each caller until ``parties`` have arrived, or ``patience`` seconds passed."""

    def __init__(self, parties: int, patience: float = 0.3) -> None:
        self._parties = parties
        self._patience = patience
        self._arrived = 0
        self._all_in = asyncio.Event()

    async def pass_(self) -> None:
        self._arrived += 1
        if self._arrived >= self._parties:
            self._all_in.set()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._all_in.wait(), self._patience)


class GatedCodeReads(PostgresUnitOfWork):
    """A unit of work whose ``codes.get`` waits at a gate after reading, so that concurrent
    reads surely overlap: without a row lock they all see the same code; with one, the
    first holds the others back inside their read and the gate just times out."""

    def __init__(
        self, pool: asyncpg.Pool, gate: Gate, read_only: bool = False, may_lag: bool = False
    ) -> None:
        super().__init__(pool, read_only=read_only, may_lag=may_lag)
        self._gate = gate

    async def __aenter__(self) -> GatedCodeReads:
        await super().__aenter__()
        read = self.codes.get

        async def get(*args: Any) -> Any:
            code = await read(*args)
            await self._gate.pass_()
            return code

        self.codes.get = get  # type: ignore[method-assign]
        return self


def _outcomes(results: list[Any]) -> list[str]:
    return [type(r).__name__ if isinstance(r, BaseException) else "ok" for r in results]


async def test_a_reset_code_is_spent_once_by_concurrent_confirmations(
    accounts: Accounts, mailer: InMemoryMailer, clean_pg_pool: asyncpg.Pool
) -> None:
    email = "race@example.com"
    await accounts.create_user(email, PASSWORD)
    await accounts.request_password_reset(email, DEVICE)
    code = mailer.last_code(email)
    gate = Gate(parties=6)
    accounts._uow = lambda **kw: GatedCodeReads(clean_pg_pool, gate, **kw)

    results = await asyncio.gather(
        *(accounts.reset_password(email, code, f"new horse battery {i}", DEVICE)
          for i in range(6)),
        return_exceptions=True,
    )

    assert sorted(_outcomes(results)) == ["Invalid"] * 5 + ["ok"], results
    assert all(r.code == "invalid_code" for r in results if isinstance(r, Invalid))


async def test_a_verification_code_is_spent_once_by_concurrent_verifications(
    accounts: Accounts, mailer: InMemoryMailer
) -> None:
    email = "twice@example.com"
    await accounts.register(email, PASSWORD, DEVICE)
    code = mailer.last_code(email)

    results = await asyncio.gather(
        *(accounts.verify_email(email, code, PASSWORD, DEVICE) for _ in range(6)),
        return_exceptions=True,
    )

    assert sorted(_outcomes(results)) == ["Invalid"] * 5 + ["ok"], results


async def test_concurrent_sign_ups_with_one_new_address_all_answer_alike(
    accounts: Accounts, mailer: InMemoryMailer
) -> None:
    email = "double-tap@example.com"

    results = await asyncio.gather(
        *(accounts.register(email, PASSWORD, DEVICE) for _ in range(4)),
        return_exceptions=True,
    )

    errors = [r for r in results if isinstance(r, MomenticError)]
    assert errors == [], [(e.code, e.detail) for e in errors]
    code = mailer.last_code(email)
    await accounts.verify_email(email, code, PASSWORD, DEVICE)
