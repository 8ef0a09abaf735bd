"""The PostgreSQL unit of work: one pooled connection, one transaction.

The composition root hands the core a factory (``functools.partial(PostgresUnitOfWork,
pool, clock=clock)``; the clock stamps enqueued jobs, so pass the one the job runner
uses, and tells the social, feed and engagement repositories whether a suspension is in
force); an instance runs one block at a time. Entering takes a connection from the pool
(bounded by ``acquire_timeout``, so a dead database answers Unavailable instead of
hanging) and begins a READ COMMITTED transaction (with ``read_only``, none: each
statement commits by itself, which READ COMMITTED reads would see alike anyway).
Leaving the block normally commits; an exception rolls back. Either way the connection
goes back to the pool, and the repositories stop working (using one after the block
raises RuntimeError).

With ``replicas`` (``replicas.Replicas``), a block opened with ``may_lag`` (read-only,
and fine a moment behind the primary: feeds, videos, profiles, search) runs on a
streaming replica when one is fit and has replayed the acting user's last write
(``adapters.acting``); otherwise, or when the replica gives no connection within its
acquire timeout, on the primary. A statement the replica cancels (a recovery conflict:
replaying the primary's WAL needed what the read held, SQLSTATE 40001 "canceling
statement due to conflict with recovery") or loses the replica's connection on is run
again on the primary, once, and so is the rest of the block (``_ReplicaReads``): in a
READ ONLY transaction there, so nothing redone can write; a statement on a standby
cannot have written either. Logged, and counted per replica (``Replica.retried``).
Every other block runs on the primary, and a write committed there by an acting user
records the WAL position it reached, so that user's next reads wait for a replica that
has it (read-your-writes).

Live events emitted in the block (``events``) are NOTIFYs in its transaction: listeners
hear them when it commits, in commit order, and never when it rolls back.

Driver errors that escape the block, or that the commit raises, are replaced by the
domain error they stand for (``db.translate_error``); domain errors pass unchanged.
"""

from __future__ import annotations

import logging
from types import TracebackType
from typing import Any

import asyncpg
from asyncpg.transaction import Transaction

from adapters import acting as acting_
from momentic_core.ports import (
    AuditRepository,
    Clock,
    CodeRepository,
    CommentRepository,
    ConfigRepository,
    DeviceRepository,
    EventOutbox,
    FeedRepository,
    ForYouCandidateRepository,
    IdentityRepository,
    JobQueue,
    ModerationRepository,
    NotificationRepository,
    NotificationSettingsRepository,
    RankingRepository,
    RateLimiter,
    ReactionRepository,
    SearchRepository,
    SessionRepository,
    SocialRepository,
    StatsRepository,
    TotpRepository,
    UploadRepository,
    UserRepository,
    VideoRepository,
    ViewRepository,
)

from .db import connect_error, translate_error
from .devices import PostgresDeviceRepository, PostgresNotificationSettingsRepository
from .engagement import (
    PostgresCommentRepository,
    PostgresEventOutbox,
    PostgresNotificationRepository,
    PostgresReactionRepository,
)
from .for_you import PostgresForYouCandidates
from .mfa import PostgresTotpRepository
from .moderation import (
    PostgresAuditRepository,
    PostgresConfigRepository,
    PostgresModerationRepository,
)
from .ranking import PostgresRankingRepository, PostgresStatsRepository
from .rate_limiter import PostgresTransactionRateLimiter
from .replicas import UNKNOWN, WAL_POSITION, WROTE, Replica, Replicas, replica_lost
from .repositories import (
    PostgresCodeRepository,
    PostgresIdentityRepository,
    PostgresSessionRepository,
    PostgresUserRepository,
    Repository,
)
from .search import PostgresSearchRepository
from .social import PostgresFeedRepository, PostgresSocialRepository
from .videos import (
    PostgresJobQueue,
    PostgresUploadRepository,
    PostgresVideoRepository,
    UtcClock,
)
from .views import PostgresViewRepository

log = logging.getLogger(__name__)


class _ReplicaReads:
    """What a may-lag block's repositories query while it reads from a replica: the
    replica's connection until a statement fails there for a reason the primary does not
    share (``replicas.replica_lost``); then that statement, and every later one, runs on
    a primary connection in a READ ONLY transaction. Each statement of a may-lag block
    commits by itself (no transaction), so moving between them loses nothing: the
    primary is at least as far along as the replica was."""

    def __init__(self, uow: PostgresUnitOfWork, conn: asyncpg.Connection, replica: Replica) -> None:
        self._uow = uow
        self._conn = conn
        self._replica: Replica | None = replica

    async def fetch(self, sql: str, *args: Any) -> Any:
        return await self._run("fetch", sql, args)

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchrow", sql, args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchval", sql, args)

    async def execute(self, sql: str, *args: Any) -> Any:
        return await self._run("execute", sql, args)

    async def _run(self, method: str, sql: str, args: tuple[Any, ...]) -> Any:
        try:
            return await getattr(self._conn, method)(sql, *args)
        except Exception as exc:
            replica = self._replica
            if replica is None or not replica_lost(exc):
                raise
            self._replica = None  # once: a failure on the primary is the answer
            self._conn = await self._uow._to_primary(replica, exc)
        return await getattr(self._conn, method)(sql, *args)


class PostgresUnitOfWork:
    users: UserRepository
    codes: CodeRepository
    sessions: SessionRepository
    identities: IdentityRepository
    videos: VideoRepository
    uploads: UploadRepository
    views: ViewRepository
    jobs: JobQueue
    social: SocialRepository
    feeds: FeedRepository
    candidates: ForYouCandidateRepository
    reactions: ReactionRepository
    comments: CommentRepository
    notifications: NotificationRepository
    events: EventOutbox
    ranking: RankingRepository
    stats: StatsRepository
    moderation: ModerationRepository
    audit: AuditRepository
    config: ConfigRepository
    devices: DeviceRepository
    notification_settings: NotificationSettingsRepository
    totp: TotpRepository
    search: SearchRepository
    rate_limits: RateLimiter

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        acquire_timeout: float = 5.0,
        clock: Clock | None = None,
        read_only: bool = False,
        may_lag: bool = False,
        replicas: Replicas | None = None,
    ) -> None:
        self._pool = pool
        self._read_only = read_only or may_lag
        self._may_lag = may_lag
        self._replicas = replicas
        self._used: asyncpg.Pool = pool  # the pool the connection came from
        self.replica: str | None = None  # the replica this block reads from, if any
        self._on_replica: Replica | None = None
        self._acquire_timeout = acquire_timeout
        self._clock: Clock = clock or UtcClock()  # stamps enqueued jobs
        self._conn: asyncpg.Connection | None = None
        self._tx: Transaction | None = None
        self._read_only_tx: Transaction | None = None  # a may-lag block redone on the primary
        self._repositories: list[Repository] = []

    async def __aenter__(self) -> PostgresUnitOfWork:
        if self._conn is not None:
            raise RuntimeError("this unit of work is in use already")
        conn = await self._from_replica() if self._may_lag else None
        if conn is None:
            self._used, self.replica, self._on_replica = self._pool, None, None
            try:
                conn = await self._pool.acquire(timeout=self._acquire_timeout)
            except Exception as exc:
                translated = connect_error(exc)
                if translated is None:
                    raise
                raise translated from exc
        try:
            tx = conn.transaction()
            if not self._read_only:  # read-only: autocommit statements, two round trips saved
                await tx.start()
        except BaseException as exc:
            await self._release(conn)
            translated = translate_error(exc) if isinstance(exc, Exception) else None
            if translated is None:
                raise
            raise translated from exc
        self._conn, self._tx = conn, tx
        if self._on_replica is not None:  # repositories query through the fallback
            conn = _ReplicaReads(self, conn, self._on_replica)
        users = PostgresUserRepository(conn)
        codes = PostgresCodeRepository(conn)
        sessions = PostgresSessionRepository(conn)
        identities = PostgresIdentityRepository(conn)
        self.users, self.codes, self.sessions, self.identities = users, codes, sessions, identities
        videos = PostgresVideoRepository(conn)
        uploads = PostgresUploadRepository(conn)
        jobs = PostgresJobQueue(conn, self._clock)
        self.videos, self.uploads, self.jobs = videos, uploads, jobs
        views = self.views = PostgresViewRepository(conn)
        # The clock also tells whether a suspension is in force (feeds, lists, search).
        social = PostgresSocialRepository(conn, self._clock)
        feeds = PostgresFeedRepository(conn, self._clock)
        self.social, self.feeds = social, feeds
        candidates = self.candidates = PostgresForYouCandidates(conn)
        # Their lists judge suspensions at the clock's time too.
        reactions = PostgresReactionRepository(conn, self._clock)
        comments = PostgresCommentRepository(conn, self._clock)
        notifications = PostgresNotificationRepository(conn, self._clock)
        # NOTIFY in this transaction: delivered on commit, in commit order, never on
        # rollback.
        events = self._events = PostgresEventOutbox(conn)
        self.reactions, self.comments = reactions, comments
        self.notifications, self.events = notifications, events
        ranking = PostgresRankingRepository(conn, self._clock)
        stats = PostgresStatsRepository(conn)
        self.ranking, self.stats = ranking, stats
        moderation = PostgresModerationRepository(conn)
        audit = PostgresAuditRepository(conn)
        config = PostgresConfigRepository(conn)
        self.moderation, self.audit, self.config = moderation, audit, config
        devices = PostgresDeviceRepository(conn)
        notification_settings = PostgresNotificationSettingsRepository(conn)
        self.devices, self.notification_settings = devices, notification_settings
        totp = self.totp = PostgresTotpRepository(conn)
        search = self.search = PostgresSearchRepository(conn, self._clock)
        # A limit on this block's own write, counted in its transaction.
        rate_limits = self.rate_limits = PostgresTransactionRateLimiter(conn, self._clock)
        self._repositories = [
            users, codes, sessions, identities, videos, uploads, jobs, social, feeds, candidates,
            reactions, comments, notifications, events, ranking, stats, moderation, audit,
            config, devices, notification_settings, totp, views,
        ]
        self._repositories += [search, rate_limits]
        return self

    async def _from_replica(self) -> asyncpg.Connection | None:
        """A connection of a fit replica for this read, or None (then the primary)."""
        replicas = self._replicas
        if replicas is None:
            return None
        acting = acting_.current()
        position = replicas.must_see(acting.user_id if acting is not None else None)
        if acting is not None and acting.wrote_lsn is not None:  # this request wrote
            if UNKNOWN in (position, acting.wrote_lsn):
                position = UNKNOWN
            else:
                position = max(position or 0, acting.wrote_lsn)
        replica: Replica | None = replicas.pick(position)
        while replica is not None:
            try:
                conn = await replica.pool.acquire(timeout=replicas.acquire_timeout)
            except Exception:  # down or full: the next one, or the primary
                replicas.failed(replica)
                replica = replicas.pick(position)
                continue
            self._used, self.replica, self._on_replica = replica.pool, replica.name, replica
            return conn
        return None

    async def _to_primary(self, replica: Replica, exc: Exception) -> asyncpg.Connection:
        """The replica gave up on a read (``_ReplicaReads``): hand its connection back and
        go on with a primary connection in a READ ONLY transaction (rolled back at the end)."""
        assert self._replicas is not None and self._conn is not None
        self._replicas.gave_up(replica, exc)
        lost, self._conn = self._conn, None
        try:
            await self._used.release(lost)
        except Exception:
            log.debug("could not return a replica connection to its pool", exc_info=True)
        self._used, self.replica, self._on_replica = self._pool, None, None
        try:
            conn = await self._pool.acquire(timeout=self._acquire_timeout)
        except Exception as acquire_exc:
            translated = connect_error(acquire_exc)
            if translated is None:
                raise
            raise translated from acquire_exc
        tx = conn.transaction(readonly=True)
        try:
            await tx.start()
        except BaseException:
            await self._pool.release(conn)
            raise
        self._conn, self._tx, self._read_only_tx = conn, tx, tx
        return conn

    async def _wrote(self, conn: asyncpg.Connection) -> bool:
        """Before the commit, with replicas and an acting request only: did the block
        write anything (a transaction id was assigned)? A block that only read keeps
        its reader on the replicas."""
        if self._replicas is None or acting_.current() is None:
            return False
        return bool(await conn.fetchval(WROTE))

    async def _record_write(self, conn: asyncpg.Connection) -> None:
        """After a commit: where the WAL got to, for the acting user's next reads."""
        acting = acting_.current()
        if self._replicas is None or acting is None:
            return
        position: int | None
        try:
            position = int(await conn.fetchval(WAL_POSITION))
        except Exception:  # committed all the same; sticky time bounds it
            log.debug("could not read the WAL position after a commit", exc_info=True)
            position = None
        if position is None or acting.wrote_lsn == UNKNOWN:
            acting.wrote_lsn = UNKNOWN
        else:
            acting.wrote_lsn = max(acting.wrote_lsn or 0, position)
        if acting.user_id is not None:
            self._replicas.wrote(acting.user_id, position)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        conn, tx = self._conn, self._tx
        self._conn = self._tx = None
        if conn is None or tx is None:
            if self._repositories:  # the replica gave up and the primary gave nothing
                for repository in self._repositories:
                    repository.detach()
                self._repositories = []
            return
        try:
            if self._read_only:
                ro, self._read_only_tx = self._read_only_tx, None
                if ro is not None:  # redone on the primary: nothing to keep, it could not write
                    try:
                        await ro.rollback()
                    except Exception:
                        log.debug("rollback failed", exc_info=True)
                if isinstance(exc, Exception):
                    translated = translate_error(exc)
                    if translated is not None:
                        raise translated from exc
                return
            if exc is None:
                try:
                    await self._events.flush()
                    wrote = await self._wrote(conn)
                    await tx.commit()
                except Exception as commit_exc:
                    translated = translate_error(commit_exc)
                    if translated is None:
                        raise
                    raise translated from commit_exc
                if wrote:
                    await self._record_write(conn)
                return
            try:
                await tx.rollback()
            except Exception:
                # The connection may be gone; the server drops the transaction then, and
                # the pool throws the connection away.
                log.debug("rollback failed", exc_info=True)
            if isinstance(exc, Exception):
                translated = translate_error(exc)
                if translated is not None:
                    raise translated from exc
        finally:
            await self._release(conn)

    async def _release(self, conn: asyncpg.Connection) -> None:
        for repository in self._repositories:
            repository.detach()
        self._repositories = []
        try:
            # asyncpg resets the connection, or closes it when that fails.
            await self._used.release(conn)
        except Exception:
            log.warning("could not return a connection to the pool", exc_info=True)
