"""PostgreSQL authenticators (migration 20261207_60): ``user_totp``, deleted with the
user by the foreign key's cascade. Replays are refused in the statement that accepts a
code (``last_step < $2``), so two sign-ins racing with one code cannot both pass."""

from __future__ import annotations

from datetime import datetime

import asyncpg

from momentic_core.model.mfa import Totp

from .repositories import Repository


def _totp(row: asyncpg.Record) -> Totp:
    return Totp(
        user_id=row["user_id"], secret=row["secret"], created_at=row["created_at"],
        confirmed_at=row["confirmed_at"], last_step=row["last_step"],
        recovery=tuple(row["recovery"]),
    )


class PostgresTotpRepository(Repository):
    async def get(self, user_id: int) -> Totp | None:
        row = await self._fetchrow(
            "SELECT user_id, secret, created_at, confirmed_at, last_step, recovery "
            "FROM user_totp WHERE user_id = $1", user_id,
        )
        return None if row is None else _totp(row)

    async def put_pending(self, totp: Totp) -> None:
        await self._execute(
            """
            INSERT INTO user_totp (user_id, secret, created_at) VALUES ($1, $2, $3)
            ON CONFLICT (user_id) DO UPDATE SET
                secret = EXCLUDED.secret, created_at = EXCLUDED.created_at,
                confirmed_at = NULL, last_step = -1, recovery = '{}'
            """,
            totp.user_id, totp.secret, totp.created_at,
        )

    async def confirm(
        self, user_id: int, at: datetime, step: int, recovery: tuple[str, ...]
    ) -> bool:
        row = await self._fetchrow(
            "UPDATE user_totp SET confirmed_at = $2, last_step = $3, recovery = $4 "
            "WHERE user_id = $1 AND confirmed_at IS NULL RETURNING 1",
            user_id, at, step, list(recovery),
        )
        return row is not None

    async def use_step(self, user_id: int, step: int) -> bool:
        row = await self._fetchrow(
            "UPDATE user_totp SET last_step = $2 WHERE user_id = $1 AND last_step < $2 "
            "RETURNING 1", user_id, step,
        )
        return row is not None

    async def use_recovery_code(self, user_id: int, code_hash: str) -> bool:
        row = await self._fetchrow(
            "UPDATE user_totp SET recovery = array_remove(recovery, $2) "
            "WHERE user_id = $1 AND confirmed_at IS NOT NULL AND $2 = ANY (recovery) "
            "RETURNING 1", user_id, code_hash,
        )
        return row is not None

    async def delete(self, user_id: int) -> bool:
        row = await self._fetchrow(
            "DELETE FROM user_totp WHERE user_id = $1 RETURNING 1", user_id
        )
        return row is not None
