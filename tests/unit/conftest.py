"""Fixtures for the unit suite: the account use cases on the in-memory adapters.

Everything here is a real, small implementation of a port (memory store, manual clock,
mailer that keeps its mail, cheap argon2id); the only stand-in is ``FakeIdTokenVerifier``,
which plays Apple and Google without any keys or network.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import pytest
from config_support import runtime_config

from adapters.crypto.passwords import Argon2PasswordHasher
from adapters.crypto.tokens import JoseTokenSigner, load_or_create_key
from adapters.memory.clock import ManualClock
from adapters.memory.mail import InMemoryMailer
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from adapters.memory.videos import InMemoryJobRunner
from momentic_core.errors import Invalid, Unauthenticated
from momentic_core.model.accounts import Role, TokenPair, User, VerifiedIdToken
from momentic_core.ports import UnitOfWorkFactory
from momentic_core.services.accounts import Accounts, AccountSettings, DeviceInfo
from momentic_core.services.config import Config
from momentic_core.services.mail import MailOutbox
from momentic_core.services.profiles import Profiles
from momentic_core.services.throttle import Throttle

PASSWORD = "correct horse battery"
DEVICE = DeviceInfo(ip="203.0.113.7", name="Pixel 8")


class FakeIdTokenVerifier:
    """An ``IdTokenVerifier`` that knows the ID tokens a test hands it.

    ``tokens`` maps an ID token string to what it proves. The token ``"bad"`` (and any
    token it does not know, or one presented to another provider) is refused the way the
    real verifier refuses a forged or expired token."""

    PROVIDERS = ("apple", "google")

    def __init__(self) -> None:
        self.tokens: dict[str, VerifiedIdToken] = {}
        self.nonces: list[str | None] = []

    def issue(
        self,
        token: str,
        *,
        subject: str,
        email: str | None,
        email_verified: bool = True,
        provider: str = "google",
    ) -> str:
        self.tokens[token] = VerifiedIdToken(
            provider=provider, subject=subject, email=email, email_verified=email_verified
        )
        return token

    async def verify(self, provider: str, id_token: str, nonce: str | None) -> VerifiedIdToken:
        if provider not in self.PROVIDERS:
            raise Invalid("Unknown sign-in provider.", code="unknown_provider")
        self.nonces.append(nonce)
        verified = self.tokens.get(id_token)
        if id_token == "bad" or verified is None or verified.provider != provider:
            raise Unauthenticated("The ID token is not valid.", code="invalid_id_token")
        return verified


@pytest.fixture(scope="session")
def hasher() -> Argon2PasswordHasher:
    return Argon2PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(scope="session")
def signer() -> JoseTokenSigner:
    return JoseTokenSigner(load_or_create_key(None, None))


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def uow(store: MemoryStore) -> UnitOfWorkFactory:
    return functools.partial(InMemoryUnitOfWork, store)


@pytest.fixture
def mailer() -> InMemoryMailer:
    return InMemoryMailer()


@pytest.fixture
def limiter(clock: ManualClock) -> InMemoryRateLimiter:
    return InMemoryRateLimiter(clock)


@pytest.fixture
def config(uow: UnitOfWorkFactory, clock: ManualClock) -> Config:
    return runtime_config(uow, clock)


@pytest.fixture
def throttle(limiter: InMemoryRateLimiter, config: Config) -> Throttle:
    return Throttle(limiter, config=config)


@pytest.fixture
def id_tokens() -> FakeIdTokenVerifier:
    return FakeIdTokenVerifier()


@pytest.fixture
def make_accounts(
    store: MemoryStore,
    uow: UnitOfWorkFactory,
    hasher: Argon2PasswordHasher,
    signer: JoseTokenSigner,
    mailer: InMemoryMailer,
    clock: ManualClock,
    throttle: Throttle,
    config: Config,
    id_tokens: FakeIdTokenVerifier,
) -> Callable[..., Accounts]:
    """``Accounts`` on the shared store, with ``AccountSettings`` fields overridden (and
    other runtime settings: ``config=runtime_config(...)``)."""

    def make(config: Config = config, **settings: Any) -> Accounts:
        return Accounts(
            uow=uow,
            hasher=hasher,
            tokens=signer,
            clock=clock,
            throttle=throttle,
            config=config,
            id_tokens=id_tokens,
            settings=AccountSettings(**settings),
            # Queued mail goes out as the request ends, so a test reads the code at once.
            mail_queued=MailOutbox(
                InMemoryJobRunner(store, clock), mailer, clock, uow
            ).deliver_due,
        )

    return make


@pytest.fixture
def accounts(make_accounts: Callable[..., Accounts]) -> Accounts:
    return make_accounts()


@pytest.fixture
def profiles(
    uow: UnitOfWorkFactory, clock: ManualClock, hasher: Argon2PasswordHasher, throttle: Throttle
) -> Profiles:
    return Profiles(uow=uow, clock=clock, hasher=hasher, throttle=throttle)


@pytest.fixture
def signup(accounts: Accounts, mailer: InMemoryMailer) -> Callable[..., Awaitable[TokenPair]]:
    """Register and verify through the public use cases; returns the first TokenPair."""

    async def signup(
        email: str = "ann@example.com", password: str = PASSWORD, device: DeviceInfo = DEVICE
    ) -> TokenPair:
        await accounts.register(email, password, device)
        code = mailer.last_code(email.strip().lower())
        return await accounts.verify_email(email, code, password, device)

    return signup


@pytest.fixture
def set_user(store: MemoryStore) -> Callable[..., User]:
    """Change a stored user directly, as an operator (or a moderation feature) would."""

    def set_user(user_id: int, **changes: Any) -> User:
        user = attrs.evolve(store.users[user_id], **changes)
        store.users[user_id] = user
        return user

    return set_user


@pytest.fixture
def admin(accounts: Accounts) -> Callable[..., Awaitable[User]]:
    async def admin(email: str = "root@example.com") -> User:
        return await accounts.create_user(email, PASSWORD, role=Role.ADMIN)

    return admin
