"""The code of an email change (issue 21 item 2) is a verification code of its own
purpose: stored beside the others of the user without replacing them, on memory and
PostgreSQL alike (the purpose check of verification_codes takes it: migration 61)."""

from __future__ import annotations

from momentic_core.model.accounts import CodePurpose

from .support import Adapters, add_user, new_code


async def test_change_email_codes_live_beside_the_others(backend: Adapters) -> None:
    user = await add_user(backend)
    change = new_code(user.id, CodePurpose.CHANGE_EMAIL, code_hash="change")
    reset = new_code(user.id, CodePurpose.RESET_PASSWORD, code_hash="reset")
    async with backend.uow() as tx:
        await tx.codes.put(reset)
        await tx.codes.put(change)
    async with backend.uow() as tx:
        assert await tx.codes.get(user.id, CodePurpose.CHANGE_EMAIL) == change
        assert await tx.codes.get(user.id, CodePurpose.RESET_PASSWORD) == reset
        assert await tx.codes.record_failure(user.id, CodePurpose.CHANGE_EMAIL) == 1
        await tx.codes.delete(user.id, CodePurpose.CHANGE_EMAIL)
    async with backend.uow() as tx:
        assert await tx.codes.get(user.id, CodePurpose.CHANGE_EMAIL) is None
        assert await tx.codes.get(user.id, CodePurpose.RESET_PASSWORD) == reset
