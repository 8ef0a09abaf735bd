"""In-memory authenticators, kept in ``MemoryStore.totp`` (deleted with their user)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from momentic_core.errors import NotFound
from momentic_core.model.mfa import Totp

if TYPE_CHECKING:
    from .store import MemoryStore


class InMemoryTotpRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def get(self, user_id: int) -> Totp | None:
        return self._s.totp.get(user_id)

    async def put_pending(self, totp: Totp) -> None:
        if totp.user_id not in self._s.users:
            raise NotFound("No such user.", code="user_not_found")
        self._s.totp[totp.user_id] = attrs.evolve(totp, confirmed_at=None)

    async def confirm(
        self, user_id: int, at: datetime, step: int, recovery: tuple[str, ...]
    ) -> bool:
        found = self._s.totp.get(user_id)
        if found is None or found.enabled:
            return False
        self._s.totp[user_id] = attrs.evolve(
            found, confirmed_at=at, last_step=step, recovery=tuple(recovery)
        )
        return True

    async def use_step(self, user_id: int, step: int) -> bool:
        found = self._s.totp.get(user_id)
        if found is None or step <= found.last_step:
            return False
        self._s.totp[user_id] = attrs.evolve(found, last_step=step)
        return True

    async def use_recovery_code(self, user_id: int, code_hash: str) -> bool:
        found = self._s.totp.get(user_id)
        if found is None or not found.enabled or code_hash not in found.recovery:
            return False
        left = tuple(h for h in found.recovery if h != code_hash)
        self._s.totp[user_id] = attrs.evolve(found, recovery=left)
        return True

    async def delete(self, user_id: int) -> bool:
        return self._s.totp.pop(user_id, None) is not None
