"""The moment fan-out benchmark (bench/push_fanout.py, issue 17 item 7) at a tiny size,
so that it cannot rot: 200 users, one real worker process, the fake APNs in a process of
its own. Every phone gets the moment once; no figure is asserted (no timing asserts)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

from adapters.postgres.migrate import apply_migrations

BENCH = Path(__file__).resolve().parents[2] / "bench" / "push_fanout.py"


async def test_the_fan_out_bench_runs_at_a_tiny_size(
    make_database: Callable[[], str], tmp_path: Path
) -> None:
    spec = importlib.util.spec_from_file_location("bench_push_fanout", BENCH)
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    url = make_database()
    apply_migrations(url)
    result = await bench.fan_out(url, users=200, workers=1, work_dir=tmp_path,
                                 give_up_after=120.0)
    assert (result["pushes"], result["missing"], result["doubled"]) == (200, 0, 0), (
        result["log_tail"])
    assert result["per_connection"] == [200]
    assert result["jobs"]["push.moment:done"] == 1
    assert result["moment_to_last_push_seconds"] is not None
    assert result["workers_detail"][0]["rss_peak_mb"] > 0
