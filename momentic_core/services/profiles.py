"""Profiles: my account, other people's public profiles, deletion and data export."""

from __future__ import annotations

from typing import Any

import attrs

from momentic_core.errors import Conflict, NotFound, Unauthenticated
from momentic_core.model.accounts import ExternalIdentity, Principal, Role, Session, User
from momentic_core.model.engagement import LiveEvent, user_channel
from momentic_core.policies import permissions, rules
from momentic_core.ports import Clock, PasswordHasher, UnitOfWorkFactory
from momentic_core.services.ranking import Scorer
from momentic_core.services.throttle import Throttle


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


@attrs.frozen
class ProfileChanges:
    """Fields a user may change on their own profile; UNSET leaves one as it is."""

    nickname: str = UNSET
    name: str | None = UNSET
    surname: str | None = UNSET
    bio: str | None = UNSET
    time_zone: str = UNSET


@attrs.frozen
class AccountExport:
    """Everything held about one user."""

    user: User
    sessions: list[Session]
    identities: list[ExternalIdentity]


class Profiles:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        throttle: Throttle,
        scorer: Scorer | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._throttle = throttle
        self._scorer = scorer or Scorer(clock=clock)

    async def me(self, who: Principal) -> User:
        async with self._uow() as tx:
            return await tx.users.get(who.user_id)

    async def update_me(self, who: Principal, changes: ProfileChanges) -> User:
        """Raises Invalid (per field) and Conflict(code="nickname_taken")."""
        values: dict[str, Any] = {}
        if changes.nickname is not UNSET:
            values["nickname"] = rules.check_nickname(changes.nickname)
        if changes.name is not UNSET:
            values["name"] = rules.check_text(changes.name, "name", rules.NAME_MAX)
        if changes.surname is not UNSET:
            values["surname"] = rules.check_text(changes.surname, "surname", rules.NAME_MAX)
        if changes.bio is not UNSET:
            values["bio"] = rules.check_text(changes.bio, "bio", rules.BIO_MAX)
        if changes.time_zone is not UNSET:
            values["time_zone"] = rules.check_time_zone(changes.time_zone)
        async with self._uow() as tx:
            user = await tx.users.get_for_update(who.user_id)
            if not values:
                return user
            updated = await tx.users.update(attrs.evolve(user, **values))
            if updated.time_zone != user.time_zone:  # streak days are local days
                await self._scorer.recompute(tx, [user.id])
                updated = await tx.users.get(user.id)
            return updated

    async def get_user(self, who: Principal | None, user_id: int) -> User:
        """A profile as ``who`` may see it. Banned and suspended accounts are hidden from
        everyone but moderators, admins and themselves. Raises NotFound(code="user_not_found")."""
        async with self._uow() as tx:
            user = await tx.users.get(user_id)
        own = who is not None and who.user_id == user_id
        staff = who is not None and permissions.can_see_hidden_accounts(who.role)
        if user.is_blocked_at(self._clock.now()) and not (own or staff):
            raise NotFound("No such user.", code="user_not_found")
        return user

    async def delete_me(self, who: Principal, password: str | None) -> None:
        """Delete the account and everything it owns. A password account must confirm
        with its password. The last admin cannot leave. Raises Unauthenticated(code=
        "invalid_credentials"), Conflict(code="last_admin"), RateLimited. Blobs of the
        account's videos and avatar are left to the janitor (nothing points at them)."""
        await self._throttle.check("login:account", f"user:{who.user_id}")
        async with self._uow() as tx:
            user = await tx.users.get(who.user_id)
        if user.password_hash is not None and (
            password is None or not await self._hasher.verify(user.password_hash, password)
        ):
            raise Unauthenticated("Confirm with your password.", code="invalid_credentials")
        async with self._uow() as tx:
            admins = await tx.users.count_with_role(Role.ADMIN)  # locks them: see set_role
            user = await tx.users.get_for_update(who.user_id)
            if user.role is Role.ADMIN and admins <= 1:
                raise Conflict("The last admin cannot delete their account.", code="last_admin")
            engaged = await tx.ranking.engaged_authors(who.user_id)
            await tx.users.delete(who.user_id)
            await self._scorer.recompute(tx, engaged)
            await tx.events.emit(
                LiveEvent(user_channel(who.user_id), "account.closed",
                          {"status": "deleted", "until": None})
            )

    async def export(self, who: Principal) -> AccountExport:
        async with self._uow() as tx:
            user = await tx.users.get(who.user_id)
            sessions = await tx.sessions.list_for_user(who.user_id)
            identities = await tx.identities.list_for_user(who.user_id)
        return AccountExport(user=user, sessions=sessions, identities=identities)
