# ruff: noqa: S608 -- queries interpolate only this module's column-list constant.
"""PostgreSQL push devices and notification settings (migration 20261207_50).

A revoked session's devices are deleted by a trigger on ``sessions`` (whichever statement
revokes it); a deleted user's or session's by the foreign keys' cascades."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from momentic_core.errors import NotFound
from momentic_core.model.devices import (
    ApnsEnvironment,
    Device,
    NotificationSettings,
    Platform,
    PushKind,
)

from .repositories import Repository

_COLUMNS = (
    "id, user_id, session_id, platform, token, app_version, locale, apns_environment, "
    "created_at, last_seen_at"
)


def _device(row: asyncpg.Record | dict[str, Any]) -> Device:
    env = row["apns_environment"]
    return Device(
        id=row["id"],
        user_id=row["user_id"],
        session_id=row["session_id"],
        platform=Platform(row["platform"]),
        token=row["token"],
        app_version=row["app_version"],
        locale=row["locale"],
        apns_environment=None if env is None else ApnsEnvironment(env),
        created_at=row["created_at"],
        last_seen_at=row["last_seen_at"],
    )


def _settings(row: asyncpg.Record) -> NotificationSettings:
    off = {PushKind(k) for k in row["disabled"] if k in PushKind.__members__.values()}
    return NotificationSettings(
        enabled=frozenset(PushKind) - off,
        quiet_start=row["quiet_start"],
        quiet_end=row["quiet_end"],
    )


class PostgresDeviceRepository(Repository):
    async def register(self, device: Device) -> tuple[Device, int | None]:
        # The CTE reads the row as it was before this statement: its owner, if any.
        # Only for a live session of the user: FOR SHARE waits for a revocation being
        # committed (and then finds the session revoked), or makes the revocation wait
        # for this insert, whose row its trigger then deletes.
        row = await self._fetchrow(
            f"""
            WITH before AS (SELECT user_id FROM push_devices WHERE token = $4),
            live AS (SELECT id FROM sessions
                     WHERE id = $2 AND user_id = $1 AND revoked_at IS NULL FOR SHARE)
            INSERT INTO push_devices (user_id, session_id, platform, token, app_version,
                                      locale, apns_environment, created_at, last_seen_at)
            SELECT $1::bigint, live.id, $3::text, $4::text, $5::text, $6::text, $7::text,
                   $8::timestamptz, $9::timestamptz FROM live
            ON CONFLICT (token) DO UPDATE SET
                user_id = EXCLUDED.user_id,
                session_id = EXCLUDED.session_id,
                platform = EXCLUDED.platform,
                app_version = EXCLUDED.app_version,
                locale = EXCLUDED.locale,
                apns_environment = EXCLUDED.apns_environment,
                created_at = CASE WHEN push_devices.user_id = EXCLUDED.user_id
                                  THEN push_devices.created_at
                                  ELSE EXCLUDED.created_at END,
                last_seen_at = EXCLUDED.last_seen_at
            RETURNING {_COLUMNS}, (SELECT user_id FROM before) AS previous_owner
            """,
            device.user_id,
            device.session_id,
            device.platform.value,
            device.token,
            device.app_version,
            device.locale,
            None if device.apns_environment is None else device.apns_environment.value,
            device.created_at,
            device.last_seen_at,
        )
        if row is None:
            if await self._fetchval("SELECT 1 FROM users WHERE id = $1", device.user_id):
                raise NotFound("No such session.", code="session_not_found")
            raise NotFound("No such user.", code="user_not_found")
        return _device(row), row["previous_owner"]

    async def list_for_user(self, user_id: int) -> list[Device]:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM push_devices WHERE user_id = $1 ORDER BY id", user_id
        )
        return [_device(r) for r in rows]

    async def list_for_users(self, user_ids: list[int]) -> list[Device]:
        rows = await self._fetch(
            f"SELECT {_COLUMNS} FROM push_devices WHERE user_id = ANY($1::bigint[]) "
            "ORDER BY user_id, id",
            list(user_ids),
        )
        return [_device(r) for r in rows]

    async def count_for_user(self, user_id: int) -> int:
        count = await self._fetchval(
            "SELECT count(*) FROM push_devices WHERE user_id = $1", user_id
        )
        return int(count)

    async def delete(self, user_id: int, device_id: int) -> bool:
        status = await self._execute(
            "DELETE FROM push_devices WHERE id = $1 AND user_id = $2", device_id, user_id
        )
        return status != "DELETE 0"

    async def delete_token(self, device_id: int, token: str) -> bool:
        status = await self._execute(
            "DELETE FROM push_devices WHERE id = $1 AND token = $2", device_id, token
        )
        return status != "DELETE 0"

    async def deliverable(
        self, device_id: int, token: str, user_id: int, used_since: datetime
    ) -> bool:
        found = await self._fetchval(
            """
            SELECT 1 FROM push_devices d JOIN sessions s ON s.id = d.session_id
            WHERE d.id = $1 AND d.token = $2 AND d.user_id = $3
              AND s.revoked_at IS NULL AND s.last_used_at >= $4
            """,
            device_id, token, user_id, used_since,
        )
        return found is not None

    async def deliverable_many(
        self, targets: list[tuple[int, str, int]], used_since: datetime
    ) -> set[int]:
        if not targets:
            return set()
        rows = await self._fetch(
            """
            SELECT d.id FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS t(id, token, uid)
            JOIN push_devices d ON d.id = t.id AND d.token = t.token AND d.user_id = t.uid
            JOIN sessions s ON s.id = d.session_id
            WHERE s.revoked_at IS NULL AND s.last_used_at >= $4
            """,
            [t[0] for t in targets], [t[1] for t in targets], [t[2] for t in targets],
            used_since,
        )
        return {r["id"] for r in rows}

    async def claimed(self, keys: list[str]) -> set[str]:
        rows = await self._fetch(
            "SELECT key FROM push_claims WHERE key = ANY($1::text[])", list(keys)
        )
        return {r["key"] for r in rows}

    async def prune_claims(self, before: datetime) -> int:
        status = await self._execute("DELETE FROM push_claims WHERE created_at < $1", before)
        return int(status.split()[-1])

    async def claim(self, keys: list[str], at: datetime) -> set[str]:
        # ON CONFLICT waits for a concurrent claimer's commit, then skips its keys.
        rows = await self._fetch(
            """
            INSERT INTO push_claims (key, created_at)
            SELECT DISTINCT k, $2::timestamptz FROM unnest($1::text[]) AS k
            ON CONFLICT (key) DO NOTHING
            RETURNING key
            """,
            keys, at,
        )
        return {r["key"] for r in rows}


class PostgresNotificationSettingsRepository(Repository):
    async def get(self, user_id: int) -> NotificationSettings:
        row = await self._fetchrow(
            "SELECT disabled, quiet_start, quiet_end FROM notification_settings "
            "WHERE user_id = $1",
            user_id,
        )
        return NotificationSettings() if row is None else _settings(row)

    async def get_many(self, user_ids: list[int]) -> dict[int, NotificationSettings]:
        rows = await self._fetch(
            "SELECT user_id, disabled, quiet_start, quiet_end FROM notification_settings "
            "WHERE user_id = ANY($1::bigint[])",
            list(user_ids),
        )
        found = {r["user_id"]: _settings(r) for r in rows}
        return {u: found.get(u, NotificationSettings()) for u in user_ids}

    async def save(self, user_id: int, settings: NotificationSettings) -> None:
        disabled = sorted(k.value for k in frozenset(PushKind) - settings.enabled)
        await self._execute(
            """
            INSERT INTO notification_settings (user_id, disabled, quiet_start, quiet_end)
            VALUES ($1, $2, $3, $4)
            ON CONFLICT (user_id) DO UPDATE SET disabled = EXCLUDED.disabled,
                quiet_start = EXCLUDED.quiet_start, quiet_end = EXCLUDED.quiet_end
            """,
            user_id, disabled, settings.quiet_start, settings.quiet_end,
        )
