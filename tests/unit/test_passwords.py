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
