"""In-memory friendships, friend requests, blocks and feeds.

The tables live in ``MemoryStore`` (so a unit of work's snapshot covers them); these
classes are the repositories over them, with the PostgreSQL adapters' semantics:
friendships are kept in both directions, foreign keys are checked (NotFound
"user_not_found" / "video_not_found"), deleting a user drops their rows
(``forget_user``), and feeds leave out videos that are not ready, authors blocked either
way or muted by the viewer, banned or suspended authors and friends-only videos of
non-friends.

``_engagement`` and ``_signals`` are the one place each that reads reactions and
comments. For-You scores come from
``momentic_core.policies.ranking.for_you_score``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from momentic_core.errors import Conflict, NotFound
from momentic_core.model.accounts import FeedAuthor, Person, User
from momentic_core.model.social import (
    Contact,
    FeedItem,
    FeedSettings,
    FriendRequest,
    Keyset,
    Relation,
)
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.policies.ranking import for_you_score
from momentic_core.ports import Clock

from .store import SnapshotRow

if TYPE_CHECKING:
    from .store import MemoryStore



def _check_user(store: MemoryStore, *user_ids: int) -> None:
    if any(u not in store.users for u in user_ids):
        raise NotFound("The record it refers to does not exist.", code="user_not_found")


def forget_user(store: MemoryStore, user_id: int) -> None:
    """What ON DELETE CASCADE does in PostgreSQL once the user (and their videos) is gone."""
    s = store
    s.friendships = {k: v for k, v in s.friendships.items() if user_id not in k}
    s.friend_requests = {k: v for k, v in s.friend_requests.items() if user_id not in k}
    s.blocks = {k: v for k, v in s.blocks.items() if user_id not in k}
    s.mutes = {k: v for k, v in s.mutes.items() if user_id not in k}
    s.video_views = {k: v for k, v in s.video_views.items() if k[0] != user_id and k[1] in s.videos}
    s.feed_snapshots = {k: v for k, v in s.feed_snapshots.items() if v.user_id != user_id}


def _blocked_either_way(store: MemoryStore, a: int, b: int) -> bool:
    return (a, b) in store.blocks or (b, a) in store.blocks


class InMemorySocialRepository:
    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._s = store
        self._clock = clock

    async def relation(self, me: int, other: int) -> Relation:
        s = self._s
        if me == other:
            return Relation.SELF
        if (me, other) in s.blocks:
            return Relation.BLOCKED
        if (me, other) in s.friendships:
            return Relation.FRIENDS
        if (me, other) in s.friend_requests:
            return Relation.REQUEST_SENT
        if (other, me) in s.friend_requests:
            return Relation.REQUEST_RECEIVED
        return Relation.NONE

    async def blocked_either_way(self, a: int, b: int) -> bool:
        return _blocked_either_way(self._s, a, b)

    async def blocked_ids(self, user_id: int) -> set[int]:
        return {b if a == user_id else a for a, b in self._s.blocks if user_id in (a, b)}

    async def add_request(self, request: FriendRequest) -> None:
        key = (request.from_id, request.to_id)
        if request.from_id == request.to_id:
            raise ValueError("a friend request needs two users")
        if key in self._s.friend_requests:
            raise Conflict("You asked already.", code="request_exists")
        _check_user(self._s, *key)
        self._s.friend_requests[key] = request.created_at

    async def delete_request(self, from_id: int, to_id: int) -> bool:
        return self._s.friend_requests.pop((from_id, to_id), None) is not None

    async def lock_pair(self, a: int, b: int) -> None:
        """A unit of work holds the whole store: nothing else runs meanwhile."""

    async def add_friendship(self, a: int, b: int, at: datetime) -> None:
        if a == b:
            raise ValueError("a friendship needs two users")
        _check_user(self._s, a, b)
        self._s.friendships.setdefault((a, b), at)
        self._s.friendships.setdefault((b, a), at)
        self._s.friend_requests.pop((a, b), None)
        self._s.friend_requests.pop((b, a), None)

    async def remove_friendship(self, a: int, b: int) -> bool:
        one = self._s.friendships.pop((a, b), None)
        other = self._s.friendships.pop((b, a), None)
        return one is not None or other is not None

    async def add_block(self, blocker: int, blocked: int, at: datetime) -> None:
        if blocker == blocked:
            raise ValueError("a block needs two users")
        _check_user(self._s, blocker, blocked)
        await self.remove_friendship(blocker, blocked)
        self._s.friend_requests.pop((blocker, blocked), None)
        self._s.friend_requests.pop((blocked, blocker), None)
        self._s.blocks.setdefault((blocker, blocked), at)

    async def remove_block(self, blocker: int, blocked: int) -> bool:
        return self._s.blocks.pop((blocker, blocked), None) is not None

    async def add_mute(self, muter: int, muted: int, at: datetime) -> None:
        if muter == muted:
            raise ValueError("a mute needs two users")
        _check_user(self._s, muter, muted)
        self._s.mutes.setdefault((muter, muted), at)

    async def remove_mute(self, muter: int, muted: int) -> bool:
        return self._s.mutes.pop((muter, muted), None) is not None

    async def muted_ids(self, user_id: int) -> set[int]:
        return {b for a, b in self._s.mutes if a == user_id}

    async def has_muted(self, muter: int, muted: int) -> bool:
        return (muter, muted) in self._s.mutes

    async def list_contacts(
        self, user_id: int, kind: str, after: tuple[datetime, int] | None, limit: int
    ) -> list[Contact]:
        s = self._s
        pairs: dict[int, datetime]
        if kind == "friends":
            pairs = {b: at for (a, b), at in s.friendships.items() if a == user_id}
        elif kind == "incoming":
            pairs = {a: at for (a, b), at in s.friend_requests.items() if b == user_id}
        elif kind == "outgoing":
            pairs = {b: at for (a, b), at in s.friend_requests.items() if a == user_id}
        elif kind == "blocked":
            pairs = {b: at for (a, b), at in s.blocks.items() if a == user_id}
        elif kind == "muted":
            pairs = {b: at for (a, b), at in s.mutes.items() if a == user_id}
        else:
            raise ValueError(f"unknown contact list {kind!r}")
        now = self._clock.now()
        found = [
            Contact(user=Person.of(s.users[other]), since=since)
            for other, since in pairs.items()
            if kind in ("blocked", "muted") or not s.users[other].hidden_at(now)
        ]
        found = [c for c in found if after is None or (c.since, c.user.id) < after]
        found.sort(key=lambda c: (c.since, c.user.id), reverse=True)
        return found[: max(0, limit)]

    async def friend_count(self, user_id: int) -> int:
        return sum(1 for (a, _) in self._s.friendships if a == user_id)

    async def search(self, viewer: int, prefix: str, after: str | None, limit: int) -> list[Person]:
        s = self._s
        value = prefix.lower()
        start = None if after is None else after.lower()
        now = self._clock.now()
        found = [
            u
            for u in s.users.values()
            if u.nickname.lower().startswith(value)
            and (start is None or u.nickname.lower() > start)
            and u.id != viewer
            and not u.hidden_at(now)
            and not _blocked_either_way(s, viewer, u.id)
        ]
        # Code point order: what the text_pattern_ops index gives PostgreSQL.
        found.sort(key=lambda u: u.nickname.lower())
        return [Person.of(u) for u in found[: max(0, limit)]]


def _engagement(
    store: MemoryStore, viewer: int, video: Video
) -> tuple[dict[str, int], str | None, int]:
    """ENGAGEMENT of a feed item: reaction counts, the viewer's reaction, comment count."""
    mine = store.reactions.get((video.id, viewer))
    return dict(video.reactions), mine.kind.value if mine else None, video.comment_count


def friends_engaged(store: MemoryStore, viewer: int, video: Video) -> int:
    """How many of the viewer's friends reacted to or commented on ``video``."""
    people = {uid for (vid, uid) in store.reactions if vid == video.id}
    people |= {c.author_id for c in store.comments.values() if c.video_id == video.id}
    return sum(1 for uid in people if (viewer, uid) in store.friendships)


def _signals(store: MemoryStore, viewer: int, video: Video) -> tuple[int, int, int]:
    """FOR-YOU SIGNALS of a candidate: reactions, comments, and how many of the viewer's
    friends reacted to or commented on it."""
    friends = friends_engaged(store, viewer, video)
    return sum(video.reactions.values()), video.comment_count, friends


def _newness(row: tuple[Video, User]) -> tuple[datetime, int]:
    return row[0].created_at, row[0].id


class InMemoryFeedRepository:
    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._s = store
        self._clock = clock

    def _visible(self, viewer: int, video: Video, now: datetime) -> User | None:
        """The author, when the viewer may see ``video`` in a feed."""
        s = self._s
        author = s.users.get(video.author_id)
        if author is None or video.status is not VideoStatus.READY:
            return None
        if author.hidden_at(now) or _blocked_either_way(s, viewer, author.id):
            return None
        if (viewer, author.id) in s.mutes:  # muted: out of my feeds, still a friend
            return None
        if (
            video.visibility is not Visibility.PUBLIC
            and author.id != viewer
            and (viewer, author.id) not in s.friendships
        ):
            return None
        return author

    def _item(self, viewer: int, video: Video, author: User) -> FeedItem:
        reactions, mine, comments = _engagement(self._s, viewer, video)
        return FeedItem(
            video=video,
            author=FeedAuthor.of(author),  # the public part, as PostgreSQL's row has it
            reactions=reactions,
            my_reaction=mine,
            comment_count=comments,
        )

    def _page(
        self,
        viewer: int,
        videos: Iterable[Video],
        cursor: Keyset | None,
        newer: bool,
        limit: int,
    ) -> list[FeedItem]:
        now = self._clock.now()
        rows: list[tuple[Video, User]] = []
        for video in videos:
            author = self._visible(viewer, video, now)
            if author is not None:
                rows.append((video, author))
        key = _newness
        limit = max(0, limit)
        if cursor is not None:
            at = (cursor.created_at, cursor.id)
            if newer:
                rows = sorted((r for r in rows if key(r) > at), key=key)[:limit]
                rows.reverse()
                return [self._item(viewer, v, a) for v, a in rows]
            rows = [r for r in rows if key(r) < at]
        rows.sort(key=key, reverse=True)
        return [self._item(viewer, v, a) for v, a in rows[:limit]]

    async def friends_feed(
        self,
        viewer: int,
        since: datetime,
        until: datetime,
        cursor: Keyset | None,
        newer: bool,
        limit: int,
    ) -> list[FeedItem]:
        friends = {b for (a, b) in self._s.friendships if a == viewer}
        videos = (
            v
            for v in self._s.videos.values()
            if v.author_id in friends and since <= v.created_at < until
        )
        return self._page(viewer, videos, cursor, newer, limit)

    async def global_feed(
        self, viewer: int, cursor: Keyset | None, newer: bool, limit: int
    ) -> list[FeedItem]:
        videos = (v for v in self._s.videos.values() if v.visibility is Visibility.PUBLIC)
        return self._page(viewer, videos, cursor, newer, limit)

    def for_you_pool(self, as_of: datetime, settings: FeedSettings) -> list[Video]:
        """The candidates: the newest ``candidate_pool`` ready public videos of the window."""
        start = as_of - settings.candidate_window
        return sorted(
            (
                v for v in self._s.videos.values()
                if v.status is VideoStatus.READY
                and v.visibility is Visibility.PUBLIC
                and start <= v.created_at <= as_of
            ),
            key=lambda v: (v.created_at, v.id),
            reverse=True,
        )[: max(0, settings.candidate_pool)]

    def for_you_eligible(self, viewer: int, video: Video, at: datetime) -> bool:
        """Not mine, not seen, and visible to the viewer at ``at`` (both rankings)."""
        return not (
            video.author_id == viewer
            or (viewer, video.id) in self._s.video_views
            or self._visible(viewer, video, at) is None
        )

    async def rank_for_you(self, viewer: int, as_of: datetime, settings: FeedSettings) -> list[int]:
        s = self._s
        scored: list[tuple[float, int]] = []
        for video in self.for_you_pool(as_of, settings):
            if not self.for_you_eligible(viewer, video, as_of):
                continue
            reactions, comments, friends = _signals(s, viewer, video)
            age_hours = (as_of - video.created_at).total_seconds() / 3600.0
            score = for_you_score(settings, age_hours, reactions, comments, friends,
                                  video.view_count, video.completed_views)
            scored.append((score, video.id))
        scored.sort(reverse=True)  # best score first; ties: newest id first
        return [video_id for _, video_id in scored[: max(0, settings.candidate_limit)]]

    async def save_snapshot(
        self, viewer: int, video_ids: list[int], at: datetime, *, keep: int
    ) -> int:
        s = self._s
        _check_user(s, viewer)
        snapshot_id = next(s.ids)
        s.feed_snapshots[snapshot_id] = SnapshotRow(viewer, at, tuple(video_ids))
        mine = sorted((k for k, v in s.feed_snapshots.items() if v.user_id == viewer),
                      reverse=True)
        for k in mine[max(1, keep):]:
            del s.feed_snapshots[k]
        return snapshot_id

    async def latest_snapshot(self, viewer: int, after: datetime) -> int | None:
        mine = [k for k, v in self._s.feed_snapshots.items()
                if v.user_id == viewer and v.created_at > after]
        return max(mine, default=None)

    async def lock_snapshots(self, viewer: int) -> None:
        """A unit of work holds the whole store: nothing else runs meanwhile."""

    async def snapshot_page(
        self, snapshot_id: int, viewer: int, after_rank: int, limit: int
    ) -> list[tuple[int, FeedItem]]:
        s = self._s
        row = s.feed_snapshots.get(snapshot_id)
        if row is None or row.user_id != viewer:
            raise NotFound("That ranking has expired; start again.", code="snapshot_expired")
        now = self._clock.now()
        page: list[tuple[int, FeedItem]] = []
        after_rank = max(0, after_rank)
        for rank, video_id in enumerate(row.video_ids[after_rank:], start=after_rank + 1):
            if len(page) >= max(0, limit):
                break
            video = s.videos.get(video_id)
            author = None if video is None else self._visible(viewer, video, now)
            if video is not None and author is not None:
                page.append((rank, self._item(viewer, video, author)))
        return page

    async def delete_snapshots(self, created_before: datetime) -> int:
        s = self._s
        gone = [k for k, v in s.feed_snapshots.items() if v.created_at < created_before]
        for k in gone:
            del s.feed_snapshots[k]
        return len(gone)

    async def record_view(self, viewer: int, video_id: int, at: datetime) -> bool:
        s = self._s
        _check_user(s, viewer)
        if video_id not in s.videos:
            raise NotFound("The record it refers to does not exist.", code="video_not_found")
        if (viewer, video_id) in s.video_views:
            return False
        s.video_views[(viewer, video_id)] = at
        return True

    async def latest_post(self, user_id: int, since: datetime, until: datetime) -> datetime | None:
        return max((
            v.created_at for v in self._s.videos.values()
            if v.author_id == user_id and since <= v.created_at < until
            and v.status is VideoStatus.READY
        ), default=None)
