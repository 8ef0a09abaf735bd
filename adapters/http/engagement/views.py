"""Request and response views of the engagement area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import attrs

from adapters.http.views import (
    _ID,
    CommentOut,
    CommentText,
    MediaUrl,
    MyReaction,
    NotificationOut,
    ReactionCountsOut,
    ReactionName,
    UserCard,
    _present,
)
from momentic_core.model.engagement import Reactor

# ---------------------------------------------------------------- reactions and comments


@attrs.frozen
class ReactionBody:
    kind: ReactionName


@attrs.frozen
class ReactionsOut(ReactionCountsOut):
    __schema_name__ = "ReactionState"

    my_reaction: MyReaction


@attrs.frozen
class ReactorOut:
    user: UserCard
    kind: ReactionName
    created_at: datetime

    @classmethod
    def of(cls, r: Reactor, media_url: MediaUrl) -> ReactorOut:
        return cls(UserCard.of(r.user, media_url), r.kind.value, r.created_at)


@attrs.frozen
class ReactorPage:
    items: list[ReactorOut]
    next_cursor: str | None


@attrs.frozen
class CommentBody:
    body: CommentText
    parent_id: Annotated[int | None, _present(
        "integer", _ID, description="Reply to this top-level comment.")] = None


@attrs.frozen
class CommentPatchBody:
    body: CommentText


@attrs.frozen
class CommentPage:
    items: list[CommentOut]
    next_cursor: str | None


@attrs.frozen
class LikeOut:
    comment_id: int
    like_count: int
    liked_by_me: bool


# ---------------------------------------------------------------- notifications


@attrs.frozen
class NotificationPage:
    items: list[NotificationOut]
    unread_count: int
    next_cursor: str | None


@attrs.frozen
class MarkedRead:
    marked_read: int = attrs.field(metadata={"description": "How many were unread."})
