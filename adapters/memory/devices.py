"""In-memory push devices and notification settings, kept in ``MemoryStore.devices`` and
``MemoryStore.notification_settings``. ``forget_session`` and ``forget_devices_of`` are
what the PostgreSQL trigger on revoked sessions and the cascades from users do."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from momentic_core.errors import NotFound
from momentic_core.model.devices import Device, NotificationSettings

if TYPE_CHECKING:
    from .store import MemoryStore


def forget_session(store: MemoryStore, session_id: int) -> None:
    store.devices = {k: d for k, d in store.devices.items() if d.session_id != session_id}


def forget_devices_of(store: MemoryStore, user_id: int) -> None:
    store.devices = {k: d for k, d in store.devices.items() if d.user_id != user_id}
    store.notification_settings.pop(user_id, None)


class InMemoryDeviceRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def register(self, device: Device) -> tuple[Device, int | None]:
        if device.user_id not in self._s.users:
            raise NotFound("No such user.", code="user_not_found")
        session = self._s.sessions.get(device.session_id)
        if session is None or session.user_id != device.user_id or session.revoked_at:
            raise NotFound("No such session.", code="session_not_found")
        old = next((d for d in self._s.devices.values() if d.token == device.token), None)
        if old is None:
            stored = attrs.evolve(device, id=next(self._s.ids))
        else:
            created = old.created_at if old.user_id == device.user_id else device.created_at
            stored = attrs.evolve(device, id=old.id, created_at=created)
        self._s.devices[stored.id] = stored
        return stored, None if old is None else old.user_id

    async def list_for_user(self, user_id: int) -> list[Device]:
        return sorted(
            (d for d in self._s.devices.values() if d.user_id == user_id), key=lambda d: d.id
        )

    async def list_for_users(self, user_ids: list[int]) -> list[Device]:
        wanted = set(user_ids)
        return sorted(
            (d for d in self._s.devices.values() if d.user_id in wanted),
            key=lambda d: (d.user_id, d.id),
        )

    async def count_for_user(self, user_id: int) -> int:
        return sum(1 for d in self._s.devices.values() if d.user_id == user_id)

    async def delete(self, user_id: int, device_id: int) -> bool:
        d = self._s.devices.get(device_id)
        if d is None or d.user_id != user_id:
            return False
        del self._s.devices[device_id]
        return True

    async def delete_token(self, device_id: int, token: str) -> bool:
        d = self._s.devices.get(device_id)
        if d is None or d.token != token:
            return False
        del self._s.devices[device_id]
        return True

    async def deliverable(
        self, device_id: int, token: str, user_id: int, used_since: datetime
    ) -> bool:
        d = self._s.devices.get(device_id)
        if d is None or d.token != token or d.user_id != user_id:
            return False
        s = self._s.sessions.get(d.session_id)
        return s is not None and s.revoked_at is None and s.last_used_at >= used_since

    async def deliverable_many(
        self, targets: list[tuple[int, str, int]], used_since: datetime
    ) -> set[int]:
        return {
            device_id for device_id, token, user_id in targets
            if await self.deliverable(device_id, token, user_id, used_since)
        }

    async def claimed(self, keys: list[str]) -> set[str]:
        return {k for k in keys if k in self._s.push_claims}

    async def prune_claims(self, before: datetime) -> int:
        old = [k for k, at in self._s.push_claims.items() if at < before]
        for k in old:
            del self._s.push_claims[k]
        return len(old)

    async def claim(self, keys: list[str], at: datetime) -> set[str]:
        fresh = {k for k in keys if k not in self._s.push_claims}
        for k in fresh:
            self._s.push_claims[k] = at
        return fresh


class InMemoryNotificationSettingsRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def get(self, user_id: int) -> NotificationSettings:
        return self._s.notification_settings.get(user_id, NotificationSettings())

    async def get_many(self, user_ids: list[int]) -> dict[int, NotificationSettings]:
        return {u: self._s.notification_settings.get(u, NotificationSettings())
                for u in user_ids}

    async def save(self, user_id: int, settings: NotificationSettings) -> None:
        if user_id not in self._s.users:
            raise NotFound("No such user.", code="user_not_found")
        self._s.notification_settings[user_id] = settings
