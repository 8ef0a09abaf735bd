"""Friendships, friend requests, blocks, and what feeds are made of."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta

import attrs

from momentic_core.model.accounts import FeedAuthor, Person, User
from momentic_core.model.videos import Video


class Relation(enum.StrEnum):
    """How a user stands to me. Being blocked BY someone is never shown (they vanish)."""

    NONE = "none"
    SELF = "self"
    FRIENDS = "friends"
    REQUEST_SENT = "request_sent"
    REQUEST_RECEIVED = "request_received"
    BLOCKED = "blocked"  # I blocked them


@attrs.frozen
class FriendRequest:
    from_id: int
    to_id: int
    created_at: datetime


@attrs.frozen
class Contact:
    """A user in one of my lists (friends, requests, blocked), with when it began."""

    user: Person  # the user's public part only
    since: datetime


@attrs.frozen
class FeedItem:
    video: Video
    author: FeedAuthor  # the author's public part only
    reactions: dict[str, int]
    my_reaction: str | None
    comment_count: int
    locked: bool = False


@attrs.frozen
class Keyset:
    """A position in a newest-first list: (created_at, id) of an item."""

    created_at: datetime
    id: int


@attrs.frozen
class FeedPage:
    items: list[FeedItem]
    next: Keyset | None  # older items continue after this one
    prev: Keyset | None  # newer items (arrived since) come before this one


@attrs.frozen
class RankedPage:
    items: list[FeedItem]
    snapshot_id: int
    next_rank: int | None


@attrs.frozen
class FeedSettings:
    """Feed rules. Weights of the For-You score (see policies.ranking)."""

    weight_freshness: float = 1.0
    weight_engagement: float = 1.0
    weight_friends: float = 2.0
    # The share of views that reached the end (policies.ranking); the runtime setting
    # for_you_completion_weight replaces it (services.feeds).
    weight_completion: float = 0.0
    reaction_weight: float = 1.0
    comment_weight: float = 2.0
    freshness_half_life_hours: float = 24.0
    candidate_limit: int = 500
    candidate_pool: int = 5000  # only the newest N public videos are scored
    candidate_window: timedelta = timedelta(days=7)
    # The ranked candidate table (the viewer-independent part of the score) is rebuilt
    # this often by a job; a first page ranks from it while its refresh is younger than
    # candidate_stale_after, and at request time (the same formula) otherwise.
    candidate_refresh: timedelta = timedelta(seconds=60)
    candidate_stale_after: timedelta = timedelta(minutes=5)
    snapshot_ttl: timedelta = timedelta(hours=2)
    # A first page within this long of my newest ranking pages that ranking again
    # instead of writing a new one; a reused ranking still has ttl - reuse to be paged.
    snapshot_reuse: timedelta = timedelta(minutes=10)
    snapshots_per_user: int = 3  # saving a ranking drops my older ones beyond this many


@attrs.frozen
class VideoForViewer:
    """A video with what decides whether one viewer may see it, read together: its
    author, whether either has blocked the other, and whether they are friends; and the
    viewer (who acts on the video next: reactions and comments name them, so their
    public part only). The author is the account less its secrets: whether they are
    someone to others (their state) and private decide who may see the video; their
    email and password hash are never read (``email`` is "", ``password_hash`` None)."""

    video: Video
    author: User
    viewer: Person
    blocked: bool
    friends: bool
