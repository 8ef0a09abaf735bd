"""bench/wrk.py: parsing the report of a real wrk 4.1 (Debian's; the outputs below are
captured from runs against bench/bare_app.py), the Lua script it writes, and the CPU
reading. Neither wrk nor a server is needed."""

from __future__ import annotations

import importlib.util
import math
import os
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest


def _load() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "wrk.py"
    spec = importlib.util.spec_from_file_location("bench_wrk", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_wrk"] = module
    spec.loader.exec_module(module)
    return module


wrk = _load()

# wrk -t1 -c32 -d2s --latency http://127.0.0.1:18991/json
OK = """\
Running 2s test @ http://127.0.0.1:18991/json
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     4.20ms    9.33ms 105.19ms   93.89%
    Req/Sec    15.56k     5.96k   22.69k    52.38%
  Latency Distribution
     50%    1.43ms
     75%    3.76ms
     90%    8.69ms
     99%   52.96ms
  32544 requests in 2.10s, 8.85MB read
Requests/sec:  15464.12
Transfer/sec:      4.20MB
"""

# the same with -s: every 10th request to a missing path (404)
MIX = """\
Running 2s test @ http://127.0.0.1:18991/
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.13ms   15.42ms 151.81ms   96.16%
    Req/Sec    15.71k     4.37k   23.06k    75.00%
  Latency Distribution
     50%    1.43ms
     75%    3.18ms
     90%    8.05ms
     99%  102.65ms
  31335 requests in 2.00s, 8.19MB read
  Non-2xx or 3xx responses: 3133
Requests/sec:  15629.73
Transfer/sec:      4.08MB
"""

# -d3s, the server killed after 1 s
KILLED = """\
Running 3s test @ http://127.0.0.1:18991/json
  1 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     5.72ms    9.84ms  80.97ms   88.92%
    Req/Sec     6.45k     4.76k   14.57k    72.73%
  Latency Distribution
     50%    1.32ms
     75%    5.85ms
     90%   16.75ms
     99%   53.16ms
  7128 requests in 3.04s, 1.94MB read
  Socket errors: connect 0, read 32, write 40268, timeout 0
Requests/sec:   2344.58
Transfer/sec:    652.54KB
"""

# -c2 -d1s: a percentile in microseconds
SLOW = """\
Running 1s test @ http://127.0.0.1:18991/json
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.81ms    3.36ms  28.33ms   88.66%
    Req/Sec     4.68k     3.54k   11.85k    70.00%
  Latency Distribution
     50%  195.00us
     75%    2.02ms
     90%    5.68ms
     99%   15.38ms
  4737 requests in 1.03s, 1.29MB read
Requests/sec:   4608.64
Transfer/sec:      1.25MB
"""


def test_a_clean_run() -> None:
    r = wrk.parse(OK)
    assert r.requests == 32544
    assert r.seconds == pytest.approx(2.10)
    assert r.rps == pytest.approx(15464.12)
    assert r.percentiles_ms == {"50": 1.43, "75": 3.76, "90": 8.69, "99": 52.96}
    assert (r.p50_ms, r.p99_ms) == (1.43, 52.96)
    assert (r.mean_ms, r.max_ms) == (4.2, 105.19)
    assert r.non_2xx == 0
    assert r.socket_errors == {"connect": 0, "read": 0, "write": 0, "timeout": 0}
    assert r.ok_rps == pytest.approx(32544 / 2.10)
    assert r.error_rate == 0
    assert r.passes()


def test_non_2xx_answers_are_not_counted_in_the_peak() -> None:
    r = wrk.parse(MIX)
    assert r.requests == 31335
    assert r.non_2xx == 3133
    assert r.errors == 3133
    assert r.ok_rps == pytest.approx((31335 - 3133) / 2.00)
    assert r.rps == pytest.approx(15629.73)  # wrk's own figure counts them
    assert r.error_rate == pytest.approx(3133 / 31335)
    assert not r.passes()
    assert r.p99_ms == 102.65


def test_socket_errors() -> None:
    r = wrk.parse(KILLED)
    assert r.socket_errors == {"connect": 0, "read": 32, "write": 40268, "timeout": 0}
    assert r.errors == 40300
    assert r.non_2xx == 0
    assert not r.passes()


def test_units_of_the_latency_block() -> None:
    r = wrk.parse(SLOW)
    assert r.percentiles_ms["50"] == pytest.approx(0.195)
    assert r.percentiles_ms["99"] == pytest.approx(15.38)
    assert r.seconds == pytest.approx(1.03)


def test_without_the_latency_block_percentiles_are_unknown() -> None:
    text = "\n".join(line for line in OK.splitlines() if "%" not in line or "Latency" in line
                     or "Req/Sec" in line)
    r = wrk.parse(text)
    assert r.percentiles_ms == {}
    assert math.isnan(r.p99_ms)


def test_not_a_report() -> None:
    with pytest.raises(ValueError, match="not a wrk report"):
        wrk.parse("unable to connect to 127.0.0.1:18992 Connection refused\n")


def test_lua_string_escapes() -> None:
    assert wrk.lua_string('Bearer a"b\\c') == '"Bearer a\\"b\\\\c"'
    assert wrk.lua_string("é\n") == '"\\195\\169\\010"'


def test_script_round_robin_over_users() -> None:
    lua = wrk.script(["/v1/me"], [{"Authorization": "Bearer t1"},
                                  {"Authorization": "Bearer t2"}])
    assert 'local paths = {"/v1/me"}' in lua
    assert '{["Authorization"] = "Bearer t1"}' in lua
    assert '{["Authorization"] = "Bearer t2"}' in lua
    assert "return list[(n % #list) + 1]" in lua
    assert 'local method = "GET"' in lua
    assert "local bodies = {}" in lua
    assert "request = function()" in lua


def test_script_random_with_a_body() -> None:
    lua = wrk.script(["/v1/videos/7/reaction", "/v1/videos/9/reaction"],
                     [{"Content-Type": "application/json"}], method="PUT",
                     bodies=['{"kind": "heart"}'], pick="random", seed=3)
    assert 'local method = "PUT"' in lua
    assert 'local bodies = {"{\\"kind\\": \\"heart\\"}"}' in lua
    assert "math.random(#list)" in lua
    assert "math.randomseed(3)" in lua


def test_script_needs_paths_and_headers() -> None:
    with pytest.raises(ValueError):
        wrk.script([], [{}])
    with pytest.raises(ValueError):
        wrk.script(["/"], [])
    with pytest.raises(ValueError):
        wrk.script(["/"], [{}], pick="sometimes")


def test_cpu_seconds_of_a_process_from_proc() -> None:
    before = wrk.proc_cpu_seconds(os.getpid())
    deadline = time.process_time() + 0.3
    while time.process_time() < deadline:
        pass
    after = wrk.proc_cpu_seconds(os.getpid())
    assert 0.2 <= after - before <= 1.0


def test_run_without_wrk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wrk, "available", lambda: None)
    with pytest.raises(SystemExit, match="apt-get install -y wrk"):
        wrk.run("http://127.0.0.1:1", 1)
