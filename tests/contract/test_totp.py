"""TotpRepository contract (issue 21 item 1): memory and PostgreSQL alike. One
authenticator per user; a step is accepted once and never an older one, even by two units
of work at once; a recovery code is spent once; the user's deletion takes it along."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import attrs

from momentic_core.model.mfa import Totp

from .support import T0, Adapters, add_user


def _pending(user_id: int, secret: str = "sealed-1") -> Totp:
    return Totp(user_id=user_id, secret=secret, created_at=T0)


async def test_pending_then_confirmed(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        assert await tx.totp.get(user.id) is None
        await tx.totp.put_pending(_pending(user.id))
        await tx.totp.put_pending(_pending(user.id, "sealed-2"))  # replaces the pending one
    async with backend.uow() as tx:
        found = await tx.totp.get(user.id)
    assert found == _pending(user.id, "sealed-2") and not found.enabled
    at = T0 + timedelta(minutes=1)
    async with backend.uow() as tx:
        assert await tx.totp.confirm(user.id, at, 100, ("h1", "h2"))
        assert not await tx.totp.confirm(user.id, at, 101, ("h3",)), "confirmed already"
    async with backend.uow() as tx:
        found = await tx.totp.get(user.id)
    assert found == Totp(user_id=user.id, secret="sealed-2", created_at=T0, confirmed_at=at,
                         last_step=100, recovery=("h1", "h2"))
    assert found.enabled


async def test_confirm_without_pending_is_refused(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        assert not await tx.totp.confirm(user.id, T0, 1, ())


async def test_a_step_is_used_once_and_never_an_older_one(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.totp.put_pending(_pending(user.id))
        await tx.totp.confirm(user.id, T0, 100, ())
    async with backend.uow() as tx:
        assert not await tx.totp.use_step(user.id, 100), "the confirming step is spent"
        assert not await tx.totp.use_step(user.id, 99)
        assert await tx.totp.use_step(user.id, 101)
        assert not await tx.totp.use_step(user.id, 101)
    async with backend.uow() as tx:
        found = await tx.totp.get(user.id)
        assert found is not None and found.last_step == 101
        assert not await tx.totp.use_step(user.id + 1000, 500), "no such authenticator"


async def test_two_uses_of_one_step_at_once_pass_once(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.totp.put_pending(_pending(user.id))
        await tx.totp.confirm(user.id, T0, 100, ())

    async def use() -> bool:
        async with backend.uow() as tx:
            ok = await tx.totp.use_step(user.id, 101)
            await asyncio.sleep(0.01)  # hold the transaction open a little
            return ok

    assert sorted(await asyncio.gather(use(), use())) == [False, True]


async def test_recovery_codes_are_spent_once(backend: Adapters) -> None:
    user = await add_user(backend)
    async with backend.uow() as tx:
        await tx.totp.put_pending(_pending(user.id))
        assert not await tx.totp.use_recovery_code(user.id, "h1"), "not confirmed yet"
        await tx.totp.confirm(user.id, T0, 1, ("h1", "h2", "h3"))
    async with backend.uow() as tx:
        assert await tx.totp.use_recovery_code(user.id, "h2")
        assert not await tx.totp.use_recovery_code(user.id, "h2")
        assert not await tx.totp.use_recovery_code(user.id, "nope")
    async with backend.uow() as tx:
        found = await tx.totp.get(user.id)
    assert found is not None and found.recovery == ("h1", "h3")


async def test_delete_and_the_users_deletion(backend: Adapters) -> None:
    alex, sam = await add_user(backend), await add_user(backend)
    async with backend.uow() as tx:
        for uid in (alex.id, sam.id):
            await tx.totp.put_pending(_pending(uid))
    async with backend.uow() as tx:
        assert await tx.totp.delete(alex.id)
        assert not await tx.totp.delete(alex.id)
        await tx.users.delete(sam.id)
    async with backend.uow() as tx:
        assert await tx.totp.get(alex.id) is None
        assert await tx.totp.get(sam.id) is None


async def test_a_rolled_back_enrolment_leaves_nothing(backend: Adapters) -> None:
    user = await add_user(backend)
    try:
        async with backend.uow() as tx:
            await tx.totp.put_pending(_pending(user.id))
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    async with backend.uow() as tx:
        assert await tx.totp.get(user.id) is None
    assert attrs.fields(Totp).secret.repr is False
