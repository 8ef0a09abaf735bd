"""Reactions' wrk peak of two checkouts side by side, in the same minutes (issue 19's
"reactions >= 1,500/s, sync commit on"), then what the database alone can do with the
reaction's SQL.

``run.py``'s small dataset and production-like environment (``synchronous_commit`` on,
one HTTP worker per core, sized pools, each bench user at its own address), and two
servers on the one database: one importing ``--before``'s code (PYTHONPATH), the other
this checkout's. wrk (C, one thread, 32 connections) sends ``run.py``'s reaction load
(``PUT /v1/videos/{id}/reaction``, a random signed-in user, video and kind) to each in
turn, ``--rounds`` times, with the load average beside each run and what each good answer
cost in CPU: the server (its worker processes) and PostgreSQL (the bench database's
backends), in ms. On a shared machine that figure moves less than the rate does.

Then the statements of one new reaction, captured from this checkout's app
(``sqlcapture``), and ``pgbench -M prepared`` of them alone with random users, videos and
authors, as many clients as the server's pools hold: the database's own ceiling for that
SQL with synchronous commit, on the same machine.

    PYTHONPATH=$PWD .venv/bin/python bench/reaction_ab.py --before /path/to/checkout
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
from typing import Any

import aiohttp
import run
import sqlcapture
import wrk
from bench_server import POOL_SIZE, Server
from feeds import ADMIN_URL, SIZES
from social import counters_drift

KINDS = ("heart", "flame", "funny", "angry")


def _server_with(environ: dict[str, str], pythonpath: str) -> Server:
    saved = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = pythonpath
    try:
        return Server(environ)
    finally:
        if saved is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = saved


async def _pgbench(env: run.Env, seconds: float) -> dict[str, Any]:
    uid, vid, warmup, variables = await run.reaction_capture(env)
    async with sqlcapture.in_process_app(env.environ) as client:
        captured = await sqlcapture.capture(
            client, "reactions", "PUT", f"/v1/videos/{vid}/reaction", env.headers[uid],
            {"kind": "flame"}, 1, warmup)
    script = sqlcapture.pgbench_script(captured, variables)
    clients = int(POOL_SIZE) * len(env.server.worker_pids())
    load = os.getloadavg()
    result = await asyncio.to_thread(sqlcapture.run_pgbench, env.url, script, clients, seconds)
    return {"statements": captured.describe(), "status": captured.status, "tps": result.tps,
            "failed": result.failed, "clients": clients, "latency_ms": result.latency_ms,
            "loadavg_1m": round(load[0], 2)}


async def measure(before: str, seconds: float, rounds: int) -> dict[str, Any]:
    async with run.environment(SIZES["small"], 1, ADMIN_URL, keep=False) as env:
        old = _server_with(env.environ, before)
        try:
            async with aiohttp.ClientSession() as session:
                await old.wait_until_up(session)
            servers = {"before": old, "after": env.server}
            headers = [{**env.headers[u], "Content-Type": "application/json"}
                       for u in env.signed_in]
            lua = wrk.script([f"/v1/videos/{v}/reaction" for v in env.reaction_videos],
                             headers, method="PUT", pick="random",
                             bodies=[json.dumps({"kind": k}) for k in KINDS])
            runs: list[dict[str, Any]] = []
            for n in range(rounds):
                for which, server in servers.items():
                    await asyncio.to_thread(wrk.run, server.base, 2.0, lua=lua)  # warm-up
                    load = os.getloadavg()
                    with run.CpuShares(server.proc.pid, env.name) as cpu:
                        res = await asyncio.to_thread(wrk.run, server.base, seconds, lua=lua)
                    share = cpu.shares(res.cpu_seconds)
                    per = cpu.wall * 10 / max(1, res.ok_rps * res.seconds)  # % -> ms each
                    row = {"round": n + 1, "code": which, "ok_rps": round(res.ok_rps, 1),
                           "p50_ms": res.p50_ms, "p99_ms": res.p99_ms, "errors": res.errors,
                           "wrk_cpu_core_pct": round(res.cpu_core_pct),
                           "server_cpu_ms_per_request": round(share["server"] * per, 3),
                           "postgres_cpu_ms_per_request": round(share["postgres"] * per, 3),
                           "others_pct_of_a_core": round(share["others"]),
                           "loadavg_1m": round(load[0], 2)}
                    runs.append(row)
                    print(json.dumps(row), flush=True)
        finally:
            old.stop()
        pgbench = await _pgbench(env, seconds)
        print(json.dumps(pgbench), flush=True)
        drift = await counters_drift(env.url)  # every video's counters equal its rows
        print(f"videos or comments whose counters differ from their rows: {drift}")
        return {"runs": runs, "seconds": seconds, "pgbench": pgbench, "counters_drift": drift,
                "synchronous_commit": env.postgres["synchronous_commit"]}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--before", required=True, help="a checkout of the code to compare")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    result = asyncio.run(measure(args.before, args.seconds, args.rounds))
    out = run.RESULTS_DIR / "reaction-ab.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
