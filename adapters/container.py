"""The composition root: builds the core's use cases on the adapters chosen by settings.

Only this module knows several adapters; only the entry points (cli, tests) use it.
Everything that connects (database pool, embedded server, HTTP clients) is a
dependency-injector Resource: opened by ``Backend.start`` and closed by ``Backend.stop``.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import attrs
from dependency_injector import containers, providers

from adapters.config import Settings
from adapters.crypto.passwords import Argon2PasswordHasher
from adapters.crypto.tokens import JoseTokenSigner, load_or_create_key
from adapters.http.app import Services
from adapters.mail.console import ConsoleMailer
from adapters.mail.smtp import SmtpMailer
from adapters.memory.clock import SystemClock
from adapters.memory.store import InMemoryRateLimiter, InMemoryUnitOfWork, MemoryStore
from adapters.oidc import verifier as oidc
from adapters.postgres.db import create_pool
from adapters.postgres.embedded import start_embedded
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.rate_limiter import PostgresRateLimiter
from adapters.postgres.uow import PostgresUnitOfWork
from momentic_core.errors import Unavailable
from momentic_core.ports import Clock, Mailer, RateLimiter, UnitOfWorkFactory
from momentic_core.services.accounts import Accounts, AccountSettings
from momentic_core.services.profiles import Profiles
from momentic_core.services.throttle import Throttle

log = logging.getLogger("momentic")


@attrs.frozen
class Storage:
    uow: UnitOfWorkFactory
    rate_limiter: RateLimiter
    ready: Callable[[], Awaitable[None]]
    database_url: str | None = None


def database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's (started if needed) under data_dir."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_path)


async def _storage(settings: Settings, clock: Clock) -> AsyncIterator[Storage]:
    if settings.memory:
        store = MemoryStore()

        async def always_ready() -> None:
            return None

        yield Storage(
            uow=functools.partial(InMemoryUnitOfWork, store),
            rate_limiter=InMemoryRateLimiter(clock),
            ready=always_ready,
        )
        return
    url = await asyncio.to_thread(database_url, settings)
    applied = await asyncio.to_thread(apply_migrations, url)
    if applied:
        log.info("migrations applied", extra={"migrations": applied})
    pool = await create_pool(
        url,
        min_size=settings.db_pool_min,
        max_size=settings.db_pool_max,
        command_timeout=settings.db_timeout_seconds,
    )

    async def ready() -> None:
        try:
            async with asyncio.timeout(2):
                await pool.fetchval("SELECT 1")
        except (OSError, TimeoutError, Exception) as exc:
            raise Unavailable("The database does not answer.") from exc

    try:
        yield Storage(
            uow=functools.partial(PostgresUnitOfWork, pool),
            rate_limiter=PostgresRateLimiter(pool, clock),
            ready=ready,
            database_url=url,
        )
    finally:
        await pool.close()


async def _id_tokens(settings: Settings) -> AsyncIterator[oidc.JwksIdTokenVerifier]:
    verifier = oidc.from_settings(
        google_client_ids=settings.google_client_ids,
        apple_client_ids=settings.apple_client_ids,
        google_jwks_url=settings.google_jwks_url,
        apple_jwks_url=settings.apple_jwks_url,
    )
    try:
        yield verifier
    finally:
        await verifier.close()


def _secret(settings: Settings) -> bytes:
    if settings.secret:
        return settings.secret.encode()
    if settings.memory:
        return secrets.token_bytes(32)
    path = settings.data_path / "secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32))
    return path.read_text().strip().encode()


def _signer(settings: Settings) -> JoseTokenSigner:
    key_file = None if settings.memory else settings.data_path / "jwt-signing-key.pem"
    key = load_or_create_key(settings.jwt_private_key or None, key_file)
    return JoseTokenSigner(
        key,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        access_ttl=timedelta(seconds=settings.access_token_ttl_seconds),
    )


def _mailer(settings: Settings) -> Mailer:
    if not settings.smtp_host:
        return ConsoleMailer()
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        sender=settings.mail_from,
        username=settings.smtp_username or None,
        password=settings.smtp_password or None,
        security=settings.smtp_security,
    )


def _services(
    settings: Settings,
    storage: Storage,
    clock: Clock,
    hasher: Argon2PasswordHasher,
    tokens: JoseTokenSigner,
    mailer: Mailer,
    id_tokens: oidc.JwksIdTokenVerifier,
    secret: bytes,
) -> Services:
    throttle = Throttle(storage.rate_limiter, multiplier=settings.rate_limit_multiplier)
    accounts = Accounts(
        uow=storage.uow,
        hasher=hasher,
        tokens=tokens,
        mailer=mailer,
        clock=clock,
        throttle=throttle,
        id_tokens=id_tokens,
        settings=AccountSettings(
            allowed_email_domains=Settings.split(settings.allowed_email_domains),
            session_ttl=timedelta(days=settings.session_ttl_days),
            code_secret=secret,
        ),
    )
    profiles = Profiles(uow=storage.uow, clock=clock, hasher=hasher, throttle=throttle)
    return Services(accounts=accounts, profiles=profiles, throttle=throttle, ready=storage.ready)


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)
    storage = providers.Resource(_storage, settings, clock)
    id_tokens = providers.Resource(_id_tokens, settings)
    secret = providers.Singleton(_secret, settings)
    tokens = providers.Singleton(_signer, settings)
    mailer = providers.Singleton(_mailer, settings)
    hasher = providers.Singleton(
        lambda s: Argon2PasswordHasher(
            s.argon2_time_cost, s.argon2_memory_kib, s.argon2_parallelism
        ),
        settings,
    )
    services = providers.Singleton(
        _services, settings, storage, clock, hasher, tokens, mailer, id_tokens, secret
    )


class Backend:
    """What the HTTP app and the CLI start and stop. Overrides replace providers (tests)."""

    def __init__(self, settings: Settings, **overrides: Any) -> None:
        self.container = Container(settings=settings)
        for name, value in overrides.items():
            getattr(self.container, name).override(providers.Object(value))
        self._services: Services | None = None

    async def start(self) -> Services:
        result = self.container.init_resources()
        if inspect.isawaitable(result):
            await result
        services = self.container.services()
        if inspect.isawaitable(services):
            services = await services
        self._services = services
        return services

    async def stop(self) -> None:
        result = self.container.shutdown_resources()
        if inspect.isawaitable(result):
            await result

    async def __aenter__(self) -> Services:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def migrate(settings: Settings) -> list[str]:
    """Apply migrations (starting the embedded server if no URL is set)."""
    return apply_migrations(database_url(settings))
