"""The exact SQL an endpoint runs, captured, and replayed by ``pgbench -M prepared``.

``capture`` runs the real app (``create_app`` on a ``Composition`` with the bench server's
settings) in this process, on the bench database, with a query logger
(``Connection.add_query_logger``) on every connection of its pool; a middleware marks the
request being captured, so only the statements that request ran are kept (not the mail
worker's, not the LISTEN connection's), in order, with their arguments: the rate-limit
counters, the token's session check, the unit of work's BEGIN/COMMIT, the page itself.
The pool's reset on release (``pg_advisory_unlock_all(); CLOSE ALL; ...``) is left out:
several statements in one string cannot be prepared.

``pgbench_script`` writes those statements as a pgbench script: ``$n`` become pgbench
variables (``:q3_2``, set with ``-D`` as text, so the server infers their types from the
statement as it does for asyncpg's prepared statements), ``None`` becomes ``NULL``, and
chosen integer arguments (the user and video of a reaction) become ``\\set`` random ids,
so pgbench spreads its writes over the rows as the HTTP load does.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import subprocess
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

_capturing: contextvars.ContextVar[list[Statement] | None] = contextvars.ContextVar(
    "capturing", default=None
)
RESET_MARK = "pg_advisory_unlock_all"  # asyncpg's reset query on release
# asyncpg's own work the first time a connection meets a type: not the endpoint's SQL.
DRIVER_MARKS = ("typeinfo_tree", "set_config('jit'")
TRANSACTION = re.compile(r"^\s*(BEGIN|START TRANSACTION|COMMIT|ROLLBACK|END)\b", re.I)


@dataclass
class Statement:
    query: str
    args: tuple[Any, ...]


@dataclass
class Captured:
    """The statements of one request, and what it answered."""

    name: str
    method: str
    path: str
    status: int
    statements: list[Statement] = field(default_factory=list)

    def describe(self) -> list[str]:
        return [" ".join(s.query.split())[:160] for s in self.statements]


def _log(record: Any) -> None:
    bucket = _capturing.get()
    if bucket is None or RESET_MARK in record.query:
        return
    if any(mark in record.query for mark in DRIVER_MARKS):
        return
    bucket.append(Statement(record.query, tuple(record.args or ())))


@contextlib.contextmanager
def _logged_pools() -> Any:
    """Every pool opened meanwhile logs its connections' queries (into the request
    being captured, if any)."""
    original = asyncpg.create_pool

    def create_pool(*args: Any, **kwargs: Any) -> Any:
        init = kwargs.pop("init", None)

        async def with_logger(conn: asyncpg.Connection) -> None:
            conn.add_query_logger(_log)
            if init is not None:
                await init(conn)

        return original(*args, init=with_logger, **kwargs)

    asyncpg.create_pool = create_pool
    try:
        yield
    finally:
        asyncpg.create_pool = original


@web.middleware
async def _mark(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    bucket: list[Statement] | None = request.app.get(_BUCKET_KEY)
    if request.headers.get("X-Bench-Capture") == "1" and bucket is not None:
        _capturing.set(bucket)
    return await handler(request)


_BUCKET_KEY: web.AppKey[list[Statement] | None] = web.AppKey("bench_capture", list)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def in_process_app(environ: dict[str, str]) -> AsyncIterator[TestClient]:  # type: ignore[type-arg]
    """The app as ``momentic serve`` builds it, from the same ``MOMENTIC_*`` settings,
    served in this process (one worker), its pool's queries logged."""
    from adapters.config import Settings
    from adapters.container import Composition
    from adapters.http.app import create_app
    from adapters.http.keys import HttpOptions

    settings = Settings.from_env(environ)
    with _logged_pools():
        app = create_app(
            Composition(settings, workers=False),
            HttpOptions(trusted_proxies=settings.trusted_proxies),
        )
        app.middlewares.insert(0, _mark)
        app[_BUCKET_KEY] = None
        async with TestClient(TestServer(app)) as client:
            yield client


async def capture(
    client: TestClient,  # type: ignore[type-arg]
    name: str,
    method: str,
    path: str,
    headers: dict[str, str],
    json: Any = None,
    repeat: int = 3,
    warmup: list[tuple[str, str, Any]] = (),  # type: ignore[assignment]
) -> Captured:
    """Send the ``warmup`` requests (method, path, json), then the request ``repeat``
    times (the first ones prepare statements, warm the caches: a once-a-day activity
    row, cached settings) and keep the statements of the last one."""
    result = Captured(name, method, path, 0)
    for m, p, j in warmup:
        async with client.request(m, p, headers=headers, json=j) as r:
            await r.read()
            if r.status >= 300:
                raise RuntimeError(f"warm-up {m} {p}: HTTP {r.status}")
    for _ in range(repeat):
        bucket: list[Statement] = []
        client.app[_BUCKET_KEY] = bucket
        try:
            async with client.request(
                method, path, headers={**headers, "X-Bench-Capture": "1"}, json=json
            ) as r:
                await r.read()
                result.status = r.status
        finally:
            client.app[_BUCKET_KEY] = None
        result.statements = bucket
    return result


# ---------------------------------------------------------------- pgbench


def _text(value: Any) -> str:
    """An argument as PostgreSQL reads it in text form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return f"{value.total_seconds()} seconds"
    if isinstance(value, list | tuple):
        return "{" + ",".join(_array_item(v) for v in value) + "}"
    if isinstance(value, int | float | str):
        return str(value)
    raise ValueError(f"cannot pass {type(value).__name__} to pgbench")


def _array_item(value: Any) -> str:
    if value is None:
        return "NULL"
    text = _text(value)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _keyed(value: Any, random_ids: dict[int, tuple[str, int, int]]) -> str | None:
    """A key naming one of the random ids ('api:user:42') as an expression of its
    variable, or None."""
    if not isinstance(value, str):
        return None
    for ident, (var, _, _) in random_ids.items():
        if re.fullmatch(rf"[a-z_:]*:{ident}", value):
            prefix = value[: -len(str(ident))]
            return f"({_literal(prefix)} || CAST(:{var} AS text))"
    return None


def _literal(text: str) -> str:
    """A string literal pgbench leaves alone: it would take ``:user`` in 'api:user:' for
    a variable, quotes or not."""
    return "E'" + text.replace("\\", "\\\\").replace("'", "\\'").replace(":", "\\x3a") + "'"


@dataclass
class Script:
    text: str
    defines: dict[str, str]


def pgbench_script(
    captured: Captured, random_ids: dict[int, tuple[str, int, int]] | None = None
) -> Script:
    """The captured statements as a pgbench script. ``random_ids`` maps an integer
    argument value to (variable, low, high): every argument equal to it becomes
    ``:variable``, drawn by ``\\set variable random(low, high)`` at each transaction."""
    random_ids = random_ids or {}
    lines = [f"\\set {var} random({lo}, {hi})" for var, lo, hi in random_ids.values()]
    defines: dict[str, str] = {}
    for i, statement in enumerate(captured.statements):
        query = statement.query.strip().rstrip(";")
        if TRANSACTION.match(query) and not statement.args:
            lines.append(query + ";")
            continue

        def substitute(m: re.Match[str], i: int = i, args: tuple[Any, ...] = statement.args) -> str:
            n = int(m.group(1))
            value = args[n - 1]
            if value is None:
                return "NULL"
            if type(value) is int and value in random_ids:
                return ":" + random_ids[value][0]
            keyed = _keyed(value, random_ids)
            if keyed is not None:
                return keyed
            if isinstance(value, list | tuple) and any(
                _keyed(v, random_ids) is not None for v in value
            ):  # keys passed as an array (several rate-limit counters in one statement)
                items = [_keyed(v, random_ids) or _literal(_text(v)) for v in value]
                return "ARRAY[" + ", ".join(items) + "]"
            name = f"q{i}_{n}"
            defines[name] = _text(value)
            return ":" + name

        lines.append(re.sub(r"\$(\d+)", substitute, query) + ";")
    return Script("\n".join(lines) + "\n", defines)


@dataclass
class PgbenchResult:
    tps: float
    transactions: int
    failed: int
    latency_ms: float
    clients: int
    seconds: float
    output: str


def run_pgbench(
    url: str, script: Script, clients: int, seconds: float, threads: int = 2
) -> PgbenchResult:
    """``pgbench -M prepared -n`` of the script on ``url``."""
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(script.text)
        path = f.name
    try:
        cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", str(threads),
               "-T", str(max(1, round(seconds))), "-f", path]
        for name, value in script.defines.items():
            cmd += ["-D", f"{name}={value}"]
        cmd.append(url)
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
    finally:
        Path(path).unlink(missing_ok=True)
    out = proc.stdout + proc.stderr
    tps = re.search(r"tps = ([\d.]+)", out)
    done = re.search(r"number of transactions actually processed: (\d+)", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    latency = re.search(r"latency average = ([\d.]+) ms", out)
    if proc.returncode != 0 or tps is None:
        raise RuntimeError(f"pgbench failed ({proc.returncode}):\n{out[-2000:]}\n{script.text}")
    return PgbenchResult(
        tps=round(float(tps.group(1)), 1),
        transactions=int(done.group(1)) if done else 0,
        failed=int(failed.group(1)) if failed else 0,
        latency_ms=float(latency.group(1)) if latency else float("nan"),
        clients=clients,
        seconds=seconds,
        output=out[-1500:],
    )
