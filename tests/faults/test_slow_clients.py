"""Slow clients do not exhaust the server (issue 9).

A real ``momentic serve`` process (PostgreSQL: a fresh database of the run, migrations
applied; media in memory; one HTTP worker) is started the way production starts it, but
with its soft limit on open files lowered to 1024 (what systemd and many login shells
give): the server must raise it to the hard limit itself. Its timeouts are shortened so
the file runs in well under a minute: ``MOMENTIC_KEEPALIVE_TIMEOUT_SECONDS`` =
``KEEPALIVE`` and ``MOMENTIC_BODY_TIMEOUT_SECONDS`` = ``BODY_TIMEOUT`` (defaults 75 s and
20 s); the listen backlog is the default ``MOMENTIC_LISTEN_BACKLOG`` (1024).

A well-behaved client measures the p99 of ``GET /v1/me`` (one keep-alive connection,
``SAMPLES`` requests in a row) before each attack (the baseline) and during it. The
requirement is "within 2x"; this is a 2-core machine shared with other work, where a
single scheduling hiccup moves a ~2 ms p99 by more than that, so the bound is
``max(2 x baseline, baseline + SLACK)``. The client shares its event loop with the
attackers of the slowloris test; measurements start ``SETTLE`` s after the attack's
connections are made (a connection flood is another matter) and end before the first
timeout could have closed any of them.

- Slowloris: ``SLOW_BODIES`` connections send the headers of a POST with a big
  Content-Length and then one body byte every ``TRICKLE`` seconds, and ``SLOW_HEADERS``
  connections send their headers one byte at a time. The server closes every body within
  ``BODY_TIMEOUT`` (plus ``GRACE``) and every unfinished header within ``KEEPALIVE`` (plus
  ``GRACE``); its RSS grows by less than ``RSS_SLOWLORIS``.
- A WebSocket client subscribes to a video and never reads while comments on it are
  posted: the server drops it (close code 4408, or the transport cut when the close frame
  cannot get through either), its RSS grows by less than ``RSS_WEBSOCKET``, and another
  socket on the same video hears every comment.
- ``IDLE_SOCKETS`` TCP connections that never send a byte: the server accepts them all
  within ``ACCEPT_WITHIN`` s (its open files limit, its listen backlog), stays
  responsive, grows by less than ``RSS_IDLE``, and closes every one of them after the
  keep-alive timeout.

Server RSS is VmRSS from /proc/<pid>/status.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import os
import resource
import secrets
import shutil
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import attrs
import pytest
from ws_support import frames, stalled_subscriber

from adapters.config import Settings
from adapters.container import Composition
from adapters.postgres.migrate import apply_migrations
from momentic_core.model.accounts import Role

KEEPALIVE = 8.0  # MOMENTIC_KEEPALIVE_TIMEOUT_SECONDS of the server under test
BODY_TIMEOUT = 4.0  # MOMENTIC_BODY_TIMEOUT_SECONDS
GRACE = 1.5  # how much later than its timeout a connection may be closed
SERVER_NOFILE = 1024  # the soft open files limit the server is started with
SAMPLES = 300  # requests per p99 measurement...
MIN_SAMPLES = 100  # ...or at least this many when it must end by a deadline
SETTLE = 0.3  # seconds between an attack's connections being made and the measurement
SLACK = 0.020  # seconds: the floor of the "within 2x" bound
SLOW_BODIES = 150
SLOW_HEADERS = 50
TRICKLE = 0.5  # seconds between two bytes of a slowloris client
IDLE_SOCKETS = 5000
RSS_SLOWLORIS = 20 * 2**20
RSS_WEBSOCKET = 30 * 2**20
RSS_IDLE = 120 * 2**20  # ~24 KiB per idle connection
ACCEPT_WITHIN = 4.0  # seconds to open the idle sockets and have the server accept them
GUARD = 20.0  # hang guard for waits that have no timing claim
PASSWORD = "correct horse battery"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


# ------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _low_nofile() -> None:  # runs in the child between fork and exec
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(SERVER_NOFILE, hard), hard))


@attrs.define
class Server:
    proc: subprocess.Popen[str]
    base: str
    port: int
    log: list[str]
    reader: threading.Thread
    auth: dict[str, dict[str, str]] = attrs.field(factory=dict)  # nickname -> header
    video_id: int = 0

    def rss(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")

    def open_files(self) -> int:
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def nofile_limit(self) -> int:
        for line in Path(f"/proc/{self.proc.pid}/limits").read_text().splitlines():
            if line.startswith("Max open files"):
                return int(line.split()[3])
        raise AssertionError("no open files limit")

    def tail(self) -> str:
        return "\n".join(self.log[-30:])


def _start(database_url: str, data_dir: Path) -> Server:
    momentic = shutil.which("momentic", path=str(Path(sys.executable).parent))
    assert momentic, "the momentic command is not installed in this venv"
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTIC_")}
    env.update({
        "MOMENTIC_DATABASE_URL": database_url,
        "MOMENTIC_DATA_DIR": str(data_dir),
        "MOMENTIC_SECRET": secrets.token_urlsafe(32),
        "MOMENTIC_STORAGE": "memory",
        "MOMENTIC_HOST": "127.0.0.1",
        "MOMENTIC_PORT": str(port),
        "MOMENTIC_PUBLIC_URL": base,
        "MOMENTIC_HTTP_WORKERS": "1",
        "MOMENTIC_INPROCESS_WORKER": "false",
        "MOMENTIC_RATE_LIMIT_MULTIPLIER": "100000",
        "MOMENTIC_LOG_LEVEL": "WARNING",
        "MOMENTIC_LOG_FORMAT": "text",
        "MOMENTIC_KEEPALIVE_TIMEOUT_SECONDS": str(KEEPALIVE),
        "MOMENTIC_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
    })
    proc = subprocess.Popen(
        [momentic, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, preexec_fn=_low_nofile,
    )
    log: list[str] = []

    def read_log() -> None:
        assert proc.stderr is not None
        for line in proc.stderr:
            log.append(line.rstrip("\n"))

    reader = threading.Thread(target=read_log, daemon=True)
    reader.start()
    return Server(proc, base, port, log, reader)


@pytest.fixture(scope="module")
async def server(make_database: Callable[[], str], tmp_path_factory: Any) -> AsyncIterator[Server]:
    url = make_database()
    await asyncio.to_thread(apply_migrations, url)
    data_dir = tmp_path_factory.mktemp("slow-clients")
    settings = Settings(database_url=url, data_dir=str(data_dir), storage="memory",
                        log_level="ERROR", **FAST_HASH)  # type: ignore[arg-type]
    ids: dict[str, int] = {}
    async with Composition(settings) as services:
        for name in ("good", "author", "slow", "fast"):
            made = await services.accounts.create_user(f"{name}@bsu.by", PASSWORD, Role.USER)
            ids[name] = made.id
    conn = await asyncpg.connect(url)
    try:
        video_id = await conn.fetchval(
            "INSERT INTO videos (author_id, visibility, status, playback_key, thumbnail_key,"
            " created_at, updated_at, ready_at)"
            " VALUES ($1, 'public', 'ready', 'p.mp4', 't.jpg', now(), now(), now()) RETURNING id",
            ids["author"],
        )
    finally:
        await conn.close()

    srv = _start(url, data_dir)
    try:
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 60
            while True:
                assert srv.proc.poll() is None, f"the server exited:\n{srv.tail()}"
                assert time.monotonic() < deadline, f"not up in 60 s:\n{srv.tail()}"
                with contextlib.suppress(aiohttp.ClientError):
                    async with session.get(f"{srv.base}/readyz") as r:
                        if r.status == 200:
                            break
                await asyncio.sleep(0.2)
            for name in ids:
                async with session.post(f"{srv.base}/v1/auth/token", json={
                    "grant_type": "password", "email": f"{name}@bsu.by", "password": PASSWORD,
                }) as r:
                    assert r.status == 200, await r.text()
                    srv.auth[name] = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        srv.video_id = video_id
        yield srv
    finally:
        srv.proc.terminate()
        try:
            srv.proc.wait(10)
        except subprocess.TimeoutExpired:
            srv.proc.kill()
            srv.proc.wait()
        srv.reader.join(5)
        if srv.proc.stderr is not None:
            srv.proc.stderr.close()


# ------------------------------------------------------------ the good client


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[math.ceil(0.99 * len(ordered)) - 1]


def bound(baseline: float) -> float:
    return max(2 * baseline, baseline + SLACK)


async def good_p99(srv: Server, until: float = math.inf) -> float:
    """The p99 of ``SAMPLES`` GET /v1/me in a row on one keep-alive connection (fewer when
    the monotonic clock passes ``until``, but at least ``MIN_SAMPLES``)."""
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=1)
    async with aiohttp.ClientSession(connector=connector) as session:
        url, headers = f"{srv.base}/v1/me", srv.auth["good"]
        async with session.get(url, headers=headers) as r:  # connect, warm
            assert r.status == 200
            await r.read()
        for n in range(SAMPLES):
            if n >= MIN_SAMPLES and time.monotonic() > until:
                break
            sent = time.perf_counter()
            async with asyncio.timeout(GUARD), session.get(url, headers=headers) as r:
                await r.read()
                assert r.status == 200, r.status
            latencies.append(time.perf_counter() - sent)
    return p99(latencies)


# ------------------------------------------------------------------ slowloris


@attrs.define
class Slow:
    kind: str  # "body" or "headers"
    started: float = 0.0  # when the part the server should time out began
    closed: float | None = None  # when the server ended the connection
    answer: bytes = b""


async def _slowloris(srv: Server, slow: Slow, ready: asyncio.Event) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", srv.port)
    try:
        if slow.kind == "body":
            writer.write(b"POST /v1/auth/token HTTP/1.1\r\nHost: x\r\n"
                         b"Content-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{")
            rest = b'"grant_type": "password"' + b" " * 1000
        else:
            writer.write(b"GET /v1/me HTTP/1.1\r\n")
            rest = b"X-Slow: " + b"a" * 1000
        await writer.drain()
        slow.started = time.monotonic()
        ready.set()

        async def read_until_closed() -> None:
            with contextlib.suppress(ConnectionError):
                while chunk := await reader.read(65536):
                    slow.answer += chunk
            slow.closed = time.monotonic()

        watcher = asyncio.create_task(read_until_closed())
        for i in range(len(rest)):
            done, _ = await asyncio.wait([watcher], timeout=TRICKLE)
            if done:
                break
            try:
                writer.write(rest[i:i + 1])
                await writer.drain()
            except ConnectionError:
                break
        await asyncio.wait_for(watcher, GUARD)
    finally:
        writer.close()


async def test_slowloris_bodies_and_headers_are_cut_off(server: Server) -> None:
    srv = server
    baseline = await good_p99(srv)
    rss_before = srv.rss()

    slows = [Slow("body") for _ in range(SLOW_BODIES)] + [
        Slow("headers") for _ in range(SLOW_HEADERS)]
    readies = [asyncio.Event() for _ in slows]
    attack = [asyncio.create_task(_slowloris(srv, s, e))
              for s, e in zip(slows, readies, strict=True)]
    try:
        async with asyncio.timeout(GUARD):
            await asyncio.gather(*(e.wait() for e in readies))
        attacked = min(s.started for s in slows)
        await asyncio.sleep(SETTLE)
        during = await good_p99(srv, until=attacked + BODY_TIMEOUT - 0.5)
        measured = time.monotonic() - attacked
        rss_during = srv.rss()
        await asyncio.wait(attack, timeout=KEEPALIVE + GRACE + 1.0)
    finally:
        for task in attack:
            task.cancel()
        await asyncio.gather(*attack, return_exceptions=True)

    print(f"\nslowloris: baseline p99 {baseline * 1000:.1f} ms, under attack "
          f"{during * 1000:.1f} ms (measured from {SETTLE} s to {measured:.1f} s into the attack); "
          f"RSS {rss_before / 2**20:.1f} -> {rss_during / 2**20:.1f} MiB")
    assert during <= bound(baseline), (baseline, during)
    assert measured < BODY_TIMEOUT, "the measurement ran while every slow client was connected"
    assert rss_during - rss_before < RSS_SLOWLORIS, (rss_before, rss_during)
    for slow in slows:
        assert slow.closed is not None, slow
        took = slow.closed - slow.started
        limit = BODY_TIMEOUT if slow.kind == "body" else KEEPALIVE
        assert took < limit + GRACE, (slow.kind, took)
        assert not slow.answer.startswith(b"HTTP/1.1 2"), slow.answer[:200]
    assert srv.proc.poll() is None
    assert "Traceback" not in "\n".join(srv.log), srv.tail()


# ---------------------------------------------------------- a socket that never reads


def _connected_to(srv: Server, peer_port: int) -> bool:
    """Whether the server still holds a TCP connection from the local ``peer_port``."""
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(f"/proc/{srv.proc.pid}{name[5:]}").read_text().splitlines()[1:]:
                fields = line.split()
                local, remote, state = fields[1], fields[2], fields[3]
                if (int(local.rsplit(":", 1)[1], 16) == srv.port
                        and int(remote.rsplit(":", 1)[1], 16) == peer_port
                        and state == "01"):  # ESTABLISHED
                    return True
    return False


async def test_a_websocket_that_never_reads_is_dropped(server: Server) -> None:
    srv = server
    video = srv.video_id
    loop = asyncio.get_running_loop()

    raw, backlog = await stalled_subscriber("127.0.0.1", srv.port, srv.auth["slow"],
                                            f"video:{video}", GUARD)
    peer_port = raw.getsockname()[1]
    # From here on the slow client reads nothing.

    session = aiohttp.ClientSession()
    try:
        quick = await session.ws_connect(f"{srv.base}/v1/ws", headers=srv.auth["fast"])
        await quick.send_json({"op": "subscribe", "channel": f"video:{video}"})
        while (await quick.receive_json(timeout=GUARD)).get("type") != "subscribed":
            pass
        heard: list[str] = []

        async def listen() -> None:
            while True:
                frame = await quick.receive_json(timeout=GUARD)
                if frame.get("event") == "comment.created":
                    heard.append(frame["data"]["body"])
                    if frame["data"]["body"] == "last":
                        return

        listener = asyncio.create_task(listen())
        rss_before = rss_max = srv.rss()
        posted: list[str] = []
        started = time.monotonic()
        dropped_at = None
        url = f"{srv.base}/v1/videos/{video}/comments"
        while dropped_at is None:
            # Well before the heartbeat (30 s, then 15 s for the pong) would end it.
            assert time.monotonic() - started < GUARD, "the slow socket was never dropped"
            for _ in range(20):
                body = f"{len(posted):05d} " + "\U0001d54f" * 490  # 4 bytes each in UTF-8
                async with session.post(url, json={"body": body},
                                        headers=srv.auth["author"]) as r:
                    assert r.status == 201, await r.text()
                posted.append(body)
            rss_max = max(rss_max, srv.rss())
            if not _connected_to(srv, peer_port):
                dropped_at = time.monotonic()
        async with session.post(url, json={"body": "last"}, headers=srv.auth["author"]) as r:
            assert r.status == 201
        await asyncio.wait_for(listener, GUARD)
        assert heard == [*posted, "last"], "the other socket heard everything, in order"
        await quick.close()
    finally:
        await session.close()

    # What reached the slow client: some events, then a 4408 close or the cut.
    closing = None
    with contextlib.suppress(ConnectionError, TimeoutError):
        while closing is None:
            chunk = await asyncio.wait_for(loop.sock_recv(raw, 65536), GUARD)
            if not chunk:
                break
            backlog += chunk
            closing = next((p for op, p in frames(backlog) if op == 0x8), None)
    raw.close()
    if closing is not None:
        assert struct.unpack("!H", closing[:2])[0] == 4408 and closing[2:] == b"too_slow"
    events = [json.loads(p) for op, p in frames(backlog) if op == 0x1]
    comments = [e["data"]["body"] for e in events if e.get("event") == "comment.created"]
    assert comments == posted[:len(comments)] and len(comments) < len(posted)
    print(f"\nwebsocket: dropped after {len(posted)} comments in "
          f"{dropped_at - started:.1f} s ({'4408 close frame' if closing else 'transport cut'}); "
          f"it had read {len(comments)}; RSS {rss_before / 2**20:.1f} -> max "
          f"{rss_max / 2**20:.1f} MiB")
    assert rss_max - rss_before < RSS_WEBSOCKET, (rss_before, rss_max)


# ---------------------------------------------------------------- idle sockets


def _open_idle(port: int, count: int) -> list[socket.socket]:
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sockets.append(socket.create_connection(("127.0.0.1", port), timeout=GUARD))
    except BaseException:
        for s in sockets:
            s.close()
        raise
    return sockets


def _closed_by_server(s: socket.socket) -> bool:
    s.setblocking(False)
    try:
        return s.recv(1) == b""
    except BlockingIOError:
        return False
    except ConnectionError:
        return True


async def test_thousands_of_idle_sockets(server: Server) -> None:
    srv = server
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = IDLE_SOCKETS + 1000
    assert hard >= need, f"this test needs a hard limit on open files of {need}, not {hard}"
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    assert srv.nofile_limit() >= need, "the server did not raise its open files limit"

    baseline = await good_p99(srv)
    rss_before, files_before = srv.rss(), srv.open_files()
    opened = time.monotonic()
    idle = await asyncio.to_thread(_open_idle, srv.port, IDLE_SOCKETS)
    try:
        # All in the server's hands well before the first can time out (with the kernel's
        # usual listen backlog of 128 this takes ~25 s of SYN retries).
        deadline = opened + ACCEPT_WITHIN
        while srv.open_files() < files_before + IDLE_SOCKETS - 10:  # a few come and go
            assert time.monotonic() < deadline, (
                f"the server accepted {srv.open_files() - files_before} of {IDLE_SOCKETS}"
                f" in {ACCEPT_WITHIN} s\n{srv.tail()}")
            await asyncio.sleep(0.05)
        accepted = time.monotonic()
        during = await good_p99(srv, until=opened + KEEPALIVE - 1.0)
        rss_during = srv.rss()
        still_open = srv.open_files() - files_before

        while srv.open_files() > files_before + 10:
            assert time.monotonic() < accepted + KEEPALIVE + GRACE, (
                f"{srv.open_files() - files_before} idle connections still open "
                f"{time.monotonic() - opened:.1f} s after the first was opened")
            await asyncio.sleep(0.1)
        closed = time.monotonic()
        open_on_client = [s for s in idle if not _closed_by_server(s)]
    finally:
        for s in idle:
            s.close()

    print(f"\nidle sockets: {IDLE_SOCKETS} opened and accepted in {accepted - opened:.1f} s; "
          f"baseline p99 {baseline * 1000:.1f} ms, with them open {during * 1000:.1f} ms; "
          f"RSS {rss_before / 2**20:.1f} -> {rss_during / 2**20:.1f} MiB; all closed by the "
          f"server {closed - opened:.1f} s after the first was opened")
    assert during <= bound(baseline), (baseline, during)
    assert still_open >= IDLE_SOCKETS - 10, "measured while they were open"
    assert rss_during - rss_before < RSS_IDLE, (rss_before, rss_during)
    assert not open_on_client, f"{len(open_on_client)} sockets not closed by the server"
    assert srv.proc.poll() is None
    assert "Traceback" not in "\n".join(srv.log), srv.tail()
