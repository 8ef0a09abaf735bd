"""Duplicates by content in the Videos use cases (issue 20 item 3): the hash is taken as
the bytes stream to storage, and an upload that loses the race to a concurrent one of the
same bytes (its lookup saw nothing, its row hit the unique index) answers with the
winner and keeps nothing."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from adapters.memory.videos import InMemoryVideoRepository
from momentic_core.errors import Conflict
from momentic_core.model.videos import Video

from .ranking_support import World, make_world

MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 40


async def chunks(data: bytes, size: int = 1000) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def blob_keys(world: World) -> list[str]:
    return [b.key async for b in world.videos._blobs.list_blobs("")]


async def test_the_hash_is_of_the_bytes_stored() -> None:
    world = make_world()
    ann = await world.add_user("ann")
    staged = await world.videos.stage(ann, chunks(MP4, 7))
    assert staged.content_hash == hashlib.sha256(MP4).hexdigest()
    posted = await world.videos.publish(ann, staged, None, "public")
    assert posted.video.content_hash == staged.content_hash and not posted.duplicate


def _blind_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The next lookup by content misses, as one does while a concurrent upload's row is
    not committed yet."""
    real = InMemoryVideoRepository.by_content
    calls = {"n": 0}

    async def by_content(self: Any, author_id: int, content_hash: str) -> Video | None:
        calls["n"] += 1
        return None if calls["n"] == 1 else await real(self, author_id, content_hash)

    monkeypatch.setattr(InMemoryVideoRepository, "by_content", by_content)


async def test_the_loser_of_a_race_answers_with_the_winner(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world()
    ann = await world.add_user("ann")
    winner = await world.videos.publish(
        ann, await world.videos.stage(ann, chunks(MP4)), None, "public")
    kept = await blob_keys(world)
    _blind_once(monkeypatch)
    loser = await world.videos.publish(
        ann, await world.videos.stage(ann, chunks(MP4)), "later", "friends")
    assert loser.duplicate and loser.video == winner.video
    assert await blob_keys(world) == kept


async def test_a_race_whose_winner_is_gone_asks_to_try_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world = make_world()
    ann = await world.add_user("ann")
    winner = await world.videos.publish(
        ann, await world.videos.stage(ann, chunks(MP4)), None, "public")
    staged = await world.videos.stage(ann, chunks(MP4))
    real = InMemoryVideoRepository.by_content

    async def by_content(self: Any, author_id: int, content_hash: str) -> Video | None:
        return None  # missed, then gone: deleted before the loser looked again

    monkeypatch.setattr(InMemoryVideoRepository, "by_content", by_content)
    with pytest.raises(Conflict) as refused:
        await world.videos.publish(ann, staged, None, "public")
    assert refused.value.code == "concurrent_update"
    monkeypatch.setattr(InMemoryVideoRepository, "by_content", real)
    assert await blob_keys(world) == [winner.video.source_key], "the loser's copy is gone"
