"""Response views of hashtags and search (issue 20 item 5); their OpenAPI components are
generated from these classes (``adapters/http/schema.py``; the routes declare them)."""

from __future__ import annotations

from typing import Annotated, Literal

import attrs

from adapters.http.schema import Schema
from adapters.http.views import FeedItemOut, MediaUrl, UserCard
from momentic_core.model.search import TrendingTag, UserMatch
from momentic_core.policies import rules

# ---------------------------------------------------------------- hashtags and search

_TAG = Schema(minLength=1, maxLength=rules.HASHTAG_MAX,
              description="Folded (lower case), without #.")


@attrs.frozen
class HashtagPageOut:
    """A hashtag's videos, newest first, as the feeds show them."""

    tag: Annotated[str, _TAG]
    items: list[FeedItemOut]
    next_cursor: str | None
    prev_cursor: str | None


@attrs.frozen
class TrendingTagOut:
    tag: Annotated[str, _TAG]
    video_count: Annotated[int, Schema(minimum=1, description="Distinct videos.")]

    @classmethod
    def of(cls, t: TrendingTag) -> TrendingTagOut:
        return cls(t.tag, t.video_count)


@attrs.frozen
class TrendingOut:
    """The hashtags of the most public videos of the last window_hours, most first."""

    window_hours: int
    items: list[TrendingTagOut]


@attrs.frozen
class UserMatchOut:
    user: UserCard
    score: Annotated[float, Schema(minimum=0, maximum=1, description=(
        "pg_trgm similarity of the nickname to the query (a nickname that starts with "
        "the query matches whatever its score)."))]

    @classmethod
    def of(cls, m: UserMatch, media_url: MediaUrl) -> UserMatchOut:
        return cls(UserCard.of(m.user, media_url), m.score)


@attrs.frozen
class SearchResultsOut:
    """One kind of result per request (type): videos newest first, or users most similar
    first; the other list is empty."""

    type: Literal["videos", "users"]
    videos: list[FeedItemOut]
    users: list[UserMatchOut]
    next_cursor: str | None
