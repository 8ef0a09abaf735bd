"""argon2id password hashing, off the event loop and at a low CPU priority.

A hash at production strength (19 MiB, t=2: about 20 ms of CPU) runs in processes of its
own, one per core, at nice +10 in a session of their own: under a flood of sign-ins the
hashing takes whatever CPU is idle, and every other request still gets the CPU first
(bench/README.md: the global feed's p99 during a sign-in flood). Processes, not threads:
a low-priority thread can be descheduled while it holds the interpreter lock the event
loop waits for. Cheap hashes (under 8 MiB: tests) run on threads, where a process hop
would cost more than the hash.

The processes live exactly as long as the hasher's owner: ``close()`` (the container's
shutdown) ends them, and each one is spawned as a child of the HTTP worker that uses it
and asks Linux to kill it the moment that worker dies (``PR_SET_PDEATHSIG``), so a
worker stopped by ``kill -9`` leaves no hashing process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import functools
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

import argon2

T = TypeVar("T")
HASHING_NICENESS = 10
PROCESS_FROM_KIB = 8192  # hashes this large or larger run in processes
_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _lower_priority() -> None:
    # On Linux a thread id names one thread (in a hashing process, its only one): only
    # this one yields. Elsewhere, or where it may not change, it keeps its priority.
    with contextlib.suppress(AttributeError, OSError):
        thread = threading.get_native_id()
        niceness = os.getpriority(os.PRIO_PROCESS, thread)
        os.setpriority(os.PRIO_PROCESS, thread, min(19, niceness + HASHING_NICENESS))


def _new_hasher(time_cost: int, memory_cost: int, parallelism: int) -> argon2.PasswordHasher:
    return argon2.PasswordHasher(
        time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism,
        type=argon2.Type.ID,
    )


def _verify_with(hasher: argon2.PasswordHasher, password_hash: str, password: str) -> bool:
    try:
        return hasher.verify(password_hash, password)
    except (argon2.exceptions.VerificationError, argon2.exceptions.InvalidHashError):
        return False


def _die_with(parent: int) -> None:
    """SIGKILL this process when its parent dies; at once if it already has."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # died before the request took hold
        os._exit(1)


# In a hashing process: its hasher, made by _start_process.
_process_hasher: argon2.PasswordHasher | None = None


def _start_process(parent: int, time_cost: int, memory_cost: int, parallelism: int) -> None:
    global _process_hasher
    _die_with(parent)
    _process_hasher = _new_hasher(time_cost, memory_cost, parallelism)
    _lower_priority()
    # Linux shares the CPU between sessions (autogroups) before it looks at nice values:
    # in a session of its own at the lowest group priority, a busy hashing process does
    # not take the server's session's share from its event loops.
    with contextlib.suppress(OSError):
        os.setsid()
        with open("/proc/self/autogroup", "w") as autogroup:
            autogroup.write("19")


def _hash_in_process(password: str) -> str:
    assert _process_hasher is not None
    return _process_hasher.hash(password)


def _verify_in_process(password_hash: str, password: str) -> bool:
    assert _process_hasher is not None
    return _verify_with(_process_hasher, password_hash, password)


class Argon2PasswordHasher:
    """OWASP's argon2id baseline by default (19 MiB, t=2, p=1)."""

    def __init__(self, time_cost: int = 2, memory_cost: int = 19456, parallelism: int = 1) -> None:
        self._params = (time_cost, memory_cost, parallelism)
        self._hasher = _new_hasher(*self._params)
        self._dummy = self._hasher.hash("dummy password for timing")
        self.in_processes = memory_cost >= PROCESS_FROM_KIB
        self._executor: Executor | None = None

    def _pool(self) -> Executor:
        if self._executor is None:
            workers = os.cpu_count() or 1
            if self.in_processes:
                # Spawned, not forked: a fresh interpreter holds none of the worker's
                # threads, sockets or pools, and stays the worker's own child.
                self._executor = ProcessPoolExecutor(
                    max_workers=workers,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_start_process,
                    initargs=(os.getpid(), *self._params),
                )
            else:
                self._executor = ThreadPoolExecutor(
                    max_workers=workers, thread_name_prefix="argon2", initializer=_lower_priority
                )
        return self._executor

    def process_ids(self) -> list[int]:
        """The hashing processes running now (none on threads or before first use)."""
        if not isinstance(self._executor, ProcessPoolExecutor):
            return []
        return sorted(self._executor._processes or {})

    async def close(self) -> None:
        """End the hashing processes or threads, after the hashes under way."""
        executor, self._executor = self._executor, None
        if executor is not None:
            await asyncio.to_thread(executor.shutdown, wait=True, cancel_futures=True)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        pool = self._pool()
        try:
            return await loop.run_in_executor(pool, functools.partial(fn, *args))
        except BrokenProcessPool:
            # A hashing process died (the OOM killer, an operator's kill): the pool is
            # broken for good, so a new one takes over and the hash runs again there.
            if self._executor is pool:
                self._executor = None
                pool.shutdown(wait=False, cancel_futures=True)
            return await loop.run_in_executor(self._pool(), functools.partial(fn, *args))

    async def hash(self, password: str) -> str:
        if self.in_processes:
            return await self._run(_hash_in_process, password)
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        if self.in_processes:
            return await self._run(_verify_in_process, password_hash, password)
        return await self._run(self._verify, password_hash, password)

    async def dummy_verify(self) -> None:
        await self.verify(self._dummy, "not the password")

    def _verify(self, password_hash: str, password: str) -> bool:
        return _verify_with(self._hasher, password_hash, password)
