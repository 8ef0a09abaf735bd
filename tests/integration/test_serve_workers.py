"""``momentic serve --workers 2``: the production process model (issue 8).

A real ``momentic serve`` process on a fresh database, with two HTTP workers forked on
one port. Checked through /proc: each worker holds its own listening socket on the port
(SO_REUSEPORT) and the supervisor none; a worker killed with SIGKILL is replaced while
the other keeps answering; SIGTERM to the parent stops every worker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

DEADLINE = 20.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(child) for child in text)
    return found


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state, inode = fields[1], fields[3], fields[9]
        if state == "0A" and int(local.split(":")[1], 16) == port:  # 0A: LISTEN
            inodes.add(inode)
    return inodes


def _holds_socket(pid: int, inodes: set[str]) -> bool:
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:[") and target[8:-1] in inodes:
            return True
    return False


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def _wait(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


@pytest.fixture
def server(make_database: Callable[[], str], tmp_path: Path) -> Iterator[tuple[int, int]]:
    port = _free_port()
    env = {
        **os.environ,
        "MOMENTIC_DATABASE_URL": make_database(),
        "MOMENTIC_DATA_DIR": str(tmp_path),
        "MOMENTIC_PORT": str(port),
        "MOMENTIC_INPROCESS_WORKER": "false",
        "MOMENTIC_STORAGE": "memory",
        "MOMENTIC_LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli.main", "serve", "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc.pid, port
    finally:
        if proc.poll() is None:
            workers = _children(proc.pid)  # before the kill: a dead parent lists none
            proc.kill()
            for child in workers:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(child, signal.SIGKILL)
        proc.wait()


def test_two_workers_share_the_port_and_a_dead_one_is_replaced(
    server: tuple[int, int],
) -> None:
    parent, port = server
    _wait(lambda: _ready(port) and len(_listening_inodes(port)) == 2, "two listening workers")
    first = _children(parent)
    inodes = _listening_inodes(port)
    assert len(first) == 2, "each worker listens on its own SO_REUSEPORT socket"
    assert all(_holds_socket(pid, inodes) for pid in first)
    assert not _holds_socket(parent, inodes), "the supervisor serves nothing itself"

    victim = min(first)
    os.kill(victim, signal.SIGKILL)
    # Connections already queued on the dying socket are reset by the kernel; from the
    # moment it has exited, every new connection goes to a live worker.
    _wait(lambda: _listening_inodes(port) < inodes, "the dead worker's socket to close")
    answered = 0
    deadline = time.monotonic() + DEADLINE
    while True:
        assert _ready(port), "the surviving worker keeps answering"
        answered += 1
        now = _children(parent)
        if victim not in now and len(now) == 2 and len(_listening_inodes(port)) == 2:
            break
        assert time.monotonic() < deadline, "no replacement worker"
        time.sleep(0.05)
    assert answered >= 1
    assert _children(parent) - first, "a new worker took the dead one's place"


def test_sigterm_stops_every_worker(server: tuple[int, int]) -> None:
    parent, port = server
    _wait(lambda: _ready(port) and len(_children(parent)) == 2, "two ready workers")
    workers = _children(parent)
    os.kill(parent, signal.SIGTERM)
    _wait(lambda: not Path(f"/proc/{parent}/status").exists()
          or "zombie" in Path(f"/proc/{parent}/status").read_text(), "the parent to exit")
    for pid in workers:
        _wait(lambda pid=pid: not Path(f"/proc/{pid}").exists()
              or "zombie" in Path(f"/proc/{pid}/status").read_text(), f"worker {pid} to exit")
    assert not _listening_inodes(port)


def test_workers_do_not_outlive_a_killed_supervisor(server: tuple[int, int]) -> None:
    parent, port = server
    _wait(lambda: _ready(port) and len(_listening_inodes(port)) == 2, "two listening workers")
    workers = _children(parent)
    os.kill(parent, signal.SIGKILL)
    for pid in workers:
        _wait(lambda pid=pid: not Path(f"/proc/{pid}").exists()
              or "zombie" in Path(f"/proc/{pid}/status").read_text(), f"worker {pid} to exit")
    assert not _listening_inodes(port)
