"""Friends and blocks: requests, acceptance, unfriending, blocking, lists and search.

A block hides each user from the other everywhere; to the blocked user the blocker looks
like no one (NotFound), never like a blocker. A mute is one-sided and silent: the muted
user leaves my feeds, my notifications and my live events, stays my friend if they were,
and nothing of theirs changes (no notification, no event on their channel).

Every change between two users (a request, an acceptance, a cancel, an unfriend, a block)
runs under the pair's lock, so concurrent ones happen one after the other: two mutual
requests at once make one friendship, never two pending requests.
"""

from __future__ import annotations

from datetime import UTC, datetime

import attrs

from momentic_core.errors import Conflict, Invalid, NotFound
from momentic_core.model.accounts import Person, Principal, User
from momentic_core.model.engagement import (
    Notification,
    NotificationKind,
    NotificationView,
)
from momentic_core.model.events import RelationChanged
from momentic_core.model.social import Contact, FriendRequest, Relation
from momentic_core.policies import rules
from momentic_core.ports import Clock, UnitOfWork, UnitOfWorkFactory
from momentic_core.services.engagement import Notifier
from momentic_core.services.throttle import Throttle

CONTACT_KINDS = ("friends", "incoming", "outgoing", "blocked", "muted")


def _no_user() -> NotFound:
    return NotFound("No such user.", code="user_not_found")


async def _relation_changed(tx: UnitOfWork, a: int, b: int) -> None:
    """Tell both users' sockets: what each may see of the other changed (a block, an
    unblock, an unfriend), so live subscriptions are checked again."""
    for me, other in ((a, b), (b, a)):
        await tx.events.emit(RelationChanged(me, other))


async def _mutes_changed(tx: UnitOfWork, muter: int, muted: int) -> None:
    """Tell the muter's sockets only (they reload whom to drop events of); the muted user
    hears nothing."""
    await tx.events.emit(RelationChanged(muter, muted))


@attrs.frozen
class Profile:
    user: User
    relation: Relation
    friend_count: int


class Friends:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        throttle: Throttle,
        notifier: Notifier | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._throttle = throttle
        self._notifier = notifier or Notifier()

    async def _notify(
        self, tx: UnitOfWork, to: int, actor: int, kind: NotificationKind,
        dedupe_key: str | None = None,
    ) -> NotificationView | None:
        me = Person.of(await tx.users.get(actor))
        return await self._notifier.add(
            tx,
            Notification(id=0, user_id=to, kind=kind, created_at=self._clock.now(),
                         actor_id=actor, dedupe_key=dedupe_key),
            me,
        )

    async def _target(self, tx: UnitOfWork, who: Principal, user_id: int) -> User:
        """The other user, as long as they are visible to me."""
        if user_id == who.user_id:
            raise Invalid("That is you.", code="cannot_target_self")
        user = await tx.users.get(user_id)
        if user.hidden_at(self._clock.now()):
            raise _no_user()
        if await tx.social.blocked_either_way(who.user_id, user_id):
            raise _no_user()
        return user

    async def resolve(self, who: Principal, user_id: int | None, nickname: str | None) -> int:
        """A user id from an id or a nickname. Raises Invalid, NotFound."""
        if (user_id is None) == (nickname is None):
            raise Invalid("Give user_id or nickname.", code="validation_failed")
        if user_id is not None:
            return user_id
        assert nickname is not None
        async with self._uow() as tx:
            user = await tx.users.find_by_nickname(nickname.strip().lower())
        if user is None:
            raise _no_user()
        return user.id

    async def request(self, who: Principal, user_id: int) -> Relation:
        """Send a friend request; if they had asked me already (a moment ago, at the same
        time), this accepts theirs and we become friends.

        A request notifies its recipient once a day (UTC) per sender: asking, cancelling
        and asking again does not notify again. Raises Conflict(code="already_friends" |
        "request_exists" | "user_blocked"), NotFound."""
        await self._throttle.check("friend_request:user", str(who.user_id))
        now = self._clock.now()
        async with self._uow() as tx:
            await tx.social.lock_pair(who.user_id, user_id)
            await self._target(tx, who, user_id)
            relation = await tx.social.relation(who.user_id, user_id)
            if relation is Relation.FRIENDS:
                raise Conflict("You are friends already.", code="already_friends")
            if relation is Relation.REQUEST_SENT:
                raise Conflict("You asked already.", code="request_exists")
            if relation is Relation.BLOCKED:
                raise Conflict("Unblock them first.", code="user_blocked")
            if relation is Relation.REQUEST_RECEIVED:
                await tx.social.add_friendship(who.user_id, user_id, now)  # ends theirs
                sent = await self._notify(tx, user_id, who.user_id,
                                          NotificationKind.FRIEND_ACCEPTED)
                result = Relation.FRIENDS
            else:
                await tx.social.add_request(FriendRequest(who.user_id, user_id, now))
                sent = await self._notify(
                    tx, user_id, who.user_id, NotificationKind.FRIEND_REQUEST,
                    dedupe_key=f"friend_request:{who.user_id}:{now.astimezone(UTC).date()}",
                )
                result = Relation.REQUEST_SENT
        await self._notifier.push([sent])
        return result

    async def accept(self, who: Principal, from_id: int) -> None:
        """We become friends; no request is left between us, either way. Raises
        NotFound(code="request_not_found")."""
        async with self._uow() as tx:
            await tx.social.lock_pair(who.user_id, from_id)
            if not await tx.social.delete_request(from_id, who.user_id):
                raise NotFound("No such friend request.", code="request_not_found")
            await tx.social.add_friendship(who.user_id, from_id, self._clock.now())
            sent = await self._notify(tx, from_id, who.user_id, NotificationKind.FRIEND_ACCEPTED)
        await self._notifier.push([sent])

    async def decline(self, who: Principal, from_id: int) -> None:
        async with self._uow() as tx:
            await tx.social.lock_pair(who.user_id, from_id)
            if not await tx.social.delete_request(from_id, who.user_id):
                raise NotFound("No such friend request.", code="request_not_found")

    async def cancel(self, who: Principal, to_id: int) -> None:
        async with self._uow() as tx:
            await tx.social.lock_pair(who.user_id, to_id)
            if not await tx.social.delete_request(who.user_id, to_id):
                raise NotFound("No such friend request.", code="request_not_found")

    async def unfriend(self, who: Principal, user_id: int) -> None:
        async with self._uow() as tx:
            await tx.social.lock_pair(who.user_id, user_id)
            if not await tx.social.remove_friendship(who.user_id, user_id):
                raise NotFound("You are not friends.", code="not_friends")
            await _relation_changed(tx, who.user_id, user_id)

    async def block(self, who: Principal, user_id: int) -> None:
        """Idempotent. Ends any friendship and request between us. Raises
        NotFound(code="user_not_found")."""
        if user_id == who.user_id:
            raise Invalid("That is you.", code="cannot_target_self")
        async with self._uow() as tx:
            await tx.social.lock_pair(who.user_id, user_id)
            user = await tx.users.get(user_id)
            # A banned or suspended user can be blocked (so they stay blocked after);
            # a sign-up not verified yet is no one, as everywhere (User.hidden_at).
            if not user.email_verified:
                raise _no_user()
            await tx.social.add_block(who.user_id, user_id, self._clock.now())
            await _relation_changed(tx, who.user_id, user_id)

    async def unblock(self, who: Principal, user_id: int) -> None:
        async with self._uow() as tx:
            await tx.social.lock_pair(who.user_id, user_id)
            if not await tx.social.remove_block(who.user_id, user_id):
                raise NotFound("You have not blocked them.", code="not_blocked")
            await _relation_changed(tx, who.user_id, user_id)

    async def mute(self, who: Principal, user_id: int) -> None:
        """Idempotent. Raises Invalid(code="cannot_target_self"),
        NotFound(code="user_not_found")."""
        if user_id == who.user_id:
            raise Invalid("That is you.", code="cannot_target_self")
        async with self._uow() as tx:
            user = await tx.users.get(user_id)
            # A banned or suspended user can be muted (so they stay muted after); a
            # sign-up not verified yet is no one, as everywhere (User.hidden_at).
            if not user.email_verified:
                raise _no_user()
            if not await tx.social.has_muted(who.user_id, user_id):
                await tx.social.add_mute(who.user_id, user_id, self._clock.now())
                await _mutes_changed(tx, who.user_id, user_id)

    async def unmute(self, who: Principal, user_id: int) -> None:
        """Idempotent: unmuting someone not muted (or unknown) changes nothing."""
        async with self._uow() as tx:
            if await tx.social.remove_mute(who.user_id, user_id):
                await _mutes_changed(tx, who.user_id, user_id)

    async def contacts(
        self, who: Principal, kind: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[Contact]:
        if kind not in CONTACT_KINDS:
            raise Invalid("Unknown list.", code="invalid_query", field="kind")
        async with self._uow() as tx:
            return await tx.social.list_contacts(who.user_id, kind, after, limit)

    async def search(
        self, who: Principal, prefix: str, after: str | None, limit: int
    ) -> list[Person]:
        """Users by nickname prefix (1 to 30 of the nickname characters)."""
        value = prefix.strip().lower()
        if not value or len(value) > 30 or not rules.NICKNAME_CHARS.fullmatch(value):
            raise Invalid(
                "Search by 1 to 30 nickname characters (a-z, 0-9, '_', '.').",
                code="invalid_query",
                field="q",
            )
        async with self._uow() as tx:
            return await tx.social.search(who.user_id, value, after, limit)

    async def profile(self, who: Principal, user: User) -> Profile:
        """How ``user`` stands to me, and their friend count. Raises NotFound when either
        blocked the other (the blocker still sees whom they blocked)."""
        async with self._uow() as tx:
            if user.id == who.user_id:
                return Profile(user, Relation.SELF, await tx.social.friend_count(user.id))
            relation = await tx.social.relation(who.user_id, user.id)
            if relation is not Relation.BLOCKED and await tx.social.blocked_either_way(
                who.user_id, user.id
            ):
                raise _no_user()
            return Profile(user, relation, await tx.social.friend_count(user.id))
