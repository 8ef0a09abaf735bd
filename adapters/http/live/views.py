"""What each live event's frame carries: the event rendered by a view class, REST's own
where REST shows the same thing, so a frame's ``data`` is documented by the same component
as the REST answer (the document's WebSocket section names them, from ``FRAMES``).

A notification frame is the Notification REST lists; a comment frame is the comment REST
answers less the caller's own ``liked_by_me`` (SharedComment: one frame goes to every
listener alike); reaction counts are ReactionState less ``my_reaction``. Control events
(``Event.control``) have no frame.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

import attrs

from adapters.http.schema import Schema, one_of
from adapters.http.views import MediaUrl, NotificationOut, ReactionCountsOut, SharedCommentOut
from momentic_core.model.events import (
    CommentCreated,
    CommentDeleted,
    CommentEdited,
    CommentHidden,
    CommentLiked,
    Event,
    NotificationCreated,
    ReactionsChanged,
    VideoHidden,
    VideoStatusChanged,
    VisibilityChanged,
)
from momentic_core.model.videos import VideoStatus, Visibility

# ---------------------------------------------------------------- live frames


@attrs.frozen
class CommentCreatedOut(SharedCommentOut):
    """``comment.created``: the new comment, and the video's comment count after."""

    __schema_name__ = "CommentCreated"

    comment_count: int


@attrs.frozen
class CommentGoneOut:
    """``comment.deleted`` and ``comment.hidden`` (moderation held or removed it): which
    comment (its replies went with it), and the video's comment count after."""

    __schema_name__ = "CommentGone"

    id: int
    video_id: int
    parent_id: int | None
    comment_count: int


@attrs.frozen
class CommentLikedOut:
    """``comment.liked``: a comment's like count after a like or an unlike."""

    __schema_name__ = "CommentLiked"

    id: int
    video_id: int
    like_count: int


@attrs.frozen
class VideoHiddenOut:
    """``video.hidden``: held or removed; only its author and staff stay subscribed."""

    __schema_name__ = "VideoHidden"

    video_id: int


@attrs.frozen
class VisibilityChangedOut:
    """``video.visibility_changed``: subscribers who may no longer see it are dropped."""

    __schema_name__ = "VisibilityChanged"

    video_id: int
    visibility: Annotated[str, one_of(Visibility)]


@attrs.frozen
class VideoStatusOut:
    """``video.status`` (on the author's channel): their video moved to another state."""

    __schema_name__ = "VideoStatusChanged"

    video_id: int
    status: Annotated[str, one_of(VideoStatus)]
    reason: Annotated[str | None, Schema(description="Why it was rejected, if it was.")]


def _created(e: CommentCreated, media_url: MediaUrl) -> CommentCreatedOut:
    shared = SharedCommentOut.shown(e.comment, e.author, media_url)
    return CommentCreatedOut(**attrs.asdict(shared, recurse=False),
                             comment_count=e.comment_count)


# Every event that reaches clients: its view class and how the event becomes one.
FRAMES: dict[type[Event], tuple[type, Callable[[Any, MediaUrl], Any]]] = {
    CommentCreated: (CommentCreatedOut, _created),
    CommentEdited: (SharedCommentOut, lambda e, m: SharedCommentOut.shown(e.comment, e.author, m)),
    CommentDeleted: (CommentGoneOut, lambda e, _: CommentGoneOut(
        e.id, e.video_id, e.parent_id, e.comment_count)),
    CommentHidden: (CommentGoneOut, lambda e, _: CommentGoneOut(
        e.id, e.video_id, e.parent_id, e.comment_count)),
    CommentLiked: (CommentLikedOut, lambda e, _: CommentLikedOut(e.id, e.video_id, e.like_count)),
    ReactionsChanged: (ReactionCountsOut, lambda e, _: ReactionCountsOut(
        e.video_id, dict(e.reactions))),
    VideoHidden: (VideoHiddenOut, lambda e, _: VideoHiddenOut(e.video_id)),
    VisibilityChanged: (VisibilityChangedOut, lambda e, _: VisibilityChangedOut(
        e.video_id, e.visibility.value)),
    NotificationCreated: (NotificationOut, lambda e, m: NotificationOut.shown(
        e.notification, e.actor, m)),
    VideoStatusChanged: (VideoStatusOut, lambda e, _: VideoStatusOut(
        e.video_id, e.status.value, e.reason)),
}


def frame_data(event: Event, media_url: MediaUrl) -> Any | None:
    """The view a client gets for ``event``; None for events that reach no client."""
    entry = FRAMES.get(type(event))
    return None if entry is None else entry[1](event, media_url)
