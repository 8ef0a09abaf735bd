"""Soak (issue 9, ``make soak``): ``--minutes`` (10) of mixed open-loop load at half of
the peak, on the server and dataset of ``run.py``.

The mix (by weight): global feed 50, friends feed of the 200-friend user 15 and of the
2,000-friend user 5, For-You 10, reactions 20. Its rate is ``--rate``, or half of what
the mix can take according to the peaks of bench/results/bench-<size>.json (written by
``make bench``): 1 / sum(weight_i / peak_i), halved. The RSS of every HTTP worker is
sampled every 10 s; ``start`` is the sample after the first minute (a tenth of the run if
shorter: warm-up), ``end`` the last one. Target: no errors (failed requests and arrivals
k6 dropped) and every worker's RSS growth under 10%.

Prints the figures and PASS/FAIL, writes bench/results/soak-<size>.json, exits 1 on FAIL.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate R] [--size small|large]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import time
from datetime import UTC, datetime
from typing import Any

import loadgen
from feeds import ADMIN_URL, HEAVY, MEDIUM, SIZES, VIEWER
from run import PAGE, RESULTS_DIR, environment

MB = 1_000_000
MIX = {"global": 50, "friends_200": 15, "friends_2000": 5, "for_you": 10, "reactions": 20}
MAX_GROWTH = 0.10


def mix_rate(size: str) -> float:
    """Half of the rate the mix can take, from the peaks of the last ``make bench``."""
    path = RESULTS_DIR / f"bench-{size}.json"
    if not path.exists():
        raise SystemExit(f"no {path}: run `make bench` first, or pass --rate")
    peaks = json.loads(path.read_text()).get("peaks", {})
    missing = [k for k in MIX if not peaks.get(k)]
    if missing:
        raise SystemExit(f"{path} has no peak for {', '.join(missing)}: pass --rate")
    total = sum(MIX.values())
    capacity = 1.0 / sum(w / total / peaks[k] for k, w in MIX.items())
    return capacity / 2


async def soak(args: argparse.Namespace) -> int:
    rate = args.rate or mix_rate(args.size)
    seconds = args.minutes * 60
    warm = min(60.0, seconds / 10)
    print(f"soak: {args.minutes:g} min of mixed load at {rate:.1f} req/s ({args.size})",
          flush=True)
    async with environment(SIZES[args.size], args.seed, args.admin_url, False) as env:
        q = f"limit={PAGE}"
        tokens = [HEAVY, MEDIUM, VIEWER, *env.signed_in]
        requests = [
            {"name": "global", "kind": "get", "path": f"/v1/feed/global?{q}", "token": 2,
             "weight": MIX["global"]},
            {"name": "friends_200", "kind": "get", "path": f"/v1/feed/friends?{q}", "token": 1,
             "weight": MIX["friends_200"]},
            {"name": "friends_2000", "kind": "get", "path": f"/v1/feed/friends?{q}",
             "token": 0, "weight": MIX["friends_2000"]},
            {"name": "for_you", "kind": "get", "path": f"/v1/feed/for-you?{q}", "token": 2,
             "weight": MIX["for_you"]},
            {"name": "reaction", "kind": "reaction", "video_ids": env.reaction_videos,
             "weight": MIX["reactions"]},
        ]
        spec = env.spec(requests, tokens)
        run = loadgen.K6Run(env.server.base, spec, rate, seconds)
        started = time.monotonic()
        samples: list[dict[str, Any]] = []
        while run.proc.poll() is None:
            samples.append({"at": round(time.monotonic() - started, 1),
                            "rss": env.server.worker_rss()})
            for _ in range(20):  # every 10 s, but notice the end sooner
                if run.proc.poll() is not None:
                    break
                await asyncio.sleep(0.5)
        samples.append({"at": round(time.monotonic() - started, 1),
                        "rss": env.server.worker_rss()})
        result = await asyncio.to_thread(run.wait)
        server_alive = env.server.proc.poll() is None
    after_warm = [s for s in samples if s["at"] >= warm and s["rss"]]
    start, end = (after_warm[0], after_warm[-1]) if after_warm else (samples[0], samples[-1])
    growth = {
        pid: (end["rss"][pid] - rss) / rss
        for pid, rss in start["rss"].items() if pid in end["rss"] and rss
    }
    errors = result.failed + result.dropped
    ok = errors == 0 and bool(growth) and max(growth.values()) < MAX_GROWTH and server_alive
    print(f"requests:  {result.requests:,} ({result.achieved:.1f}/s of {rate:.1f}/s), "
          f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms")
    print(f"errors:    {errors} ({result.failed} failed, {result.dropped} dropped)")
    for pid, g in growth.items():
        print(f"worker {pid}: RSS {start['rss'][pid] / MB:.1f} MB at {start['at']:.0f} s -> "
              f"{end['rss'][pid] / MB:.1f} MB at {end['at']:.0f} s ({g * 100:+.1f}%)")
    if not server_alive:
        print("the server exited during the soak")
    print("PASS" if ok else "FAIL", f"(target: no errors, RSS growth < {MAX_GROWTH:.0%})")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"soak-{args.size}.json"
    out.write_text(json.dumps({
        "size": args.size, "minutes": args.minutes, "rate": rate, "mix": MIX,
        "result": result.__dict__, "errors": errors,
        "rss_start": start, "rss_end": end,
        "rss_growth": {str(k): round(v, 4) for k, v in growth.items()},
        "samples": samples, "passed": ok,
        "finished_at": datetime.now(UTC).isoformat(),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
    }, indent=2, default=str) + "\n")
    print(f"wrote {out}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=None,
                        help="requests per second (default: half of the mix's peak)")
    parser.add_argument("--size", choices=["small", "large"], default="small")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--admin-url", default=os.environ.get("MOMENTIC_BENCH_ADMIN_URL",
                                                              ADMIN_URL))
    args = parser.parse_args()
    return asyncio.run(soak(args))


if __name__ == "__main__":
    sys.exit(main())
