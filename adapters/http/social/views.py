"""Request and response views of the social area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

from typing import Annotated

import attrs

from adapters.http.schema import Schema
from adapters.http.views import _ID, ContactOut, FeedItemOut, NextCursor, UserCard, _present
from momentic_core.model.social import Relation
from momentic_core.policies import views as view_rules

# ---------------------------------------------------------------- videos


@attrs.frozen
class ViewBody:
    watched_seconds: Annotated[float, Schema(minimum=0, maximum=86_400, description=(
        "Seconds of the video I watched, from 0 to its duration_seconds (up to "
        f"{view_rules.TOLERANCE_SECONDS:g} s more is taken as the whole video; more than that "
        "is 422 invalid_watched_seconds). Report as playback goes on: the day's view keeps "
        "the most reported."))]


@attrs.frozen
class ViewOut:
    __schema_name__ = "ViewRecorded"

    video_id: int
    counted: bool = attrs.field(metadata={"description": (
        "This report added my view of the day (the first of the UTC day); false for later "
        "reports that day, and always for the author, whose views never count.")})
    watched_seconds: float | None = attrs.field(metadata={"description": (
        "The most I reported watching today (milliseconds); null for the author.")})
    completed: bool = attrs.field(metadata={"description": (
        f"Today's view reached the end (at least {view_rules.COMPLETE_SHARE:.0%} of the "
        "video).")})
    view_count: int = attrs.field(metadata={"description": (
        "The video's views after this report.")})


# ---------------------------------------------------------------- friends and feeds


@attrs.frozen
class FriendRequestBody:
    user_id: Annotated[int | None, _present("integer", _ID)] = None
    nickname: Annotated[str | None, _present("string")] = None


@attrs.frozen
class ContactPage:
    items: list[ContactOut]
    next_cursor: NextCursor


@attrs.frozen
class UserSearchPage:
    items: list[UserCard]
    next_cursor: NextCursor


@attrs.frozen
class RelationOut:
    relation: Annotated[str, Schema(enum=[Relation.REQUEST_SENT.value, Relation.FRIENDS.value])]


@attrs.frozen
class FeedPageOut:
    items: list[FeedItemOut]
    next_cursor: Annotated[str | None, Schema(description="Older items: pass as ?cursor=.")]
    prev_cursor: Annotated[str | None, Schema(
        description="Newer items that arrived since: pass as ?cursor= to pull them.")]


@attrs.frozen
class FriendsFeedOut:
    day: Annotated[str, Schema(format="date")]
    locked: bool
    items: list[FeedItemOut]
    next_cursor: str | None
    prev_cursor: str | None


@attrs.frozen
class RankedPageOut:
    items: list[FeedItemOut]
    next_cursor: NextCursor
