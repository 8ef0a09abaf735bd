"""In-memory reactions, comments, comment likes, notifications and live events.

The tables live in ``MemoryStore``; counters sit on the stored ``Video`` and ``Comment``
values and change with the rows, as the PostgreSQL triggers do. ``forget_video`` and
``forget_engagement_of`` are what ON DELETE CASCADE (and the counter triggers it fires)
do in PostgreSQL when a video or a user goes.

Live events are buffered by the unit of work and handed to the store's listeners when it
commits, in commit order (the store's lock makes units of work serial).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

import attrs

from adapters.messages import event_from_json, event_json
from momentic_core.errors import NotFound
from momentic_core.model.accounts import Person
from momentic_core.model.engagement import (
    Comment,
    CommentLike,
    CommentView,
    Notification,
    NotificationKind,
    NotificationView,
    ReactionChange,
    ReactionKind,
    Reactor,
    UserReaction,
)
from momentic_core.model.events import Event

from .store import ReactionRow

if TYPE_CHECKING:
    from .store import MemoryStore

log = logging.getLogger(__name__)


def _no_comment() -> NotFound:
    return NotFound("No such comment.", code="comment_not_found")


def _visible_user(store: MemoryStore, viewer: int, user_id: int, now: datetime) -> bool:
    user = store.users.get(user_id)
    if user is None or user.hidden_at(now):
        return False
    return (viewer, user_id) not in store.blocks and (user_id, viewer) not in store.blocks


def _bump_reactions(store: MemoryStore, video_id: int, kind: str, by: int) -> None:
    video = store.videos.get(video_id)
    if video is not None:
        counts = dict(video.reactions)
        counts[kind] += by
        store.videos[video_id] = attrs.evolve(video, reactions=counts)


def _recount_comments(store: MemoryStore, video_ids: set[int]) -> None:
    """What the comments_count trigger keeps in PostgreSQL: a video counts its visible
    top-level comments and their visible replies; a comment counts its visible replies."""
    for video_id in video_ids:
        comments = [c for c in store.comments.values() if c.video_id == video_id]
        shown = {c.id for c in comments if not c.hidden}
        visible_replies = Counter(
            c.parent_id for c in comments if c.parent_id is not None and c.id in shown
        )
        for c in comments:
            replies = visible_replies[c.id]
            if c.reply_count != replies:
                store.comments[c.id] = attrs.evolve(c, reply_count=replies)
        video = store.videos.get(video_id)
        if video is not None:
            count = sum(
                1 for c in comments
                if c.id in shown and (c.parent_id is None or c.parent_id in shown)
            )
            store.videos[video_id] = attrs.evolve(video, comment_count=count)


def _bump_comment(store: MemoryStore, comment_id: int, *, likes: int) -> None:
    comment = store.comments.get(comment_id)
    if comment is not None:
        store.comments[comment_id] = attrs.evolve(
            comment, like_count=comment.like_count + likes
        )


def _drop_comments(store: MemoryStore, ids: set[int]) -> None:
    """Delete comments (with their likes and notifications), keeping counters in step."""
    videos = {store.comments[cid].video_id for cid in ids if cid in store.comments}
    for cid in ids:
        store.comments.pop(cid, None)
    _recount_comments(store, videos)
    store.comment_likes = {k: v for k, v in store.comment_likes.items() if k[0] not in ids}
    store.notifications = {
        k: n for k, n in store.notifications.items() if n.comment_id not in ids
    }


def _with_replies(store: MemoryStore, ids: set[int]) -> set[int]:
    return ids | {c.id for c in store.comments.values() if c.parent_id in ids}


def forget_video(store: MemoryStore, video_id: int) -> None:
    """Once a video is gone: its reactions, comments and notifications go too."""
    store.reactions = {k: v for k, v in store.reactions.items() if k[0] != video_id}
    ids = {c.id for c in store.comments.values() if c.video_id == video_id}
    _drop_comments(store, ids)
    store.notifications = {
        k: n for k, n in store.notifications.items() if n.video_id != video_id
    }


def forget_engagement_of(store: MemoryStore, user_id: int) -> None:
    """Once a user is gone: their reactions, comments (with replies), likes and
    notifications go, and the counters on what they touched follow."""
    for (video_id, uid), row in list(store.reactions.items()):
        if uid == user_id:
            del store.reactions[(video_id, uid)]
            _bump_reactions(store, video_id, row.kind.value, -1)
    for comment_id, uid in [k for k in store.comment_likes if k[1] == user_id]:
        del store.comment_likes[(comment_id, uid)]
        _bump_comment(store, comment_id, likes=-1)
    _drop_comments(
        store, _with_replies(store, {c.id for c in store.comments.values()
                                     if c.author_id == user_id})
    )
    store.notifications = {
        k: n for k, n in store.notifications.items()
        if n.user_id != user_id and n.actor_id != user_id
    }


class InMemoryReactionRepository:
    def __init__(self, store: MemoryStore, now: Callable[[], datetime]) -> None:
        self._s = store
        self._now = now

    def _counts(self, video_id: int) -> dict[str, int]:
        return dict(self._s.videos[video_id].reactions)

    async def set(
        self, user_id: int, video_id: int, kind: ReactionKind, at: datetime
    ) -> ReactionChange:
        s = self._s
        if video_id not in s.videos:
            raise NotFound("No such video.", code="video_not_found")
        if user_id not in s.users:
            raise NotFound("No such user.", code="user_not_found")
        old = s.reactions.get((video_id, user_id))
        if old is None:
            s.reactions[(video_id, user_id)] = ReactionRow(kind, at)
            _bump_reactions(s, video_id, kind.value, 1)
        elif old.kind is not kind:
            s.reactions[(video_id, user_id)] = attrs.evolve(old, kind=kind)
            _bump_reactions(s, video_id, old.kind.value, -1)
            _bump_reactions(s, video_id, kind.value, 1)
        return ReactionChange(
            old.kind if old else None, self._counts(video_id), old.created_at if old else None
        )

    async def remove(self, user_id: int, video_id: int) -> ReactionChange | None:
        old = self._s.reactions.pop((video_id, user_id), None)
        if old is None:
            return None
        _bump_reactions(self._s, video_id, old.kind.value, -1)
        return ReactionChange(old.kind, self._counts(video_id), old.created_at)

    async def get(self, user_id: int, video_id: int) -> ReactionKind | None:
        row = self._s.reactions.get((video_id, user_id))
        return row.kind if row else None

    async def mine(self, user_id: int, video_ids: list[int]) -> dict[int, ReactionKind]:
        rows = self._s.reactions
        return {v: rows[(v, user_id)].kind for v in video_ids if (v, user_id) in rows}

    async def by_user(
        self, user_id: int, after_video_id: int | None, limit: int
    ) -> list[UserReaction]:
        found = sorted(
            (
                UserReaction(vid, row.kind, row.created_at)
                for (vid, uid), row in self._s.reactions.items()
                if uid == user_id and (after_video_id is None or vid > after_video_id)
            ),
            key=lambda r: r.video_id,
        )
        return found[: max(0, limit)]

    async def list(
        self, video_id: int, viewer: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[Reactor]:
        s, now = self._s, self._now()
        rows = [
            (row.created_at, uid, row)
            for (vid, uid), row in s.reactions.items()
            if vid == video_id and _visible_user(s, viewer, uid, now)
            and (after is None or (row.created_at, uid) < after)
        ]
        rows.sort(key=lambda r: (r[0], r[1]), reverse=True)
        return [
            Reactor(Person.of(s.users[uid]), row.kind, at)
            for at, uid, row in rows[: max(0, limit)]
        ]


class InMemoryCommentRepository:
    def __init__(self, store: MemoryStore, now: Callable[[], datetime]) -> None:
        self._s = store
        self._now = now

    async def add(self, comment: Comment) -> Comment:
        s = self._s
        if comment.video_id not in s.videos:
            raise NotFound("No such video.", code="video_not_found")
        if comment.author_id not in s.users:
            raise NotFound("No such user.", code="user_not_found")
        if comment.parent_id is not None and comment.parent_id not in s.comments:
            raise _no_comment()
        comment = attrs.evolve(
            comment, id=next(s.ids), like_count=0, reply_count=0, hidden=False
        )
        s.comments[comment.id] = comment
        _recount_comments(s, {comment.video_id})
        return s.comments[comment.id]

    async def get(self, comment_id: int) -> Comment:
        try:
            return self._s.comments[comment_id]
        except KeyError:
            raise _no_comment() from None

    async def get_for_update(self, comment_id: int) -> Comment:
        return await self.get(comment_id)

    async def view(self, comment_id: int, viewer: int) -> CommentView:
        comment = await self.get(comment_id)
        return CommentView(
            comment,
            Person.of(self._s.users[comment.author_id]),
            (comment_id, viewer) in self._s.comment_likes,
        )

    async def edit(self, comment_id: int, body: str, at: datetime) -> Comment:
        comment = attrs.evolve(await self.get(comment_id), body=body, edited_at=at)
        self._s.comments[comment_id] = comment
        return comment

    async def set_hidden(self, comment_id: int, hidden: bool) -> None:
        comment = await self.get(comment_id)
        self._s.comments[comment_id] = attrs.evolve(comment, hidden=hidden)
        _recount_comments(self._s, {comment.video_id})

    async def visible_count(self, video_id: int, author_id: int) -> int:
        return sum(
            1 for c in self._s.comments.values()
            if c.video_id == video_id and c.author_id == author_id and not c.hidden
        )

    async def delete(self, comment_id: int) -> int:
        if comment_id not in self._s.comments:
            return 0
        ids = _with_replies(self._s, {comment_id})
        _drop_comments(self._s, ids)
        return len(ids)

    async def by_author(
        self, author_id: int, after_id: int | None, limit: int
    ) -> list[CommentView]:
        s = self._s
        found = sorted(
            (c for c in s.comments.values()
             if c.author_id == author_id and (after_id is None or c.id > after_id)),
            key=lambda c: c.id,
        )
        return [
            CommentView(c, Person.of(s.users[author_id]), (c.id, author_id) in s.comment_likes)
            for c in found[: max(0, limit)]
        ]

    async def likes_by_user(
        self, user_id: int, after_comment_id: int | None, limit: int
    ) -> list[CommentLike]:
        s = self._s
        found = sorted(
            (
                CommentLike(cid, s.comments[cid].video_id, at)
                for (cid, uid), at in s.comment_likes.items()
                if uid == user_id and (after_comment_id is None or cid > after_comment_id)
            ),
            key=lambda like: like.comment_id,
        )
        return found[: max(0, limit)]

    async def list(
        self,
        video_id: int,
        parent_id: int | None,
        viewer: int,
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[CommentView]:
        s, now = self._s, self._now()
        found = sorted(
            (
                c for c in s.comments.values()
                if c.video_id == video_id and c.parent_id == parent_id and not c.hidden
                and (after is None or (c.created_at, c.id) > after)
                and _visible_user(s, viewer, c.author_id, now)
            ),
            key=lambda c: (c.created_at, c.id),
        )
        return [
            CommentView(c, Person.of(s.users[c.author_id]), (c.id, viewer) in s.comment_likes)
            for c in found[: max(0, limit)]
        ]

    async def like(self, comment_id: int, user_id: int, at: datetime) -> tuple[bool, int]:
        comment = await self.get(comment_id)
        if user_id not in self._s.users:
            raise NotFound("No such user.", code="user_not_found")
        if (comment_id, user_id) in self._s.comment_likes:
            return False, comment.like_count
        self._s.comment_likes[(comment_id, user_id)] = at
        _bump_comment(self._s, comment_id, likes=1)
        return True, self._s.comments[comment_id].like_count

    async def unlike(self, comment_id: int, user_id: int) -> tuple[bool, int]:
        comment = await self.get(comment_id)
        if self._s.comment_likes.pop((comment_id, user_id), None) is None:
            return False, comment.like_count
        _bump_comment(self._s, comment_id, likes=-1)
        return True, self._s.comments[comment_id].like_count


class InMemoryNotificationRepository:
    def __init__(self, store: MemoryStore, now: Callable[[], datetime]) -> None:
        self._s = store
        self._now = now

    async def add(self, notification: Notification) -> Notification | None:
        s = self._s
        if notification.user_id not in s.users:
            raise NotFound("No such user.", code="user_not_found")
        # What PostgreSQL's foreign keys refuse (notifications_*_fkey in db.py).
        if notification.actor_id is not None and notification.actor_id not in s.users:
            raise NotFound("No such user.", code="user_not_found")
        if notification.video_id is not None and notification.video_id not in s.videos:
            raise NotFound("No such video.", code="video_not_found")
        if notification.comment_id is not None and notification.comment_id not in s.comments:
            raise NotFound("No such comment.", code="comment_not_found")
        if notification.dedupe_key is not None and any(
            n.user_id == notification.user_id and n.dedupe_key == notification.dedupe_key
            for n in s.notifications.values()
        ):
            return None
        stored = attrs.evolve(notification, id=next(s.ids))
        s.notifications[stored.id] = stored
        return stored

    async def list(
        self, user_id: int, before_id: int | None, limit: int
    ) -> list[NotificationView]:
        s, now = self._s, self._now()
        found = sorted(
            (
                n for n in s.notifications.values()
                if n.user_id == user_id and (before_id is None or n.id < before_id)
            ),
            key=lambda n: n.id,
            reverse=True,
        )[: max(0, limit)]
        # A hidden comment's preview (a moderation notice keeps its reason) and a blocked
        # (either way), banned or suspended actor are not shown, nor that actor's words.
        views = []
        for n in found:
            actor = s.users.get(n.actor_id) if n.actor_id is not None else None
            if actor is not None and (
                actor.hidden_at(now)
                or (user_id, actor.id) in s.blocks
                or (actor.id, user_id) in s.blocks
            ):
                actor = None
            comment = s.comments.get(n.comment_id) if n.comment_id is not None else None
            unshown = (comment is not None and comment.hidden) or (
                n.actor_id is not None and actor is None
            )
            if unshown and n.kind in (NotificationKind.COMMENT, NotificationKind.REPLY):
                n = attrs.evolve(n, text=None)
            views.append(NotificationView(n, Person.of(actor) if actor else None))
        return views

    async def unread_count(self, user_id: int) -> int:
        return sum(
            1 for n in self._s.notifications.values() if n.user_id == user_id and not n.read_at
        )

    async def unread_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        counts: dict[int, int] = dict.fromkeys(user_ids, 0)
        for n in self._s.notifications.values():
            if n.user_id in counts and not n.read_at:
                counts[n.user_id] += 1
        return counts

    async def mark_read(self, user_id: int, notification_id: int, at: datetime) -> bool:
        n = self._s.notifications.get(notification_id)
        if n is None or n.user_id != user_id:
            return False
        if n.read_at is None:
            self._s.notifications[notification_id] = attrs.evolve(n, read_at=at)
        return True

    async def mark_all_read(self, user_id: int, at: datetime) -> int:
        count = 0
        for key, n in list(self._s.notifications.items()):
            if n.user_id == user_id and n.read_at is None:
                self._s.notifications[key] = attrs.evolve(n, read_at=at)
                count += 1
        return count


class InMemoryEventOutbox:
    """Buffers a unit of work's events; the unit of work flushes them on commit."""

    def __init__(self) -> None:
        self.pending: list[Event] = []

    async def emit(self, event: Event) -> None:
        # Through JSON, as between instances: an event that does not survive the trip
        # fails here, in the use case, on memory too.
        self.pending.append(event_from_json(json.loads(json.dumps(event_json(event)))))


class InMemoryLiveEventSource:
    """Delivers the events of the store's committed units of work (this process only)."""

    def __init__(self, store: MemoryStore) -> None:
        self._s = store
        self._deliver: Callable[[Event], None] | None = None

    async def start(self, deliver: Callable[[Event], None]) -> None:
        self._deliver = deliver
        self._s.listeners.append(deliver)

    async def stop(self) -> None:
        if self._deliver in self._s.listeners:
            self._s.listeners.remove(self._deliver)
        self._deliver = None

    def listening(self) -> int | None:
        return 1 if self._deliver is not None else None  # in process: nothing is lost


def publish(store: MemoryStore, events: list[Event]) -> None:
    for event in events:
        for deliver in list(store.listeners):
            try:
                deliver(event)
            except Exception:  # one broken listener must not stop the others
                log.exception("live event listener failed")
