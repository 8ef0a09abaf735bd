"""Where a request's Python CPU goes (issue 19): ``run.py``'s small dataset and
production-like ``momentic serve``, then for each route wrk's closed-loop load (as
``run.py --only peaks``: one thread, 32 connections) while ``py-spy record`` samples
every HTTP worker (``--rate`` Hz, raw collapsed stacks, only samples holding the GIL:
idle threads and the loop's polling left out). The
samples are summed over the workers and shown two ways: the top functions by self time
(the stack's leaf), and by area (the leaf's package or module), each in % of the
samples and in ms of CPU per request (samples / rate / requests). Beside them, the
server's real CPU per request over the same window (its process tree, ``/proc``).

Without ``--native`` the C under a Python frame (orjson, uvloop, aiohttp's parser and
writer, asyncpg's protocol) counts for the Python frame that called it; the event loop's
own C with no Python frame above ``run_app`` is "event loop (C)".

    PYTHONPATH=$PWD .venv/bin/python bench/route_profile.py [--routes me,global,friends_200]
        [--seconds 15] [--rate 200]

Writes bench/results/route-profile.json (``--out``) and prints markdown tables.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import loadgen
import run
import wrk
from feeds import ADMIN_URL, SIZES

PY_SPY = Path(sys.executable).parent / "py-spy"
ROUTES = ("me", "global", "friends_200")

# (area, path fragments of the leaf frame's file), first match wins.
AREAS: list[tuple[str, tuple[str, ...]]] = [
    ("token verification (joserfc, cryptography)",
     ("/joserfc/", "/cryptography/", "adapters/crypto/tokens.py")),
    ("our middlewares", ("adapters/http/middlewares.py", "adapters/http/metrics.py",
                         "adapters/tracing.py", "adapters/acting.py", "adapters/http/auth/mfa.py")),
    ("feed items (adapters/http/items.py)", ("adapters/http/items.py",)),
    ("rendering (views, cattrs, orjson)", ("/cattrs/", "<cattrs", "adapters/http/converter.py",
                                           "adapters/http/views.py", "adapters/http/common.py",
                                           "/orjson", "adapters/media_urls.py")),
    ("logging", ("/logging/", "adapters/logs.py")),
    ("metrics (prometheus_client)", ("/prometheus_client/",)),
    ("units of work, rows to models (adapters/postgres, attrs, enum)",
     ("adapters/postgres/", "<attrs generated", "/enum.py")),
    ("asyncpg", ("/asyncpg/",)),
    ("aiohttp", ("/aiohttp/", "/multidict/", "/yarl/")),
    ("uvloop/asyncio", ("/asyncio/", "/uvloop/", "contextvars")),
    ("our services and other adapters", ("momentic_core/", "adapters/")),
]
EVENT_LOOP_C = "event loop (C)"


def parse_raw(text: str) -> Counter[tuple[str, ...]]:
    """py-spy's raw output (``frame;frame;... count``, root first) as stacks and counts."""
    stacks: Counter[tuple[str, ...]] = Counter()
    for line in text.splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            stacks[tuple(stack.split(";"))] += int(count)
    return stacks


def function_of(frame: str) -> tuple[str, str]:
    """(``name (file)``, file) of a raw frame ``name (file:line)``, the line dropped."""
    name, _, where = frame.rpartition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    short = path.split("site-packages/", 1)[-1]
    for root in ("momentic_core/", "adapters/", "bench/"):
        if root in short and "site-packages" not in path:
            short = root + short.split(root, 1)[1]
            break
    return f"{name} ({short})", path


def area_of(stack: tuple[str, ...]) -> str:
    name, path = function_of(stack[-1])
    if name.startswith(("run_app ", "run_until_complete ", "run_forever ")):
        return EVENT_LOOP_C  # uvloop's own C: reads, polling, scheduling callbacks
    for area, fragments in AREAS:
        if any(f in path for f in fragments):
            return area
    return "other"


def aggregate(stacks: Counter[tuple[str, ...]], rate: float, requests: int,
              top: int = 25) -> dict[str, Any]:
    total = sum(stacks.values())
    functions: Counter[str] = Counter()
    areas: Counter[str] = Counter()
    for stack, n in stacks.items():
        functions[function_of(stack[-1])[0]] += n
        areas[area_of(stack)] += n

    def rows(counter: Iterable[tuple[str, int]]) -> list[dict[str, Any]]:
        return [{"name": k, "samples": n, "pct": round(100 * n / total, 1) if total else 0.0,
                 "ms_per_request": round(1000 * n / rate / requests, 4) if requests else 0.0}
                for k, n in counter]

    return {"samples": total, "requests": requests,
            "ms_per_request": round(1000 * total / rate / requests, 4) if requests else 0.0,
            "top_functions": rows(functions.most_common(top)),
            "areas": rows(areas.most_common())}


def markdown(route: str, r: dict[str, Any]) -> str:
    """The route's tables: ms/request sampled (samples / rate / requests: on a busy
    machine a thread holding the GIL while it waits for a core counts too) and as that
    share of the server's measured CPU per request."""
    p, cpu = r["profile"], r["server_cpu_ms_per_request"]
    lines = [f"**{route}**: {r['ok_rps']:,.0f} req/s under the profiler; server CPU "
             f"{cpu:.3f} ms/request (measured), sampled {p['ms_per_request']:.3f} ms/request "
             f"({p['samples']:,} samples)", "",
             "| area | % of samples | ms/request sampled | ms/request of the measured CPU |",
             "|---|---|---|---|"]
    lines += [f"| {a['name']} | {a['pct']:.1f} | {a['ms_per_request']:.3f} | "
              f"{a['pct'] * cpu / 100:.3f} |" for a in p["areas"]]
    lines += ["", "| function (self) | % | ms/request sampled |", "|---|---|---|"]
    lines += [f"| `{f['name']}` | {f['pct']:.1f} | {f['ms_per_request']:.3f} |"
              for f in p["top_functions"]]
    return "\n".join(lines)


def _spies(outputs: dict[int, str], seconds: float, rate: int) -> list[subprocess.Popen[str]]:
    """``py-spy record`` of each worker pid into its output file: raw collapsed stacks,
    only the samples holding the GIL (Python running, or C it called that keeps the
    GIL: not the loop's polling, nor idle threads)."""
    return [subprocess.Popen(  # noqa: S603 (py-spy of this venv)
        [str(PY_SPY), "record", "--pid", str(pid), "--rate", str(rate), "--duration",
         str(round(seconds)), "--format", "raw", "--full-filenames", "--gil", "--output", out],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for pid, out in outputs.items()]


def _collect(spies: list[subprocess.Popen[str]], outputs: dict[int, str]
             ) -> Counter[tuple[str, ...]]:
    for spy in spies:
        _, err = spy.communicate(timeout=60)
        if spy.returncode != 0:
            raise SystemExit(f"py-spy failed ({spy.returncode}): {err[-1000:]}")
    stacks: Counter[tuple[str, ...]] = Counter()
    for out in outputs.values():
        stacks += parse_raw(Path(out).read_text())
    return stacks


async def profile_route(env: run.Env, route: str, seconds: float, rate: int,
                        tmp: str) -> dict[str, Any]:
    paths, headers = run.wrk_plan(env)[route]
    lua = wrk.script(paths, headers)
    base = env.server.base
    await asyncio.to_thread(wrk.run, base, 2.0, lua=lua)  # warm-up
    outputs = {pid: os.path.join(tmp, f"{route}-{pid}.txt") for pid in env.server.worker_pids()}
    spies = _spies(outputs, seconds, rate)
    await asyncio.sleep(0.5)  # py-spy attaches
    with run.CpuShares(env.server.proc.pid, env.name) as cpu:
        res = await asyncio.to_thread(wrk.run, base, seconds - 1, lua=lua)
    stacks = await asyncio.to_thread(_collect, spies, outputs)
    # py-spy samples from 0.5 s before wrk's run to 0.5 s after it: the workers are idle
    # then (idle stacks are not sampled), so the samples are those of wrk's answers.
    requests = res.requests
    shares = cpu.shares(res.cpu_seconds)
    answered = max(1.0, res.ok_rps * res.seconds)
    return {"ok_rps": round(res.ok_rps, 1), "p99_ms": res.p99_ms, "errors": res.errors,
            "cpu_pct_of_a_core": shares,
            "server_cpu_ms_per_request": round(shares["server"] * cpu.wall * 10 / answered, 4),
            "postgres_cpu_ms_per_request": round(shares["postgres"] * cpu.wall * 10 / answered,
                                                 4),
            "profile": aggregate(stacks, rate, requests)}


async def profile_login(env: run.Env, seconds: float, rate: int, tmp: str,
                        logins: float) -> dict[str, Any]:
    """Sign-ins (password grant) at ``logins`` a second from k6, open loop: the event
    loop's share of each one (py-spy samples the HTTP workers only; the argon2 hashing
    runs in their child processes, which the measured server CPU includes)."""
    spec = run.login_spec(env)
    base = env.server.base
    await asyncio.to_thread(loadgen.K6Run(base, spec, logins, 2.0).wait)  # warm-up
    outputs = {pid: os.path.join(tmp, f"login-{pid}.txt") for pid in env.server.worker_pids()}
    spies = _spies(outputs, seconds, rate)
    await asyncio.sleep(0.5)
    with run.CpuShares(env.server.proc.pid, env.name) as cpu:
        step = await asyncio.to_thread(loadgen.K6Run(base, spec, logins, seconds - 1).wait)
    stacks = await asyncio.to_thread(_collect, spies, outputs)
    shares = cpu.shares(0.0)
    answered = max(1.0, step.achieved * step.seconds)
    return {"ok_rps": round(step.achieved, 1), "p99_ms": step.p99_ms,
            "errors": step.failed + step.dropped, "cpu_pct_of_a_core": shares,
            "server_cpu_ms_per_request": round(shares["server"] * cpu.wall * 10 / answered, 4),
            "postgres_cpu_ms_per_request": round(shares["postgres"] * cpu.wall * 10 / answered,
                                                 4),
            "profile": aggregate(stacks, rate, step.requests)}


async def main_async(args: argparse.Namespace) -> dict[str, Any]:
    out: dict[str, Any] = {"seconds": args.seconds, "rate": args.rate, "routes": {}}
    async with run.environment(SIZES["small"], args.seed, ADMIN_URL, keep=False) as env:
        out["workers"] = len(env.server.worker_pids())
        with tempfile.TemporaryDirectory(prefix="momentic-profile-") as tmp:
            raw = str(args.raw_dir) if args.raw_dir else tmp
            os.makedirs(raw, exist_ok=True)
            for route in args.routes:
                r = await (profile_login(env, args.seconds, args.rate, raw, args.logins)
                           if route == "login" else
                           profile_route(env, route, args.seconds, args.rate, raw))
                out["routes"][route] = r
                print(markdown(route, r) + "\n", flush=True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--routes", type=lambda s: [x.strip() for x in s.split(",") if x],
                        default=list(ROUTES),
                        help="of: " + ", ".join(run.WRK_ROUTES[1:6]) + ", login")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--logins", type=float, default=30.0,
                        help="sign-ins per second for the route login (k6, open loop)")
    parser.add_argument("--rate", type=int, default=200, help="py-spy samples per second")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--raw-dir", type=Path, default=None,
                        help="keep py-spy's raw stacks there (<route>-<pid>.txt)")
    parser.add_argument("--out", type=Path, default=run.RESULTS_DIR / "route-profile.json")
    args = parser.parse_args()
    result = asyncio.run(main_async(args))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
