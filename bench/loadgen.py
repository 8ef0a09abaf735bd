"""Open-loop load with k6 (bench/k6/load.js): one step at a fixed arrival rate, a
closed-loop probe, and the ladder that finds a scenario's peak.

The peak is the highest arrival rate whose step had under 1% errors (failed requests and
arrivals k6 dropped because every VU was busy count as errors), kept up at least 90% of
the rate, and had a p99 within the scenario's target. The ladder starts at half the rate
a closed-loop probe of 16 clients reached, climbs by ``GROWTH`` until a step fails, then
tries once between the last good and the first bad rate. A step that fails (unless by far:
20% errors or more) is run once more, and fails only if it fails again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

K6 = Path(sys.executable).parent / "k6"
SCRIPT = Path(__file__).resolve().parent / "k6" / "load.js"
GROWTH = 1.25
MAX_ERROR_RATE = 0.01


@dataclass
class Step:
    rate: float  # target arrivals per second (0: closed loop)
    requests: int
    achieved: float  # answered requests per second
    failed: int
    dropped: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    seconds: float

    @property
    def error_rate(self) -> float:
        sent = self.requests + self.dropped
        return (self.failed + self.dropped) / sent if sent else 1.0

    def passes(self, p99_target_ms: float) -> bool:
        return (
            self.error_rate < MAX_ERROR_RATE
            and self.p99_ms <= p99_target_ms
            and self.achieved >= 0.9 * self.rate
        )

    def line(self) -> str:
        return (
            f"rate {self.rate:7.1f}/s -> {self.achieved:7.1f}/s  p50 {self.p50_ms:7.1f} ms  "
            f"p99 {self.p99_ms:7.1f} ms  errors {self.error_rate * 100:5.2f}% "
            f"({self.failed} failed, {self.dropped} dropped)"
        )


def write_spec(spec: dict[str, Any], directory: str) -> str:
    fd, path = tempfile.mkstemp(suffix=".json", dir=directory)
    with os.fdopen(fd, "w") as f:
        json.dump(spec, f)
    return path


class K6Run:
    """A k6 process running in the background (a login flood beside a measured run)."""

    def __init__(
        self,
        base: str,
        spec_path: str,
        rate: float,
        seconds: float,
        *,
        executor: str = "constant-arrival-rate",
        vus: int = 16,
    ) -> None:
        if not K6.exists():
            raise SystemExit(f"k6 is not installed in this venv ({K6}): make bench installs it")
        self.seconds = seconds
        self.rate = rate
        fd, self.summary = tempfile.mkstemp(suffix=".json")
        os.close(fd)
        env = {
            **os.environ,
            "BASE_URL": base,
            "SPEC": spec_path,
            "RATE": str(max(1, round(rate))),
            "DURATION": f"{max(1, round(seconds))}s",
            "EXECUTOR": executor,
            "VUS": str(vus),
            "SUMMARY": self.summary,
            "K6_NO_USAGE_REPORT": "true",
        }
        self.proc = subprocess.Popen(  # noqa: S603 (the venv's k6)
            [str(K6), "run", "--quiet", "--no-color", "--no-thresholds", str(SCRIPT)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def wait(self) -> Step:
        out, _ = self.proc.communicate()
        try:
            data = json.loads(Path(self.summary).read_text())
        except (OSError, ValueError) as exc:
            raise RuntimeError(
                f"k6 wrote no summary ({self.proc.returncode}):\n{out[-2000:]}"
            ) from exc
        finally:
            Path(self.summary).unlink(missing_ok=True)

        def num(key: str) -> float:
            value = data.get(key)
            return round(float(value), 2) if value is not None else float("nan")

        requests = int(data["requests"])
        failed = int(data["failed"])
        return Step(
            rate=round(self.rate, 1) if data.get("target_rate") else 0.0,
            requests=requests,
            achieved=round((requests - failed) / self.seconds, 1),
            failed=failed,
            dropped=int(data["dropped"]),
            p50_ms=num("p50_ms"),
            p90_ms=num("p90_ms"),
            p99_ms=num("p99_ms"),
            max_ms=num("max_ms"),
            seconds=self.seconds,
        )


def step(base: str, spec_path: str, rate: float, seconds: float) -> Step:
    return K6Run(base, spec_path, rate, seconds).wait()


def probe(base: str, spec_path: str, seconds: float, vus: int = 16) -> Step:
    """Closed loop of ``vus`` clients: what the server answers when kept busy."""
    return K6Run(base, spec_path, 0, seconds, executor="constant-vus", vus=vus).wait()


@dataclass
class Ladder:
    p99_target_ms: float
    probe: Step | None = None
    steps: list[Step] = field(default_factory=list)
    peak: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "p99_target_ms": self.p99_target_ms,
            "peak": self.peak,
            "probe": asdict(self.probe) if self.probe else None,
            "steps": [asdict(s) | {"passes": s.passes(self.p99_target_ms)} for s in self.steps],
        }


def find_peak(
    base: str,
    spec_path: str,
    p99_target_ms: float,
    step_seconds: float,
    probe_seconds: float,
    log: Any = print,
    max_steps: int = 12,
) -> Ladder:
    ladder = Ladder(p99_target_ms)
    ladder.probe = probe(base, spec_path, probe_seconds)
    log(f"      probe (16 clients, closed loop): {ladder.probe.achieved:.1f}/s, "
        f"p99 {ladder.probe.p99_ms:.1f} ms")
    rate = max(2.0, ladder.probe.achieved * 0.5)
    good: float | None = None
    bad: float | None = None

    def run(rate: float, again: bool = True) -> bool:
        s = step(base, spec_path, rate, step_seconds)
        ladder.steps.append(s)
        ok = s.passes(p99_target_ms)
        log(f"      {s.line()}  {'ok' if ok else 'over'}")
        if not ok and again and s.error_rate < 0.2:
            # Once more before believing it: on a shared machine one stall of another
            # process is enough to push a short step's p99 over.
            return run(rate, again=False)
        return ok

    while len(ladder.steps) < max_steps:
        if run(rate):
            good = rate
            if bad is not None:
                break
            rate *= GROWTH
        else:
            bad = rate
            if good is not None:
                break
            rate *= 0.6
            if rate < 1:
                break
    if good is not None and bad is not None and bad > good * 1.1:
        middle = (good + bad) / 2
        if run(middle):
            good = middle
    ladder.peak = round(good or 0.0, 1)
    return ladder
