"""CodeRepository contract: memory and PostgreSQL behave alike."""

from __future__ import annotations

from datetime import timedelta

import attrs

from momentic_core.model.accounts import CodePurpose

from .support import T0, Adapters, add_user, new_code


async def test_put_then_get(backend: Adapters) -> None:
    user = await add_user(backend)
    code = new_code(user.id, attempts=2)
    async with backend.uow() as tx:
        await tx.codes.put(code)
    async with backend.uow() as tx:
        assert await tx.codes.get(user.id, CodePurpose.VERIFY_EMAIL) == code
        assert await tx.codes.get(user.id, CodePurpose.RESET_PASSWORD) is None


async def test_put_replaces_the_code_of_the_same_purpose(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.codes.put(new_code(user.id, code_hash="old", attempts=4))
        await tx.codes.put(new_code(user.id, CodePurpose.RESET_PASSWORD, code_hash="reset"))
    fresh = new_code(
        user.id,
        code_hash="new",
        created_at=T0 + timedelta(minutes=1),
        expires_at=T0 + timedelta(hours=1),
    )
    async with backend.uow() as tx:
        await tx.codes.put(fresh)
    async with backend.uow() as tx:
        assert await tx.codes.get(user.id, CodePurpose.VERIFY_EMAIL) == fresh
        reset = await tx.codes.get(user.id, CodePurpose.RESET_PASSWORD)
        assert reset is not None and reset.code_hash == "reset"


async def test_record_failure_counts_and_persists(backend: Adapters) -> None:
    user = await add_user(backend)
    code = new_code(user.id)
    async with backend.uow() as tx:
        await tx.codes.put(code)
        assert await tx.codes.record_failure(user.id, CodePurpose.VERIFY_EMAIL) == 1
        assert await tx.codes.record_failure(user.id, CodePurpose.VERIFY_EMAIL) == 2
    async with backend.uow() as tx:
        assert await tx.codes.record_failure(user.id, CodePurpose.VERIFY_EMAIL) == 3
        assert await tx.codes.get(user.id, CodePurpose.VERIFY_EMAIL) == attrs.evolve(
            code, attempts=3
        )


async def test_record_failure_without_a_code_is_zero(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        assert await tx.codes.record_failure(user.id, CodePurpose.RESET_PASSWORD) == 0
        assert await tx.codes.get(user.id, CodePurpose.RESET_PASSWORD) is None
        assert await tx.codes.record_failure(98765, CodePurpose.VERIFY_EMAIL) == 0


async def test_a_replaced_code_starts_its_count_again(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.codes.put(new_code(user.id))
        await tx.codes.record_failure(user.id, CodePurpose.VERIFY_EMAIL)
        await tx.codes.put(new_code(user.id, code_hash="again"))
        assert await tx.codes.record_failure(user.id, CodePurpose.VERIFY_EMAIL) == 1


async def test_delete_is_idempotent_and_per_purpose(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.codes.put(new_code(user.id))
        await tx.codes.put(new_code(user.id, CodePurpose.RESET_PASSWORD))
    async with backend.uow() as tx:
        await tx.codes.delete(user.id, CodePurpose.VERIFY_EMAIL)
        await tx.codes.delete(user.id, CodePurpose.VERIFY_EMAIL)
    async with backend.uow() as tx:
        assert await tx.codes.get(user.id, CodePurpose.VERIFY_EMAIL) is None
        assert await tx.codes.get(user.id, CodePurpose.RESET_PASSWORD) is not None
        await tx.codes.delete(55555, CodePurpose.RESET_PASSWORD)
