"""Helpers for the social and feed contract suites (each call commits on its own)."""

from __future__ import annotations

from datetime import datetime

from momentic_core.model.social import FriendRequest

from .support import T0, Adapters


async def befriend(backend: Adapters, a: int, b: int, at: datetime = T0) -> None:
    async with backend.uow() as tx:
        await tx.social.add_friendship(a, b, at)


async def block(backend: Adapters, blocker: int, blocked: int, at: datetime = T0) -> None:
    async with backend.uow() as tx:
        await tx.social.add_block(blocker, blocked, at)


async def request(backend: Adapters, from_id: int, to_id: int, at: datetime = T0) -> None:
    async with backend.uow() as tx:
        await tx.social.add_request(FriendRequest(from_id, to_id, at))
