"""The ``reaction:user`` limit counted in the reaction's own unit of work (the container's
``Throttle(in_transaction=True)`` without Redis): the same answers on memory and
PostgreSQL, and on PostgreSQL one transaction per reaction, its count committed with it."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from config_support import runtime_config

from adapters.memory.clock import ManualClock
from momentic_core.errors import RateLimited
from momentic_core.model.accounts import Principal, Role
from momentic_core.services.engagement import Engagement, Notifier
from momentic_core.services.throttle import Limit, Throttle

from .support import Adapters, add_user, add_video

LIMIT = Limit(2, timedelta(minutes=1))


def _engagement(backend: Adapters, clock: ManualClock) -> Engagement:
    config = runtime_config(backend.uow, clock, bereal_lock=False)
    throttle = Throttle(backend.rate_limiter(clock), config=config,
                        limits={"reaction:user": LIMIT}, in_transaction=True)
    return Engagement(uow=backend.uow, clock=clock, throttle=throttle, notifier=Notifier(),
                      config=config)


async def test_reactions_over_the_limit_are_refused_and_change_nothing(
    backend: Adapters, clock: ManualClock
) -> None:
    engagement = _engagement(backend, clock)
    author, fan = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id)
    who = Principal(user_id=fan.id, role=Role.USER, session_id=0)
    assert (await engagement.react(who, video.id, "heart"))["heart"] == 1
    assert (await engagement.react(who, video.id, "flame"))["flame"] == 1
    with pytest.raises(RateLimited) as refused:
        await engagement.react(who, video.id, "funny")
    assert refused.value.retry_after == 60
    async with backend.uow() as tx:
        assert await tx.reactions.get(fan.id, video.id) is not None
        assert (await tx.videos.get(video.id)).reactions["funny"] == 0
    clock.advance(timedelta(minutes=1))  # a new window
    assert (await engagement.react(who, video.id, "funny"))["funny"] == 1


async def test_on_postgresql_the_count_commits_with_the_reaction(
    backend: Adapters, clock: ManualClock, request: pytest.FixtureRequest
) -> None:
    if backend.name != "postgres":
        return  # the memory store has no transactions to roll back
    pool: asyncpg.Pool = request.getfixturevalue("clean_pg_pool")
    engagement = _engagement(backend, clock)
    author, fan = await add_user(backend), await add_user(backend)
    video = await add_video(backend, author.id)
    who = Principal(user_id=fan.id, role=Role.USER, session_id=0)
    count = "SELECT count FROM rate_limits WHERE key = $1"
    await engagement.react(who, video.id, "heart")
    assert await pool.fetchval(count, f"reaction:user:{fan.id}") == 1
    with pytest.raises(RateLimited):
        for kind in ("flame", "funny"):
            await engagement.react(who, video.id, kind)
    # The refused one rolled back: the count stays at the limit, which keeps refusing.
    assert await pool.fetchval(count, f"reaction:user:{fan.id}") == 2
    with pytest.raises(RateLimited):
        await engagement.react(who, video.id, "angry")
    async with backend.uow() as tx:
        assert (await tx.videos.get(video.id)).reactions == {
            "heart": 0, "flame": 1, "funny": 0, "angry": 0}
