"""Profiles: my account, other people's public profiles, deletion and data export."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import Any

import attrs

from momentic_core.errors import Conflict, NotFound, Unauthenticated
from momentic_core.model.accounts import CodePurpose, Principal, Role, User
from momentic_core.model.devices import NotificationSettings
from momentic_core.model.events import AccountClosed
from momentic_core.model.mfa import MfaStatus
from momentic_core.policies import permissions, rules
from momentic_core.ports import Clock, PasswordHasher, UnitOfWork, UnitOfWorkFactory
from momentic_core.services.ranking import Scorer
from momentic_core.services.throttle import Throttle, refuse


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
    private: bool = UNSET  # my videos for my friends only (services.visibility)


EXPORT_PAGE = 500  # items per page read (one round trip each)


@attrs.frozen
class ExportBatch:
    """One page of one section of an export (``EXPORT_SECTIONS`` says its items)."""

    section: str
    items: list[Any]


@attrs.frozen
class PendingEmailChange:
    """An email change asked for and not confirmed yet (the new address is not stored:
    the code is bound to it, services.email_change)."""

    requested_at: datetime
    expires_at: datetime


@attrs.frozen
class AccountExport:
    """Everything held about one user: the account and its settings, read when the
    export began, then ``batches``: every section of ``EXPORT_SECTIONS`` in that order,
    each as one or more batches (the first may be empty), read page by page as the
    caller iterates."""

    user: User
    exported_at: datetime
    two_factor: MfaStatus
    email_change: PendingEmailChange | None
    notification_settings: NotificationSettings
    batches: AsyncGenerator[ExportBatch, None]


# A section's page read: (unit of work, user id, keyset after which to start or None,
# limit) -> items; and the keyset of an item, where the next page starts.
_Fetch = Callable[[UnitOfWork, int, Any, int], Awaitable[list[Any]]]
_Key = Callable[[Any], Any]


async def _videos(tx: UnitOfWork, user_id: int, before: Any, limit: int) -> list[Any]:
    found = await tx.videos.list_by_author(
        user_id, ready_only=False, public_only=False, before=before, limit=limit
    )
    mine = await tx.reactions.mine(user_id, [v.id for v in found]) if found else {}
    return [(v, mine.get(v.id)) for v in found]


def _contacts(kind: str) -> _Fetch:
    async def fetch(tx: UnitOfWork, user_id: int, after: Any, limit: int) -> list[Any]:
        return list(await tx.social.list_contacts(user_id, kind, after, limit))

    return fetch


async def _identities(tx: UnitOfWork, user_id: int, after: Any, limit: int) -> list[Any]:
    # Not paged: a user links an account or two.
    return [] if after is not None else list(await tx.identities.list_for_user(user_id))


async def _devices(tx: UnitOfWork, user_id: int, after: Any, limit: int) -> list[Any]:
    # Not paged: at most max_devices_per_user (services.devices).
    return [] if after is not None else list(await tx.devices.list_for_user(user_id))


def _newest(contact: Any) -> Any:
    return (contact.since, contact.user.id)


# The sections of a data export after the account itself, in the order they come: how a
# page is read, and what its items are (momentic_core.model types), in what order.
_SECTIONS: dict[str, tuple[_Fetch, _Key]] = {
    # (Video, my ReactionKind | None), every status, newest first
    "videos": (_videos, lambda item: (item[0].created_at, item[0].id)),
    # CommentView: the comments and replies I wrote, hidden ones too, by id
    "comments": (
        lambda tx, me, after, n: tx.comments.by_author(me, after, n),
        lambda view: view.comment.id,
    ),
    # UserReaction, by video id
    "reactions": (
        lambda tx, me, after, n: tx.reactions.by_user(me, after, n),
        lambda reaction: reaction.video_id,
    ),
    # CommentLike, by comment id
    "comment_likes": (
        lambda tx, me, after, n: tx.comments.likes_by_user(me, after, n),
        lambda like: like.comment_id,
    ),
    # WatchedDay: what I watched, one row per video and UTC day, by (day, video id)
    "views": (
        lambda tx, me, after, n: tx.views.by_viewer(me, after, n),
        lambda row: (row.day, row.video_id),
    ),
    # Contact, newest first (as the app's lists: banned or suspended users left out)
    "friends": (_contacts("friends"), _newest),
    "friend_requests_sent": (_contacts("outgoing"), _newest),
    "friend_requests_received": (_contacts("incoming"), _newest),
    # Contact: the users I blocked, newest first
    "blocks": (_contacts("blocked"), _newest),
    # Contact: the users I muted, newest first
    "mutes": (_contacts("muted"), _newest),
    # (Report, Case): the reports I filed, by id
    "reports": (
        lambda tx, me, after, n: tx.moderation.reports_by(me, after, n),
        lambda pair: pair[0].id,
    ),
    # Appeal: the appeals I wrote, by id
    "appeals": (
        lambda tx, me, after, n: tx.moderation.appeals_by(me, after, n),
        lambda appeal: appeal.id,
    ),
    # NotificationView, newest first
    "notifications": (
        lambda tx, me, before, n: tx.notifications.list(me, before, n),
        lambda view: view.notification.id,
    ),
    # Session, revoked ones too, by id
    "sessions": (
        lambda tx, me, after, n: tx.sessions.page_for_user(me, after, n),
        lambda session: session.id,
    ),
    # Device: my push devices, oldest first
    "devices": (_devices, lambda device: device.id),
    # ExternalIdentity
    "linked_identities": (_identities, lambda identity: identity.subject),
    # AuditEntry about me (my account, content or cases), or by me as staff, by id
    "audit": (
        lambda tx, me, after, n: tx.audit.about_user(me, after, n),
        lambda entry: entry.id,
    ),
}
EXPORT_SECTIONS: tuple[str, ...] = tuple(_SECTIONS)


class Profiles:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        hasher: PasswordHasher,
        throttle: Throttle,
        scorer: Scorer | None = None,
        export_page: int = EXPORT_PAGE,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._hasher = hasher
        self._throttle = throttle
        self._scorer = scorer or Scorer(clock=clock)
        self.export_page = max(1, export_page)  # items per page an export reads

    async def me(self, who: Principal) -> User:
        # Read-only: one autocommit statement, no BEGIN and COMMIT round trips; on the
        # primary (not ``may_lag``), so my account reads back my last change at once.
        async with self._uow(read_only=True) as tx:
            return await tx.users.get(who.user_id)

    async def update_me(self, who: Principal, changes: ProfileChanges) -> User:
        """Raises Invalid (per field), Conflict(code="nickname_taken") and
        RateLimited(code="time_zone_change_limited")."""
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
        if changes.private is not UNSET:
            values["private"] = changes.private  # the stores re-apply it to my videos
        if "time_zone" in values:  # counted before the unit of work, as every limit is
            async with self._uow(read_only=True) as tx:
                current = (await tx.users.get(who.user_id)).time_zone
            if values["time_zone"] != current:
                await self._zone_change_allowed(who.user_id)
        async with self._uow() as tx:
            user = await tx.users.get_for_update(who.user_id)
            if not values:
                return user
            updated = await tx.users.update(attrs.evolve(user, **values))
            if updated.time_zone != user.time_zone:  # streak days are local days
                await self._scorer.recompute(tx, [user.id])
                updated = await tx.users.get(user.id)
            return updated

    async def _zone_change_allowed(self, user_id: int) -> None:
        """Counts a change of time zone. Raises RateLimited(code="time_zone_change_limited")
        past the ``time_zone:user`` limit (throttle.DEFAULT_LIMITS)."""
        limit = await self._throttle.limit("time_zone:user")
        [decision] = await self._throttle.count_many([("time_zone:user", f"user:{user_id}")])
        refuse(
            decision, code="time_zone_change_limited",
            detail=f"Your time zone can change {limit.count} times in "
            f"{limit.window.total_seconds() / 3600:g} hours; try again later.",
        )

    async def get_user(self, who: Principal | None, user_id: int) -> User:
        """A profile as ``who`` may see it. Hidden accounts (``User.hidden_at``: not verified
        yet, banned, suspended) are no one to everyone but moderators, admins and
        themselves. Raises NotFound(code="user_not_found")."""
        async with self._uow(may_lag=True) as tx:
            user = await tx.users.get(user_id)
        own = who is not None and who.user_id == user_id
        staff = who is not None and permissions.can_see_hidden_accounts(who.role)
        if user.hidden_at(self._clock.now()) and not (own or staff):
            raise NotFound("No such user.", code="user_not_found")
        return user

    async def delete_me(self, who: Principal, password: str | None) -> None:
        """Delete the account and everything it owns. A password account must confirm
        with its password. The last admin cannot leave. Raises Unauthenticated(code=
        "invalid_credentials"), Conflict(code="last_admin"), RateLimited. Blobs of the
        account's videos and avatar are left to the janitor (nothing points at them)."""
        await self._throttle.check("password:user", f"user:{who.user_id}")
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
            await tx.events.emit(AccountClosed(who.user_id, "deleted"))

    async def export(self, who: Principal) -> AccountExport:
        """Everything the caller made or that is recorded about them, for them to download.
        Costly, so rate limited ("export:user"): raises RateLimited before anything is
        read. The account is read now; the sections are read as ``batches`` is iterated.

        Memory stays bounded whatever the account holds: each section is read in keyset
        pages of ``export_page`` items, each page in a read-only unit of work of its own
        that ends before the page is handed over, so nothing is held while the caller
        writes it out (to a client that may read slowly).

        No snapshot across pages, by choice. One REPEATABLE READ READ ONLY transaction
        for the whole export would make the sections agree, but it would hold a pooled
        connection (and on PostgreSQL the oldest snapshot, which stops vacuum
        everywhere) for as long as the slowest client takes to download, and on a
        streaming replica, where read-only units of work may go, a long snapshot is
        cancelled by replay conflicts; the in-memory store would even stop every other
        request, as a unit of work holds its lock. What holds instead: each page is
        one consistent read; each section's keyset is unique and stable (ids, or
        (time, id) newest first), so an item that exists for the whole export appears
        exactly once; an item made or removed meanwhile may or may not appear, and two
        sections may disagree about it (a comment on a video deleted a moment later).
        ``exported_at`` says when the export began."""
        await self._throttle.check("export:user", str(who.user_id))
        now = self._clock.now()
        async with self._uow(read_only=True) as tx:
            user = await tx.users.get(who.user_id)
            totp = await tx.totp.get(user.id)
            code = await tx.codes.get(user.id, CodePurpose.CHANGE_EMAIL)
            settings = await tx.notification_settings.get(user.id)
        pending = None
        if code is not None and code.expires_at > now:
            pending = PendingEmailChange(code.created_at, code.expires_at)
        return AccountExport(
            user=user, exported_at=now, two_factor=MfaStatus.of(totp),
            email_change=pending, notification_settings=settings,
            batches=self._batches(user.id),
        )

    async def _batches(self, user_id: int) -> AsyncGenerator[ExportBatch, None]:
        for name, (fetch, key) in _SECTIONS.items():
            after: Any = None
            while True:
                async with self._uow(read_only=True) as tx:
                    items = await fetch(tx, user_id, after, self.export_page)
                yield ExportBatch(name, items)
                if len(items) < self.export_page:
                    break
                after = key(items[-1])
