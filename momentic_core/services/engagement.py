"""Reactions, comments, notifications and who may listen to which live channel.

Every write runs in one unit of work with the counters it moves, the notification it
causes and the live events that tell sockets about it; events go out only if the unit
of work commits. Phone pushes are sent after the commit, best effort.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from momentic_core.errors import Conflict, Forbidden, Invalid, NotFound
from momentic_core.model.accounts import Person, Principal
from momentic_core.model.engagement import (
    Comment,
    CommentView,
    Notification,
    NotificationKind,
    NotificationView,
    ReactionKind,
    Reactor,
    user_channel,
    video_channel,
)
from momentic_core.model.events import (
    CommentCreated,
    CommentDeleted,
    CommentEdited,
    CommentLiked,
    NotificationCreated,
    ReactionsChanged,
)
from momentic_core.model.social import VideoForViewer
from momentic_core.model.videos import VideoStatus
from momentic_core.policies import permissions, rules
from momentic_core.ports import Clock, PushSender, UnitOfWork, UnitOfWorkFactory
from momentic_core.services import visibility
from momentic_core.services.config import Config
from momentic_core.services.push import Pushes
from momentic_core.services.ranking import Scorer
from momentic_core.services.throttle import Throttle

log = logging.getLogger(__name__)

PREVIEW_MAX = 100


def parse_reaction(kind: str) -> ReactionKind:
    try:
        return ReactionKind(kind)
    except ValueError:
        raise Invalid(
            "kind is one of heart, flame, funny, angry.", code="invalid_reaction", field="kind"
        ) from None


class Notifier:
    """Stores a notification with the live event that announces it, and with ``queue``
    its push job (services.push) in the same unit of work. Without a queue, ``push``
    hands committed notifications to ``push`` directly (best effort)."""

    def __init__(self, push: PushSender | None = None, *, queue: Pushes | None = None) -> None:
        self._push = push
        self._queue = queue

    async def add(
        self, tx: UnitOfWork, notification: Notification, actor: Person | None
    ) -> NotificationView | None:
        """None when it is about oneself, caused by someone its user muted (nothing is
        stored, pushed or sent live), or a duplicate of one already sent."""
        actor_id = notification.actor_id
        if actor_id is not None and (
            actor_id == notification.user_id
            or await tx.social.has_muted(notification.user_id, actor_id)
        ):
            return None
        stored = await tx.notifications.add(notification)
        if stored is None:
            return None
        view = NotificationView(stored, actor)
        if self._queue is not None:
            await self._queue.enqueue_notification(tx, stored)
        await tx.events.emit(NotificationCreated(stored, actor))
        return view

    async def push(self, views: Iterable[NotificationView | None]) -> None:
        """Call after the unit of work committed."""
        if self._push is None or self._queue is not None:
            return
        for view in views:
            if view is not None:
                await self._push.send(view)


class Engagement:
    """Reactions and comments on videos."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        throttle: Throttle,
        notifier: Notifier,
        config: Config,
        scorer: Scorer | None = None,
    ) -> None:
        self._config = config  # the BeReal lock
        self._uow = uow
        self._clock = clock
        self._throttle = throttle
        self._notifier = notifier
        self._scorer = scorer or Scorer(clock=clock)

    async def _bereal_lock_on(self) -> bool:
        """Call before the unit of work: the settings may be read from the store."""
        return (await self._config.current()).bereal_lock

    async def _open(
        self, tx: UnitOfWork, who: Principal, video_id: int, lock: bool
    ) -> VideoForViewer:
        return await visibility.open_video(tx, self._clock.now(), who, video_id, lock)

    # ------------------------------------------------------------------ reactions

    async def react(self, who: Principal, video_id: int, kind: str) -> dict[str, int]:
        """Set or replace my reaction (idempotent); the video's counts after it.

        Raises Invalid(code="invalid_reaction"), NotFound(code="video_not_found"),
        Conflict(code="video_not_ready"), Forbidden(code="moment_locked"), RateLimited."""
        reaction = parse_reaction(kind)
        limit = await self._throttle.write_limit("reaction:user", str(who.user_id))
        now = self._clock.now()
        lock = await self._bereal_lock_on()
        async with self._uow() as tx:
            await limit.check(tx)  # counted with the reaction: one commit
            found = await self._open(tx, who, video_id, lock)
            video = found.video
            change = await tx.reactions.set(who.user_id, video_id, reaction, now)
            view = None
            if change.previous is not reaction:
                await self._counts_event(tx, video_id, change.counts)
                await self._scorer.reaction(tx, video, who.user_id, reaction, change, now)
            if change.previous is None:
                view = await self._notifier.add(
                    tx,
                    Notification(
                        id=0,
                        user_id=video.author_id,
                        kind=NotificationKind.REACTION,
                        created_at=now,
                        actor_id=who.user_id,
                        video_id=video_id,
                        text=reaction.value,
                        dedupe_key=f"reaction:{video_id}:{who.user_id}",
                    ),
                    found.viewer,
                )
        await self._notifier.push([view])
        return change.counts

    async def unreact(self, who: Principal, video_id: int) -> dict[str, int]:
        """Remove my reaction (idempotent); the video's counts after it."""
        async with self._uow() as tx:
            video = await tx.videos.get(video_id)
            author = await tx.users.get(video.author_id)
            if not await visibility.may_see(tx, self._clock.now(), who, video, author):
                raise visibility.no_video()
            change = await tx.reactions.remove(who.user_id, video_id)
            if change is None:
                return video.reactions
            await self._counts_event(tx, video_id, change.counts)
            if video.status is VideoStatus.READY:  # held or removed videos earn nothing
                await self._scorer.reaction(
                    tx, video, who.user_id, None, change, self._clock.now()
                )
            return change.counts

    async def _counts_event(self, tx: UnitOfWork, video_id: int, counts: dict[str, int]) -> None:
        await tx.events.emit(ReactionsChanged(video_id, counts))

    async def reactors(
        self, who: Principal, video_id: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[Reactor]:
        lock = await self._bereal_lock_on()
        async with self._uow(read_only=True) as tx:
            await visibility.readable_video(tx, self._clock.now(), who, video_id, lock)
            return await tx.reactions.list(video_id, who.user_id, after, limit)

    # ------------------------------------------------------------------ comments

    async def comment(
        self, who: Principal, video_id: int, body: str, parent_id: int | None = None
    ) -> CommentView:
        """Comment on a video, or reply to a top-level comment of it.

        Raises Invalid(code="comment_empty" | "comment_too_long" | "control_characters" |
        "reply_depth"), NotFound(code="video_not_found" | "comment_not_found"),
        Conflict(code="video_not_ready"), Forbidden(code="moment_locked"), RateLimited."""
        text = rules.check_comment(body)
        await self._throttle.check("comment:user", str(who.user_id))
        now = self._clock.now()
        lock = await self._bereal_lock_on()
        async with self._uow() as tx:
            found = await self._open(tx, who, video_id, lock)
            video, me = found.video, found.viewer
            parent = None
            if parent_id is not None:
                parent = await self._visible_comment(tx, who, parent_id, lock)
                if parent.video_id != video_id:
                    raise NotFound("No such comment on this video.", code="comment_not_found")
                if parent.parent_id is not None:
                    raise Invalid("Reply to a top-level comment.", code="reply_depth",
                                  field="parent_id")
            comment = await tx.comments.add(
                Comment(id=0, video_id=video_id, author_id=who.user_id, body=text,
                        created_at=now, parent_id=parent_id)
            )
            await self._scorer.comment(tx, video, comment)
            view = CommentView(comment, me)
            count = (await tx.videos.get(video_id)).comment_count
            await tx.events.emit(CommentCreated(comment, me, count))
            preview = text[:PREVIEW_MAX]
            sent = []
            if parent is not None:
                # No preview for someone the video is behind the BeReal lock for again
                # (their post that opened it went): a locked moment shows nothing of itself.
                replied = await tx.users.get(parent.author_id)
                shut = await visibility.behind_lock_for(tx, now, replied, [video], lock)
                sent.append(await self._notifier.add(tx, Notification(
                    id=0, user_id=parent.author_id, kind=NotificationKind.REPLY, created_at=now,
                    actor_id=who.user_id, video_id=video_id, comment_id=comment.id,
                    text=None if shut else preview,
                ), me))
            if parent is None or parent.author_id != video.author_id:
                sent.append(await self._notifier.add(tx, Notification(
                    id=0, user_id=video.author_id, kind=NotificationKind.COMMENT, created_at=now,
                    actor_id=who.user_id, video_id=video_id, comment_id=comment.id, text=preview,
                ), me))
        await self._notifier.push(sent)
        return view

    async def _visible_comment(
        self, tx: UnitOfWork, who: Principal, comment_id: int, lock: bool
    ) -> Comment:
        """A comment on a video I may read (visible, not behind the BeReal lock), by an
        author I may see."""
        comment = await tx.comments.get(comment_id)
        video = await tx.videos.get(comment.video_id)
        video_author = await tx.users.get(video.author_id)
        now = self._clock.now()
        hidden = NotFound("No such comment.", code="comment_not_found")
        if not await visibility.may_see(tx, now, who, video, video_author):
            raise hidden
        if await visibility.behind_lock(tx, now, who, [video], lock):
            raise Forbidden("Post your moment of today first.", code="moment_locked")
        if comment.hidden and not permissions.can_see_hidden_accounts(who.role):
            raise hidden
        if comment.author_id != who.user_id and not permissions.can_see_hidden_accounts(who.role):
            author = await tx.users.get(comment.author_id)
            if author.hidden_at(now) or await tx.social.blocked_either_way(
                who.user_id, comment.author_id
            ):
                raise hidden
        return comment

    async def edit_comment(self, who: Principal, comment_id: int, body: str) -> CommentView:
        """The author edits their comment. Raises Forbidden(code="not_author"), NotFound."""
        text = rules.check_comment(body)
        lock = await self._bereal_lock_on()
        async with self._uow() as tx:
            comment = await tx.comments.get(comment_id)
            if comment.author_id != who.user_id:  # (the author may, whatever blocks since)
                await self._visible_comment(tx, who, comment_id, lock)
                raise Forbidden("Only the author edits a comment.", code="not_author")
            if comment.hidden:
                raise Conflict("A comment held by moderation cannot be edited.",
                               code="comment_held")
            await tx.comments.get_for_update(comment_id)
            await tx.comments.edit(comment_id, text, self._clock.now())
            view = await tx.comments.view(comment_id, who.user_id)
            await tx.events.emit(CommentEdited(view.comment, view.author))
        return view

    async def delete_comment(self, who: Principal, comment_id: int) -> None:
        """The author or the video's author deletes a comment (and its replies). Staff
        remove someone else's comment through moderation (a report, then its case resolved
        with remove), never here. Raises Forbidden(code="not_author" |
        "moderation_required"), NotFound."""
        lock = await self._bereal_lock_on()
        async with self._uow() as tx:
            comment = await tx.comments.get(comment_id)
            video = await tx.videos.get(comment.video_id)
            # Ownership first: a block since does not stop either author cleaning up.
            if who.user_id not in (comment.author_id, video.author_id):
                await self._visible_comment(tx, who, comment_id, lock)
                raise permissions.not_yours_to_delete(
                    who.role, "comment", "its author or the video's author"
                )
            await tx.comments.get_for_update(comment_id)
            await tx.comments.delete(comment_id)
            await self._scorer.recompute(tx, [video.author_id])
            count = (await tx.videos.get(comment.video_id)).comment_count
            await tx.events.emit(
                CommentDeleted(comment.id, comment.video_id, comment.parent_id, count)
            )

    async def like(self, who: Principal, comment_id: int, liked: bool) -> int:
        """Like or unlike a comment (idempotent); its like count after."""
        lock = await self._bereal_lock_on()
        async with self._uow() as tx:
            comment = await self._visible_comment(tx, who, comment_id, lock)
            if liked:
                changed, count = await tx.comments.like(comment_id, who.user_id,
                                                        self._clock.now())
            else:
                changed, count = await tx.comments.unlike(comment_id, who.user_id)
            if changed:
                await tx.events.emit(CommentLiked(comment_id, comment.video_id, count))
            return count

    async def comments(
        self,
        who: Principal,
        video_id: int,
        parent_id: int | None,
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[CommentView]:
        """Oldest first: a video's top-level comments, or the replies to one of them."""
        lock = await self._bereal_lock_on()
        async with self._uow(read_only=True) as tx:
            await visibility.readable_video(tx, self._clock.now(), who, video_id, lock)
            return await tx.comments.list(video_id, parent_id, who.user_id, after, limit)

    async def replies(
        self, who: Principal, comment_id: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[CommentView]:
        lock = await self._bereal_lock_on()
        async with self._uow(read_only=True) as tx:
            parent = await self._visible_comment(tx, who, comment_id, lock)
            return await tx.comments.list(parent.video_id, parent.id, who.user_id, after, limit)

    async def comment_view(self, who: Principal, comment_id: int) -> CommentView:
        """One comment as I see it."""
        lock = await self._bereal_lock_on()
        async with self._uow(read_only=True) as tx:
            await self._visible_comment(tx, who, comment_id, lock)
            return await tx.comments.view(comment_id, who.user_id)


class Notifications:
    """My notifications: a newest-first list, the unread count, marking read."""

    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def list(
        self, who: Principal, before_id: int | None, limit: int
    ) -> tuple[list[NotificationView], int]:
        async with self._uow(read_only=True) as tx:
            items = await tx.notifications.list(who.user_id, before_id, limit)
            unread = await tx.notifications.unread_count(who.user_id)
        return items, unread

    async def mark_read(self, who: Principal, notification_id: int) -> None:
        async with self._uow() as tx:
            if not await tx.notifications.mark_read(
                who.user_id, notification_id, self._clock.now()
            ):
                raise NotFound("No such notification.", code="notification_not_found")

    async def mark_all_read(self, who: Principal) -> int:
        async with self._uow() as tx:
            return await tx.notifications.mark_all_read(who.user_id, self._clock.now())


class Live:
    """Which live channels a user may listen to, and whose events they must not get."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        clock: Clock,
        config: Config,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._config = config  # the BeReal lock

    async def blocked_ids(self, who: Principal) -> set[int]:
        """Users blocked either way with ``who``, and those ``who`` muted: their events
        are not delivered to ``who``."""
        async with self._uow() as tx:
            return await tx.social.blocked_ids(who.user_id) | await tx.social.muted_ids(
                who.user_id
            )

    async def authorize(self, who: Principal, channel: str) -> str:
        """The channel, normalized, when ``who`` may subscribe to it: their own user
        channel, or a video they may see. Raises Invalid(code="invalid_channel"),
        Forbidden(code="channel_forbidden"), NotFound(code="video_not_found")."""
        kind, _, raw = channel.partition(":")
        # Any id a row can have (1 to 2**63 - 1) names a channel, in ASCII digits.
        if (
            kind not in ("user", "video")
            or not (raw.isascii() and raw.isdigit())
            or len(raw) > 19
            or not 0 < int(raw) < 2**63
        ):
            raise Invalid("Channels are video:{id} and user:{id}.", code="invalid_channel",
                          field="channel")
        number = int(raw)
        if kind == "user":
            if number != who.user_id:
                raise Forbidden("Only your own user channel.", code="channel_forbidden")
            return user_channel(number)
        lock = (await self._config.current()).bereal_lock
        async with self._uow() as tx:
            await visibility.readable_video(tx, self._clock.now(), who, number, lock)
        return video_channel(number)
