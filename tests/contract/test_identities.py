"""IdentityRepository contract: memory and PostgreSQL behave alike."""

from __future__ import annotations

from datetime import timedelta

import pytest

from momentic_core.errors import Conflict

from .support import T0, Adapters, add_user, new_identity


async def test_add_then_find(backend: Adapters) -> None:
    user = await add_user(backend)
    identity = new_identity(user.id, provider="apple", subject="000123.abc", email=None)
    async with backend.uow() as tx:
        await tx.identities.add(identity)
    async with backend.uow() as tx:
        assert await tx.identities.find("apple", "000123.abc") == identity
        assert await tx.identities.find("google", "000123.abc") is None
        assert await tx.identities.find("apple", "000123.ABC") is None


async def test_linking_a_linked_pair_conflicts(backend: Adapters) -> None:
    user = await add_user(backend)
    other = await add_user(backend)
    async with backend.uow() as tx:
        await tx.identities.add(new_identity(user.id, provider="google", subject="s1"))
    for owner in (user, other):
        with pytest.raises(Conflict) as err:
            async with backend.uow() as tx:
                await tx.identities.add(new_identity(owner.id, provider="google", subject="s1"))
        assert err.value.code == "identity_linked"
    async with backend.uow() as tx:
        found = await tx.identities.find("google", "s1")
    assert found is not None and found.user_id == user.id


async def test_same_subject_at_two_providers_is_two_identities(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.identities.add(new_identity(user.id, provider="google", subject="same"))
        await tx.identities.add(new_identity(user.id, provider="apple", subject="same"))
    async with backend.uow() as tx:
        assert len(await tx.identities.list_for_user(user.id)) == 2


async def test_list_for_user_lists_only_theirs(backend: Adapters) -> None:
    user = await add_user(backend)
    other = await add_user(backend)
    first = new_identity(user.id, provider="google", created_at=T0)
    second = new_identity(user.id, provider="apple", created_at=T0 + timedelta(minutes=1))
    async with backend.uow() as tx:
        await tx.identities.add(first)
        await tx.identities.add(new_identity(other.id))
        await tx.identities.add(second)
    async with backend.uow() as tx:
        assert await tx.identities.list_for_user(user.id) == [first, second]
        assert await tx.identities.list_for_user(4040) == []
