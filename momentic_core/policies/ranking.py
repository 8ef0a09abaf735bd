"""The For-You score. The Postgres adapter computes the same formula in SQL; the contract
suite checks both rank alike.

    score = weight_freshness  * 0.5 ** (age_hours / freshness_half_life_hours)
          + weight_engagement * (reaction_weight * reactions + comment_weight * comments)
                              / (age_hours + 1)
          + weight_friends    * friend_interactions

``age_hours`` is measured at the snapshot time (so a page sequence ranks one frozen
moment), ``friend_interactions`` counts my friends who reacted to or commented on it.
"""

from __future__ import annotations

from momentic_core.model.social import FeedSettings


def for_you_score(
    s: FeedSettings, age_hours: float, reactions: int, comments: int, friend_interactions: int
) -> float:
    age = max(0.0, age_hours)
    freshness: float = 0.5 ** (age / s.freshness_half_life_hours)
    engagement = (s.reaction_weight * reactions + s.comment_weight * comments) / (age + 1)
    return (
        s.weight_freshness * freshness
        + s.weight_engagement * engagement
        + s.weight_friends * friend_interactions
    )
