"""Reads on PostgreSQL streaming replicas (issue 19 item 6), on a real replica.

One primary and one hot standby made for this module (``replica_support``: initdb,
``pg_basebackup -R``, ``standby.signal``), migrations applied on the primary and
streamed to the standby. What a read was served by is proved by what it sees: with the
standby's replay paused (``pg_wal_replay_pause()``), a row committed on the primary
since is visible only there.

- units of work opened with ``may_lag`` read from the replica, every other one (reads
  included) from the primary, and writes never reach the replica;
- read-your-writes: after a user's write, their reads go to the primary until the
  replica has replayed it (or the sticky time passed), while others read the replica;
- over HTTP: a profile edited by its owner is seen by the owner at once, by others from
  the replica; a feed is served from the replica;
- a replica that is killed, or that lags too far, serves nothing: reads fall back to
  the primary without an error, and it is used again once it is back;
- a read the standby cancels (a recovery conflict) or loses its connection under is
  answered by the primary, in a read-only transaction there; a refused write is not redone;
- /metrics says whether each replica serves reads, and its lag; /readyz lists each
  replica's state (up, lagging, down) and lag, and stays 200 while only a replica is out.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import attrs
import psycopg
import pytest
from replica_support import ReplicaCluster
from signup_support import FAST_HASH, new_user_auth

from adapters.acting import acting_scope
from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.memory.mail import InMemoryMailer
from adapters.postgres.db import create_pool
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.replicas import Replica, Replicas
from adapters.postgres.uow import PostgresUnitOfWork
from momentic_core.errors import NotFound
from momentic_core.model.accounts import User

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture(scope="module")
def cluster() -> Iterator[ReplicaCluster]:
    pair = ReplicaCluster()
    try:
        pair.start()
        apply_migrations(pair.primary_url)
        yield pair
    finally:
        pair.stop()


@pytest.fixture(scope="module")
async def primary(cluster: ReplicaCluster) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(cluster.primary_url, min_size=1, max_size=8)
    yield pool
    await pool.close()


@pytest.fixture(scope="module")
async def replica_pool(cluster: ReplicaCluster) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(cluster.replica_url, min_size=0, max_size=8)
    yield pool
    await pool.close()


_serial = itertools.count(1)


def new_user(**fields: Any) -> User:
    n = next(_serial)
    values: dict[str, Any] = {
        "id": 0, "email": f"replica{n}@example.com", "nickname": f"replica{n}",
        "created_at": datetime(2026, 12, 7, tzinfo=UTC), "password_hash": "$argon2id$fake",
        "email_verified": True,
    }
    return User(**(values | fields))


class Clock:
    """Monotonic seconds the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def replicas(replica_pool: asyncpg.Pool, cluster: ReplicaCluster) -> Replicas:
    """Replicas on the one standby, looked at only when a test says so (no watcher)."""
    found = Replicas([Replica("standby", replica_pool)], sticky=10.0, max_lag=3600.0,
                     clock=Clock())
    await caught_up(found, cluster)
    return found


def replay(cluster: ReplicaCluster, action: str) -> None:
    with psycopg.connect(cluster.replica_url, autocommit=True) as conn:
        conn.execute(f"SELECT pg_wal_replay_{action}()")


@pytest.fixture
def paused(cluster: ReplicaCluster) -> Iterator[None]:
    """The standby's replay paused for the test (it still receives WAL)."""
    replay(cluster, "pause")
    try:
        yield
    finally:
        replay(cluster, "resume")


async def caught_up(replicas: Replicas, cluster: ReplicaCluster) -> None:
    """Wait (bounded) until the standby has replayed everything the primary wrote."""
    with psycopg.connect(cluster.primary_url, autocommit=True) as conn:
        row = conn.execute("SELECT (pg_current_wal_insert_lsn() - '0/0'::pg_lsn)::int8").fetchone()
    assert row is not None
    for _ in range(500):
        await replicas.refresh()
        if replicas.replicas[0].up and replicas.replicas[0].replayed >= row[0]:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the standby did not catch up within 10 s")


def uow(primary: asyncpg.Pool, replicas: Replicas, **kwargs: Any) -> PostgresUnitOfWork:
    return PostgresUnitOfWork(primary, replicas=replicas, **kwargs)


async def add_user(primary: asyncpg.Pool, replicas: Replicas, **fields: Any) -> Any:
    async with uow(primary, replicas) as tx:
        return await tx.users.add(new_user(**fields))


async def test_reads_that_may_lag_are_served_by_the_replica(
    primary: asyncpg.Pool, replicas: Replicas, cluster: ReplicaCluster
) -> None:
    async with uow(primary, replicas, may_lag=True) as tx:
        assert tx.replica == "standby"
        in_recovery = await tx.users._conn.fetchval("SELECT pg_is_in_recovery()")
        assert in_recovery is True
    async with uow(primary, replicas, read_only=True) as tx:  # read-only, not may-lag
        assert tx.replica is None
        assert await tx.users._conn.fetchval("SELECT pg_is_in_recovery()") is False


async def test_with_replay_paused_a_new_row_is_seen_on_the_primary_only(
    primary: asyncpg.Pool, replicas: Replicas, cluster: ReplicaCluster, paused: None
) -> None:
    user = await add_user(primary, replicas)  # no acting user: nobody is kept on the primary
    await replicas.refresh()
    async with uow(primary, replicas, may_lag=True) as tx:
        with pytest.raises(NotFound):
            await tx.users.get(user.id)  # the replica has not replayed it
    async with uow(primary, replicas, read_only=True) as tx:
        assert await tx.users.get(user.id) == user


async def test_writes_never_go_to_the_replica(
    primary: asyncpg.Pool, replicas: Replicas, cluster: ReplicaCluster
) -> None:
    with acting_scope() as acting:
        acting.user_id = 1
        user = await add_user(primary, replicas)  # a standby would refuse the INSERT
        async with uow(primary, replicas) as tx:
            assert tx.replica is None
            await tx.users.update(attrs.evolve(user, bio="written"))
    async with uow(primary, replicas, read_only=True) as tx:
        assert (await tx.users.get(user.id)).bio == "written"


async def test_after_a_write_the_writer_reads_the_primary_and_others_the_replica(
    primary: asyncpg.Pool, replicas: Replicas, cluster: ReplicaCluster
) -> None:
    writer = await add_user(primary, replicas, bio="before")
    reader = await add_user(primary, replicas)
    await caught_up(replicas, cluster)
    replay(cluster, "pause")
    try:
        with acting_scope() as acting:  # the writer's request
            acting.user_id = writer.id
            async with uow(primary, replicas) as tx:
                await tx.users.update(attrs.evolve(writer, bio="after"))
            async with uow(primary, replicas, may_lag=True) as tx:
                assert tx.replica is None
                assert (await tx.users.get(writer.id)).bio == "after"
        with acting_scope() as acting:  # the writer's next request
            acting.user_id = writer.id
            await replicas.refresh()
            async with uow(primary, replicas, may_lag=True) as tx:
                assert tx.replica is None
                assert (await tx.users.get(writer.id)).bio == "after"
        with acting_scope() as acting:  # someone else's: the replica, a moment behind
            acting.user_id = reader.id
            async with uow(primary, replicas, may_lag=True) as tx:
                assert tx.replica == "standby"
                assert (await tx.users.get(writer.id)).bio == "before"
    finally:
        replay(cluster, "resume")
    await caught_up(replicas, cluster)
    with acting_scope() as acting:  # replayed: the writer reads the replica again
        acting.user_id = writer.id
        async with uow(primary, replicas, may_lag=True) as tx:
            assert tx.replica == "standby"
            assert (await tx.users.get(writer.id)).bio == "after"


async def test_the_writer_stays_on_the_primary_for_the_sticky_time_at_most(
    primary: asyncpg.Pool, replicas: Replicas, cluster: ReplicaCluster, paused: None
) -> None:
    clock = replicas._clock
    assert isinstance(clock, Clock)
    writer = await add_user(primary, replicas)
    with acting_scope() as acting:
        acting.user_id = writer.id
        async with uow(primary, replicas) as tx:
            await tx.users.update(attrs.evolve(writer, bio="after"))
    with acting_scope() as acting:
        acting.user_id = writer.id
        async with uow(primary, replicas, may_lag=True) as tx:
            assert tx.replica is None
        clock.now += replicas.sticky
        async with uow(primary, replicas, may_lag=True) as tx:  # never replayed: bounded
            assert tx.replica == "standby"


async def test_a_replica_that_lags_too_far_serves_no_read(
    primary: asyncpg.Pool, replica_pool: asyncpg.Pool, cluster: ReplicaCluster,
    paused: None,
) -> None:
    strict = Replicas([Replica("standby", replica_pool)], sticky=10.0, max_lag=0.001)
    await add_user(primary, strict)  # received, never replayed: the standby falls behind
    for _ in range(500):
        await strict.refresh()
        if strict.replicas[0].lag > strict.max_lag:
            break
        await asyncio.sleep(0.02)
    assert strict.replicas[0].up
    async with uow(primary, strict, may_lag=True) as tx:
        assert tx.replica is None


async def test_a_killed_replica_sends_reads_to_the_primary_until_it_is_back(
    primary: asyncpg.Pool, replicas: Replicas, cluster: ReplicaCluster
) -> None:
    user = await add_user(primary, replicas)
    await caught_up(replicas, cluster)
    await asyncio.to_thread(cluster.kill_replica)
    try:
        # Not looked at since: still thought up; the read finds out and falls back.
        assert replicas.replicas[0].up
        for _ in range(3):
            async with uow(primary, replicas, may_lag=True) as tx:
                assert tx.replica is None
                assert await tx.users.get(user.id) == user
        assert not replicas.replicas[0].up
        await replicas.refresh()
        assert not replicas.replicas[0].up
    finally:
        await asyncio.to_thread(cluster.start_replica)
    await caught_up(replicas, cluster)
    async with uow(primary, replicas, may_lag=True) as tx:
        assert tx.replica == "standby"
        assert await tx.users.get(user.id) == user


def _settings(cluster: ReplicaCluster, tmp_path: Path, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": cluster.primary_url, "database_replica_urls": cluster.replica_url,
        "storage": "local", "data_dir": str(tmp_path), "secret": "replica-secret",
        "db_pool_min": 1, "db_pool_max": 4, **FAST_HASH,
    }
    return Settings(**(values | extra))


async def test_over_http_my_edit_is_mine_at_once_and_others_read_the_replica(
    aiohttp_client: Any, cluster: ReplicaCluster, replicas: Replicas, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(Composition(
        _settings(cluster, tmp_path), mailer=InMemoryMailer())))
    owner, other = await new_user_auth(client), await new_user_auth(client)
    me = await (await client.get("/v1/me", headers=owner)).json()
    # (A first authenticated request records the day's activity: a write of its own.)
    assert (await client.get("/v1/me", headers=other)).status == 200
    await caught_up(replicas, cluster)
    replay(cluster, "pause")
    try:
        r = await client.patch("/v1/me", json={"bio": "edited"}, headers=owner)
        assert r.status == 200, await r.text()
        mine = await client.get(f"/v1/users/{me['id']}", headers=owner)
        assert (await mine.json())["bio"] == "edited"
        theirs = await client.get(f"/v1/users/{me['id']}", headers=other)
        assert (await theirs.json())["bio"] is None  # the replica, replay paused
        feed = await client.get("/v1/feed/global", headers=other)
        assert feed.status == 200, await feed.text()
    finally:
        replay(cluster, "resume")
    await caught_up(replicas, cluster)
    for _ in range(100):  # the app's own watcher looks every 100 ms
        theirs = await client.get(f"/v1/users/{me['id']}", headers=other)
        if (await theirs.json())["bio"] == "edited":
            break
        await asyncio.sleep(0.05)
    assert (await theirs.json())["bio"] == "edited"
    scrape = await (await client.get("/metrics")).text()  # (from loopback: no token)
    name = f"127.0.0.1:{cluster.replica_port}/momentic"
    assert f'momentic_db_replica_up{{replica="{name}"}} 1.0' in scrape
    assert f'momentic_db_replica_lag_seconds{{replica="{name}"}}' in scrape


async def test_over_http_a_dead_replica_answers_from_the_primary(
    aiohttp_client: Any, cluster: ReplicaCluster, replicas: Replicas, tmp_path: Path
) -> None:
    client = await aiohttp_client(create_app(Composition(
        _settings(cluster, tmp_path), mailer=InMemoryMailer())))
    auth = await new_user_auth(client)
    await asyncio.to_thread(cluster.kill_replica)
    try:
        for path in ("/v1/feed/global", "/v1/feed/friends", "/v1/me"):
            r = await client.get(path, headers=auth)
            assert r.status == 200, (path, await r.text())
        r = await client.patch("/v1/me", json={"bio": "still writing"}, headers=auth)
        assert r.status == 200, await r.text()
        scrape = await (await client.get("/metrics")).text()
        name = f"127.0.0.1:{cluster.replica_port}/momentic"
        assert f'momentic_db_replica_up{{replica="{name}"}} 0.0' in scrape
    finally:
        await asyncio.to_thread(cluster.start_replica)
    await caught_up(replicas, cluster)




async def _readyz_replica(client: Any, state: str) -> dict[str, Any]:
    """The replica in /readyz's body once it says ``state`` (the app looks every 100 ms);
    every answer meanwhile is 200: a replica never decides readiness."""
    for _ in range(200):
        r = await client.get("/readyz")
        assert r.status == 200, await r.text()
        body = await r.json()
        assert body["status"] == "ready" and len(body["replicas"]) == 1
        if body["replicas"][0]["state"] == state:
            return dict(body["replicas"][0])
        await asyncio.sleep(0.05)
    raise AssertionError(f"/readyz never said the replica is {state}: {body}")


async def test_readyz_reports_each_replica_without_failing_on_it(
    aiohttp_client: Any, cluster: ReplicaCluster, replicas: Replicas, primary: asyncpg.Pool,
    tmp_path: Path,
) -> None:
    client = await aiohttp_client(create_app(Composition(
        _settings(cluster, tmp_path, database_replica_max_lag_seconds=0.5),
        mailer=InMemoryMailer())))
    name = f"127.0.0.1:{cluster.replica_port}/momentic"
    up = await _readyz_replica(client, "up")
    assert up["name"] == name and 0 <= up["lag_seconds"] <= 0.5
    replay(cluster, "pause")
    try:  # WAL received and not replayed: its lag grows past the limit
        await add_user(primary, replicas)
        lagging = await _readyz_replica(client, "lagging")
        assert lagging["lag_seconds"] > 0.5
    finally:
        replay(cluster, "resume")
    await _readyz_replica(client, "up")
    await asyncio.to_thread(cluster.kill_replica)
    try:
        down = await _readyz_replica(client, "down")
        assert down == {"index": 1, "name": name, "state": "down", "lag_seconds": None}
    finally:
        await asyncio.to_thread(cluster.start_replica)
    await caught_up(replicas, cluster)
    await _readyz_replica(client, "up")


# A statement that sleeps on the standby only: redone on the primary, it answers at once.
_SLOW_ON_STANDBY = (
    "SELECT u.id, pg_is_in_recovery() AS standby, current_setting('transaction_read_only')"
    " AS read_only FROM users u, pg_sleep(CASE WHEN pg_is_in_recovery() THEN 4 ELSE 0 END)"
    " WHERE u.id = $1"
)


async def _running_on_standby(cluster: ReplicaCluster) -> None:
    """Wait (bounded) until the standby runs the slow statement."""
    for _ in range(200):
        with psycopg.connect(cluster.replica_url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                " AND query LIKE '%pg_sleep(CASE%' AND pid <> pg_backend_pid()"
            ).fetchone()
        if row is not None and row[0] > 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the slow read never started on the standby")


def _standby_delay(cluster: ReplicaCluster, value: str | None) -> None:
    with psycopg.connect(cluster.replica_url, autocommit=True) as conn:
        if value is None:
            conn.execute("ALTER SYSTEM RESET max_standby_streaming_delay")
        else:
            conn.execute(f"ALTER SYSTEM SET max_standby_streaming_delay = '{value}'")
        conn.execute("SELECT pg_reload_conf()")


async def test_a_read_cancelled_by_a_recovery_conflict_answers_from_the_primary(
    primary: asyncpg.Pool, replicas: Replicas, cluster: ReplicaCluster
) -> None:
    user = await add_user(primary, replicas)
    await caught_up(replicas, cluster)
    _standby_delay(cluster, "100ms")  # the standby cancels what holds replay up 100 ms
    try:
        async with uow(primary, replicas, may_lag=True) as tx:
            assert tx.replica == "standby"
            read = asyncio.create_task(tx.users._fetchrow(_SLOW_ON_STANDBY, user.id))
            await _running_on_standby(cluster)
            # An ACCESS EXCLUSIVE lock is replayed on the standby, where the read holds
            # ACCESS SHARE on users: replay waits 100 ms, then cancels the read (40001).
            async with primary.acquire() as conn, conn.transaction():
                await conn.execute("LOCK TABLE users IN ACCESS EXCLUSIVE MODE")
            row = await read
            assert row is not None and row["id"] == user.id
            assert row["standby"] is False  # answered by the primary,
            assert row["read_only"] == "on"  # where it could not have written
            assert tx.replica is None
            assert await tx.users.get(user.id) == user  # the rest of the block too
    finally:
        _standby_delay(cluster, None)
    assert replicas.replicas[0].retried == 1
    assert replicas.replicas[0].up  # a conflict is no outage
    await caught_up(replicas, cluster)
    async with uow(primary, replicas, may_lag=True) as tx:
        assert tx.replica == "standby"


async def test_a_read_whose_replica_dies_under_it_answers_from_the_primary(
    primary: asyncpg.Pool, replicas: Replicas, cluster: ReplicaCluster
) -> None:
    user = await add_user(primary, replicas)
    await caught_up(replicas, cluster)
    try:
        async with uow(primary, replicas, may_lag=True) as tx:
            assert tx.replica == "standby"
            read = asyncio.create_task(tx.users._fetchrow(_SLOW_ON_STANDBY, user.id))
            await _running_on_standby(cluster)
            await asyncio.to_thread(cluster.kill_replica)
            row = await read
            assert row is not None and row["id"] == user.id and row["standby"] is False
            assert row["read_only"] == "on"
        assert not replicas.replicas[0].up  # skipped until a look finds it back
        assert replicas.replicas[0].retried == 1
    finally:
        await asyncio.to_thread(cluster.start_replica)
    await caught_up(replicas, cluster)


async def test_a_write_the_standby_refuses_is_not_redone_on_the_primary(
    primary: asyncpg.Pool, replicas: Replicas, cluster: ReplicaCluster
) -> None:
    user = await add_user(primary, replicas)
    await caught_up(replicas, cluster)
    async with uow(primary, replicas, may_lag=True) as tx:
        with pytest.raises(asyncpg.ReadOnlySQLTransactionError):
            await tx.users._execute("UPDATE users SET bio = 'no' WHERE id = $1", user.id)
        assert tx.replica == "standby"
    assert replicas.replicas[0].retried == 0
    async with uow(primary, replicas, read_only=True) as tx:
        assert (await tx.users.get(user.id)).bio is None
