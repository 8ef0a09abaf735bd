"""Units of work that fail on cue, for tests that inject database failures into a real
PostgreSQL app: the real ``PostgresUnitOfWork``, whose parts ``rewire`` swaps for failing
ones while ``switch.on``. Build the app's storage with ``storage_with``."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import asyncpg

from adapters.clock import SystemClock
from adapters.container import Storage, postgres_storage
from adapters.postgres.uow import PostgresUnitOfWork
from momentic_core.errors import Unavailable
from momentic_core.ports import Clock


class Switch:
    """Turns the injected failure on and off; ``emitted`` notes events sent while on."""

    def __init__(self) -> None:
        self.on = False
        self.emitted: list[str] = []


class Fails:
    """A repository whose ``method`` fails as a lost database connection does; the rest
    is the real one."""

    def __init__(self, inner: Any, method: str) -> None:
        self._inner = inner
        self._method = method

    def __getattr__(self, name: str) -> Any:
        if name == self._method:
            return self._fail
        return getattr(self._inner, name)

    async def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise Unavailable("The database does not answer.")


Rewire = Callable[[PostgresUnitOfWork, Switch], None]


class SwitchedUnitOfWork(PostgresUnitOfWork):
    """The real unit of work; while ``switch.on``, ``rewire`` replaces some of its parts."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        clock: Clock,
        switch: Switch,
        rewire: Rewire,
        read_only: bool = False,
        may_lag: bool = False,
    ) -> None:
        super().__init__(pool, clock=clock, read_only=read_only, may_lag=may_lag)
        self._switch = switch
        self._rewire = rewire

    async def __aenter__(self) -> PostgresUnitOfWork:
        await super().__aenter__()
        if self._switch.on:
            self._rewire(self, self._switch)
        return self


def storage_with(
    pool: asyncpg.Pool, database_url: str, switch: Switch, rewire: Rewire
) -> Storage:
    clock = SystemClock()
    uow = functools.partial(
        SwitchedUnitOfWork, pool, clock=clock, switch=switch, rewire=rewire
    )
    return postgres_storage(pool, database_url, clock, uow)
