"""The argon2id hasher: right answers, off the event loop, at a lower CPU priority, in
processes that live exactly as long as their worker."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
from pathlib import Path

from adapters.crypto.passwords import HASHING_NICENESS, Argon2PasswordHasher


async def test_hash_and_verify() -> None:
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=1024)
    stored = await hasher.hash("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert await hasher.verify(stored, "correct horse battery")
    assert not await hasher.verify(stored, "wrong horse battery")
    assert not await hasher.verify("not a hash", "correct horse battery")
    await hasher.dummy_verify()


async def test_hashing_threads_yield_the_cpu_to_the_event_loop() -> None:
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=1024)
    loop_thread = threading.get_native_id()

    def where() -> tuple[int, int]:
        thread = threading.get_native_id()
        return thread, os.getpriority(os.PRIO_PROCESS, thread)

    thread, niceness = await hasher._run(where)
    assert thread != loop_thread
    mine = os.getpriority(os.PRIO_PROCESS, loop_thread)
    assert niceness == min(19, mine + HASHING_NICENESS)


# ---------------------------------------------------------------- hashing processes

_CHILD = r"""
import asyncio, sys
from pathlib import Path
from adapters.crypto.passwords import Argon2PasswordHasher

report = Path(sys.argv[2])

async def main():
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=8192)
    stored = await hasher.hash("correct horse battery")
    assert await hasher.verify(stored, "correct horse battery")
    assert not await hasher.verify(stored, "wrong horse battery")
    report.write_text(" ".join(map(str, hasher.process_ids())) + "\n")
    if sys.argv[1] == "close":
        await hasher.close()
        report.write_text(report.read_text() + "closed\n")
    await asyncio.sleep(3600)  # killed by the test

asyncio.run(main())
"""


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for a reaper counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def _all_gone(pids: list[int], seconds: float = 10) -> bool:
    for _ in range(int(seconds * 20)):
        if not any(_alive(pid) for pid in pids):
            return True
        await asyncio.sleep(0.05)
    return False


async def _niceness_reached(pid: int, seconds: float = 10) -> bool:
    # The pool starts its processes lazily and each lowers its own priority as it starts:
    # one that has not served a hash yet may still be starting (seen under load).
    for _ in range(int(seconds * 20)):
        if os.getpriority(os.PRIO_PROCESS, pid) >= HASHING_NICENESS:
            return True
        await asyncio.sleep(0.05)
    return False


async def _lines(report: Path, count: int) -> list[str]:
    for _ in range(60 * 20):
        lines = report.read_text().splitlines() if report.exists() else []
        if len(lines) >= count:
            return lines
        await asyncio.sleep(0.05)
    raise AssertionError(f"the hasher's process wrote {report.read_text()!r}")


async def _start(mode: str, report: Path) -> tuple[asyncio.subprocess.Process, list[int]]:
    # No pipes: a hashing process left behind would hold them open, and the test would
    # wait on them instead of failing.
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CHILD, mode, str(report),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )
    return proc, [int(pid) for pid in (await _lines(report, 1))[0].split()]


async def test_production_strength_hashes_run_in_processes_that_die_with_their_worker(
    tmp_path: Path,
) -> None:
    """kill -9 of the worker (here: the process owning the hasher) takes its hashing
    processes with it at once, though nothing of Python runs to end them."""
    proc, pids = await _start("kill", tmp_path / "report")
    try:
        assert pids and all(_alive(pid) for pid in pids)
        for pid in pids:  # each runs at the lower priority, once its initializer ran
            assert await _niceness_reached(pid), f"hashing process {pid} keeps nice 0"
    finally:
        proc.kill()
        await proc.wait()
    assert await _all_gone(pids)


async def test_close_ends_the_hashing_processes(tmp_path: Path) -> None:
    proc, pids = await _start("close", tmp_path / "report")
    try:
        assert pids
        assert (await _lines(tmp_path / "report", 2))[1] == "closed"
        assert await _all_gone(pids)
    finally:
        proc.kill()
        await proc.wait()


async def test_cheap_hashes_stay_on_threads() -> None:
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=1024)
    await hasher.hash("x")
    assert not hasher.in_processes and hasher.process_ids() == []
    await hasher.close()


async def test_a_hashing_process_that_dies_is_replaced() -> None:
    """The OOM killer (or an operator) ends one hashing process: the next sign-ins still
    hash, in a new pool, instead of failing until a restart."""
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=8192)
    try:
        stored = await hasher.hash("correct horse battery")
        first = hasher.process_ids()
        os.kill(first[0], signal.SIGKILL)
        assert await _all_gone(first[:1])
        assert await hasher.verify(stored, "correct horse battery")
        assert not await hasher.verify(stored, "wrong horse battery")
        assert hasher.process_ids() and first[0] not in hasher.process_ids()
    finally:
        await hasher.close()
