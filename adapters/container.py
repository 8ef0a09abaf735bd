"""The composition root: builds the core's use cases on the adapters chosen by settings.

Only this module knows several adapters; only the entry points (cli, tests) use it.
Everything that connects (database pool, embedded server, HTTP clients) is a
dependency-injector Resource: opened by ``Composition.start`` and closed by
``Composition.stop``.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import inspect
import json
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import asyncpg
import attrs
from dependency_injector import containers, providers

from adapters.clock import SystemClock
from adapters.config import Settings
from adapters.crypto.passwords import Argon2PasswordHasher
from adapters.crypto.sealer import FernetSealer
from adapters.crypto.tokens import JoseTokenSigner, load_or_create_key
from adapters.http.keys import Backlog, Gauges, PoolUse, ReplicaState, Services
from adapters.local.blob_store import LocalBlobStore
from adapters.mail.console import ConsoleMailer
from adapters.mail.smtp import SmtpMailer
from adapters.media.images import PillowImageProcessor
from adapters.media_urls import MediaTokens, MediaUrls
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.engagement import InMemoryLiveEventSource
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork
from adapters.memory.videos import InMemoryJobRunner
from adapters.oidc import verifier as oidc
from adapters.postgres.db import create_pool
from adapters.postgres.embedded import start_embedded
from adapters.postgres.live import PostgresJobSignal, PostgresLiveEventSource
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.rate_limiter import PostgresRateLimiter
from adapters.postgres.replicas import Replicas
from adapters.postgres.uow import PostgresUnitOfWork
from adapters.postgres.videos import PostgresJobRunner
from adapters.push.logging import LoggingPushSender
from adapters.push.router import PlatformPushGateway
from momentic_core.errors import MomenticError, Unavailable
from momentic_core.model.accounts import RateDecision
from momentic_core.model.devices import Platform
from momentic_core.model.jobs import SendMail
from momentic_core.model.social import FeedSettings
from momentic_core.policies.moments import MomentRules
from momentic_core.policies.share_links import ShareSlugs
from momentic_core.ports import (
    BlobStore,
    Clock,
    ImageProcessor,
    JobRunner,
    LiveEventSource,
    Mailer,
    MediaProcessor,
    PushGateway,
    PushSender,
    RateLimiter,
    UnitOfWorkFactory,
)
from momentic_core.services.access import AccessCache
from momentic_core.services.accounts import Accounts, AccountSettings
from momentic_core.services.backfill import Backfills
from momentic_core.services.config import Config, SettingsInForce
from momentic_core.services.devices import Devices, NotificationPreferences
from momentic_core.services.email_change import EmailChange
from momentic_core.services.engagement import Engagement, Live, Notifications, Notifier
from momentic_core.services.feeds import Feeds, feed_job_kinds, schedule_for_you_refresh
from momentic_core.services.jobs import Worker
from momentic_core.services.mail import MailOutbox
from momentic_core.services.mfa import TwoFactor
from momentic_core.services.moderation import Moderation
from momentic_core.services.processing import (
    Janitor,
    Processing,
    schedule_janitor,
    video_job_kinds,
)
from momentic_core.services.profiles import Profiles
from momentic_core.services.push import Pushes, push_job_kinds
from momentic_core.services.ranking import (
    Moments,
    Ranking,
    Scorer,
    Stats,
    ranking_job_kinds,
    schedule_ranking,
)
from momentic_core.services.search import Search
from momentic_core.services.shares import Shares
from momentic_core.services.social import Friends
from momentic_core.services.throttle import DEFAULT_LIMITS, PER_REQUEST_LIMITS, Throttle
from momentic_core.services.videos import Videos
from momentic_core.services.views import Views

if TYPE_CHECKING:
    from adapters.redis.rate_limiter import RedisRateLimiter  # imported where used

log = logging.getLogger("momentic")


@attrs.frozen
class Storage:
    uow: UnitOfWorkFactory
    rate_limiter: RateLimiter
    runner: JobRunner
    ready: Callable[[], Awaitable[None]]
    live: LiveEventSource
    database_url: str | None = None
    pool_use: Callable[[], PoolUse] | None = None  # this process's connections (metrics)
    # Wakes the workers when a job is queued on any instance (PostgreSQL NOTIFY); memory
    # has none: its workers look every second.
    job_signal: PostgresJobSignal | None = None
    replicas: Replicas | None = None  # streaming replicas for the reads that may lag


def database_url(settings: Settings) -> str:
    """The configured URL, or the embedded server's (started if needed) under data_dir."""
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_path)


async def _storage(settings: Settings, clock: Clock) -> AsyncIterator[Storage]:
    if settings.memory:
        limiter = InMemoryRateLimiter(clock)
        store = MemoryStore(rate_limits=limiter)  # its units of work count there too

        async def always_ready() -> None:
            return None

        yield Storage(
            uow=functools.partial(InMemoryUnitOfWork, store, clock=clock),
            rate_limiter=limiter,
            runner=InMemoryJobRunner(store, clock),
            ready=always_ready,
            live=InMemoryLiveEventSource(store),
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
    replicas: Replicas | None = None
    try:
        if urls := Settings.split(settings.database_replica_urls):
            replicas = await Replicas.open(
                urls, max_size=settings.db_pool_max, command_timeout=settings.db_timeout_seconds,
                sticky=settings.database_replica_sticky_seconds,
                max_lag=settings.database_replica_max_lag_seconds,
            )
            await replicas.start()
        yield postgres_storage(pool, url, clock, replicas=replicas)
    finally:
        if replicas is not None:
            await replicas.close()
        await pool.close()


def postgres_storage(
    pool: asyncpg.Pool,
    url: str,
    clock: Clock,
    uow: UnitOfWorkFactory | None = None,
    *,
    replicas: Replicas | None = None,
) -> Storage:
    """Storage on a PostgreSQL pool (and its streaming ``replicas``, for the reads that
    may lag); ``uow`` replaces the unit of work factory (tests inject failures with it)."""

    async def ready() -> None:
        try:
            async with asyncio.timeout(2):
                await pool.fetchval("SELECT 1")
        except (OSError, TimeoutError, Exception) as exc:
            raise Unavailable("The database does not answer.") from exc

    return Storage(
        uow=uow or functools.partial(PostgresUnitOfWork, pool, clock=clock, replicas=replicas),
        rate_limiter=PostgresRateLimiter(pool, clock),
        runner=PostgresJobRunner(pool, clock),
        ready=ready,
        live=PostgresLiveEventSource(url),
        database_url=url,
        job_signal=PostgresJobSignal(url),
        replicas=replicas,
        pool_use=lambda: PoolUse(
            size=pool.get_size(),
            in_use=pool.get_size() - pool.get_idle_size(),
            max_size=pool.get_max_size(),
        ),
    )


class SplitRateLimiter:
    """The limits counted on every request (``PER_REQUEST_LIMITS``) in this process, the
    others in the shared store: a read then writes nothing to the database. Per process
    means a client can reach each limit once per worker process that serves it."""

    def __init__(self, local: RateLimiter, shared: RateLimiter) -> None:
        self._local = local
        self._shared = shared

    _LOCAL = tuple(name + ":" for name in sorted(PER_REQUEST_LIMITS))  # key prefixes

    @staticmethod
    def _is_local(key: str) -> bool:
        return key.startswith(SplitRateLimiter._LOCAL)

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        return (await self.hit_many([(key, limit, window)]))[0]

    async def hit_many(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        if all(key.startswith(self._LOCAL) for key, _, _ in hits):  # every request's case
            return await self._local.hit_many(hits)
        local = [hit for hit in hits if self._is_local(hit[0])]
        shared = [hit for hit in hits if not self._is_local(hit[0])]
        answers = dict(
            zip((key for key, _, _ in local), await self._local.hit_many(local), strict=True)
        )
        if shared:
            decided = await self._shared.hit_many(shared)
            answers.update(zip((key for key, _, _ in shared), decided, strict=True))
        return [answers[key] for key, _, _ in hits]


class RedisOrLocalRateLimiter:
    """Redis for every limit; while Redis does not answer, the per-request limits are
    counted in this process instead, so an outage of the counters does not take the
    API down with it. The others (sign-ins, codes, writes: what an attacker guesses at)
    fail closed: Unavailable, a 503."""

    def __init__(self, redis: RedisRateLimiter, local: RateLimiter) -> None:
        self._redis = redis
        self._local = local

    async def ready(self) -> None:
        """Readiness: Redis answers (while it does not, sign-ins, codes and writes are
        refused, so this instance is not ready although reads still serve)."""
        await self._redis.ready()

    async def hit(self, key: str, limit: int, window: timedelta) -> RateDecision:
        return (await self.hit_many([(key, limit, window)]))[0]

    async def hit_many(self, hits: Sequence[tuple[str, int, timedelta]]) -> list[RateDecision]:
        try:
            return await self._redis.hit_many(hits)
        except Unavailable:
            if not all(SplitRateLimiter._is_local(key) for key, _, _ in hits):
                raise
            log.warning("rate limits: Redis does not answer; counting in this process")
            return await self._local.hit_many(hits)


async def _rate_limiter(
    settings: Settings, storage: Storage, clock: Clock
) -> AsyncIterator[RateLimiter]:
    """Redis when configured (every limit shared by every instance, exactly); else the
    storage's own limiter, with the per-request limits kept per process on PostgreSQL."""
    if settings.redis_url:
        from adapters.redis.rate_limiter import RedisRateLimiter  # redis only where used

        limiter = RedisRateLimiter.from_url(
            settings.redis_url, clock, timeout=settings.db_timeout_seconds
        )
        try:
            yield RedisOrLocalRateLimiter(limiter, InMemoryRateLimiter(clock))
        finally:
            await limiter.aclose()
    elif settings.memory:
        yield storage.rate_limiter
    else:
        yield SplitRateLimiter(InMemoryRateLimiter(clock), storage.rate_limiter)


async def _hasher(settings: Settings) -> AsyncIterator[Argon2PasswordHasher]:
    hasher = Argon2PasswordHasher(
        settings.argon2_time_cost, settings.argon2_memory_kib, settings.argon2_parallelism
    )
    try:
        yield hasher
    finally:
        await hasher.close()  # its hashing processes end with this worker


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


def storage_kind(settings: Settings) -> str:
    if settings.storage:
        return settings.storage
    if settings.s3_bucket:
        return "s3"
    return "memory" if settings.memory else "local"


async def _blobs(settings: Settings, secret: bytes) -> AsyncIterator[BlobStore]:
    kind = storage_kind(settings)
    base = settings.public_url.rstrip("/")
    if kind == "memory":
        yield InMemoryBlobStore(base, secret)
    elif kind == "local":
        yield LocalBlobStore(settings.data_path / "media", base, secret)
    elif kind == "s3":
        from adapters.s3.blob_store import S3BlobStore  # botocore only where it is used

        store = S3BlobStore(
            bucket=settings.s3_bucket,
            endpoint_url=settings.s3_endpoint_url or None,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id or None,
            secret_access_key=settings.s3_secret_access_key or None,
            public_endpoint_url=settings.s3_public_endpoint_url or None,
        )
        async with store:
            await store.check_bucket()
            yield store
    else:
        raise SystemExit(f"MOMENTIC_STORAGE: unknown storage {kind!r} (s3, local, memory)")


def _secret_text(value: str) -> str:
    """A key given inline, or the path of the file holding it."""
    if value.lstrip().startswith(("-----BEGIN", "{")):
        return value
    return Path(value).expanduser().read_text(encoding="utf-8")


async def _push_gateway(settings: Settings) -> AsyncIterator[PushGateway]:
    """APNs for iOS when its key is set, FCM for Android when its service account is;
    the log for a platform without credentials."""
    gateways: dict[Platform, PushGateway] = {}
    if settings.apns_key:
        from adapters.push.apns import ApnsPushGateway

        gateways[Platform.IOS] = ApnsPushGateway(
            key_pem=_secret_text(settings.apns_key), key_id=settings.apns_key_id,
            team_id=settings.apns_team_id, topic=settings.apns_topic,
            production_url=settings.apns_url, sandbox_url=settings.apns_sandbox_url,
            timeout=settings.push_timeout_seconds,
        )
    if settings.fcm_service_account:
        from adapters.push.fcm import FcmPushGateway

        gateways[Platform.ANDROID] = FcmPushGateway(
            json.loads(_secret_text(settings.fcm_service_account)),
            fcm_url=settings.fcm_url, timeout=settings.push_timeout_seconds,
        )
    router = PlatformPushGateway(gateways, LoggingPushSender())
    try:
        yield router
    finally:
        await router.close()


def _pushes(
    settings: Settings, storage: Storage, clock: Clock, gateway: PushGateway, config: Config
) -> Pushes:
    async def reminder_on() -> bool:
        return (await config.current()).moment_reminder

    return Pushes(
        uow=storage.uow, clock=clock, gateway=gateway,
        moment_overrides_quiet_hours=settings.push_moment_ignores_quiet_hours,
        session_ttl=timedelta(days=settings.session_ttl_days),
        concurrency=settings.push_concurrency, reminder_on=reminder_on,
    )


def _media_tokens(settings: Settings, secret: bytes) -> MediaTokens:
    # The edge's key when one is shared with a CDN (docs/cdn); else a key of its own,
    # derived from the server secret (then only the app's /media route verifies tokens).
    if settings.media_edge_key:
        return MediaTokens(settings.media_edge_key.encode())
    return MediaTokens(hmac.new(secret, b"media-tokens", hashlib.sha256).digest())


def _media_url(
    settings: Settings, blobs: BlobStore, tokens: MediaTokens, clock: Clock
) -> MediaUrls:
    return MediaUrls(
        lambda key, ttl: blobs.signed_url(key, timedelta(seconds=ttl)),
        tokens=tokens,
        hls_base=settings.public_url.rstrip("/") + "/media",
        cdn_base=settings.media_base_url or None,
        public_ttl=settings.media_url_ttl_seconds,
        private_ttl=settings.media_private_url_ttl_seconds,
        clock=lambda: clock.now().timestamp(),
    )


def _pyav() -> MediaProcessor:
    # Imported here: only a process that runs the job worker needs FFmpeg (about 20 MB of
    # resident memory that the HTTP workers are spared).
    from adapters.media.video import PyAvMediaProcessor

    return PyAvMediaProcessor()


def _worker(
    settings: Settings,
    storage: Storage,
    blobs: BlobStore,
    media: MediaProcessor,
    push: Pushes,
    clock: Clock,
    janitor: Janitor,
    ranking: Ranking,
    config: Config,
) -> Worker:
    processing = Processing(
        uow=storage.uow, blobs=blobs, media=media, clock=clock,
        notifier=Notifier(queue=push), config=config,
    )
    feeds = Feeds(uow=storage.uow, clock=clock, config=config)
    kinds = (
        video_job_kinds(processing, janitor) + ranking_job_kinds(ranking) + push_job_kinds(push)
        + feed_job_kinds(feeds)
    )
    return Worker(
        runner=storage.runner, kinds=kinds, clock=clock,
        lease=timedelta(seconds=settings.job_lease_seconds),
    )


def _ranking(
    settings: Settings, storage: Storage, clock: Clock, secret: bytes, push: PushSender
) -> Ranking:
    rules = MomentRules(
        # A key of its own, derived from the server secret: moments stay secret too.
        secret=hmac.new(secret, b"daily-moment", hashlib.sha256).digest(),
        start_hour=settings.moment_start_hour,
        end_hour=settings.moment_end_hour,
        window=timedelta(seconds=settings.moment_window_seconds),
    )
    return Ranking(
        uow=storage.uow, clock=clock, scorer=Scorer(clock=clock), moment_rules=rules, push=push
    )


def runtime_config(settings: Settings, uow: UnitOfWorkFactory, clock: Clock) -> Config:
    """Runtime settings: the environment's values (the only place their defaults are
    written is ``Settings``), under what admins store. An empty domain list in the
    environment admits any domain."""
    defaults = SettingsInForce(
        allowed_email_domains=Settings.split(settings.allowed_email_domains) or ("*",),
        max_video_bytes=settings.max_video_bytes,
        max_video_seconds=settings.max_video_seconds,
        bereal_lock=settings.bereal_lock,
        report_threshold=settings.report_threshold,
        rate_limits={},
        max_devices_per_user=settings.max_devices_per_user,
        staff_mfa_required=settings.staff_mfa_required,
        for_you_completion_weight=settings.for_you_completion_weight,
        moment_reminder=settings.moment_reminder,
    )
    return Config(uow=uow, clock=clock, defaults=defaults, limit_names=tuple(DEFAULT_LIMITS))



def _secret(settings: Settings) -> bytes:
    if settings.secret:
        return settings.secret.encode()
    if settings.memory:
        return secrets.token_bytes(32)
    if settings.database_url:
        log.warning(
            "MOMENTIC_SECRET / MOMENTIC_JWT_PRIVATE_KEY not set: using keys generated under "
            "data_dir, which only works for processes sharing that directory"
        )
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


def _outbox(settings: Settings, storage: Storage, mailer: Mailer, clock: Clock) -> MailOutbox:
    outbox = MailOutbox(storage.runner, mailer, clock, storage.uow)
    outbox.worker.lease = timedelta(seconds=settings.job_lease_seconds)
    return outbox


def _mail_queued(
    settings: Settings, outbox: MailOutbox, wake: asyncio.Event
) -> Callable[[], Awaitable[object]]:
    """What a request does after queuing mail. On PostgreSQL it wakes this instance's mail
    worker (``Composition``): the mail goes out within moments, after the answer. The in-memory
    backend (development, tests) sends at once, so a test reads the code right after
    register; its jobs die with the process anyway."""
    if settings.memory:
        return outbox.deliver_due

    async def wake_worker() -> None:
        wake.set()

    return wake_worker


def _gauges(storage: Storage) -> Gauges:
    async def backlog() -> Backlog:
        jobs = await storage.runner.backlog()
        async with storage.uow(read_only=True) as tx:
            uploads = await tx.uploads.count_open()
        return Backlog(jobs=tuple(jobs), open_uploads=uploads)

    replicas = storage.replicas

    def replica_states() -> list[ReplicaState]:
        assert replicas is not None
        states = []
        for r in replicas.replicas:
            fit = replicas.fit(r)  # lagging: answers as a standby, but past the lag limit
            states.append(ReplicaState(r.name, fit, r.lag, r.retried, lagging=r.up and not fit))
        return states

    return Gauges(
        backlog=backlog, pool=storage.pool_use,
        replicas=replica_states if replicas is not None else None,
    )


async def _ready(storage: Storage, blobs: BlobStore, rate_limiter: object = None) -> None:
    """Readiness: the database answers, so does the media storage (S3: its bucket is
    there and these credentials may use it), and so does Redis when the rate limits are
    kept there (MOMENTIC_REDIS_URL). Raises Unavailable naming the first that does not."""
    await storage.ready()
    check = getattr(blobs, "check_bucket", None)
    if check is not None:  # memory and local files: nothing to reach
        try:
            async with asyncio.timeout(2):
                await check()
        except TimeoutError as exc:
            raise Unavailable("The media storage does not answer.") from exc
    limiter_ready = getattr(rate_limiter, "ready", None)
    if limiter_ready is not None:  # Redis; the others live in the storage checked above
        try:
            async with asyncio.timeout(2):
                await limiter_ready()
        except TimeoutError as exc:
            raise Unavailable("The rate-limit store (Redis) does not answer.") from exc


def _services(
    settings: Settings,
    storage: Storage,
    rate_limiter: RateLimiter,
    clock: Clock,
    hasher: Argon2PasswordHasher,
    tokens: JoseTokenSigner,
    mail_queued: Callable[[], Awaitable[object]],
    id_tokens: oidc.JwksIdTokenVerifier,
    secret: bytes,
    blobs: BlobStore,
    images: ImageProcessor,
    push: Pushes,
    ranking: Ranking,
    config: Config,
) -> Services:
    notifier = Notifier(queue=push)
    # Without Redis the shared counters are the store's: a limit on one write counts in
    # that write's unit of work (one commit, not two).
    throttle = Throttle(
        rate_limiter, multiplier=settings.rate_limit_multiplier, config=config,
        in_transaction=not settings.redis_url,
    )
    accounts = Accounts(
        uow=storage.uow,
        hasher=hasher,
        tokens=tokens,
        mail_queued=mail_queued,
        clock=clock,
        throttle=throttle,
        id_tokens=id_tokens,
        settings=AccountSettings(
            session_ttl=timedelta(days=settings.session_ttl_days),
            refresh_grace=timedelta(seconds=settings.refresh_grace_seconds),
            code_secret=secret,
        ),
        config=config,
        access=AccessCache(storage.live.listening, clock),
    )
    profiles = Profiles(uow=storage.uow, clock=clock, hasher=hasher, throttle=throttle)
    videos = Videos(
        uow=storage.uow,
        blobs=blobs,
        images=images,
        clock=clock,
        throttle=throttle,
        moments=Moments(ranking.moment_rules),
        config=config,
    )
    shares = Shares(uow=storage.uow, clock=clock, throttle=throttle, slugs=ShareSlugs(
        # A key of its own, derived from the server secret (policies.share_links).
        hmac.new(secret, b"share-links", hashlib.sha256).digest()))
    share_base = settings.public_url.rstrip("/") + "/v/"
    media_tokens = _media_tokens(settings, secret)
    return Services(
        friends=Friends(uow=storage.uow, clock=clock, throttle=throttle, notifier=notifier),
        feeds=Feeds(uow=storage.uow, clock=clock, config=config),
        views=Views(uow=storage.uow, clock=clock, config=config, throttle=throttle),
        accounts=accounts,
        profiles=profiles,
        throttle=throttle,
        ready=functools.partial(_ready, storage, blobs, rate_limiter),
        gauges=_gauges(storage),
        videos=videos,
        blobs=blobs,
        media_url=_media_url(settings, blobs, media_tokens, clock),
        media_tokens=media_tokens,
        clock=clock,
        signed_media=blobs if isinstance(blobs, InMemoryBlobStore | LocalBlobStore) else None,
        engagement=Engagement(
            uow=storage.uow, clock=clock, throttle=throttle, notifier=notifier, config=config,
        ),
        notifications=Notifications(uow=storage.uow, clock=clock),
        live=Live(uow=storage.uow, clock=clock, config=config),
        moderation=Moderation(uow=storage.uow, clock=clock, notifier=notifier, config=config),
        config=config,
        live_events=storage.live,
        ranking=ranking,
        stats=Stats(uow=storage.uow, clock=clock),
        devices=Devices(uow=storage.uow, clock=clock, config=config),
        notification_preferences=NotificationPreferences(uow=storage.uow),
        search=Search(uow=storage.uow, clock=clock, config=config, throttle=throttle),
        two_factor=TwoFactor(
            uow=storage.uow, clock=clock, throttle=throttle, config=config, hasher=hasher,
            sealer=FernetSealer(secret), accounts=accounts, secret=secret,
        ),
        shares=shares,
        share_url=lambda video_id: share_base + shares.slug(video_id),
        email_change=EmailChange(
            uow=storage.uow, clock=clock, throttle=throttle, config=config, hasher=hasher,
            settings=accounts.settings, mail_queued=mail_queued,
        ),
    )


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)
    storage = providers.Resource(_storage, settings, clock)
    rate_limiter = providers.Resource(_rate_limiter, settings, storage, clock)
    id_tokens = providers.Resource(_id_tokens, settings)
    secret = providers.Singleton(_secret, settings)
    tokens = providers.Singleton(_signer, settings)
    mailer = providers.Singleton(_mailer, settings)
    outbox = providers.Singleton(_outbox, settings, storage, mailer, clock)
    mail_wake = providers.Singleton(asyncio.Event)
    mail_queued = providers.Singleton(_mail_queued, settings, outbox, mail_wake)
    hasher = providers.Resource(_hasher, settings)
    blobs = providers.Resource(_blobs, settings, secret)
    media = providers.Singleton(_pyav)
    images = providers.Singleton(PillowImageProcessor)
    push_gateway = providers.Resource(_push_gateway, settings)
    config = providers.Singleton(
        lambda settings, storage, clock: runtime_config(settings, storage.uow, clock),
        settings, storage, clock,
    )
    push = providers.Singleton(_pushes, settings, storage, clock, push_gateway, config)
    ranking = providers.Singleton(_ranking, settings, storage, clock, secret, push)
    services = providers.Singleton(
        _services, settings, storage, rate_limiter, clock, hasher, tokens, mail_queued,
        id_tokens, secret, blobs, images, push, ranking, config,
    )
    janitor = providers.Singleton(
        lambda settings, storage, blobs, clock: Janitor(
            uow=storage.uow, blobs=blobs, clock=clock, snapshot_ttl=FeedSettings().snapshot_ttl,
            session_ttl=timedelta(days=settings.session_ttl_days),
            prune_rate_limits=(
                storage.rate_limiter.delete_expired
                if isinstance(storage.rate_limiter, PostgresRateLimiter) else None
            ),
        ),
        settings, storage, blobs, clock,
    )
    backfills = providers.Singleton(
        lambda storage, blobs: Backfills(uow=storage.uow, blobs=blobs), storage, blobs
    )
    worker = providers.Singleton(
        _worker, settings, storage, blobs, media, push, clock, janitor, ranking, config
    )


async def resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class Composition:
    """The composition root, started: what the HTTP app and the CLI start and stop.
    Overrides replace providers (tests).

    It always runs a mail worker (queued mail: codes go out even while the job worker
    transcodes); with ``workers`` also a job worker, and it schedules the janitor hourly
    and the For-You candidate refresh every ``FeedSettings.candidate_refresh``."""

    JANITOR_EVERY = 3600.0
    SIGNALLED_IDLE = 5.0  # seconds between looks for due jobs while NOTIFY wakes workers

    def __init__(self, settings: Settings, *, workers: bool = False, **overrides: Any) -> None:
        self.settings = settings
        self.container = Container(settings=settings)
        for name, value in overrides.items():
            getattr(self.container, name).override(providers.Object(value))
        self._workers = workers
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._signal: PostgresJobSignal | None = None

    async def start(self) -> Services:
        await resolve(self.container.init_resources())
        services: Services = await resolve(self.container.services())
        self._stop.clear()
        outbox: MailOutbox = await resolve(self.container.outbox())
        wake: asyncio.Event = await resolve(self.container.mail_wake())
        storage: Storage = await resolve(self.container.storage())
        job_wake = asyncio.Event()
        # With the signal, workers look for jobs that become due later every few seconds
        # (or when the earliest queued one is due, if sooner: Worker.run_forever);
        # a job queued now wakes them at once (mail its own worker, "" after a reconnect both).
        idle = 1.0
        if storage.job_signal is not None and self._signal is None:
            self._signal = storage.job_signal

            def woke(kind: str) -> None:
                if kind in (SendMail.kind, ""):
                    wake.set()
                if kind != SendMail.kind:
                    job_wake.set()

            await self._signal.start(woke)
            idle = self.SIGNALLED_IDLE
        self._tasks = [
            asyncio.create_task(
                outbox.worker.run_forever(self._stop, idle=idle, wake=wake),
                name="momentic-mail",
            )
        ]
        if self._workers:
            worker = await self.worker()
            self._tasks += [
                asyncio.create_task(
                    worker.run_forever(self._stop, idle=idle, wake=job_wake),
                    name="momentic-worker",
                ),
                asyncio.create_task(self._janitor_clock(storage), name="momentic-janitor"),
                asyncio.create_task(self._for_you_clock(storage), name="momentic-for-you"),
            ]
        return services

    async def deliver_mail(self) -> int:
        """Send the queued mail that is due now (tests, operators); how many jobs ran."""
        outbox: MailOutbox = await resolve(self.container.outbox())
        return await outbox.deliver_due()

    async def worker(self) -> Worker:
        worker: Worker = await resolve(self.container.worker())
        return worker

    async def janitor(self) -> Janitor:
        janitor: Janitor = await resolve(self.container.janitor())
        return janitor

    async def backfills(self) -> Backfills:
        backfills: Backfills = await resolve(self.container.backfills())
        return backfills

    async def _janitor_clock(self, storage: Storage) -> None:
        while not self._stop.is_set():
            try:
                await schedule_janitor(storage.uow)
                await schedule_ranking(await resolve(self.container.ranking()), storage.uow)
            except MomenticError:
                log.warning("could not schedule the janitor; will try again")
            try:
                await asyncio.wait_for(self._stop.wait(), self.JANITOR_EVERY)
            except TimeoutError:
                pass

    async def _for_you_clock(self, storage: Storage) -> None:
        """Queue a refresh of the For-You candidates now and every candidate_refresh."""
        every = FeedSettings().candidate_refresh.total_seconds()
        while not self._stop.is_set():
            try:
                await schedule_for_you_refresh(storage.uow)
            except MomenticError:
                log.warning("could not schedule the For-You refresh; will try again")
            try:
                await asyncio.wait_for(self._stop.wait(), every)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        self._stop.set()
        if self._tasks:
            # A job that does not end within the grace (a transcode) is cancelled: the
            # worker hands it back (JobRunner.release) for another to take at once.
            grace = self.settings.job_stop_grace_seconds
            running = set(self._tasks)
            if grace > 0:
                _done, running = await asyncio.wait(running, timeout=grace)
            for task in running:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            self._tasks = []
        if self._signal is not None:
            signal, self._signal = self._signal, None
            await signal.stop()
        await resolve(self.container.shutdown_resources())

    async def __aenter__(self) -> Services:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def prepare_workers(settings: Settings) -> Settings:
    """What several HTTP worker processes must share, made once before they fork: the
    database (the embedded server started, migrations applied) and, without configured
    keys, the secret and the signing key files under data_dir. Returns the settings with
    the database URL filled in, so no child starts a server of its own."""
    url = database_url(settings)
    applied = apply_migrations(url)
    if applied:
        log.info("migrations applied", extra={"migrations": applied})
    _secret(settings)
    _signer(settings)
    return attrs.evolve(settings, database_url=url)


def migrate(settings: Settings) -> list[str]:
    """Apply migrations (starting the embedded server if no URL is set)."""
    return apply_migrations(database_url(settings))
