"""``kill -9`` of a worker in the middle of the daily moment's fan-out (issue 17, item 6).

``momentic worker`` runs as a real subprocess on a fresh PostgreSQL database, pushing to
the fake APNs of this test (tests/push_support.py, a little slow on purpose) with a short
job lease. The moment of 200 users with one iPhone each is queued in four pages; once a
third of the pushes went out, the worker gets SIGKILL and is started again. Every phone
gets the moment, and at most the one push in flight at the kill goes out twice (the
service accepted it, the job was not settled): fan-outs are claimed in the transaction
that queues their deliveries, so none is queued twice."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from push_support import FakeApns, p8_key

from adapters.clock import SystemClock
from adapters.postgres.db import create_pool
from adapters.postgres.migrate import apply_migrations
from adapters.postgres.uow import PostgresUnitOfWork
from adapters.push.logging import LoggingPushSender
from momentic_core.model.accounts import Session, User
from momentic_core.model.devices import ApnsEnvironment, Device, Platform
from momentic_core.model.ranking import Moment
from momentic_core.services.push import Pushes

ROOT = Path(__file__).resolve().parents[2]
USERS, PAGE = 200, 50
TOPIC = "app.momentic.ios"


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "adapters.cli.main", "worker"], cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )


async def _until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


async def test_kill9_during_the_moment_fan_out_loses_none(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    url = make_database()
    apply_migrations(url)
    key = p8_key()
    apns = await FakeApns(key, "KEY1234567", "TEAM123456", TOPIC).start()
    apns.delay = 0.01
    pool = await create_pool(url, min_size=1, max_size=4, command_timeout=10)
    uow = functools.partial(PostgresUnitOfWork, pool, clock=SystemClock())
    now = datetime.now(UTC)
    tokens, ids = [], []
    async with uow() as tx:
        for n in range(USERS):
            user = await tx.users.add(User(
                id=0, email=f"k{n}@bsu.by", nickname=f"k{n}", password_hash="x",
                created_at=now, email_verified=True))
            session = await tx.sessions.add(Session(
                id=0, user_id=user.id, created_at=now, last_used_at=now))
            token = f"{n:064x}"
            await tx.devices.register(Device(
                id=0, user_id=user.id, session_id=session.id, platform=Platform.IOS,
                token=token, apns_environment=ApnsEnvironment.PRODUCTION,
                created_at=now, last_seen_at=now))
            tokens.append(token)
            ids.append(user.id)
    moment = Moment(day=now.date(), time_zone="UTC", at=now, window=timedelta(minutes=2))
    pushes = Pushes(uow=uow, clock=SystemClock(), gateway=LoggingPushSender())
    for start in range(0, USERS, PAGE):
        await pushes.send_moment(ids[start:start + PAGE], moment)

    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTIC_")}
    env.update({
        "MOMENTIC_DATABASE_URL": url, "MOMENTIC_DATA_DIR": str(tmp_path / "data"),
        "MOMENTIC_SECRET": "kill9-push-secret", "MOMENTIC_STORAGE": "local",
        "MOMENTIC_JOB_LEASE_SECONDS": "2", "MOMENTIC_LOG_LEVEL": "WARNING",
        "MOMENTIC_PUSH_CONCURRENCY": "1",  # so at most the one push in flight is doubled
        "MOMENTIC_APNS_KEY": key, "MOMENTIC_APNS_KEY_ID": "KEY1234567",
        "MOMENTIC_APNS_TEAM_ID": "TEAM123456", "MOMENTIC_APNS_TOPIC": TOPIC,
        "MOMENTIC_APNS_URL": apns.url, "MOMENTIC_APNS_SANDBOX_URL": apns.url,
    })
    log = tmp_path / "worker.log"
    proc = _worker(env, log)
    try:
        await _until(lambda: len(apns.received) >= USERS // 3, 60, "a third of the pushes")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        sent_before = len(apns.received)
        assert sent_before < USERS, "killed in the middle"
        proc = _worker(env, log)
        await _until(lambda: {p["token"] for p in apns.received} == set(tokens), 90,
                     "every phone")
        await asyncio.sleep(3)  # a lease or two more: nothing else goes out
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        await apns.stop()
    counts = Counter(p["token"] for p in apns.received)
    twice = [t for t, c in counts.items() if c > 1]
    assert len(twice) <= 1, (twice, log.read_text()[-2000:])
    assert all(c <= 2 for c in counts.values())
    assert await pool.fetchval(
        "SELECT count(*) FROM push_claims WHERE key LIKE 'moment:%'") == USERS
    assert await pool.fetchval(  # every delivery marked settled
        "SELECT count(*) FROM push_claims WHERE key LIKE 'sent:moment:%'") == USERS
    assert await pool.fetchval(
        "SELECT count(*) FROM jobs WHERE kind = 'push.deliver' AND status <> 'done'") == 0
    await pool.close()
