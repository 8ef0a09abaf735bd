"""Reactions, comments, notifications and the live events that tell clients about them."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from momentic_core.model.accounts import User


class ReactionKind(enum.StrEnum):
    HEART = "heart"
    FLAME = "flame"
    FUNNY = "funny"
    ANGRY = "angry"


REACTION_KINDS: tuple[str, ...] = tuple(kind.value for kind in ReactionKind)


def no_reactions() -> dict[str, int]:
    return dict.fromkeys(REACTION_KINDS, 0)


@attrs.frozen
class Reactor:
    """Who reacted to a video, how, and when."""

    user: User
    kind: ReactionKind
    created_at: datetime


@attrs.frozen
class UserReaction:
    """A reaction as its user made it: to which video, how, and when."""

    video_id: int
    kind: ReactionKind
    created_at: datetime


@attrs.frozen
class ReactionChange:
    """What setting or removing a reaction did: the kind before, and the video's counts
    after (read under the video's row lock, so they are the committed truth)."""

    previous: ReactionKind | None
    counts: dict[str, int]
    since: datetime | None = None  # when the reaction that was there had been made


@attrs.frozen
class Comment:
    id: int
    video_id: int
    author_id: int
    body: str
    created_at: datetime
    parent_id: int | None = None  # a reply to this top-level comment
    edited_at: datetime | None = None
    like_count: int = 0
    reply_count: int = 0
    hidden: bool = False  # by moderation: held past the report threshold, or removed


@attrs.frozen
class CommentView:
    comment: Comment
    author: User
    liked_by_me: bool = False


@attrs.frozen
class CommentLike:
    """A like as its user gave it: which comment (of which video), and when."""

    comment_id: int
    video_id: int
    created_at: datetime


class NotificationKind(enum.StrEnum):
    FRIEND_REQUEST = "friend_request"
    FRIEND_ACCEPTED = "friend_accepted"
    REACTION = "reaction"
    COMMENT = "comment"
    REPLY = "reply"
    VIDEO_READY = "video_ready"
    VIDEO_REJECTED = "video_rejected"
    MODERATION = "moderation"


@attrs.frozen
class Notification:
    id: int
    user_id: int  # who is notified
    kind: NotificationKind
    created_at: datetime
    actor_id: int | None = None  # who caused it (None: the system)
    video_id: int | None = None
    comment_id: int | None = None
    text: str | None = None  # a preview (comment) or a reason (rejection, moderation)
    read_at: datetime | None = None
    # One notification per key and user: reacting again after a removal does not notify
    # twice. None: no deduplication.
    dedupe_key: str | None = None


@attrs.frozen
class NotificationView:
    notification: Notification
    actor: User | None


@attrs.frozen
class LiveEvent:
    """Something a connected client should hear about, on a channel.

    Channels: ``video:{id}`` (comments, reaction counts) and ``user:{id}`` (that user's
    notifications, their videos' states, and ``account.*`` / ``session.*`` control events
    that close their sockets). ``data`` is JSON-ready; user references carry
    ``avatar_key``, which the edge turns into a URL."""

    channel: str
    type: str
    data: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"channel": self.channel, "type": self.type, "data": self.data}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> LiveEvent:
        return cls(channel=str(raw["channel"]), type=str(raw["type"]), data=dict(raw["data"]))


def video_channel(video_id: int) -> str:
    return f"video:{video_id}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"


ACCESS_CHANGED = "access.changed"


def access_changed(user_id: int) -> LiveEvent:
    """Tells the user's sockets that what they may read changed on their side: their post
    that opened friends' moments went (deleted, held or removed), so the BeReal lock may
    close again. Their video subscriptions are checked again; never forwarded."""
    return LiveEvent(user_channel(user_id), ACCESS_CHANGED, {})


def brief(user: User) -> dict[str, Any]:
    """The public fields of a user that live events carry."""
    return {
        "id": user.id,
        "nickname": user.nickname,
        "name": user.name,
        "surname": user.surname,
        "avatar_key": user.avatar_key,
    }
