"""Benchmark: reactions per second over HTTP, and how long a comment takes to reach 200
subscribed WebSocket clients.

It makes its own PostgreSQL database, applies the migrations, makes sure
``synchronous_commit`` is on for it, and seeds it with COPY (deterministically from
``--seed``): ``--users`` verified users with one known password, ``--videos`` ready
public videos by random authors. It starts ``momentic serve`` on that database as a
separate process and signs every user in with the password grant. Then:

(a) Reactions: ``PUT /v1/videos/{id}/reaction`` by a random user on a random video with
    a random kind (a new reaction, a change, or the same again), from a closed loop of
    ``--concurrency`` aiohttp clients for ``--seconds`` after ``--warmup``, then
    ``--serial-seconds`` with one client alone. Two rows: ``spread`` (any video) and
    ``hot video`` (every request on one video: all writers queue on its row lock).
    Reports throughput and p50/p90/p99/max latency, the commits and WAL flushes the
    server made per request (pg_stat_database, pg_stat_wal), and checks at the end that
    every video's counters equal its reaction rows.
(b) Live fan-out: ``--sockets`` clients (one user each) open ``GET /v1/ws`` and subscribe
    to one video; one user posts ``--comments`` comments to it (after
    ``--warmup-comments`` that are not counted), one at a time, waiting until every
    socket has the ``comment.created`` frame. The delay of a delivery is
    its arrival at a socket minus the moment the POST was sent; reported as p50/p95/
    p99/max over every (comment, socket), and per comment until the last socket has it.

Prints a table; writes bench/results/social.json; drops the database unless ``--keep``.
Exits 1 if any request failed or a frame did not arrive.

    .venv/bin/python bench/social.py [--users 1000] [--videos 2000] [--concurrency 32]
        [--seconds 10] [--warmup 2] [--serial-seconds 5] [--sockets 200] [--comments 50]
        [--warmup-comments 3] [--gap 0.05] [--one-ip] [--seed 1] [--keep]

Not a test: pytest collects ``tests/`` only.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import secrets
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import bench_server
import psutil
from bench_server import Run, Server, bench_settings, timed
from feeds import (
    ADMIN_URL,
    COUNTERS_DRIFT,
    USER_COLUMNS,
    VIDEO_COLUMNS,
    create_database,
    drop_database,
    percentile,
)

from adapters.crypto.passwords import Argon2PasswordHasher
from adapters.postgres.migrate import apply_migrations

RESULTS_DIR = Path(__file__).resolve().parent / "results"
PASSWORD = "bench password, not a secret"
KINDS = ("heart", "flame", "funny", "angry")
LOGIN_CONCURRENCY = 16
# The bench users' password hash is cheap (argon2id t=1, 1 MiB): signing in 1,000 users
# with the server's default parameters would take longer than the measurements. The
# server verifies with the parameters stored in the hash; nothing measured hashes.
CHEAP_HASH = {"time_cost": 1, "memory_cost": 1024, "parallelism": 1}
FRAME_TIMEOUT = 30.0  # a delivery that takes longer counts as lost


# ---------------------------------------------------------------- database and seeding


async def server_settings(url: str) -> dict[str, str]:
    """The settings that decide what a commit costs, as the server's sessions see them
    (same URL, so database- and role-level settings included)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT name, setting FROM pg_settings WHERE name = ANY($1::text[])",
            ["synchronous_commit", "fsync", "wal_sync_method", "commit_delay",
             "full_page_writes", "shared_buffers", "max_connections"],
        )
        values = {r["name"]: r["setting"] for r in rows}
        values["server_version"] = await conn.fetchval("SHOW server_version")
        return values
    finally:
        await conn.close()


async def require_synchronous_commit(admin_url: str, name: str, url: str) -> dict[str, str]:
    """synchronous_commit on (a commit returns once its WAL is flushed to disk): set at
    the database level if the server's default says otherwise, then checked."""
    values = await server_settings(url)
    if values["synchronous_commit"] != "on":
        conn = await asyncpg.connect(admin_url)
        try:
            await conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = on')
        finally:
            await conn.close()
        values = await server_settings(url)
    if values["synchronous_commit"] != "on":
        raise SystemExit(f"synchronous_commit is {values['synchronous_commit']!r}, not on")
    return values


def user_rows(users: int, now: datetime, password_hash: str) -> Iterator[tuple[Any, ...]]:
    created = now - timedelta(days=30)
    for uid in range(1, users + 1):
        yield (uid, f"social{uid}@bench.momentic.test", f"social{uid}", password_hash, True,
               "active", None, "UTC", created)


def video_rows(
    videos: int, users: int, now: datetime, rng: random.Random, first_author: int
) -> Iterator[tuple[Any, ...]]:
    """Ready public videos of the last two days (no BeReal lock applies to public ones);
    video 1, the one the sockets watch, is ``first_author``'s (so the comments on it
    notify nobody)."""
    start = now - timedelta(days=2)
    for vid in range(1, videos + 1):
        created = start + timedelta(seconds=vid * 60)
        ready = created + timedelta(seconds=20)
        author = first_author if vid == 1 else rng.randint(1, users)
        yield (vid, author, f"social bench video {vid}", "public", "ready",
               f"videos/{vid}/playback.mp4", f"videos/{vid}/thumb.jpg", 2_000_000, 10.0,
               720, 1280, "mp4", "h264", "aac", created, ready, ready, "public")


async def seed(url: str, users: int, videos: int, seed_value: int, now: datetime) -> float:
    started = time.monotonic()
    password_hash = await Argon2PasswordHasher(
        CHEAP_HASH["time_cost"], CHEAP_HASH["memory_cost"], CHEAP_HASH["parallelism"]
    ).hash(PASSWORD)
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "users", columns=USER_COLUMNS, records=user_rows(users, now, password_hash)
        )
        rng = random.Random(f"{seed_value}:videos")  # noqa: S311 (test data)
        await conn.copy_records_to_table(
            "videos", columns=VIDEO_COLUMNS,
            records=video_rows(videos, users, now, rng, first_author=users),
        )
        for table in ("users", "videos"):  # ids were given; new rows continue after them
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                f"(SELECT max(id) FROM {table}))"  # (two fixed table names)
            )
        await conn.execute("VACUUM (ANALYZE)")
    finally:
        await conn.close()
    return round(time.monotonic() - started, 2)


async def database_counters(url: str, name: str) -> dict[str, int]:
    """Commits in the bench database, WAL flushes (pg_stat_wal, pg_stat_io from 18) and
    checkpoints of the whole server: their deltas over a run show what synchronous commit
    costs, and whether a checkpoint (CREATE or DROP DATABASE by anyone forces one) fell
    into it."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT pg_stat_clear_snapshot()")
        commits = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", name
        )
        wal = None
        for query in (
            "SELECT wal_sync, wal_write FROM pg_stat_wal",  # PostgreSQL 14 to 17
            "SELECT sum(fsyncs) AS wal_sync, sum(writes) AS wal_write "  # 18+
            "FROM pg_stat_io WHERE object = 'wal'",
        ):
            try:
                wal = await conn.fetchrow(query)
                break
            except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError):
                continue
        checkpoints = -1
        for query in (
            "SELECT num_timed + num_requested FROM pg_stat_checkpointer",  # PostgreSQL 17+
            "SELECT checkpoints_timed + checkpoints_req FROM pg_stat_bgwriter",
        ):
            try:
                checkpoints = int(await conn.fetchval(query))
                break
            except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError):
                continue
        return {
            "commits": int(commits or 0),
            "wal_syncs": int(wal["wal_sync"] or 0) if wal else -1,
            "wal_writes": int(wal["wal_write"] or 0) if wal else -1,
            "checkpoints": checkpoints,
        }
    finally:
        await conn.close()


async def counters_drift(url: str) -> int:
    """Videos and comments whose counters differ from their rows (must be 0)."""
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(COUNTERS_DRIFT))
    finally:
        await conn.close()


# ---------------------------------------------------------------- the server and sign-in


def start_server(database_url: str, data_dir: str) -> Server:
    """``momentic serve`` on the bench database. It trusts one proxy, so each bench user
    comes from an address of its own (``X-Forwarded-For``) as real clients do, instead
    of every request counting on one per-IP rate-limit row (see ``--one-ip``)."""
    return Server(bench_settings(database_url, data_dir, MOMENTIC_TRUSTED_PROXIES="1"))


def client_address(uid: int, one_ip: bool) -> dict[str, str]:
    """The X-Forwarded-For header of user ``uid``: 10.x.y.z of its own (none with
    ``--one-ip``: everyone is 127.0.0.1)."""
    return {} if one_ip else bench_server.client_address(uid)


async def sign_in_all(
    session: aiohttp.ClientSession, server: Server, users: int, one_ip: bool
) -> dict[int, dict[str, str]]:
    """The headers of each user: Authorization (password grant, LOGIN_CONCURRENCY at a
    time) and its client address."""
    headers: dict[int, dict[str, str]] = {}
    queue = list(range(1, users + 1))

    async def one() -> None:
        while queue:
            uid = queue.pop()
            body = {"grant_type": "password", "email": f"social{uid}@bench.momentic.test",
                    "password": PASSWORD, "device_name": "bench"}
            address = client_address(uid, one_ip)
            async with session.post(f"{server.base}/v1/auth/token", json=body,
                                    headers=address) as r:
                if r.status != 200:
                    raise SystemExit(f"sign in as user {uid}: {r.status} {await r.text()}")
                token = (await r.json())["access_token"]
                headers[uid] = {"Authorization": f"Bearer {token}", **address}

    await asyncio.gather(*(one() for _ in range(LOGIN_CONCURRENCY)))
    return headers


# ---------------------------------------------------------------- (a) reactions


def cpu_seconds(server: Server) -> dict[str, float]:
    """CPU time used so far by the server, by PostgreSQL's processes (all of them:
    backends, WAL writer, checkpointer...) and by this load generator."""
    postgres = 0.0
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] in ("postgres", "postmaster"):
            try:
                times = proc.cpu_times()
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            postgres += times.user + times.system
    mine = psutil.Process().cpu_times()
    theirs = psutil.Process(server.proc.pid).cpu_times()
    return {
        "server": theirs.user + theirs.system,
        "postgres": postgres,
        "load_generator": mine.user + mine.system,
    }


async def reaction_loop(
    session: aiohttp.ClientSession,
    base: str,
    headers: dict[int, dict[str, str]],
    pick_video: Any,
    rng: random.Random,
    concurrency: int,
    seconds: float,
) -> Run:
    """``concurrency`` clients, each sending its next PUT when the last is answered."""
    run = Run()
    users = list(headers)
    started = time.perf_counter()
    deadline = started + seconds

    async def client() -> None:
        while time.perf_counter() < deadline:
            uid, video, kind = rng.choice(users), pick_video(), rng.choice(KINDS)
            await timed(run, session.put(f"{base}/v1/videos/{video}/reaction",
                                         json={"kind": kind}, headers=headers[uid]))

    await asyncio.gather(*(client() for _ in range(concurrency)))
    run.seconds = time.perf_counter() - started
    return run


@dataclass
class ReactionRow:
    row: str
    requests: int
    errors: int
    warmup_errors: int
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    seconds: float
    commits_per_request: float
    wal_syncs_per_request: float
    cpu_cores: dict[str, float]  # CPU seconds per second of the timed run, by process
    checkpoints: int  # that began during the timed run (server-wide)
    serial_requests: int
    serial_errors: int
    serial_rps: float
    serial_p50_ms: float
    serial_p99_ms: float
    error_samples: list[str]

    @property
    def failed(self) -> int:
        return self.errors + self.warmup_errors + self.serial_errors


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 2)


async def measure_reactions(
    session: aiohttp.ClientSession,
    server: Server,
    url: str,
    name: str,
    headers: dict[int, dict[str, str]],
    row: str,
    pick_video: Any,
    rng: random.Random,
    args: argparse.Namespace,
) -> ReactionRow:
    warm = await reaction_loop(session, server.base, headers, pick_video, rng,
                               args.concurrency, args.warmup)
    before = await database_counters(url, name)
    cpu_before = cpu_seconds(server)
    run = await reaction_loop(session, server.base, headers, pick_video, rng,
                              args.concurrency, args.seconds)
    cpu_after = cpu_seconds(server)
    after = await database_counters(url, name)
    serial = await reaction_loop(session, server.base, headers, pick_video, rng, 1,
                                 args.serial_seconds)
    lat, one = sorted(run.latencies), sorted(serial.latencies)
    sent = len(lat) + run.errors
    return ReactionRow(
        row=row,
        requests=sent,
        errors=run.errors,
        warmup_errors=warm.errors,
        rps=round(len(lat) / run.seconds, 1) if run.seconds else 0.0,
        p50_ms=ms(percentile(lat, 50)),
        p90_ms=ms(percentile(lat, 90)),
        p99_ms=ms(percentile(lat, 99)),
        max_ms=ms(lat[-1]) if lat else float("nan"),
        seconds=round(run.seconds, 2),
        commits_per_request=round((after["commits"] - before["commits"]) / max(1, sent), 2),
        wal_syncs_per_request=round((after["wal_syncs"] - before["wal_syncs"]) / max(1, sent), 2)
        if before["wal_syncs"] >= 0 else float("nan"),
        cpu_cores={k: round((cpu_after[k] - cpu_before[k]) / run.seconds, 2)
                   for k in cpu_after} if run.seconds else {},
        checkpoints=after["checkpoints"] - before["checkpoints"],
        serial_requests=len(one) + serial.errors,
        serial_errors=serial.errors,
        serial_rps=round(len(one) / serial.seconds, 1) if serial.seconds else 0.0,
        serial_p50_ms=ms(percentile(one, 50)),
        serial_p99_ms=ms(percentile(one, 99)),
        error_samples=warm.error_samples + run.error_samples + serial.error_samples,
    )


# ---------------------------------------------------------------- (b) live fan-out


@dataclass
class FanOut:
    sockets: int
    comments: int
    warmup_comments: int
    deliveries: int
    lost: int
    post_errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    all_sockets_p50_ms: float  # per comment: until the last socket had it
    all_sockets_max_ms: float
    post_p50_ms: float  # the POST's own response time
    post_p99_ms: float
    # Arrival minus the moment the POST's response was read (negative: the frame came
    # first): what the fan-out adds once the write is done.
    after_response_p50_ms: float
    after_response_p99_ms: float
    error_samples: list[str]
    per_comment: list[dict[str, Any]]  # warm-up ones included, marked counted=false
    checkpoints: int = 0  # that began while the comments were sent (server-wide)

    @property
    def failed(self) -> int:
        return self.lost + self.post_errors


async def measure_fanout(
    server: Server,
    headers: dict[int, dict[str, str]],
    commenter: int,
    args: argparse.Namespace,
    video: int = 1,
    watchers: list[int] | None = None,
) -> FanOut:
    """``--warmup-comments`` go first and are not counted (the first writes of a kind on
    a fresh server prepare their statements). The sockets are those of ``watchers``
    (users 1 to ``--sockets`` by default), on ``video`` (the commenter's own)."""
    channel = f"video:{video}"
    tag = secrets.token_hex(4)
    total = args.warmup_comments + args.comments
    sent_at: dict[int, float] = {}
    answered_at: dict[int, float] = {}
    arrivals: list[dict[int, float]] = [{} for _ in range(total)]
    complete = [asyncio.Event() for _ in range(total)]
    errors: list[str] = []
    # Sockets are not pooled HTTP connections: no connector limit for them.
    timeout = aiohttp.ClientTimeout(total=None, connect=30)
    async with aiohttp.ClientSession(
        timeout=timeout, connector=aiohttp.TCPConnector(limit=0)
    ) as ws_session:
        sockets: list[aiohttp.ClientWebSocketResponse] = []
        for uid in watchers or range(1, args.sockets + 1):
            ws = await ws_session.ws_connect(f"{server.base}/v1/ws", headers=headers[uid])
            hello = json.loads((await ws.receive(timeout=FRAME_TIMEOUT)).data)
            await ws.send_json({"op": "subscribe", "channel": channel})
            answer = json.loads((await ws.receive(timeout=FRAME_TIMEOUT)).data)
            if hello.get("type") != "hello" or answer != {"type": "subscribed",
                                                            "channel": channel}:
                raise SystemExit(f"socket of user {uid}: {hello} / {answer}")
            sockets.append(ws)

        async def read(index: int, ws: aiohttp.ClientWebSocketResponse) -> None:
            prefix = f"bench {tag} #"
            async for msg in ws:
                now = time.perf_counter()
                if msg.type is not aiohttp.WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                if frame.get("event") != "comment.created":
                    continue
                body = frame["data"]["body"]
                if not body.startswith(prefix):
                    continue
                n = int(body[len(prefix):])
                arrivals[n][index] = now
                if len(arrivals[n]) == len(sockets):
                    complete[n].set()

        readers = [asyncio.create_task(read(i, ws)) for i, ws in enumerate(sockets)]
        post_errors = 0
        async with aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=60)
        ) as session:
            for n in range(total):
                body = {"body": f"bench {tag} #{n}"}
                sent_at[n] = time.perf_counter()
                async with session.post(f"{server.base}/v1/videos/{video}/comments",
                                        json=body, headers=headers[commenter]) as r:
                    text = await r.text()
                    answered = time.perf_counter()
                if r.status != 201:
                    post_errors += 1
                    if len(errors) < 3:
                        errors.append(f"HTTP {r.status}: {text[:300]}")
                    continue
                answered_at[n] = answered
                try:
                    await asyncio.wait_for(complete[n].wait(), FRAME_TIMEOUT)
                except TimeoutError:
                    if len(errors) < 3:
                        errors.append(f"comment {n}: {len(arrivals[n])} of {len(sockets)} "
                                      f"sockets had it after {FRAME_TIMEOUT:g} s")
                await asyncio.sleep(args.gap)
        for ws in sockets:
            await ws.close()
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)

    counted = [n for n in range(args.warmup_comments, total) if n in answered_at]
    delays = sorted(t - sent_at[n] for n in counted for t in arrivals[n].values())
    after = sorted(t - answered_at[n] for n in counted for t in arrivals[n].values())
    last = sorted(max(arrivals[n].values()) - sent_at[n] for n in counted if arrivals[n])
    posted = sorted(answered_at[n] - sent_at[n] for n in counted)
    per_comment = [
        {
            "n": n,
            "post_ms": ms(answered_at[n] - sent_at[n]),
            "first_ms": ms(min(arrivals[n].values()) - sent_at[n]) if arrivals[n] else None,
            "last_ms": ms(max(arrivals[n].values()) - sent_at[n]) if arrivals[n] else None,
            "sockets": len(arrivals[n]),
            "counted": n >= args.warmup_comments,
        }
        for n in sorted(answered_at)
    ]
    return FanOut(
        sockets=args.sockets,
        comments=args.comments,
        warmup_comments=args.warmup_comments,
        deliveries=len(delays),
        lost=len(counted) * args.sockets - len(delays),
        post_errors=post_errors,
        p50_ms=ms(percentile(delays, 50)),
        p95_ms=ms(percentile(delays, 95)),
        p99_ms=ms(percentile(delays, 99)),
        max_ms=ms(delays[-1]) if delays else float("nan"),
        all_sockets_p50_ms=ms(percentile(last, 50)),
        all_sockets_max_ms=ms(last[-1]) if last else float("nan"),
        post_p50_ms=ms(percentile(posted, 50)),
        post_p99_ms=ms(percentile(posted, 99)),
        after_response_p50_ms=ms(percentile(after, 50)),
        after_response_p99_ms=ms(percentile(after, 99)),
        error_samples=errors,
        per_comment=per_comment,
    )


# ---------------------------------------------------------------- the run


def print_table(rows: list[ReactionRow], fan: FanOut, args: argparse.Namespace) -> None:
    head = (f"{'reactions':<10} {'requests':>8} {'req/s':>7} {'p50 ms':>7} {'p90 ms':>7} "
            f"{'p99 ms':>7} {'max ms':>7} {'errors':>6} {'WAL syncs/req':>13} "
            f"{'c=1 req/s':>9} {'c=1 p50':>7}")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r.row:<10} {r.requests:>8} {r.rps:>7.1f} {r.p50_ms:>7.1f} {r.p90_ms:>7.1f} "
              f"{r.p99_ms:>7.1f} {r.max_ms:>7.1f} {r.errors:>6} {r.wal_syncs_per_request:>13.2f} "
              f"{r.serial_rps:>9.1f} {r.serial_p50_ms:>7.1f}")
    print(f"({args.concurrency} clients; c=1: one client alone)\n")
    head = (f"{'comment -> sockets':<19} {'deliveries':>10} {'p50 ms':>7} {'p95 ms':>7} "
            f"{'p99 ms':>7} {'max ms':>7} {'lost':>5} {'all p50':>7} {'all max':>7} "
            f"{'POST p50':>8} {'after POST p50':>14}")
    print(head)
    print("-" * len(head))
    print(f"{f'{fan.comments} x {fan.sockets}':<19} {fan.deliveries:>10} {fan.p50_ms:>7.1f} "
          f"{fan.p95_ms:>7.1f} {fan.p99_ms:>7.1f} {fan.max_ms:>7.1f} {fan.lost:>5} "
          f"{fan.all_sockets_p50_ms:>7.1f} {fan.all_sockets_max_ms:>7.1f} "
          f"{fan.post_p50_ms:>8.1f} {fan.after_response_p50_ms:>14.1f}")
    print("(delay: POST sent -> comment.created frame read by a socket; all: until the last "
          "socket had it;\n after POST: frame read - POST response read)")


async def run(args: argparse.Namespace) -> int:
    name = f"momentic_bench_social_{os.getpid()}"
    users = max(args.users, args.sockets + 1)
    commenter = users  # not one of the sockets; the author of the watched video
    print(f"== {users:,} users, {args.videos:,} videos (database {name})", flush=True)
    now = datetime.now(UTC).replace(microsecond=0)
    url = await create_database(args.admin_url, name)
    server: Server | None = None
    rows: list[ReactionRow] = []
    try:
        await asyncio.to_thread(apply_migrations, url)
        pg = await require_synchronous_commit(args.admin_url, name, url)
        print(f"   PostgreSQL {pg['server_version']}: synchronous_commit={pg['synchronous_commit']}"
              f", fsync={pg['fsync']}, wal_sync_method={pg['wal_sync_method']}; "
              f"{os.cpu_count()} CPUs shared by the server, PostgreSQL and this load "
              f"generator", flush=True)
        seeded = await seed(url, users, args.videos, args.seed, now)
        print(f"   seeded in {seeded:.1f} s", flush=True)
        with tempfile.TemporaryDirectory(prefix="momentic-bench-social-") as data_dir:
            server = start_server(url, data_dir)
            timeout = aiohttp.ClientTimeout(total=60)
            connector = aiohttp.TCPConnector(limit=max(args.concurrency, LOGIN_CONCURRENCY) + 4)
            async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
                await server.wait_until_up(session)
                mark = time.monotonic()
                headers = await sign_in_all(session, server, users, args.one_ip)
                print(f"   signed in {len(headers):,} users in {time.monotonic() - mark:.1f} s",
                      flush=True)
                rng = random.Random(f"{args.seed}:requests")  # noqa: S311 (load, not secrets)
                hot = 2  # not the watched video
                plan = [
                    ("spread", lambda: rng.randint(1, args.videos)),
                    ("hot video", lambda: hot),
                ]
                for row_name, pick in plan:
                    row = await measure_reactions(session, server, url, name, headers,
                                                  row_name, pick, rng, args)
                    print(f"   {row.row:<10} {row.rps:7.1f} req/s  p50 {row.p50_ms:6.1f} ms  "
                          f"p99 {row.p99_ms:6.1f} ms  {row.requests} requests  {row.errors} "
                          f"errors (warm-up {row.warmup_errors})  {row.commits_per_request} "
                          f"commits and {row.wal_syncs_per_request} WAL syncs per request; "
                          f"one client: {row.serial_rps:.1f} req/s, p50 {row.serial_p50_ms:.1f}"
                          f" ms; CPU cores busy: {row.cpu_cores}; {row.checkpoints} "
                          f"checkpoints began", flush=True)
                    for sample in row.error_samples:
                        print(f"      {sample}", flush=True)
                    rows.append(row)
            drift = await counters_drift(url)
            print(f"   videos whose counters differ from their rows: {drift}", flush=True)
            before = await database_counters(url, name)
            fan = await measure_fanout(server, headers, commenter, args)
            fan.checkpoints = (await database_counters(url, name))["checkpoints"] - before[
                "checkpoints"]
            print(f"   fan-out: {fan.deliveries} deliveries, p50 {fan.p50_ms:.1f} ms, "
                  f"p99 {fan.p99_ms:.1f} ms, max {fan.max_ms:.1f} ms, {fan.lost} lost; "
                  f"{fan.checkpoints} checkpoints began meanwhile", flush=True)
            for sample in fan.error_samples:
                print(f"      {sample}", flush=True)
            server.stop()
            if any(r.failed for r in rows) or fan.failed or drift:
                print(f"server log:\n{server.tail()}", flush=True)
    finally:
        if server is not None:
            server.stop()
        if args.keep:
            print(f"   kept the database: {url}", flush=True)
        else:
            await drop_database(args.admin_url, name)
    report = {
        "users": users,
        "videos": args.videos,
        "seed": args.seed,
        "concurrency": args.concurrency,
        "seconds": args.seconds,
        "warmup_seconds": args.warmup,
        "serial_seconds": args.serial_seconds,
        "postgres": pg,
        "reactions": [asdict(r) for r in rows],
        "counters_drift": drift,
        "fanout": asdict(fan),
        "gap_seconds": args.gap,
        "one_ip": args.one_ip,
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "note": "server, PostgreSQL and this load generator share the machine's CPUs",
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / "social.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print()
    print_table(rows, fan, args)
    print(f"\nwrote {out.relative_to(Path.cwd()) if out.is_relative_to(Path.cwd()) else out}")
    failed = sum(r.failed for r in rows) + fan.failed
    if failed or drift:
        print(f"\nFAIL: {failed} requests or deliveries failed; {drift} videos drifted",
              flush=True)
        return 1
    return 0


async def answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def main_async(args: argparse.Namespace) -> int:
    """On the server at ``--admin-url``; when that is the default and nothing answers
    there (a fresh clone without the test server), on the embedded server of ``make run``
    started in a temp dir for this run."""
    if args.admin_url != ADMIN_URL or await answers(args.admin_url):
        return await run(args)
    from adapters.postgres.embedded import start_embedded, stop_embedded

    with tempfile.TemporaryDirectory(prefix="momentic-bench-social-pg-") as pg_dir:
        print(f"no PostgreSQL answers at {ADMIN_URL}: starting the embedded server in "
              f"{pg_dir}", flush=True)
        args.admin_url = await asyncio.to_thread(start_embedded, Path(pg_dir), "postgres")
        args.keep = False  # the server and its data go at the end
        try:
            return await run(args)
        finally:
            await asyncio.to_thread(stop_embedded, Path(pg_dir))


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--users", type=int, default=1000, help="users who react")
    parser.add_argument("--videos", type=int, default=2000, help="videos they react to")
    parser.add_argument("--concurrency", type=int, default=32, help="concurrent clients")
    parser.add_argument("--seconds", type=float, default=10.0, help="timed run per row")
    parser.add_argument("--warmup", type=float, default=2.0, help="warm-up seconds per row")
    parser.add_argument(
        "--serial-seconds", type=float, default=5.0, help="then this long with one client"
    )
    parser.add_argument("--sockets", type=int, default=200, help="subscribed WebSocket clients")
    parser.add_argument("--comments", type=int, default=50, help="comments sent to them")
    parser.add_argument(
        "--warmup-comments", type=int, default=3, help="sent first, not counted"
    )
    parser.add_argument(
        "--gap", type=float, default=0.05, help="pause between comments (seconds)"
    )
    parser.add_argument(
        "--one-ip", action="store_true",
        help="send every request from 127.0.0.1 (one per-IP rate-limit row for all)",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the data and requests")
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("MOMENTIC_BENCH_ADMIN_URL", ADMIN_URL),
        help="a URL of the PostgreSQL server (database postgres) to use",
    )
    args = parser.parse_args()
    if min(args.users, args.videos, args.concurrency, args.sockets, args.comments) < 1:
        parser.error("--users, --videos, --concurrency, --sockets and --comments must be >= 1")
    if args.videos < 2:
        parser.error("--videos must be at least 2 (video 2 is the hot one)")
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
