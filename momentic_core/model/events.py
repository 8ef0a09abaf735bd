"""Live events: what a committed unit of work tells connected clients and every instance's
access cache (cosmicpython's ``domain/events.py``). One frozen class per kind, named in the
past tense and registered once under its wire name (``EVENTS``); each knows its channel.

A use case hands its events to the unit of work (``tx.events.emit``), which collects them
and lets them out only when it commits, in commit order, to every instance that shares the
store (ports.EventOutbox, ports.LiveEventSource). Events carry core values only; the
HTTP adapter renders each with the view classes REST uses (storage keys become URLs there),
and the stores' adapters carry them between instances as JSON (``adapters.messages``).

Channels: ``video:{id}`` (comments, reaction counts, the video's state) and ``user:{id}``
(that user's notifications and videos' states, and the control events below, which close
or re-check sockets and never reach clients as frames).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import ClassVar, TypeVar

import attrs

from momentic_core.model.accounts import Person
from momentic_core.model.engagement import Comment, Notification, user_channel, video_channel
from momentic_core.model.videos import VideoStatus, Visibility


class Event:
    """Base of every live event: ``name`` is its wire name (``comment.created``)."""

    name: ClassVar[str]
    control: ClassVar[bool] = False  # never forwarded to clients

    @property
    def channel(self) -> str:
        raise NotImplementedError

    @property
    def actor_id(self) -> int | None:
        """Who caused it, for sockets that drop events of users they block or mute; None
        for events without one (counts, likes, deletions)."""
        return None


EVENTS: dict[str, type[Event]] = {}
E = TypeVar("E", bound=type[Event])


def _named(name: str, *, control: bool = False) -> Callable[[E], E]:
    def register(cls: E) -> E:
        if name in EVENTS:
            raise ValueError(f"two events named {name}")
        cls.name, cls.control = name, control
        EVENTS[name] = cls
        return cls

    return register


# ---------------------------------------------------------------- on a video's channel


class _OnVideo(Event):
    @property
    def video_id(self) -> int:
        raise NotImplementedError

    @property
    def channel(self) -> str:
        return video_channel(self.video_id)


@_named("comment.created")
@attrs.frozen
class CommentCreated(_OnVideo):
    comment: Comment
    author: Person
    comment_count: int  # the video's, after

    @property
    def video_id(self) -> int:
        return self.comment.video_id

    @property
    def actor_id(self) -> int | None:
        return self.author.id


@_named("comment.edited")
@attrs.frozen
class CommentEdited(_OnVideo):
    comment: Comment
    author: Person

    @property
    def video_id(self) -> int:
        return self.comment.video_id

    @property
    def actor_id(self) -> int | None:
        return self.author.id


@_named("comment.deleted")
@attrs.frozen
class CommentDeleted(_OnVideo):
    id: int
    video_id: int
    parent_id: int | None
    comment_count: int


@_named("comment.hidden")
@attrs.frozen
class CommentHidden(_OnVideo):
    """Moderation held or removed a comment (and its replies)."""

    id: int
    video_id: int
    parent_id: int | None
    comment_count: int


@_named("comment.liked")
@attrs.frozen
class CommentLiked(_OnVideo):
    id: int
    video_id: int
    like_count: int


@_named("reactions.changed")
@attrs.frozen
class ReactionsChanged(_OnVideo):
    video_id: int
    reactions: dict[str, int]


@_named("video.hidden")
@attrs.frozen
class VideoHidden(_OnVideo):
    """Held or removed by moderation: its subscribers' access is checked again."""

    video_id: int


@_named("video.visibility_changed")
@attrs.frozen
class VisibilityChanged(_OnVideo):
    """The video's visibility in force changed: its subscribers' access is checked again,
    so one who may no longer read it is dropped."""

    video_id: int
    visibility: Visibility


# ---------------------------------------------------------------- on a user's channel


class _OnUser(Event):
    @property
    def user_id(self) -> int:
        raise NotImplementedError

    @property
    def channel(self) -> str:
        return user_channel(self.user_id)


@_named("notification.created")
@attrs.frozen
class NotificationCreated(_OnUser):
    notification: Notification
    actor: Person | None

    @property
    def user_id(self) -> int:
        return self.notification.user_id

    @property
    def actor_id(self) -> int | None:
        return self.actor.id if self.actor else None


@_named("video.status")
@attrs.frozen
class VideoStatusChanged(_OnUser):
    """Tells the author's sockets that their video moved to another state."""

    user_id: int  # the author
    video_id: int
    status: VideoStatus
    reason: str | None


@_named("relation.changed", control=True)
@attrs.frozen
class RelationChanged(_OnUser):
    """What ``user_id`` may see of ``other_id`` changed (a block, an unblock, an unfriend,
    a mute): their blocked set is reloaded and their subscriptions checked again."""

    user_id: int
    other_id: int


@_named("access.changed", control=True)
@attrs.frozen
class AccessChanged(_OnUser):
    """What the user may read changed on their side: their post that opened friends'
    moments went (deleted, held or removed), so the BeReal lock may close again. Their
    video subscriptions are checked again."""

    user_id: int


@_named("session.revoked", control=True)
@attrs.frozen
class SessionRevoked(_OnUser):
    """A session (``session_id``), or every session of the user but ``keep``, no longer
    holds: its sockets close and the access cache forgets the user."""

    user_id: int
    session_id: int | None = None
    keep: int | None = None


@_named("account.closed", control=True)
@attrs.frozen
class AccountClosed(_OnUser):
    """Banned, suspended (``until``; None: until lifted) or deleted: every socket closes."""

    user_id: int
    status: str  # banned, suspended or deleted
    until: datetime | None = None


@_named("account.changed", control=True)
@attrs.frozen
class AccountChanged(_OnUser):
    """A role raised: nothing to close; every instance reads the role again."""

    user_id: int


# Events that revoke or change access (the access cache forgets the user).
REVOKING = (SessionRevoked, AccountClosed, AccountChanged)
# Events after which a video's subscribers are checked again.
RECHECK_VIDEO = (VideoHidden, VisibilityChanged)
