"""Benchmark: the daily moment's push fan-out (issue 17, item 7).

``--users`` (100,000) verified users in one time zone, each with a live session and one
iPhone, are written into a fresh PostgreSQL database by ``INSERT ... SELECT
generate_series`` (a few seconds). The fake APNs of the tests (tests/push_support.py:
HTTP/2, checks the provider JWT, topic and payload; counts only, ``record=False``) runs
in a process of its own on loopback, and ``--workers`` real ``momentic worker`` processes
run on that database with the APNs adapter pointed at it. A moment's announcement is
queued as ``schedule_moments`` queues it, due ``--lead`` seconds later (the workers find
it as they find any job that comes due: an idle worker waits until the earliest queued
job is due); its due time is "the moment". It is yesterday's moment (a day's moment is a
secret function of the day: none falls ``lead`` seconds from now), with the workers'
moment window at two days so that its time-bound pushes do not expire. Then every page
of 1,000 users is fanned out and every device pushed.

Reported: the seconds from the moment to the first and the last push the fake accepted,
pushes per second (overall and per worker), the pushes each worker's connection carried,
duplicates (a token pushed twice) and missing ones, and each worker's resident memory
(VmRSS) sampled every ``--sample`` seconds: before the moment, its peak and at the end.
Targets (issue 17): the last push within 60 s of the moment, and memory flat (a worker's
peak under ``RSS_GROWTH_LIMIT`` above its size before the moment).

    .venv/bin/python bench/push_fanout.py [--users 100000] [--workers 2] [--keep]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres] [--out FILE]

Writes bench/results/push-fanout.json (``push-fanout-<users>.json`` for another size).
Exits 1 when a target is missed or a push is missing or doubled. Not a test: pytest
collects ``tests/`` only (tests/integration/test_bench_push_fanout.py runs ``fan_out``
at 200 users, so it cannot rot).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import secrets
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
for _path in (ROOT, ROOT / "tests"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from adapters.messages import job_json  # noqa: E402
from adapters.postgres.migrate import apply_migrations  # noqa: E402
from momentic_core.model.jobs import AnnounceMoment  # noqa: E402

ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
ZONE = "Europe/Minsk"
KEY_ID, TEAM_ID, TOPIC = "BENCHKEY12", "BENCHTEAM1", "app.momentic.ios"
USERS, WORKERS = 100_000, 2
TARGET_SECONDS = 60.0
RSS_GROWTH_LIMIT = 64 * 2**20  # "memory flat": a worker grows by less than this
STALL_SECONDS = 60.0  # no push accepted for this long: give up
WINDOW_SECONDS = 2 * 86400  # the workers' moment window (worker_env)


# ------------------------------------------------------------------ the dataset


async def seed(url: str, users: int, now: datetime) -> dict[str, float]:
    """``users`` verified users in ZONE with a live session and an iPhone each (ids 1..n;
    the device token is the id in hex, 64 digits). Returns seconds per table."""
    timings: dict[str, float] = {}
    conn = await asyncpg.connect(url)
    try:
        for table, sql in (
            ("users", """
                INSERT INTO users (id, email, nickname, password_hash, email_verified,
                                   status, time_zone, created_at)
                OVERRIDING SYSTEM VALUE
                SELECT g, 'push' || g || '@bench.momentic.test', 'push' || g, 'x', true,
                       'active', $2, $3
                FROM generate_series(1, $1) AS g"""),
            ("sessions", """
                INSERT INTO sessions (id, user_id, created_at, last_used_at)
                OVERRIDING SYSTEM VALUE
                SELECT g, g, $3, $3 FROM generate_series(1, $1) AS g
                WHERE $2::text IS NOT NULL"""),
            ("push_devices", """
                INSERT INTO push_devices (id, user_id, session_id, platform, token,
                                          app_version, locale, apns_environment,
                                          created_at, last_seen_at)
                OVERRIDING SYSTEM VALUE
                SELECT g, g, g, 'ios', lpad(to_hex(g), 64, '0'), '1.0.0',
                       CASE WHEN g % 2 = 0 THEN 'ru-BY' ELSE 'en' END, 'production', $3, $3
                FROM generate_series(1, $1) AS g
                WHERE $2::text IS NOT NULL"""),
        ):
            mark = time.monotonic()
            await conn.execute(sql, users, ZONE, now)
            timings[table] = round(time.monotonic() - mark, 2)
        for table in ("users", "sessions", "push_devices"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), $1)", users)
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return timings


# ------------------------------------------------------------------ the fake APNs process


async def serve_fake(key_pem: str, every: float) -> None:
    """Run the fake APNs on loopback; print its URL, then a JSON line of counts every
    ``every`` seconds until stdin closes."""
    from push_support import FakeApns

    apns = await FakeApns(key_pem, KEY_ID, TEAM_ID, TOPIC, record=False).start()
    print(json.dumps({"url": apns.url}), flush=True)
    loop = asyncio.get_running_loop()
    closed = loop.run_in_executor(None, sys.stdin.read)
    started = time.process_time()
    while not closed.done():
        print(json.dumps({
            "requests": apns.requests, "accepted": apns.accepted,
            "last_accepted_at": apns.last_accepted_at, "tokens": len(apns.per_token),
            "doubled": sum(1 for n in apns.per_token.values() if n > 1),
            "per_connection": apns.per_connection,
            "cpu_seconds": round(time.process_time() - started, 2),
        }), flush=True)
        await asyncio.wait([closed], timeout=every)
    await apns.stop()


class Fake:
    """The fake APNs in a child process, read line by line."""

    def __init__(self, key_file: Path, every: float) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 (this script)
            [sys.executable, __file__, "--serve-fake", str(key_file), "--sample", str(every)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, cwd=ROOT,
        )
        assert self.proc.stdout is not None
        self.url = json.loads(self.proc.stdout.readline())["url"]
        self.last: dict[str, Any] = {}

    async def read(self) -> dict[str, Any]:
        assert self.proc.stdout is not None
        line = await asyncio.to_thread(self.proc.stdout.readline)
        if line:
            self.last = json.loads(line)
        return self.last

    def stop(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# ------------------------------------------------------------------ workers


def rss(pid: int) -> int:
    """VmRSS of a process, in bytes (0 once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_worker(
    env: dict[str, str], log: Path, profile: Path | None = None
) -> subprocess.Popen[bytes]:
    """``profile``: run it under cProfile, writing that file when it stops."""
    run = ["-m", "cProfile", "-o", str(profile)] if profile else []
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 (our own console script)
            [sys.executable, *run, "-m", "adapters.cli.main", "worker"], cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )


def worker_env(
    url: str, key_file: Path, apns_url: str, data: Path, concurrency: int | None = None
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTIC_")}
    env.update({
        "PYTHONPATH": str(ROOT),
        "MOMENTIC_DATABASE_URL": url, "MOMENTIC_DATA_DIR": str(data),
        "MOMENTIC_SECRET": "push-fanout-bench-secret", "MOMENTIC_STORAGE": "local",
        "MOMENTIC_LOG_LEVEL": "WARNING",
        "MOMENTIC_APNS_KEY": str(key_file), "MOMENTIC_APNS_KEY_ID": KEY_ID,
        "MOMENTIC_APNS_TEAM_ID": TEAM_ID, "MOMENTIC_APNS_TOPIC": TOPIC,
        "MOMENTIC_APNS_URL": apns_url, "MOMENTIC_APNS_SANDBOX_URL": apns_url,
        # The bench announces yesterday's moment now (``fan_out``): a window of two days
        # keeps its pushes from expiring (they are time-bound to the window).
        "MOMENTIC_MOMENT_WINDOW_SECONDS": str(WINDOW_SECONDS),
    })
    if concurrency is not None:
        env["MOMENTIC_PUSH_CONCURRENCY"] = str(concurrency)
    return env


async def _until_listening(
    url: str, workers: int, procs: list[subprocess.Popen[bytes]], seconds: float = 120.0
) -> None:
    """Until every worker listens for jobs (its LISTEN connection is open)."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + seconds
        while await conn.fetchval(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND query LIKE 'LISTEN%'") < workers:
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                raise RuntimeError("the workers did not start")
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


# ------------------------------------------------------------------ the run


def _work_dir(work_dir: Path | None) -> Path:
    """The run's directory, with the APNs key in it (apns.p8)."""
    from push_support import p8_key

    work = Path(work_dir or tempfile.mkdtemp(prefix="momentic-push-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    (work / "apns.p8").write_text(p8_key())
    return work


async def fan_out(
    url: str, *, users: int, workers: int, lead: float = 3.0, sample: float = 0.5,
    give_up_after: float = 600.0, work_dir: Path | None = None, profile: bool = False,
    concurrency: int | None = None,
) -> dict[str, Any]:
    """Seed the (migrated, empty) database at ``url``, run the moment's fan-out to its
    ``users`` with ``workers`` worker processes and return the measurements."""
    work = await asyncio.to_thread(_work_dir, work_dir)
    now = datetime.now(UTC)
    seeding = await seed(url, users, now)
    key_file = work / "apns.p8"
    fake = Fake(key_file, sample)
    env = worker_env(url, key_file, fake.url, work / "data", concurrency)
    log = work / "workers.log"
    procs = [start_worker(env, log, work / f"worker-{n}.prof" if profile else None)
             for n in range(workers)]
    samples: list[dict[str, Any]] = []
    try:
        await _until_listening(url, workers, procs)  # the workers are up (and idle)
        await asyncio.sleep(1.0)
        rss_before = {p.pid: rss(p.pid) for p in procs}
        cpu_before = {p.pid: cpu_seconds(p.pid) for p in procs}
        # Yesterday's moment, announced now: the moment's time is a secret function of
        # the day, so no day's moment falls ``lead`` seconds from now; yesterday's has
        # passed (the deliveries are due at it, so they come before the pages queued
        # after them, as at a real moment) and, with the workers' two-day window
        # (WINDOW_SECONDS), its pushes have not expired. Today's announcement is queued
        # two days ahead under its own dedupe key, so the workers' hourly scheduling
        # cannot announce today's moment during the run (tomorrow's is hours away).
        today = datetime.now(ZoneInfo(ZONE)).date()
        day = today - timedelta(days=1)
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(
                """
                INSERT INTO jobs (kind, payload, max_attempts, run_at, dedupe_key,
                                  created_at, updated_at)
                VALUES ($1, $2::jsonb, 5, now() + interval '2 days', $3, now(), now())
                ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running')
                DO UPDATE SET run_at = EXCLUDED.run_at
                """,
                AnnounceMoment.kind, json.dumps(job_json(AnnounceMoment(zone=ZONE, day=today))),
                f"moment:{ZONE}:{today.isoformat()}",
            )
            # As Ranking.schedule_moments queues it (the same dedupe key), but due in
            # ``lead`` seconds.
            moment = await conn.fetchval(
                """
                INSERT INTO jobs (kind, payload, max_attempts, run_at, dedupe_key,
                                  created_at, updated_at)
                VALUES ($1, $2::jsonb, 5, now() + make_interval(secs => $3), $4, now(), now())
                ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running')
                DO UPDATE SET run_at = EXCLUDED.run_at
                RETURNING extract(epoch FROM run_at)::float8
                """,
                AnnounceMoment.kind, json.dumps(job_json(AnnounceMoment(zone=ZONE, day=day))),
                lead, f"moment:{ZONE}:{day.isoformat()}",
            )
        finally:
            await conn.close()
        deadline = time.time() + give_up_after
        stats: dict[str, Any] = {}
        last_progress, accepted = time.time(), -1
        while True:
            stats = await fake.read()
            t = time.time()
            samples.append({"t": round(t - moment, 2), "accepted": stats.get("accepted", 0),
                            "rss": [rss(p.pid) for p in procs]})
            if stats.get("accepted", 0) != accepted:
                accepted, last_progress = stats.get("accepted", 0), t
            if stats.get("tokens", 0) >= users:
                await asyncio.sleep(2 * sample)  # anything sent twice arrives too
                stats = await fake.read()
                break
            if t > deadline or t - last_progress > STALL_SECONDS or any(
                    p.poll() is not None for p in procs):
                break
        cpu = {p.pid: round(cpu_seconds(p.pid) - cpu_before[p.pid], 2) for p in procs}
        conn = await asyncpg.connect(url)
        try:
            jobs = {r["kind"] + ":" + r["status"]: r["n"] for r in await conn.fetch(
                "SELECT kind, status, count(*) AS n FROM jobs GROUP BY kind, status")}
        finally:
            await conn.close()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        fake.stop()
    last = float(stats.get("last_accepted_at") or 0.0)
    first = next((s["t"] for s in samples if s["accepted"]), None)
    seconds = round(last - moment, 2) if last else None
    rate = round(stats.get("accepted", 0) / seconds, 1) if seconds else 0.0
    per_worker = [
        {"pid": p.pid, "rss_before_mb": round(rss_before[p.pid] / 2**20, 1),
         "rss_peak_mb": round(max(s["rss"][i] for s in samples) / 2**20, 1),
         "rss_end_mb": round(samples[-1]["rss"][i] / 2**20, 1) if samples else None,
         "cpu_seconds": cpu[p.pid]}
        for i, p in enumerate(procs)
    ]
    growth = max((w["rss_peak_mb"] - w["rss_before_mb"]) for w in per_worker) * 2**20
    missing = users - int(stats.get("tokens", 0))
    result = {
        "users": users, "workers": workers, "devices": users,
        "concurrency": concurrency, "settings": {
            k: v for k, v in env.items() if k.startswith("MOMENTIC_PUSH")},
        "seed_seconds": seeding,
        "moment_to_first_push_seconds": first,
        "moment_to_last_push_seconds": seconds,
        "pushes": stats.get("accepted", 0), "requests": stats.get("requests", 0),
        "missing": missing, "doubled": stats.get("doubled", 0),
        "pushes_per_second": rate,
        "pushes_per_second_per_worker": round(rate / workers, 1),
        "per_connection": stats.get("per_connection", []),
        "fake_apns_cpu_seconds": stats.get("cpu_seconds"),
        "workers_detail": per_worker,
        "rss_growth_mb": round(growth / 2**20, 1),
        "jobs": jobs,
        "samples": samples,
        "target": {"last_push_within_seconds": TARGET_SECONDS,
                   "rss_growth_below_mb": RSS_GROWTH_LIMIT / 2**20},
        "passed": bool(seconds is not None and seconds <= TARGET_SECONDS and missing == 0
                       and not stats.get("doubled") and growth < RSS_GROWTH_LIMIT),
        "log_tail": log.read_text(errors="replace")[-3000:] if log.exists() else "",
    }
    return result


async def measure(
    admin_url: str = ADMIN_URL, *, users: int = USERS, workers: int = WORKERS,
    keep: bool = False, **options: Any,
) -> dict[str, Any]:
    """A database of its own (dropped unless ``keep``), migrated, and ``fan_out`` on it
    (``options``: its keywords), with the load average before and after. Also
    ``make bench``'s scenario ``push_fanout`` (bench/run.py)."""
    started = datetime.now(UTC)
    load_before = _load()
    name = f"momentic_bench_push_{os.getpid()}_{secrets.token_hex(3)}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        await asyncio.to_thread(apply_migrations, url)
        result = await fan_out(url, users=users, workers=workers, **options)
    finally:
        if not keep:
            admin = await asyncpg.connect(admin_url)
            try:
                await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            finally:
                await admin.close()
    return {"started": started.isoformat(timespec="seconds"), "host": platform.node(),
            "python": platform.python_version(), "load_before": load_before,
            "load_after": _load(), **result}


def _load() -> dict[str, Any]:
    try:
        load1, load5, _ = os.getloadavg()
    except OSError:
        return {}
    return {"load1": round(load1, 2), "load5": round(load5, 2), "cpus": os.cpu_count()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=USERS)
    parser.add_argument("--workers", type=int, default=WORKERS)
    parser.add_argument("--concurrency", type=int,
                        help="MOMENTIC_PUSH_CONCURRENCY of the workers (default: theirs)")
    parser.add_argument("--lead", type=float, default=3.0,
                        help="seconds from queueing the announcement to the moment")
    parser.add_argument("--sample", type=float, default=0.5)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--admin-url", default=os.environ.get("MOMENTIC_BENCH_ADMIN_URL",
                                                              ADMIN_URL))
    parser.add_argument("--keep", action="store_true", help="keep the database")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--note", default="", help="kept in the results (e.g. the load)")
    parser.add_argument("--work-dir", type=Path,
                        help="the APNs key, the workers' log (default: a new temporary one)")
    parser.add_argument("--profile", action="store_true",
                        help="run the workers under cProfile (worker-N.prof in --work-dir)")
    parser.add_argument("--serve-fake", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_fake:
        asyncio.run(serve_fake(args.serve_fake.read_text(), args.sample))
        return 0
    result = asyncio.run(measure(
        args.admin_url, users=args.users, workers=args.workers, keep=args.keep,
        lead=args.lead, sample=args.sample, give_up_after=args.timeout,
        work_dir=args.work_dir, profile=args.profile, concurrency=args.concurrency))
    result["note"] = args.note
    name = "push-fanout.json" if args.users == USERS else f"push-fanout-{args.users}.json"
    out = args.out or ROOT / "bench" / "results" / name
    out.write_text(json.dumps(result, indent=1) + "\n")
    keys = ("moment_to_first_push_seconds", "moment_to_last_push_seconds", "pushes",
            "missing", "doubled", "pushes_per_second", "pushes_per_second_per_worker",
            "per_connection", "rss_growth_mb", "passed")
    for key in keys:
        print(f"{key:32} {result[key]}")
    for w in result["workers_detail"]:
        print(f"worker {w['pid']}: RSS {w['rss_before_mb']} -> peak {w['rss_peak_mb']} -> "
              f"{w['rss_end_mb']} MB, CPU {w['cpu_seconds']} s")
    print(f"load average {result['load_before'].get('load1')} before, "
          f"{result['load_after'].get('load1')} after; fake APNs CPU "
          f"{result['fake_apns_cpu_seconds']} s")
    print(f"wrote {out}")
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
