"""The For-You score. The Postgres adapter computes the same formula in SQL; the contract
suite checks both rank alike.

    score = weight_freshness  * 0.5 ** (age_hours / freshness_half_life_hours)
          + weight_engagement * (reaction_weight * reactions + comment_weight * comments)
                              / (age_hours + 1)
          + weight_completion * completed_views / (views + 1)
          + weight_friends    * friend_interactions

``age_hours`` is measured at the snapshot time (so a page sequence ranks one frozen
moment), ``friend_interactions`` counts my friends who reacted to or commented on it.
The completion term is the share of views that reached the end, damped for few views
(one complete view of one is 0.5, nine of nine 0.9); its weight is the runtime setting
``for_you_completion_weight``, 0 (off) until measured.

The first three terms do not depend on the viewer: ``for_you_base`` is them, computed
ahead of requests into the ranked candidate table, and ``for_you_score`` adds the friend
term to it, so ``base + friends`` is the same float whether summed at once or later.
"""

from __future__ import annotations

from momentic_core.model.social import FeedSettings


def for_you_base(
    s: FeedSettings, age_hours: float, reactions: int, comments: int,
    views: int = 0, completed: int = 0,
) -> float:
    """The viewer-independent part of the score: freshness, engagement, completion."""
    age = max(0.0, age_hours)
    freshness: float = 0.5 ** (age / s.freshness_half_life_hours)
    engagement = (s.reaction_weight * reactions + s.comment_weight * comments) / (age + 1)
    completion = completed / (views + 1.0)
    return (s.weight_freshness * freshness + s.weight_engagement * engagement
            + s.weight_completion * completion)


def with_friends(s: FeedSettings, base: float, friend_interactions: int) -> float:
    """The score from its base and the viewer's friend signal."""
    return base + s.weight_friends * friend_interactions


def for_you_score(
    s: FeedSettings, age_hours: float, reactions: int, comments: int, friend_interactions: int,
    views: int = 0, completed: int = 0,
) -> float:
    base = for_you_base(s, age_hours, reactions, comments, views, completed)
    return with_friends(s, base, friend_interactions)
