"""Helpers for the engagement contract suite (each call commits on its own), the
counter check, and a listener that tests can wait on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any

import asyncpg

from momentic_core.errors import NotFound
from momentic_core.model.engagement import (
    Comment,
    Notification,
    NotificationKind,
    ReactionChange,
    ReactionKind,
    no_reactions,
)
from momentic_core.model.events import Event

from .support import T0, Adapters


async def react(
    backend: Adapters, user_id: int, video_id: int, kind: ReactionKind, at: datetime = T0
) -> ReactionChange:
    async with backend.uow() as tx:
        return await tx.reactions.set(user_id, video_id, kind, at)


async def comment(
    backend: Adapters,
    author_id: int,
    video_id: int,
    parent_id: int | None = None,
    at: datetime = T0,
    body: str = "nice",
) -> Comment:
    async with backend.uow() as tx:
        return await tx.comments.add(
            Comment(id=0, video_id=video_id, author_id=author_id, body=body, created_at=at,
                    parent_id=parent_id)
        )


async def like(backend: Adapters, comment_id: int, user_id: int) -> tuple[bool, int]:
    async with backend.uow() as tx:
        return await tx.comments.like(comment_id, user_id, T0)


def new_notification(user_id: int, **fields: Any) -> Notification:
    values: dict[str, Any] = {
        "id": 0,
        "user_id": user_id,
        "kind": NotificationKind.COMMENT,
        "created_at": T0,
    }
    values.update(fields)
    return Notification(**values)


async def notify(backend: Adapters, user_id: int, **fields: Any) -> Notification | None:
    async with backend.uow() as tx:
        return await tx.notifications.add(new_notification(user_id, **fields))


# ---- counters equal rows -----------------------------------------------------------

# Every counter that does not equal its rows, for the whole PostgreSQL database.
_DRIFT_SQL = """
SELECT 'video ' || v.id AS drift FROM videos v
WHERE v.heart_count <> (SELECT count(*) FROM reactions r
                        WHERE r.video_id = v.id AND r.kind = 'heart')
   OR v.flame_count <> (SELECT count(*) FROM reactions r
                        WHERE r.video_id = v.id AND r.kind = 'flame')
   OR v.funny_count <> (SELECT count(*) FROM reactions r
                        WHERE r.video_id = v.id AND r.kind = 'funny')
   OR v.angry_count <> (SELECT count(*) FROM reactions r
                        WHERE r.video_id = v.id AND r.kind = 'angry')
   OR v.comment_count <> (SELECT count(*) FROM comments c
                          LEFT JOIN comments p ON p.id = c.parent_id
                          WHERE c.video_id = v.id AND NOT c.hidden
                            AND NOT coalesce(p.hidden, false))
UNION ALL
SELECT 'comment ' || c.id FROM comments c
WHERE c.reply_count <> (SELECT count(*) FROM comments x
                        WHERE x.parent_id = c.id AND NOT x.hidden)
   OR c.like_count <> (SELECT count(*) FROM comment_likes l WHERE l.comment_id = c.id)
"""


async def _existing(backend: Adapters, ids: list[int], getter: str) -> dict[int, Any]:
    """The rows among ``ids`` that still exist, read one unit of work each (a NotFound
    ends a PostgreSQL transaction)."""
    found: dict[int, Any] = {}
    for row_id in ids:
        try:
            async with backend.uow() as tx:
                found[row_id] = await getattr(tx, getter).get(row_id)
        except NotFound:
            pass
    return found


async def assert_counters_match_rows(
    backend: Adapters,
    users: list[int],
    videos: list[int],
    comments: list[int],
    pool: asyncpg.Pool | None = None,
) -> None:
    """Recount through the public ports, over every user, video and comment the test
    made (gone ones included: a row of theirs that lingers shows up as a mismatch):
    each video's reactions by kind and reachable comments (hidden ones and the replies of
    hidden ones count nowhere), each comment's visible replies and likes.
    With ``pool`` (PostgreSQL), also check every counter in the database by SQL."""
    live_videos = await _existing(backend, videos, "videos")
    live_comments = await _existing(backend, comments, "comments")
    async with backend.uow() as tx:
        for video_id, video in live_videos.items():
            counts = no_reactions()
            for user_id in users:
                kind = await tx.reactions.get(user_id, video_id)
                if kind is not None:
                    counts[kind.value] += 1
            on_video = [
                c for c in live_comments.values()
                if c.video_id == video_id and not c.hidden
                and (c.parent_id is None or not live_comments[c.parent_id].hidden)
            ]
            assert (video.reactions, video.comment_count) == (counts, len(on_video)), video_id
        for comment_id, stored in live_comments.items():
            replies = [
                c for c in live_comments.values() if c.parent_id == comment_id and not c.hidden
            ]
            likes = 0
            for user_id in users:
                likes += (await tx.comments.view(comment_id, user_id)).liked_by_me
            assert (stored.reply_count, stored.like_count) == (len(replies), likes), comment_id
        for user_id in users:  # no reaction or like on a video or comment that is gone
            for video_id in set(videos) - set(live_videos):
                assert await tx.reactions.get(user_id, video_id) is None
    if pool is not None:
        drift = [row["drift"] for row in await pool.fetch(_DRIFT_SQL)]
        assert drift == []


# ---- live events ---------------------------------------------------------------------


class Heard:
    """A ``deliver`` callback that keeps what it hears and can be waited on."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._changed = asyncio.Event()

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        self._changed.set()

    def on(self, channel: str) -> list[Event]:
        return [e for e in self.events if e.channel == channel]

    async def until(self, done: Callable[[list[Event]], bool], guard: float = 20) -> None:
        """Wait until ``done(events)``; ``guard`` only keeps a broken test from hanging."""
        async with asyncio.timeout(guard):
            while not done(self.events):
                self._changed.clear()
                await self._changed.wait()
