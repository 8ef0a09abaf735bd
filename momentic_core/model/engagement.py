"""Reactions, comments and notifications (the live events about them: model.events)."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from momentic_core.model.accounts import Person


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
    """Who reacted to a video (their public part), how, and when."""

    user: Person
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
    author: Person  # the author's public part only
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
    actor: Person | None  # the actor's public part only


def video_channel(video_id: int) -> str:
    return f"video:{video_id}"


def user_channel(user_id: int) -> str:
    return f"user:{user_id}"
