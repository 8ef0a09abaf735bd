"""``momentic serve`` in its own process, for the benchmarks: started on a free port with
the given settings, its log kept (to find sign-up codes and to show on failure)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import psutil

CODE_RE = re.compile(r"mail to (\S+) \|.*?\b(\d{6})\b")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    def __init__(self, settings: dict[str, str]) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log: list[str] = []
        momentic = shutil.which("momentic", path=str(Path(sys.executable).parent))
        if momentic is None:
            raise SystemExit("the momentic command is not installed in this venv (make test)")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTIC_")}
        env.update(settings)
        env.update({
            "MOMENTIC_HOST": "127.0.0.1",
            "MOMENTIC_PORT": str(self.port),
            "MOMENTIC_PUBLIC_URL": self.base,
            "MOMENTIC_LOG_FORMAT": "text",
            "MOMENTIC_INPROCESS_WORKER": "false",
        })
        self.proc = subprocess.Popen(  # noqa: S603 (our own console script)
            [momentic, "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line.rstrip("\n"))

    def code_for(self, email: str) -> str | None:
        for line in reversed(self.log):
            m = CODE_RE.search(line)
            if m and m.group(1) == email:
                return m.group(2)
        return None

    def rss(self) -> int:
        return int(psutil.Process(self.proc.pid).memory_info().rss)

    def worker_pids(self) -> list[int]:
        """The HTTP workers: the children of ``momentic serve --workers N`` (N > 1), or the
        process itself when it serves alone."""
        try:
            children = psutil.Process(self.proc.pid).children()
        except psutil.NoSuchProcess:
            return []
        return sorted(c.pid for c in children) or [self.proc.pid]

    def worker_rss(self) -> dict[int, int]:
        """VmRSS of each worker, in bytes."""
        out = {}
        for pid in self.worker_pids():
            with contextlib.suppress(psutil.Error):
                out[pid] = int(psutil.Process(pid).memory_info().rss)
        return out

    def worker_memory(self) -> dict[int, dict[str, int]]:
        """rss, pss and uss of each worker, in bytes: RSS counts the pages a worker still
        shares with the supervisor it was forked from (copy-on-write) in full, PSS
        counts a shared page's share, USS only the worker's own pages."""
        out = {}
        for pid in self.worker_pids():
            with contextlib.suppress(psutil.Error):
                m = psutil.Process(pid).memory_full_info()
                out[pid] = {"rss": int(m.rss), "pss": int(getattr(m, "pss", 0)),
                            "uss": int(m.uss)}
        return out

    def cpu_seconds(self) -> float:
        """CPU time of the server and its workers so far."""
        total = 0.0
        with contextlib.suppress(psutil.Error):
            me = psutil.Process(self.proc.pid)
            for p in [me, *me.children()]:
                with contextlib.suppress(psutil.Error):
                    t = p.cpu_times()
                    total += t.user + t.system
        return total

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def tail(self, n: int = 30) -> str:
        return "\n".join(self.log[-n:])

    async def wait_until_up(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited ({self.proc.returncode}):\n{self.tail()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with session.get(f"{self.base}/readyz") as r:
                    if r.status == 200:
                        return
            await asyncio.sleep(0.2)
        raise SystemExit(f"the server did not come up in 60 s:\n{self.tail()}")


def bench_settings(database_url: str, data_dir: str, **extra: str) -> dict[str, str]:
    """``momentic serve`` on a bench database: rate limits out of the way, quiet logs,
    media in memory."""
    return {
        "MOMENTIC_DATABASE_URL": database_url,
        "MOMENTIC_RATE_LIMIT_MULTIPLIER": "100000",
        "MOMENTIC_LOG_LEVEL": "WARNING",
        "MOMENTIC_SECRET": secrets.token_urlsafe(32),
        "MOMENTIC_DATA_DIR": data_dir,
        "MOMENTIC_STORAGE": "memory",
        **extra,
    }


def production_settings(database_url: str, data_dir: str, **extra: str) -> dict[str, str]:
    """``bench_settings`` as production runs: one HTTP worker per core (uvloop, no
    access log: ``momentic serve`` does both), a sized pool per worker, a trusted proxy
    (each bench user sends its own X-Forwarded-For, as clients behind a load balancer
    come from their own addresses), and access tokens that outlive the run (a token
    expiring mid-run would turn into 401s, not into load)."""
    return bench_settings(
        database_url,
        data_dir,
        MOMENTIC_HTTP_WORKERS="0",
        MOMENTIC_DB_POOL_MIN=POOL_SIZE,
        MOMENTIC_DB_POOL_MAX=POOL_SIZE,
        MOMENTIC_TRUSTED_PROXIES="1",
        MOMENTIC_ACCESS_TOKEN_TTL_SECONDS="86400",
        **extra,
    )


# Per worker: PostgreSQL runs on the same two cores, so more connections than a few per
# core only queue inside it; 2 workers x 8 stays well under max_connections (100).
POOL_SIZE = "8"


def client_address(uid: int) -> dict[str, str]:
    """The X-Forwarded-For of bench user ``uid``: an address of its own (10.x.y.z)."""
    return {"X-Forwarded-For": f"10.{uid >> 16 & 255}.{uid >> 8 & 255}.{uid & 255}"}


@dataclass
class Run:
    """What a load loop saw: latencies of the good answers, and the errors."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    seconds: float = 0.0


async def timed(run: Run, request: Any, ok_status: int = 200) -> None:
    """Send one request (an un-entered aiohttp request, e.g. ``session.get(url)``) and
    count it in ``run``: its latency when it answered ``ok_status``, else an error."""
    sent = time.perf_counter()
    try:
        async with request as r:
            body = await r.read()
            ok = r.status == ok_status
            problem = f"HTTP {r.status}: {body[:300]!r}"
    except (aiohttp.ClientError, TimeoutError) as exc:
        ok, problem = False, repr(exc)
    if ok:
        run.latencies.append(time.perf_counter() - sent)
    else:
        run.errors += 1
        if len(run.error_samples) < 3:
            run.error_samples.append(problem)
