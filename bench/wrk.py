"""Closed-loop peaks with wrk (Debian's ``/usr/bin/wrk``, C): a generator that takes
little of the CPU the server needs, unlike k6 (issue 19: on 2 cores k6 itself was the
ceiling of ``make bench``'s HTTP row).

One run: ``wrk -t1 -c32 -d<N>s --latency -s <script> <url>``, the script choosing each
request's method, path, headers (an Authorization bearer and the user's
X-Forwarded-For, round-robin over several users, or random) and body. The output is
parsed (requests, req/s, p50/p75/p90/p99, non-2xx answers, socket errors), and wrk's own
CPU time (utime + stime of ``/proc/<pid>/stat``, read once wrk has exited and before it
is reaped) is divided by the wall time: ``cpu_core_pct`` is its share of one core,
``cpu_machine_pct`` of the machine (all cores).

Only the standard library: ``tests/unit/test_bench_wrk.py`` imports it without wrk.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

WRK = "/usr/bin/wrk"
THREADS = 1
CONNECTIONS = 32
MAX_ERROR_RATE = 0.01

_UNITS_S = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"
_TOTAL_RE = re.compile(r"^\s*(\d+) requests in " + _DURATION + r", ([\d.]+)(\w+) read", re.M)
_RPS_RE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.M)
_PERCENTILE_RE = re.compile(r"^\s+(\d+(?:\.\d+)?)%\s+" + _DURATION + r"\s*$", re.M)
_NON_2XX_RE = re.compile(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", re.M)
_SOCKET_RE = re.compile(
    r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", re.M
)
_LATENCY_RE = re.compile(r"^\s+Latency\s+" + _DURATION + r"\s+" + _DURATION + r"\s+"
                         + _DURATION, re.M)


def _seconds(value: str, unit: str) -> float:
    return float(value) * _UNITS_S[unit]


@dataclass
class Result:
    """What one wrk run reported, and what its process cost."""

    requests: int  # every answer read, good or not
    seconds: float  # wrk's own measured duration
    rps: float  # wrk's Requests/sec (all answers)
    non_2xx: int  # "Non-2xx or 3xx responses": status >= 400 for wrk 4.1
    socket_errors: dict[str, int]  # connect, read, write, timeout
    percentiles_ms: dict[str, float]  # "50", "75", "90", "99"
    mean_ms: float
    max_ms: float
    cpu_seconds: float = 0.0  # wrk's utime + stime
    wall_seconds: float = 0.0  # from start to exit of the process
    cpu_core_pct: float = 0.0  # of one core
    cpu_machine_pct: float = 0.0  # of all the machine's cores
    command: list[str] = field(default_factory=list)

    @property
    def errors(self) -> int:
        return self.non_2xx + sum(self.socket_errors.values())

    @property
    def ok_rps(self) -> float:
        """Good answers per second: what a peak is."""
        if not self.seconds:
            return 0.0
        return max(0, self.requests - self.non_2xx) / self.seconds

    @property
    def error_rate(self) -> float:
        sent = self.requests + self.socket_errors.get("timeout", 0)
        return self.errors / sent if sent else 1.0

    @property
    def p50_ms(self) -> float:
        return self.percentiles_ms.get("50", float("nan"))

    @property
    def p99_ms(self) -> float:
        return self.percentiles_ms.get("99", float("nan"))

    def passes(self) -> bool:
        return self.requests > 0 and self.error_rate < MAX_ERROR_RATE

    def line(self) -> str:
        return (f"{self.ok_rps:9,.1f} req/s  p50 {self.p50_ms:7.2f} ms  p99 {self.p99_ms:7.2f} ms"
                f"  errors {self.errors} ({self.non_2xx} non-2xx)  wrk CPU "
                f"{self.cpu_core_pct:.0f}% of a core, {self.cpu_machine_pct:.0f}% of the machine")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok_rps": round(self.ok_rps, 1), "errors": self.errors,
                               "error_rate": self.error_rate}


def parse(output: str) -> Result:
    """wrk 4.x's report (run with ``--latency``)."""
    total = _TOTAL_RE.search(output)
    rps = _RPS_RE.search(output)
    if total is None or rps is None:
        raise ValueError(f"not a wrk report:\n{output[-2000:]}")
    percentiles = {
        m.group(1): round(_seconds(m.group(2), m.group(3)) * 1000, 3)
        for m in _PERCENTILE_RE.finditer(output)
    }
    non_2xx = _NON_2XX_RE.search(output)
    sockets = _SOCKET_RE.search(output)
    latency = _LATENCY_RE.search(output)
    return Result(
        requests=int(total.group(1)),
        seconds=_seconds(total.group(2), total.group(3)),
        rps=float(rps.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(zip(("connect", "read", "write", "timeout"),
                               (int(g) for g in sockets.groups()), strict=True))
        if sockets else {"connect": 0, "read": 0, "write": 0, "timeout": 0},
        percentiles_ms=percentiles,
        mean_ms=round(_seconds(latency.group(1), latency.group(2)) * 1000, 3)
        if latency else float("nan"),
        max_ms=round(_seconds(latency.group(5), latency.group(6)) * 1000, 3)
        if latency else float("nan"),
    )


# ---------------------------------------------------------------- the Lua script


def lua_string(value: str) -> str:
    """A Lua string literal of ``value`` (bytes other than printable ASCII escaped)."""
    out = []
    for byte in value.encode():
        ch = chr(byte)
        if ch in '"\\':
            out.append("\\" + ch)
        elif 32 <= byte < 127:
            out.append(ch)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def _lua_table(headers: dict[str, str]) -> str:
    return "{" + ", ".join(f"[{lua_string(k)}] = {lua_string(v)}"
                           for k, v in headers.items()) + "}"


def script(
    paths: Sequence[str],
    headers: Sequence[dict[str, str]] = ({},),
    *,
    method: str = "GET",
    bodies: Sequence[str] = (),
    pick: str = "round-robin",
    seed: int = 1,
) -> str:
    """A wrk Lua script: each request takes the next (``round-robin``) or a random
    (``random``) entry of ``headers`` (one user's Authorization and address), of
    ``paths`` and of ``bodies`` (none: no body), each list on its own."""
    if not paths or not headers:
        raise ValueError("a script needs at least one path and one set of headers")
    if pick not in ("round-robin", "random"):
        raise ValueError(f"unknown pick {pick!r}")
    lines = [
        "-- written by bench/wrk.py",
        f"local method = {lua_string(method)}",
        "local paths = {" + ", ".join(lua_string(p) for p in paths) + "}",
        "local headers = {" + ",\n  ".join(_lua_table(h) for h in headers) + "}",
        "local bodies = {" + ", ".join(lua_string(b) for b in bodies) + "}",
        "local n = 0",
        f"math.randomseed({int(seed)})",
    ]
    if pick == "round-robin":
        lines.append("local function choose(list) return list[(n % #list) + 1] end")
    else:
        lines.append("local function choose(list) return list[math.random(#list)] end")
    lines += [
        "request = function()",
        "  n = n + 1",
        "  local body = nil",
        "  if #bodies > 0 then body = choose(bodies) end",
        "  return wrk.format(method, choose(paths), choose(headers), body)",
        "end",
    ]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- running it


def available() -> str | None:
    """The wrk binary, or None."""
    return WRK if os.access(WRK, os.X_OK) else shutil.which("wrk")


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (its threads included) from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()  # fields from 3 (state) on
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # fields 14 and 15


def run(
    url: str,
    seconds: float,
    *,
    lua: str | None = None,
    connections: int = CONNECTIONS,
    threads: int = THREADS,
    timeout_s: float = 10.0,
) -> Result:
    """One wrk run against ``url`` (scheme, host and port; a script's paths replace its
    path), with its CPU share."""
    binary = available()
    if binary is None:
        raise SystemExit("wrk is not installed (Debian: apt-get install -y wrk)")
    with tempfile.TemporaryDirectory(prefix="momentic-wrk-") as tmp:
        command = [binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
                   f"--timeout={max(1, round(timeout_s))}s", "--latency"]
        if lua is not None:
            path = os.path.join(tmp, "requests.lua")
            with open(path, "w") as f:
                f.write(lua)
            command += ["-s", path]
        command.append(url)
        out_path = os.path.join(tmp, "out.txt")
        with open(out_path, "w") as out:
            started = time.monotonic()
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)  # noqa: S603
            try:
                # Wait for the exit without reaping: the zombie's /proc/<pid>/stat still
                # holds the whole process's CPU time.
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
                wall = time.monotonic() - started
                cpu = proc_cpu_seconds(proc.pid)
            finally:
                code = proc.wait()
        with open(out_path) as f:
            text = f.read()
    if code != 0:
        raise RuntimeError(f"wrk exited {code}:\n{text[-2000:]}")
    result = parse(text)
    result.cpu_seconds = round(cpu, 3)
    result.wall_seconds = round(wall, 3)
    result.cpu_core_pct = round(100 * cpu / wall, 1) if wall else 0.0
    result.cpu_machine_pct = round(result.cpu_core_pct / (os.cpu_count() or 1), 1)
    result.command = command
    return result


if __name__ == "__main__":  # a quick look: python bench/wrk.py URL [seconds]
    import sys

    res = run(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else 5)
    print(res.line())
    print(json.dumps(res.as_dict(), indent=2))
