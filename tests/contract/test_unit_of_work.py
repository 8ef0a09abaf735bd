"""UnitOfWork contract: commit on a clean exit, roll back everything on an exception."""

from __future__ import annotations

import attrs
import pytest

from momentic_core.errors import Conflict, NotFound
from momentic_core.model.accounts import CodePurpose

from .support import T0, Adapters, add_user, new_code, new_identity, new_session, new_user


async def test_entering_returns_the_unit_with_its_repositories(backend: Adapters) -> None:
    uow = backend.uow()
    async with uow as tx:
        assert tx is uow
        for name in ("users", "codes", "sessions", "identities"):
            assert getattr(tx, name) is not None


async def test_a_clean_exit_commits(backend: Adapters) -> None:
    async with backend.uow() as tx:
        user = await tx.users.add(new_user(email="kept@example.com"))
        session = await tx.sessions.add(new_session(user.id))
        await tx.codes.put(new_code(user.id))
        await tx.identities.add(new_identity(user.id, subject="kept"))
        await tx.sessions.add_refresh_token("kept", session.id, T0)
    async with backend.uow() as tx:
        assert await tx.users.get(user.id) == user
        assert await tx.sessions.get(session.id) == session
        assert await tx.codes.get(user.id, CodePurpose.VERIFY_EMAIL) is not None
        assert await tx.identities.find("google", "kept") is not None
        use = await tx.sessions.use_refresh_token("kept", T0)
        assert use is not None and not use.already_used


async def test_an_exception_rolls_back_every_write(backend: Adapters) -> None:
    existing = await add_user(backend, nickname="before")
    with pytest.raises(RuntimeError):
        async with backend.uow() as tx:
            user = await tx.users.add(new_user(email="ghost@example.com"))
            session = await tx.sessions.add(new_session(user.id))
            await tx.codes.put(new_code(user.id))
            await tx.identities.add(new_identity(user.id, subject="ghost"))
            await tx.sessions.add_refresh_token("ghost", session.id, T0)
            await tx.users.update(attrs.evolve(existing, nickname="after"))
            raise RuntimeError("the use case failed")
    async with backend.uow() as tx:
        assert await tx.users.find_by_email("ghost@example.com") is None
        with pytest.raises(NotFound):
            await tx.users.get(user.id)
        assert await tx.sessions.get(session.id) is None
        assert await tx.codes.get(user.id, CodePurpose.VERIFY_EMAIL) is None
        assert await tx.identities.find("google", "ghost") is None
        assert await tx.sessions.use_refresh_token("ghost", T0) is None
        assert (await tx.users.get(existing.id)).nickname == "before"


async def test_a_domain_error_passes_unchanged_and_rolls_back(backend: Adapters) -> None:
    await add_user(backend, email="taken@example.com")
    with pytest.raises(Conflict) as err:
        async with backend.uow() as tx:
            await tx.users.add(new_user(email="first-write@example.com"))
            await tx.users.add(new_user(email="TAKEN@example.com"))
    assert err.value.code == "email_taken"
    async with backend.uow() as tx:
        assert await tx.users.find_by_email("first-write@example.com") is None


async def test_units_of_work_follow_each_other(backend: Adapters) -> None:
    for n in range(5):
        async with backend.uow() as tx:
            await tx.users.add(new_user(email=f"seq{n}@example.com"))
    async with backend.uow() as tx:
        for n in range(5):
            assert await tx.users.find_by_email(f"seq{n}@example.com") is not None


async def test_a_read_only_unit_of_work_reads(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow(read_only=True) as tx:
        assert await tx.users.get(user.id) == user


async def test_a_write_in_a_read_only_unit_of_work_is_caught_in_memory(
    backend: Adapters,
) -> None:
    """PostgreSQL runs a read-only block without a transaction (each statement commits by
    itself), so a write there would not be atomic; the memory store, which every core
    test runs on, refuses it instead so the bug shows."""
    if backend.name != "memory":
        return
    user = await add_user(backend)
    with pytest.raises(RuntimeError, match="read-only"):
        async with backend.uow(read_only=True) as tx:
            await tx.users.update(attrs.evolve(user, bio="changed"))
    async with backend.uow() as tx:
        assert (await tx.users.get(user.id)).bio == user.bio
