# ruff: noqa: S608 -- queries interpolate only this module's and social's fixed fragments
# (column lists, conditions); every value travels as a $n parameter.
"""asyncpg adapters for reactions, comments, comment likes, notifications and the live
event outbox, bound to the connection of a ``PostgresUnitOfWork``.

The counters (``Video.reactions``, ``Video.comment_count``, ``Comment.reply_count``,
``Comment.like_count``) are kept by the triggers of migrations 20261127_04 and
20261207_03 (hidden comments count nowhere), in the same
transaction as the rows, whatever path changes them; nothing here writes a counter.

Where a method reports a previous state and the counts after it (``ReactionChange``,
``unlike``), it first locks the counted row (the video, the comment) ``FOR NO KEY
UPDATE``: that is the lock the counter triggers take, so every writer of that video's
reactions (or that comment's likes) queues there, and the next statement reads the
previous state fresh and knows the counts after exactly. Two round trips; reading the
previous state in the locking statement would use a snapshot taken before the wait.

Lists are one statement each that joins the author (or actor), leaves out users blocked
either way with the viewer and banned users and users whose suspension is in force at
the injected clock's time, and is keyset-paginated. Comment lists also leave out comments
hidden by moderation (``set_hidden``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

import asyncpg
import attrs

from momentic_core.errors import NotFound
from momentic_core.model.engagement import (
    Comment,
    CommentLike,
    CommentView,
    Notification,
    NotificationKind,
    NotificationView,
    ReactionChange,
    ReactionKind,
    Reactor,
    UserReaction,
)
from momentic_core.model.events import Event
from momentic_core.ports import Clock

from .live import CHANNEL, encode
from .repositories import Repository, _affected
from .social import _ACTIVE, _PERSON, _UNBLOCKED, _person_u, _Prefixed, _select
from .videos import UtcClock

_COUNTS = "heart_count, flame_count, funny_count, angry_count"
_COMMENT_COLUMNS = (
    "id, video_id, author_id, parent_id, body, created_at, edited_at, like_count, reply_count, "
    "hidden"
)
_NOTIFICATION_COLUMNS = (
    "id, user_id, kind, actor_id, video_id, comment_id, text, created_at, read_at, dedupe_key"
)
_C = _select(_COMMENT_COLUMNS, "c")
_N = _select(_NOTIFICATION_COLUMNS, "n")


def _no_video() -> NotFound:
    return NotFound("No such video.", code="video_not_found")


def _no_comment() -> NotFound:
    return NotFound("No such comment.", code="comment_not_found")


def _counts(row: asyncpg.Record) -> dict[str, int]:
    return {kind.value: int(row[f"{kind.value}_count"]) for kind in ReactionKind}


def _comment(row: asyncpg.Record) -> Comment:
    return Comment(
        id=row["id"],
        video_id=row["video_id"],
        author_id=row["author_id"],
        body=row["body"],
        created_at=row["created_at"],
        parent_id=row["parent_id"],
        edited_at=row["edited_at"],
        like_count=row["like_count"],
        reply_count=row["reply_count"],
        hidden=row["hidden"],
    )


def _comment_view(row: asyncpg.Record) -> CommentView:
    return CommentView(
        comment=_comment(cast(asyncpg.Record, _Prefixed(row, "c"))),
        author=_person_u(row),
        liked_by_me=row["liked_by_me"],
    )


def _notification(row: asyncpg.Record) -> Notification:
    return Notification(
        id=row["id"],
        user_id=row["user_id"],
        kind=NotificationKind(row["kind"]),
        created_at=row["created_at"],
        actor_id=row["actor_id"],
        video_id=row["video_id"],
        comment_id=row["comment_id"],
        text=row["text"],
        read_at=row["read_at"],
        dedupe_key=row["dedupe_key"],
    )


class PostgresReactionRepository(Repository):
    def __init__(self, conn: asyncpg.Connection, clock: Clock | None = None) -> None:
        super().__init__(conn)
        self._clock: Clock = clock or UtcClock()

    async def _lock_counts(self, video_id: int) -> dict[str, int] | None:
        """Hold the video's row as the counter trigger does; its counts (the newest
        committed ones: a locking read returns the row version it waited for)."""
        row = await self._fetchrow(
            f"SELECT {_COUNTS} FROM videos WHERE id = $1 FOR NO KEY UPDATE", video_id
        )
        return None if row is None else _counts(row)

    async def set(
        self, user_id: int, video_id: int, kind: ReactionKind, at: datetime
    ) -> ReactionChange:
        counts = await self._lock_counts(video_id)
        if counts is None:
            raise _no_video()
        # Under the lock no one else changes this video's reactions, so this statement's
        # snapshot holds the previous reaction, and the counts after follow from it.
        row = await self._fetchrow(
            """
            WITH previous AS (
                SELECT kind, created_at FROM reactions WHERE video_id = $1 AND user_id = $2
            ), upsert AS (
                INSERT INTO reactions (video_id, user_id, kind, created_at)
                VALUES ($1, $2, $3, $4)
                ON CONFLICT (video_id, user_id) DO UPDATE SET kind = EXCLUDED.kind
                WHERE reactions.kind <> EXCLUDED.kind
            )
            SELECT (SELECT kind FROM previous) AS kind,
                   (SELECT created_at FROM previous) AS created_at
            """,
            video_id,
            user_id,
            kind.value,
            at,
        )
        assert row is not None
        previous = None if row["kind"] is None else ReactionKind(row["kind"])
        if previous is not kind:
            if previous is not None:
                counts[previous.value] -= 1
            counts[kind.value] += 1
        return ReactionChange(previous, counts, row["created_at"])

    async def remove(self, user_id: int, video_id: int) -> ReactionChange | None:
        counts = await self._lock_counts(video_id)
        if counts is None:
            return None
        row = await self._fetchrow(
            """
            DELETE FROM reactions WHERE video_id = $1 AND user_id = $2
            RETURNING kind, created_at
            """,
            video_id,
            user_id,
        )
        if row is None:
            return None
        counts[row["kind"]] -= 1
        return ReactionChange(ReactionKind(row["kind"]), counts, row["created_at"])

    async def get(self, user_id: int, video_id: int) -> ReactionKind | None:
        kind = await self._fetchval(
            "SELECT kind FROM reactions WHERE video_id = $1 AND user_id = $2", video_id, user_id
        )
        return None if kind is None else ReactionKind(kind)

    async def mine(self, user_id: int, video_ids: list[int]) -> dict[int, ReactionKind]:
        rows = await self._fetch(
            "SELECT video_id, kind FROM reactions "
            "WHERE user_id = $1 AND video_id = ANY($2::bigint[])",
            user_id,
            video_ids,
        )
        return {r["video_id"]: ReactionKind(r["kind"]) for r in rows}

    async def by_user(
        self, user_id: int, after_video_id: int | None, limit: int
    ) -> list[UserReaction]:
        # A range of reactions_user_id_idx (user_id, video_id).
        rows = await self._keyset_page(
            """
            SELECT video_id, kind, created_at FROM reactions
            WHERE user_id = $1 AND video_id > $2
            ORDER BY video_id
            LIMIT $3
            """,
            user_id,
            after_video_id,
            limit,
        )
        return [
            UserReaction(r["video_id"], ReactionKind(r["kind"]), r["created_at"]) for r in rows
        ]

    async def list(
        self, video_id: int, viewer: int, after: tuple[datetime, int] | None, limit: int
    ) -> list[Reactor]:
        # $1 viewer, $2 video, $3 limit, $4 now, [$5 created_at, $6 user id of the keyset]:
        # a range of reactions_video_created_idx.
        args: list[Any] = [viewer, video_id, max(0, limit), self._clock.now()]
        keyset = ""
        if after is not None:
            keyset = "AND (r.created_at, r.user_id) < ($5, $6)"
            args += [after[0], after[1]]
        rows = await self._fetch(
            f"""
            SELECT r.kind AS reaction_kind, r.created_at AS reacted_at, {_PERSON}
            FROM reactions r
            JOIN users u ON u.id = r.user_id
            WHERE r.video_id = $2 {keyset}
              AND {_ACTIVE.format(now="$4")}
              AND {_UNBLOCKED.format(other="r.user_id")}
            ORDER BY r.created_at DESC, r.user_id DESC
            LIMIT $3
            """,
            *args,
        )
        return [
            Reactor(_person_u(row), ReactionKind(row["reaction_kind"]), row["reacted_at"])
            for row in rows
        ]


class PostgresCommentRepository(Repository):
    def __init__(self, conn: asyncpg.Connection, clock: Clock | None = None) -> None:
        super().__init__(conn)
        self._clock: Clock = clock or UtcClock()

    async def add(self, comment: Comment) -> Comment:
        """The counters start at zero whatever ``comment`` says; the triggers count the
        new comment on its video and, for a reply, on its parent."""
        row = await self._fetchrow(
            f"""
            INSERT INTO comments (video_id, author_id, parent_id, body, created_at, edited_at)
            VALUES ($1, $2, $3, $4, $5, $6)
            RETURNING {_COMMENT_COLUMNS}
            """,
            comment.video_id,
            comment.author_id,
            comment.parent_id,
            comment.body,
            comment.created_at,
            comment.edited_at,
        )
        assert row is not None
        return _comment(row)

    async def get(self, comment_id: int) -> Comment:
        return await self._get(comment_id, "")

    async def get_for_update(self, comment_id: int) -> Comment:
        return await self._get(comment_id, "FOR UPDATE")

    async def _get(self, comment_id: int, lock: str) -> Comment:
        row = await self._fetchrow(
            f"SELECT {_COMMENT_COLUMNS} FROM comments WHERE id = $1 {lock}", comment_id
        )
        if row is None:
            raise _no_comment()
        return _comment(row)

    async def view(self, comment_id: int, viewer: int) -> CommentView:
        row = await self._fetchrow(
            f"""
            SELECT {_C}, {_PERSON},
                   EXISTS (SELECT 1 FROM comment_likes l
                           WHERE l.comment_id = c.id AND l.user_id = $2) AS liked_by_me
            FROM comments c
            JOIN users u ON u.id = c.author_id
            WHERE c.id = $1
            """,
            comment_id,
            viewer,
        )
        if row is None:
            raise _no_comment()
        return _comment_view(row)

    async def edit(self, comment_id: int, body: str, at: datetime) -> Comment:
        row = await self._fetchrow(
            f"""
            UPDATE comments SET body = $2, edited_at = $3 WHERE id = $1
            RETURNING {_COMMENT_COLUMNS}
            """,
            comment_id,
            body,
            at,
        )
        if row is None:
            raise _no_comment()
        return _comment(row)

    async def set_hidden(self, comment_id: int, hidden: bool) -> None:
        """Raises NotFound(code="comment_not_found"). The comments_count trigger moves the
        counters with it (20261207_03_hidden_comments_uncounted)."""
        status = await self._execute(
            "UPDATE comments SET hidden = $2 WHERE id = $1", comment_id, hidden
        )
        if _affected(status) == 0:
            raise _no_comment()

    async def visible_count(self, video_id: int, author_id: int) -> int:
        return int(await self._fetchval(  # comments_author_id_idx (author_id, video_id)
            "SELECT count(*) FROM comments"
            " WHERE author_id = $1 AND video_id = $2 AND NOT hidden",
            author_id, video_id,
        ))

    async def delete(self, comment_id: int) -> int:
        # Replies, likes and notifications go by ON DELETE CASCADE; reply_count leaves
        # hidden replies out, so they are counted here. The row lock first (a new reply's
        # foreign-key check waits on it), then a statement whose snapshot follows it.
        if await self._fetchval(
            "SELECT true FROM comments WHERE id = $1 FOR UPDATE", comment_id
        ) is None:
            return 0
        gone = await self._fetchval(
            """
            WITH replies AS (SELECT count(*) AS n FROM comments WHERE parent_id = $1),
                 deleted AS (DELETE FROM comments WHERE id = $1 RETURNING id)
            SELECT count(*) + (SELECT n FROM replies) FROM deleted
            """,
            comment_id,
        )
        return int(gone)

    async def by_author(
        self, author_id: int, after_id: int | None, limit: int
    ) -> list[CommentView]:
        rows = await self._keyset_page(
            f"""
            SELECT {_C}, {_PERSON},
                   EXISTS (SELECT 1 FROM comment_likes l
                           WHERE l.comment_id = c.id AND l.user_id = $1) AS liked_by_me
            FROM comments c
            JOIN users u ON u.id = c.author_id
            WHERE c.author_id = $1 AND c.id > $2
            ORDER BY c.id
            LIMIT $3
            """,
            author_id,
            after_id,
            limit,
        )
        return [_comment_view(row) for row in rows]

    async def likes_by_user(
        self, user_id: int, after_comment_id: int | None, limit: int
    ) -> list[CommentLike]:
        rows = await self._keyset_page(
            """
            SELECT l.comment_id, c.video_id, l.created_at
            FROM comment_likes l
            JOIN comments c ON c.id = l.comment_id
            WHERE l.user_id = $1 AND l.comment_id > $2
            ORDER BY l.comment_id
            LIMIT $3
            """,
            user_id,
            after_comment_id,
            limit,
        )
        return [CommentLike(r["comment_id"], r["video_id"], r["created_at"]) for r in rows]

    async def list(
        self,
        video_id: int,
        parent_id: int | None,
        viewer: int,
        after: tuple[datetime, int] | None,
        limit: int,
    ) -> list[CommentView]:
        # $1 viewer, $2 video, $3 limit, $4 now, then the parent and the keyset: a range
        # of comments_thread_idx (video_id, parent_id, created_at, id). Hidden comments
        # (moderation) are rare: a filter on the rows the range reads.
        args: list[Any] = [viewer, video_id, max(0, limit), self._clock.now()]
        if parent_id is None:
            thread = "c.parent_id IS NULL"
        else:
            args.append(parent_id)
            thread = f"c.parent_id = ${len(args)}"
        keyset = ""
        if after is not None:
            args += [after[0], after[1]]
            keyset = f"AND (c.created_at, c.id) > (${len(args) - 1}, ${len(args)})"
        rows = await self._fetch(
            f"""
            SELECT {_C}, {_PERSON},
                   EXISTS (SELECT 1 FROM comment_likes l
                           WHERE l.comment_id = c.id AND l.user_id = $1) AS liked_by_me
            FROM comments c
            JOIN users u ON u.id = c.author_id
            WHERE c.video_id = $2 AND {thread} {keyset} AND NOT c.hidden
              AND {_ACTIVE.format(now="$4")}
              AND {_UNBLOCKED.format(other="c.author_id")}
            ORDER BY c.created_at, c.id
            LIMIT $3
            """,
            *args,
        )
        return [_comment_view(row) for row in rows]

    async def like(self, comment_id: int, user_id: int, at: datetime) -> tuple[bool, int]:
        """Raises NotFound(code="comment_not_found" | "user_not_found")."""
        # One statement: the insert reads from the locked comment, so the lock comes first;
        # the locked row is the newest version, and ON CONFLICT sees committed likes
        # whatever the snapshot, so (added, count + added) is exact.
        row = await self._fetchrow(
            """
            WITH target AS (
                SELECT id, like_count FROM comments WHERE id = $1 FOR NO KEY UPDATE
            ), liked AS (
                INSERT INTO comment_likes (comment_id, user_id, created_at)
                SELECT id, $2, $3 FROM target
                ON CONFLICT (comment_id, user_id) DO NOTHING
                RETURNING true
            )
            SELECT t.like_count, EXISTS (SELECT 1 FROM liked) AS added FROM target t
            """,
            comment_id,
            user_id,
            at,
        )
        if row is None:
            raise _no_comment()
        added = bool(row["added"])
        return added, int(row["like_count"]) + int(added)

    async def unlike(self, comment_id: int, user_id: int) -> tuple[bool, int]:
        """Raises NotFound(code="comment_not_found")."""
        count = await self._fetchval(
            "SELECT like_count FROM comments WHERE id = $1 FOR NO KEY UPDATE", comment_id
        )
        if count is None:
            raise _no_comment()
        # A statement of its own: a like committed while we waited for the lock is seen.
        removed = await self._fetchval(
            """
            DELETE FROM comment_likes WHERE comment_id = $1 AND user_id = $2
            RETURNING true
            """,
            comment_id,
            user_id,
        )
        return bool(removed), int(count) - int(bool(removed))


# Notifications whose text is the comment's own words.
PREVIEW_KINDS = frozenset({NotificationKind.COMMENT, NotificationKind.REPLY})


class PostgresNotificationRepository(Repository):
    def __init__(self, conn: asyncpg.Connection, clock: Clock | None = None) -> None:
        super().__init__(conn)
        self._clock: Clock = clock or UtcClock()

    async def add(self, notification: Notification) -> Notification | None:
        """Raises NotFound(code="user_not_found" | "video_not_found" |
        "comment_not_found") when a row it refers to is gone."""
        n = notification
        row = await self._fetchrow(
            f"""
            INSERT INTO notifications (user_id, kind, actor_id, video_id, comment_id, text,
                created_at, read_at, dedupe_key)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            ON CONFLICT (user_id, dedupe_key) DO NOTHING
            RETURNING {_NOTIFICATION_COLUMNS}
            """,
            n.user_id,
            n.kind.value,
            n.actor_id,
            n.video_id,
            n.comment_id,
            n.text,
            n.created_at,
            n.read_at,
            n.dedupe_key,
        )
        return None if row is None else _notification(row)

    async def list(
        self, user_id: int, before_id: int | None, limit: int
    ) -> list[NotificationView]:
        # $1 user, $2 limit, $3 now, [$4 id to start before]: a range of
        # notifications_user_id_idx.
        args: list[Any] = [user_id, max(0, limit), self._clock.now()]
        keyset = ""
        if before_id is not None:
            args.append(before_id)
            keyset = "AND n.id < $4"
        rows = await self._fetch(
            f"""
            SELECT {_N}, {_PERSON},
                coalesce({_ACTIVE.format(now="$3")}, false)
                    AND NOT EXISTS (
                        SELECT 1 FROM blocks b
                        WHERE (b.blocker_id = $1 AND b.blocked_id = n.actor_id)
                           OR (b.blocker_id = n.actor_id AND b.blocked_id = $1)
                    ) AS actor_shown,
                coalesce(c.hidden, false) AS comment_hidden
            FROM notifications n
            LEFT JOIN users u ON u.id = n.actor_id
            LEFT JOIN comments c ON c.id = n.comment_id
            WHERE n.user_id = $1 {keyset}
            ORDER BY n.id DESC
            LIMIT $2
            """,
            *args,
        )
        # A hidden comment's preview (a moderation notice keeps its reason) and a blocked
        # (either way), banned or suspended actor are not shown, nor that actor's words.
        views = []
        for row in rows:
            n = _notification(cast(asyncpg.Record, _Prefixed(row, "n")))
            unshown = row["comment_hidden"] or (
                n.actor_id is not None and not row["actor_shown"]
            )
            if unshown and n.kind in PREVIEW_KINDS:
                n = attrs.evolve(n, text=None)
            views.append(NotificationView(n, _person_u(row) if row["actor_shown"] else None))
        return views

    async def unread_count(self, user_id: int) -> int:
        count = await self._fetchval(
            "SELECT count(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL",
            user_id,
        )
        return int(count)

    async def unread_counts(self, user_ids: Sequence[int]) -> dict[int, int]:
        rows = await self._fetch(
            "SELECT user_id, count(*) AS n FROM notifications "
            "WHERE user_id = ANY($1::bigint[]) AND read_at IS NULL GROUP BY user_id",
            list(user_ids),
        )
        counts: dict[int, int] = dict.fromkeys(user_ids, 0)
        counts.update({r["user_id"]: int(r["n"]) for r in rows})
        return counts

    async def mark_read(self, user_id: int, notification_id: int, at: datetime) -> bool:
        # Found or not, and read at most once (the first time stays), in one statement.
        found = await self._fetchval(
            """
            WITH target AS (
                SELECT id, read_at FROM notifications WHERE id = $2 AND user_id = $1
            ), marked AS (
                UPDATE notifications n SET read_at = $3
                FROM target t
                WHERE n.id = t.id AND n.read_at IS NULL
            )
            SELECT EXISTS (SELECT 1 FROM target)
            """,
            user_id,
            notification_id,
            at,
        )
        return bool(found)

    async def mark_all_read(self, user_id: int, at: datetime) -> int:
        status = await self._execute(
            "UPDATE notifications SET read_at = $2 WHERE user_id = $1 AND read_at IS NULL",
            user_id,
            at,
        )
        return _affected(status)


class PostgresEventOutbox(Repository):
    """NOTIFY inside the unit of work's transaction: PostgreSQL delivers the events to
    every listener (``PostgresLiveEventSource``) when it commits, in commit order, and
    never when it rolls back. The unit of work's events go in one statement, run by
    ``flush`` just before its COMMIT, in the order they were emitted."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__(conn)
        self._seq = 0
        self._pending: list[str] = []

    async def emit(self, event: Event) -> None:
        self._seq += 1
        self._pending.append(encode(event, self._seq))

    async def flush(self) -> None:
        if not self._pending:
            return
        payloads, self._pending = self._pending, []
        await self._execute(
            f"SELECT pg_notify('{CHANNEL}', e.payload) "
            "FROM unnest($1::text[]) WITH ORDINALITY AS e(payload, n) ORDER BY e.n",
            payloads,
        )
