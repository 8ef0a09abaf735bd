"""Two uploads of the same bytes by one author at the same moment, on PostgreSQL (issue 20
item 3): both look for a video of that content before either has committed, so both see
none and both insert; the unique index videos_author_content_key holds the second insert
until the first commits, then refuses it, and that upload answers with the winner and
deletes its own copy. One video, one blob."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from config_support import runtime_config

from adapters.media.images import PillowImageProcessor
from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.clock import ManualClock
from adapters.memory.rate_limiter import InMemoryRateLimiter
from adapters.postgres.uow import PostgresUnitOfWork
from adapters.postgres.videos import PostgresVideoRepository
from momentic_core.model.accounts import Principal, Role, User
from momentic_core.model.videos import Video
from momentic_core.services.throttle import Throttle
from momentic_core.services.videos import Videos

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40


async def _chunks() -> AsyncIterator[bytes]:
    yield MP4


async def test_two_identical_uploads_at_once_make_one_video_on_postgres(
    clean_pg_pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = ManualClock(T0)
    uow = functools.partial(PostgresUnitOfWork, clean_pg_pool, clock=clock)
    config = runtime_config(uow, clock)
    blobs = InMemoryBlobStore("http://media.test", b"blob secret", clock=clock)
    videos = Videos(
        uow=uow, blobs=blobs, images=PillowImageProcessor(), clock=clock,
        throttle=Throttle(InMemoryRateLimiter(clock), multiplier=1000, config=config),
        config=config,
    )
    async with uow() as tx:
        ann = await tx.users.add(User(id=0, email="ann@bsu.by", nickname="ann",
                                      created_at=T0, email_verified=True))
    who = Principal(user_id=ann.id, role=Role.USER, session_id=0)

    # Both lookups happen before either insert: each waits for the other's.
    real = PostgresVideoRepository.by_content
    both_looked = asyncio.Barrier(2)
    calls = {"n": 0}

    async def by_content(self: Any, author_id: int, content_hash: str) -> Video | None:
        found = await real(self, author_id, content_hash)
        calls["n"] += 1
        if calls["n"] <= 2:
            await both_looked.wait()
        return found

    monkeypatch.setattr(PostgresVideoRepository, "by_content", by_content)

    async def upload(description: str) -> Any:
        staged = await videos.stage(who, _chunks())
        return await videos.publish(who, staged, description, "public")

    first, second = await asyncio.gather(upload("one"), upload("two"))
    assert calls["n"] == 3, "the loser looked again, after the winner committed"
    assert sorted([first.duplicate, second.duplicate]) == [False, True]
    assert first.video == second.video
    assert await clean_pg_pool.fetchval("SELECT count(*) FROM videos") == 1
    assert [b.key async for b in blobs.list_blobs("")] == [first.video.source_key]
