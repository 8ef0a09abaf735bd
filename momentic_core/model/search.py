"""What search and hashtags answer: trending tags and nickname matches."""

from __future__ import annotations

import attrs

from momentic_core.model.accounts import Person


@attrs.frozen
class TrendingTag:
    """A hashtag and how many distinct videos used it in the window."""

    tag: str
    video_count: int


@attrs.frozen
class UserMatch:
    """A user whose nickname matches a query, with the nickname's pg_trgm similarity to
    it (what the results are ordered by, best first)."""

    user: Person  # the user's public part only
    score: float


# A position in a users' result list: (score, nickname) of its last match.
UserKeyset = tuple[float, str]
