"""What only the PostgreSQL adapters do: translate driver errors, answer Unavailable when
the database is gone (instead of hanging), and clean up rate-limit rows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import asyncpg.exceptions as pgerr
import pytest

from adapters.memory.clock import ManualClock
from adapters.postgres.db import create_pool, translate_error
from adapters.postgres.rate_limiter import PostgresRateLimiter
from adapters.postgres.uow import PostgresUnitOfWork
from momentic_core.errors import Conflict, Invalid, NotFound, Unavailable
from momentic_core.model.accounts import Session, User

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "exc",
    [
        ConnectionRefusedError(111, "refused"),
        ConnectionResetError(),
        OSError("Network is unreachable"),
        TimeoutError(),
        TimeoutError(),
        pgerr.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
        pgerr.CannotConnectNowError("the database system is starting up"),
        pgerr.AdminShutdownError("terminating connection due to administrator command"),
        pgerr.CrashShutdownError("crash"),
        pgerr.TooManyConnectionsError("sorry, too many clients already"),
        pgerr.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.InterfaceError("connection is closed"),
        asyncpg.InterfaceError("pool is closing"),
        asyncpg.InterfaceError(
            "cannot call Connection.fetchrow(): connection has been released back to the pool"
        ),
    ],
    ids=repr,
)
def test_connection_failures_mean_unavailable(exc: BaseException) -> None:
    assert isinstance(translate_error(exc), Unavailable)


@pytest.mark.parametrize(
    "exc",
    [
        ValueError("a bug"),
        asyncpg.InterfaceError("cannot perform operation: another operation is in progress"),
        pgerr.UndefinedTableError('relation "nope" does not exist'),
        pgerr.SyntaxOrAccessError("syntax error"),
        Conflict("already a domain error"),
    ],
    ids=repr,
)
def test_bugs_and_domain_errors_are_not_translated(exc: BaseException) -> None:
    assert translate_error(exc) is None


def test_deadlocks_become_a_retryable_conflict() -> None:
    translated = translate_error(pgerr.DeadlockDetectedError("deadlock detected"))
    assert isinstance(translated, Conflict) and translated.code == "concurrent_update"


async def test_a_missing_parent_row_is_not_found(clean_pg_pool: asyncpg.Pool) -> None:
    with pytest.raises(NotFound) as err:
        async with PostgresUnitOfWork(clean_pg_pool) as tx:
            await tx.sessions.add(Session(id=0, user_id=999, created_at=T0, last_used_at=T0))
    assert err.value.code == "user_not_found"
    assert isinstance(err.value.__cause__, pgerr.ForeignKeyViolationError)


async def test_an_id_over_int8_is_invalid_not_a_crash(clean_pg_pool: asyncpg.Pool) -> None:
    with pytest.raises(Invalid) as err:
        async with PostgresUnitOfWork(clean_pg_pool) as tx:
            await tx.comments.get(2**64)
    assert err.value.code == "value_out_of_range"
    with pytest.raises(Invalid):
        async with PostgresUnitOfWork(clean_pg_pool) as tx:
            await tx.comments.get(2**63)  # one over the largest bigint
    translated = translate_error(pgerr.NumericValueOutOfRangeError("bigint out of range"))
    assert isinstance(translated, Invalid) and translated.code == "value_out_of_range"


async def test_a_driver_error_leaving_the_block_is_translated(clean_pg_pool: asyncpg.Pool) -> None:
    with pytest.raises(Unavailable) as err:
        async with PostgresUnitOfWork(clean_pg_pool):
            raise pgerr.AdminShutdownError("terminating connection")
    assert isinstance(err.value.__cause__, pgerr.AdminShutdownError)
    with pytest.raises(KeyError):  # not a driver error: left alone
        async with PostgresUnitOfWork(clean_pg_pool):
            raise KeyError("x")


async def _backend_pid(uow: PostgresUnitOfWork) -> int:
    conn = uow._conn
    assert conn is not None
    return int(await conn.fetchval("SELECT pg_backend_pid()"))


async def test_a_connection_killed_mid_transaction_is_unavailable_and_the_pool_recovers(
    clean_pg_pool: asyncpg.Pool,
) -> None:
    async def kill(pid: int) -> None:
        async with clean_pg_pool.acquire() as other:
            assert await other.fetchval("SELECT pg_terminate_backend($1)", pid)

    with pytest.raises(Unavailable):
        async with PostgresUnitOfWork(clean_pg_pool) as tx:
            await tx.users.add(User(id=0, email="x@example.com", nickname="xx1", created_at=T0))
            await kill(await _backend_pid(tx))
            await asyncio.sleep(0.05)
    # ... the commit failed, so nothing was written, and the next unit of work is fine
    async with PostgresUnitOfWork(clean_pg_pool) as tx:
        assert await tx.users.find_by_email("x@example.com") is None

    with pytest.raises(Unavailable):  # a query on the dead connection, inside the block
        async with PostgresUnitOfWork(clean_pg_pool) as tx:
            await kill(await _backend_pid(tx))
            await asyncio.sleep(0.05)
            await tx.users.find_by_email("x@example.com")


async def test_a_repository_refuses_work_after_its_unit_of_work(
    clean_pg_pool: asyncpg.Pool,
) -> None:
    async with PostgresUnitOfWork(clean_pg_pool) as tx:
        pass
    with pytest.raises(RuntimeError, match="unit of work has ended"):
        await tx.users.find_by_email("late@example.com")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_create_pool_on_a_dead_database_is_unavailable() -> None:
    with pytest.raises(Unavailable):
        await create_pool(f"postgresql://postgres@127.0.0.1:{_free_port()}/x", min_size=1)


async def test_a_refused_connection_is_unavailable() -> None:
    pool = await create_pool(f"postgresql://postgres@127.0.0.1:{_free_port()}/x", min_size=0)
    try:
        with pytest.raises(Unavailable):
            async with PostgresUnitOfWork(pool):
                pass
        with pytest.raises(Unavailable):
            await PostgresRateLimiter(pool, ManualClock()).hit("k", 1, timedelta(minutes=1))
    finally:
        await pool.close()


@pytest.fixture
async def silent_server() -> AsyncIterator[int]:
    """A TCP port that accepts connections and never says a word (a hung database)."""
    writers: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.read()

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield int(server.sockets[0].getsockname()[1])
    finally:
        for writer in writers:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_hung_database_is_unavailable_not_a_hang(silent_server: int) -> None:
    pool = await create_pool(
        f"postgresql://postgres@127.0.0.1:{silent_server}/x", min_size=0, connect_timeout=30
    )
    try:
        started = time.monotonic()
        with pytest.raises(Unavailable):
            async with PostgresUnitOfWork(pool, acquire_timeout=0.3):
                pass
        # The acquire timeout (0.3 s) answered, not the 30 s connect timeout: far apart,
        # so a loaded machine can't blur them.
        assert time.monotonic() - started < 15
    finally:
        await pool.close()


async def test_delete_expired_removes_only_old_windows(clean_pg_pool: asyncpg.Pool) -> None:
    clock = ManualClock(T0)
    limiter = PostgresRateLimiter(clean_pg_pool, clock)
    await limiter.hit("old", 5, timedelta(minutes=1))
    clock.advance(timedelta(hours=1))
    await limiter.hit("new", 5, timedelta(minutes=1))
    assert await limiter.delete_expired(T0 + timedelta(minutes=30)) == 1
    assert await limiter.delete_expired(T0 + timedelta(minutes=30)) == 0
    keys = {r["key"] for r in await clean_pg_pool.fetch("SELECT key FROM rate_limits")}
    assert keys == {"new"}
    # a deleted key starts afresh
    assert (await limiter.hit("old", 1, timedelta(minutes=1))).allowed
