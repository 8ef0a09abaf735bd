"""The argon2id hasher: right answers, off the event loop, at a lower CPU priority."""

from __future__ import annotations

import os
import threading

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


async def test_production_strength_hashes_run_in_low_priority_processes() -> None:
    """The event loop and a hashing thread share the interpreter lock; at production
    strength the hash runs in processes of its own, at nice +10, each in its own session
    (Linux shares the CPU between sessions first)."""
    hasher = Argon2PasswordHasher(time_cost=1, memory_cost=8192)
    assert hasher.in_processes
    stored = await hasher.hash("correct horse battery")
    assert await hasher.verify(stored, "correct horse battery")
    assert not await hasher.verify(stored, "wrong horse battery")
    assert not await hasher.verify("not a hash", "x")
    await hasher.dummy_verify()
    pid, niceness, session = await hasher._run(_where_am_i)
    assert pid != os.getpid()
    assert niceness == min(19, os.getpriority(os.PRIO_PROCESS, 0) + HASHING_NICENESS)
    assert session == pid != os.getsid(0)  # a session (so a scheduler group) of its own


def _where_am_i() -> tuple[int, int, int]:
    pid = os.getpid()
    return pid, os.getpriority(os.PRIO_PROCESS, threading.get_native_id()), os.getsid(0)
