"""The in-memory unit of work holds the store's lock: one opened inside another in the
same task fails at once (on PostgreSQL it would be a second transaction) instead of
waiting on itself for ever, as a rate limit read inside a profile update once did."""

from __future__ import annotations

import asyncio

import pytest

from adapters.memory.store import MemoryStore
from adapters.memory.uow import InMemoryUnitOfWork


def test_a_nested_unit_of_work_fails_instead_of_hanging() -> None:
    async def go() -> None:
        store = MemoryStore()
        async with InMemoryUnitOfWork(store):
            with pytest.raises(RuntimeError, match="inside another"):
                async with asyncio.timeout(5):  # a regression hangs: fail, do not wait
                    async with InMemoryUnitOfWork(store):
                        pass
        async with InMemoryUnitOfWork(store):  # the lock was given back
            pass

    asyncio.run(go())


def test_units_of_work_of_other_tasks_wait_their_turn() -> None:
    async def go() -> list[str]:
        store = MemoryStore()
        order: list[str] = []

        async def one(name: str) -> None:
            async with InMemoryUnitOfWork(store):
                order.append(f"{name} in")
                await asyncio.sleep(0)
                order.append(f"{name} out")

        await asyncio.gather(one("a"), one("b"))
        return order

    assert asyncio.run(go()) == ["a in", "a out", "b in", "b out"]
