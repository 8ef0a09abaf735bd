"""The feeds' wrk peaks of two checkouts side by side, in the same minutes (issue 19
item 3): the small bench dataset and two production-like servers on it (``run.py``'s
environment; the same settings, data dir and tokens), one importing ``--before``'s code
(PYTHONPATH), the other this checkout's; wrk runs alternate between them route by route,
``--rounds`` times, each with the machine's load average beside it and the CPU each
answer cost the server (its worker processes) and PostgreSQL (the bench database's
backends), in ms: on a shared machine that figure moves less than the rate does. The load generator
is wrk (C, one thread, 32 connections), as ``run.py --only peaks``.

    PYTHONPATH=$PWD .venv/bin/python bench/feed_ab.py --before /work/main [--seconds 10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
import run
import wrk
from bench_server import Server
from feeds import ADMIN_URL, HEAVY, MEDIUM, SIZES, VIEWER

HERE = Path(__file__).resolve().parent.parent


async def measure(before: str, seconds: float, rounds: int) -> dict[str, Any]:
    q = "limit=20"
    async with run.environment(SIZES["small"], 1, ADMIN_URL, keep=False) as env:
        saved = os.environ.get("PYTHONPATH")
        os.environ["PYTHONPATH"] = before
        try:
            old = Server(env.environ)
        finally:
            if saved is None:
                del os.environ["PYTHONPATH"]
            else:
                os.environ["PYTHONPATH"] = saved
        try:
            async with aiohttp.ClientSession() as session:
                await old.wait_until_up(session)
            servers = {"before": old.base, "after": env.server.base}
            pids = {"before": old.proc.pid, "after": env.server.proc.pid}
            plan = {
                "global": (f"/v1/feed/global?{q}", VIEWER),
                "friends_200": (f"/v1/feed/friends?{q}", MEDIUM),
                "friends_2000": (f"/v1/feed/friends?{q}", HEAVY),
            }
            runs: list[dict[str, Any]] = []
            for n in range(rounds):
                for route, (path, user) in plan.items():
                    lua = wrk.script([path], [env.headers[user]])
                    for which, base in servers.items():
                        await asyncio.to_thread(wrk.run, base, 2.0, lua=lua)  # warm-up
                        load = os.getloadavg()
                        with run.CpuShares(pids[which], env.name) as cpu:
                            res = await asyncio.to_thread(wrk.run, base, seconds, lua=lua)
                        share = cpu.shares(res.cpu_seconds)
                        # CPU per good answer: server (its worker tree) and PostgreSQL
                        # (the bench database's backends), in ms
                        per = cpu.wall * 10 / max(1, res.ok_rps * res.seconds)
                        row = {"round": n + 1, "route": route, "code": which,
                               "ok_rps": round(res.ok_rps, 1), "p50_ms": res.p50_ms,
                               "p99_ms": res.p99_ms, "errors": res.errors,
                               "wrk_cpu_core_pct": round(res.cpu_core_pct),
                               "server_cpu_ms_per_request": round(share["server"] * per, 3),
                               "postgres_cpu_ms_per_request": round(share["postgres"] * per, 3),
                               "machine_busy_pct": share["machine"],
                               "loadavg_1m": round(load[0], 2)}
                        runs.append(row)
                        print(json.dumps(row), flush=True)
            return {"runs": runs, "seconds": seconds}
        finally:
            old.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="a checkout of the code to compare")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    result = asyncio.run(measure(args.before, args.seconds, args.rounds))
    out = run.RESULTS_DIR / "feed-ab.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
