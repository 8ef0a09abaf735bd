"""The For-You score (``policies.ranking``) against numbers worked out by hand from the
formula in its docstring, and the order it gives the For-You feed on the memory adapters.

    score = weight_freshness  * 0.5 ** (age_hours / freshness_half_life_hours)
          + weight_engagement * (reaction_weight * reactions + comment_weight * comments)
                              / (age_hours + 1)
          + weight_friends    * friend_interactions
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from momentic_core.model.social import FeedSettings
from momentic_core.policies.ranking import for_you_score

from .ranking_support import make_world

# Weights that all differ, so a term computed with the wrong weight shows.
S = FeedSettings(
    weight_freshness=4.0,
    weight_engagement=3.0,
    weight_friends=5.0,
    reaction_weight=2.0,
    comment_weight=7.0,
    freshness_half_life_hours=6.0,
)


@pytest.mark.parametrize(
    ("age_hours", "reactions", "comments", "friends", "expected"),
    [
        # Two half-lives old: 4 * 0.25 = 1; (2*3 + 7*2) / 13 * 3 = 60/13; 5 * 2 = 10.
        (12.0, 3, 2, 2, 1 + 60 / 13 + 10),
        # Brand new: 4 * 1 = 4; (2*3 + 7*2) / 1 * 3 = 60; no friends.
        (0.0, 3, 2, 0, 4 + 60),
        # From the future (clock skew): counted as age 0, never fresher than new.
        (-3.0, 3, 2, 0, 4 + 60),
        # Comments only: 4 * 0.5 = 2; 7*4 / 7 * 3 = 12; 5 * 1 = 5.
        (6.0, 0, 4, 1, 2 + 12 + 5),
        # Reactions only, a day old: 4 * 0.0625 = 0.25; 2*10 / 25 * 3 = 2.4.
        (24.0, 10, 0, 0, 0.25 + 2.4),
        # Nothing but age: 4 * 0.5 ** 0.5.
        (3.0, 0, 0, 0, 4 * 2 ** -0.5),
    ],
)
def test_for_you_score_matches_the_formula_worked_by_hand(
    age_hours: float, reactions: int, comments: int, friends: int, expected: float
) -> None:
    assert for_you_score(S, age_hours, reactions, comments, friends) == pytest.approx(expected)


def test_comments_and_reactions_both_raise_the_score() -> None:
    base = for_you_score(S, 5.0, 1, 1, 0)
    assert for_you_score(S, 5.0, 1, 2, 0) - base == pytest.approx(3 * 7 / 6)
    assert for_you_score(S, 5.0, 2, 1, 0) - base == pytest.approx(3 * 2 / 6)
    assert for_you_score(S, 5.0, 1, 1, 1) - base == pytest.approx(5)


async def test_the_for_you_feed_ranks_by_engagement_comments_counting_most() -> None:
    # Default weights: reactions 1, comments 2, freshness 1, all posted together. Three
    # comments (6) beat five reactions (5), which beat nothing.
    world = make_world()
    ann, viewer = await world.add_user("ann"), await world.add_user("viewer")
    quiet = (await world.ready_post(ann)).id
    liked = (await world.ready_post(ann)).id
    discussed = (await world.ready_post(ann)).id
    for n in range(5):
        fan = await world.add_user(f"fan{n}")
        await world.engagement.react(fan, liked, "heart")
    for n in range(3):
        talker = await world.add_user(f"talker{n}")
        await world.engagement.comment(talker, discussed, "so good", None)
    world.clock.advance(timedelta(hours=1))
    page = await world.feeds.for_you(viewer, None, 10)
    assert [item.video.id for item in page.items] == [discussed, liked, quiet]
