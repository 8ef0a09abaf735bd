"""argon2id password hashing, run in threads so the event loop never waits on it.

The threads (one per core) run at a lower CPU priority (nice +10) than the event loop:
under a flood of sign-ins the hashing takes whatever CPU is idle, and every other request
still gets the CPU first (bench/README.md: the global feed's p99 during a login flood).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import argon2

T = TypeVar("T")
HASHING_NICENESS = 10


def _lower_priority() -> None:
    # On Linux a thread id names one thread: only this one yields. Elsewhere, or where
    # the process may not change it, hashing just runs at the normal priority.
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness + HASHING_NICENESS))


class Argon2PasswordHasher:
    """OWASP's argon2id baseline by default (19 MiB, t=2, p=1)."""

    def __init__(self, time_cost: int = 2, memory_cost: int = 19456, parallelism: int = 1) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            type=argon2.Type.ID,
        )
        self._dummy = self._hasher.hash("dummy password for timing")
        self._threads = ThreadPoolExecutor(
            max_workers=os.cpu_count() or 1,
            thread_name_prefix="argon2",
            initializer=_lower_priority,
        )

    async def _run(self, fn: Callable[..., T], *args: str) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._threads, functools.partial(fn, *args))

    async def hash(self, password: str) -> str:
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self._run(self._verify, password_hash, password)

    async def dummy_verify(self) -> None:
        await self._run(self._verify, self._dummy, "not the password")

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
            return False
