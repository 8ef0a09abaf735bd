"""Bans and suspensions: they take effect at once.

A ban or suspension revokes every session, bumps the token version (so access tokens are
refused on their next request), closes the user's live sockets and notifies them with the
reason. A suspension ends by itself when its time runs out. Staff act only on accounts
of a lower role than their own.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from momentic_core.errors import Conflict, Forbidden, Invalid
from momentic_core.model.accounts import AccountStatus, Principal, Role, User
from momentic_core.model.engagement import (
    LiveEvent,
    Notification,
    NotificationKind,
    user_channel,
)
from momentic_core.policies import permissions, rules
from momentic_core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from momentic_core.services.accounts import announce_revoked
from momentic_core.services.engagement import Notifier

REASON_MAX = 500
MAX_SUSPENSION = timedelta(days=365)
_RANK = {Role.USER: 0, Role.MODERATOR: 1, Role.ADMIN: 2}


def check_reason(reason: str) -> str:
    text = rules.check_text(reason, "reason", REASON_MAX)
    if not text:
        raise Invalid("Give a reason.", code="reason_required", field="reason")
    return text


class Moderation:
    def __init__(
        self, *, uow: UnitOfWorkFactory, clock: Clock, notifier: Notifier | None = None
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._notifier = notifier or Notifier()

    async def _target(self, tx: UnitOfWork, actor: Principal, user_id: int) -> User:
        permissions.require_role(actor.role, Role.MODERATOR)
        if user_id == actor.user_id:
            raise Invalid("That is you.", code="cannot_target_self")
        user = await tx.users.get_for_update(user_id)
        if _RANK[user.role] >= _RANK[actor.role]:
            raise Forbidden("Only accounts of a lower role.", code="insufficient_role")
        return user

    async def ban(self, actor: Principal, user_id: int, reason: str) -> User:
        """Ban until an unban. Raises Forbidden(code="insufficient_role"), NotFound."""
        return await self._close(actor, user_id, check_reason(reason), None)

    async def suspend(
        self, actor: Principal, user_id: int, reason: str, duration: timedelta
    ) -> User:
        """Suspend for ``duration`` (1 minute to 365 days)."""
        if not timedelta(minutes=1) <= duration <= MAX_SUSPENSION:
            raise Invalid("A suspension lasts 1 minute to 365 days.", code="invalid_duration",
                          field="duration")
        until = self._clock.now() + duration
        return await self._close(actor, user_id, check_reason(reason), until)

    async def _close(
        self, actor: Principal, user_id: int, reason: str, until: datetime | None
    ) -> User:
        now = self._clock.now()
        status = AccountStatus.BANNED if until is None else AccountStatus.SUSPENDED
        async with self._uow() as tx:
            user = await self._target(tx, actor, user_id)
            user = await tx.users.update(
                attrs.evolve(user, status=status, suspended_until=until,
                             token_version=user.token_version + 1)
            )
            await tx.sessions.revoke_all(user_id, now)
            await tx.events.emit(
                LiveEvent(user_channel(user_id), "account.closed",
                          {"status": status.value, "until": until.isoformat() if until else None})
            )
            await announce_revoked(tx, user_id)
            sent = await self._notifier.add(
                tx,
                Notification(id=0, user_id=user_id, kind=NotificationKind.MODERATION,
                             created_at=now, text=f"{status.value}: {reason}"),
                None,
            )
        await self._notifier.push([sent])
        return user

    async def unban(self, actor: Principal, user_id: int) -> User:
        """Lift a ban or suspension. Raises Conflict(code="not_banned")."""
        now = self._clock.now()
        async with self._uow() as tx:
            user = await self._target(tx, actor, user_id)
            if user.status is AccountStatus.ACTIVE:
                raise Conflict("The account is not banned or suspended.", code="not_banned")
            user = await tx.users.update(
                attrs.evolve(user, status=AccountStatus.ACTIVE, suspended_until=None)
            )
            sent = await self._notifier.add(
                tx,
                Notification(id=0, user_id=user_id, kind=NotificationKind.MODERATION,
                             created_at=now, text="restored"),
                None,
            )
        await self._notifier.push([sent])
        return user
