# ruff: noqa: S608 -- queries interpolate only this module's column-list and condition
# constants; every value travels as a $n parameter.
"""asyncpg adapters for videos, resumable uploads and the background job queue.

``PostgresVideoRepository``, ``PostgresUploadRepository`` and ``PostgresJobQueue`` are
bound to the connection of a ``PostgresUnitOfWork``: a job enqueued there commits (or
rolls back) with the rows that need it.

``PostgresJobRunner`` works outside any unit of work, one short transaction per call on
its own pooled connection, so any worker of any app instance can share the queue:

- ``claim`` is one statement. Its sub-select picks the oldest due job (queued with
  ``run_at <= now``, or running with an expired lease: its worker died) and locks it
  ``FOR UPDATE SKIP LOCKED``, so concurrent claimers pass over each other's rows instead
  of waiting or taking the same one; the update then counts the attempt and leases it
  until ``now + lease``.
- ``complete``, ``retry`` and ``bury`` settle a running job; a job that is not running
  (settled already) is left alone.

Times come from the injected clock, never from the database's ``now()``, so tests can
move time and every instance agrees with the worker that computes backoffs.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from adapters.messages import job_from_json, job_json
from momentic_core.errors import NotFound
from momentic_core.model.engagement import REACTION_KINDS
from momentic_core.model.jobs import Job, JobBacklog, JobMessage
from momentic_core.model.social import VideoForViewer
from momentic_core.model.videos import Backfill, Upload, Video, VideoStatus, Visibility
from momentic_core.policies.media import hls_master_of
from momentic_core.ports import Clock

from .db import translate_errors
from .repositories import (
    _USER_COLUMNS,
    PERSON_COLUMNS,
    Repository,
    _person,
    _user,
    aliased,
    column_keys,
)
from .search_index import index_description, index_unindexed

_VIDEO_COLUMNS = (
    "id, author_id, description, visibility, status, status_reason, source_key, "
    "playback_key, thumbnail_key, size_bytes, duration_seconds, width, height, container, "
    "video_codec, audio_codec, created_at, updated_at, ready_at, moment_at, on_time, "
    "hls_key, "  # migration 20261207_75
    "content_hash, "  # migration 20261207_79
    "hls_error"  # migration 20261207_84
)
# The counters the engagement triggers keep (migration 20261127_04): read with every
# video, never written here.
_COUNTER_COLUMNS = (
    "heart_count, flame_count, funny_count, angry_count, comment_count, "
    "view_count, completed_views, watched_ms"  # the views' (migration 20261207_71)
)
# What a video row reads as: its own columns, then the counters.
_VIDEO_ROW = f"{_VIDEO_COLUMNS}, {_COUNTER_COLUMNS}"
_VIDEO_ROW_JOINED = aliased(_VIDEO_ROW, "videos", "")  # the same, in a join
# The author's columns in get_for_viewer's join: what decides who may see the video (the
# account's state, privacy) and their public part; never the email or the password hash,
# which the statement does not read (they come as '' and NULL: VideoForViewer.author).
_SECRETS = ("email", "password_hash")
_AUTHOR = (
    aliased(", ".join(c for c in _USER_COLUMNS.split(", ") if c not in _SECRETS), "a", "a_")
    + ", '' AS a_email, NULL AS a_password_hash"
)
_VIEWER = aliased(PERSON_COLUMNS, "v", "v_")  # the viewer's public part
_UPLOAD_COLUMNS = (
    "id, user_id, key, backend_id, size_bytes, content_type, part_size, description, "
    "visibility, created_at, video_id, completed_at"
)
_JOB_COLUMNS = "id, kind, payload, status, attempts, max_attempts, run_at, created_at, last_error"
# The videos each backfill is for (VideoRepository.lacking), as conditions on videos.
_CONTENT_STATUSES = "('processing', 'ready', 'held', 'removed')"  # CONTENT_STATUSES
_HOLDS_CONTENT = f"status IN {_CONTENT_STATUSES}"
_UNPACKAGED = "status = 'ready' AND hls_key IS NULL AND playback_key IS NOT NULL"
_LACKING = {
    Backfill.SEARCH: "search_words IS NULL",  # migration 20261207_73
    Backfill.HLS: (  # _75; one whose MP4 would not package is passed over (_84)
        f"{_UNPACKAGED} AND hls_error IS NULL"
    ),
    Backfill.HASHES: (  # _79
        f"{_HOLDS_CONTENT} AND content_hash IS NULL AND source_key IS NOT NULL"
    ),
}


class UtcClock:
    """The system clock; the default where no clock is injected."""

    def now(self) -> datetime:
        return datetime.now(UTC)


# An enum member by its stored value: a dict lookup, where ``Enum(value)`` costs a
# microsecond (rows to models, 20 items a feed page). The columns' CHECK constraints
# hold only these values.
VISIBILITIES = {v.value: v for v in Visibility}
VIDEO_STATUSES = {s.value: s for s in VideoStatus}
_COUNTS = tuple((kind, f"{kind}_count") for kind in REACTION_KINDS)  # kind, its counter


def _video(row: asyncpg.Record, prefix: str = "") -> Video:
    """A video from its columns (``prefix`` before each name: a join's aliases)."""
    k = column_keys(_VIDEO_ROW, prefix)
    return Video(
        id=row[k["id"]],
        author_id=row[k["author_id"]],
        description=row[k["description"]],
        visibility=VISIBILITIES[row[k["visibility"]]],
        status=VIDEO_STATUSES[row[k["status"]]],
        created_at=row[k["created_at"]],
        updated_at=row[k["updated_at"]],
        source_key=row[k["source_key"]],
        playback_key=row[k["playback_key"]],
        thumbnail_key=row[k["thumbnail_key"]],
        hls_key=row[k["hls_key"]],
        status_reason=row[k["status_reason"]],
        size_bytes=row[k["size_bytes"]],
        duration_seconds=row[k["duration_seconds"]],
        width=row[k["width"]],
        height=row[k["height"]],
        container=row[k["container"]],
        video_codec=row[k["video_codec"]],
        audio_codec=row[k["audio_codec"]],
        ready_at=row[k["ready_at"]],
        reactions={kind: row[k[column]] for kind, column in _COUNTS},
        comment_count=row[k["comment_count"]],
        view_count=row[k["view_count"]],
        completed_views=row[k["completed_views"]],
        watched_ms=row[k["watched_ms"]],
        moment_at=row[k["moment_at"]],
        on_time=row[k["on_time"]],
        content_hash=row[k["content_hash"]],
        hls_error=row[k["hls_error"]],
    )


def _video_values(video: Video) -> tuple[Any, ...]:
    """Every column but id, in ``_VIDEO_COLUMNS`` order (the counters are not written)."""
    return (
        video.author_id,
        video.description,
        video.visibility.value,
        video.status.value,
        video.status_reason,
        video.source_key,
        video.playback_key,
        video.thumbnail_key,
        video.size_bytes,
        video.duration_seconds,
        video.width,
        video.height,
        video.container,
        video.video_codec,
        video.audio_codec,
        video.created_at,
        video.updated_at,
        video.ready_at,
        video.moment_at,
        video.on_time,
        video.hls_key,
        video.content_hash,
        video.hls_error,
    )


def _upload(row: asyncpg.Record) -> Upload:
    return Upload(
        id=row["id"],
        user_id=row["user_id"],
        key=row["key"],
        backend_id=row["backend_id"],
        size_bytes=row["size_bytes"],
        content_type=row["content_type"],
        part_size=row["part_size"],
        description=row["description"],
        visibility=Visibility(row["visibility"]),
        created_at=row["created_at"],
        video_id=row["video_id"],
        completed_at=row["completed_at"],
    )


def _upload_values(upload: Upload) -> tuple[Any, ...]:
    """Every column but id, in ``_UPLOAD_COLUMNS`` order."""
    return (
        upload.user_id,
        upload.key,
        upload.backend_id,
        upload.size_bytes,
        upload.content_type,
        upload.part_size,
        upload.description,
        upload.visibility.value,
        upload.created_at,
        upload.video_id,
        upload.completed_at,
    )


def _job(row: asyncpg.Record) -> Job:
    payload = json.loads(row["payload"])
    return Job(
        id=row["id"],
        kind=row["kind"],
        payload=payload,
        attempts=row["attempts"],
        max_attempts=row["max_attempts"],
        run_at=row["run_at"],
        created_at=row["created_at"],
        status=row["status"],
        last_error=row["last_error"],
        message=job_from_json(row["kind"], payload),
    )


_NO_SUCH_VIDEO = "No such video."
_NO_SUCH_UPLOAD = "No such upload."


class PostgresVideoRepository(Repository):
    async def add(self, video: Video) -> Video:
        """Raises NotFound(code="user_not_found") when the author does not exist."""
        row = await self._fetchrow(
            f"""
            INSERT INTO videos (author_id, description, visibility, status, status_reason,
                source_key, playback_key, thumbnail_key, size_bytes, duration_seconds,
                width, height, container, video_codec, audio_codec, created_at, updated_at,
                ready_at, moment_at, on_time, hls_key, content_hash, hls_error)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
                $17, $18, $19, $20, $21, $22, $23)
            RETURNING {_VIDEO_ROW}
            """,
            *_video_values(video),
        )
        assert row is not None
        added = _video(row)
        await index_description(self, added)  # in this unit of work
        return added

    async def get(self, video_id: int) -> Video:
        return await self._get(video_id, "")

    async def get_for_update(self, video_id: int) -> Video:
        return await self._get(video_id, "FOR UPDATE")

    async def get_for_viewer(self, video_id: int, viewer_id: int) -> VideoForViewer:
        row = await self._fetchrow(
            f"""
            SELECT {_VIDEO_ROW_JOINED}, {_AUTHOR}, {_VIEWER},
                EXISTS (SELECT 1 FROM blocks
                        WHERE blocker_id = $2 AND blocked_id = videos.author_id)
                    OR EXISTS (SELECT 1 FROM blocks
                               WHERE blocker_id = videos.author_id AND blocked_id = $2)
                    AS blocked,
                EXISTS (SELECT 1 FROM friendships
                        WHERE user_id = $2 AND friend_id = videos.author_id) AS friends
            FROM videos JOIN users AS a ON a.id = videos.author_id
                JOIN users AS v ON v.id = $2
            WHERE videos.id = $1
            """,
            video_id,
            viewer_id,
        )
        if row is None:
            raise NotFound(_NO_SUCH_VIDEO, code="video_not_found")
        return VideoForViewer(
            video=_video(row),
            author=_user(row, "a_"),
            viewer=_person(row, "v_"),
            blocked=row["blocked"],
            friends=row["friends"],
        )

    async def _get(self, video_id: int, lock: str) -> Video:
        row = await self._fetchrow(
            f"SELECT {_VIDEO_ROW} FROM videos WHERE id = $1 {lock}", video_id
        )
        if row is None:
            raise NotFound(_NO_SUCH_VIDEO, code="video_not_found")
        return _video(row)

    async def update(self, video: Video) -> Video:
        """Writes the video's own columns; its counters stay as the triggers keep them
        (``video.reactions`` and ``comment_count`` are ignored, the stored ones returned)."""
        row = await self._fetchrow(
            f"""
            UPDATE videos SET author_id = $2, description = $3, visibility = $4, status = $5,
                status_reason = $6, source_key = $7, playback_key = $8, thumbnail_key = $9,
                size_bytes = $10, duration_seconds = $11, width = $12, height = $13,
                container = $14, video_codec = $15, audio_codec = $16, created_at = $17,
                updated_at = $18, ready_at = $19, moment_at = $20, on_time = $21,
                hls_key = $22, content_hash = $23, hls_error = $24
            WHERE id = $1
            RETURNING {_VIDEO_ROW}
            """,
            video.id,
            *_video_values(video),
        )
        if row is None:
            raise NotFound(_NO_SUCH_VIDEO, code="video_not_found")
        updated = _video(row)
        await index_description(self, updated)  # in this unit of work
        return updated

    async def set_visibility(self, video_id: int, visibility: Visibility, at: datetime) -> Video:
        # A write of chosen_visibility is a choice (migration 20261207_74's trigger keeps
        # it); the trigger puts the visibility in force beside it.
        row = await self._fetchrow(
            f"""
            UPDATE videos SET chosen_visibility = $2, visibility = $2, updated_at = $3
            WHERE id = $1
            RETURNING {_VIDEO_ROW}
            """,
            video_id,
            visibility.value,
            at,
        )
        if row is None:
            raise NotFound(_NO_SUCH_VIDEO, code="video_not_found")
        return _video(row)

    async def by_content(self, author_id: int, content_hash: str) -> Video | None:
        # The predicate is videos_author_content_key's (migration 20261207_79), so the
        # lookup is a probe of that index.
        row = await self._fetchrow(
            f"""
            SELECT {_VIDEO_ROW} FROM videos
            WHERE author_id = $1 AND content_hash = $2
              AND status IN ('processing', 'ready', 'held', 'removed')
            """,
            author_id,
            content_hash,
        )
        return None if row is None else _video(row)

    async def remember_removed(self, author_id: int, content_hash: str, at: datetime) -> None:
        await self._execute(
            """
            INSERT INTO removed_contents (author_id, content_hash, removed_at)
            VALUES ($1, $2, $3) ON CONFLICT DO NOTHING
            """,
            author_id,
            content_hash,
            at,
        )

    async def removed_content(self, author_id: int, content_hash: str) -> bool:
        found = await self._fetchval(
            "SELECT EXISTS (SELECT 1 FROM removed_contents"
            " WHERE author_id = $1 AND content_hash = $2)",
            author_id,
            content_hash,
        )
        return bool(found)

    async def lacking(self, what: Backfill, after_id: int, limit: int) -> list[Video]:
        rows = await self._fetch(
            f"SELECT {_VIDEO_ROW} FROM videos WHERE id > $1 AND {_LACKING[what]}"
            " ORDER BY id LIMIT $2",
            after_id,
            limit,
        )
        return [_video(row) for row in rows]

    async def count_lacking(self, what: Backfill) -> int:
        return int(await self._fetchval(f"SELECT count(*) FROM videos WHERE {_LACKING[what]}"))

    async def count_hls_failed(self) -> int:
        return int(await self._fetchval(
            f"SELECT count(*) FROM videos WHERE {_UNPACKAGED} AND hls_error IS NOT NULL"
        ))

    async def index_search(self, video_ids: list[int]) -> int:
        return await index_unindexed(self, video_ids)

    async def set_content_hash(self, video_id: int, content_hash: str) -> bool:
        # The NOT EXISTS is videos_author_content_key's predicate (migration 20261207_79):
        # a duplicate is left unhashed rather than refused; one that commits meanwhile
        # still trips the index (Conflict "duplicate_content").
        done = await self._execute(
            f"""
            UPDATE videos SET content_hash = $2
            WHERE id = $1 AND content_hash IS NULL AND {_HOLDS_CONTENT}
              AND NOT EXISTS (
                SELECT 1 FROM videos AS o
                WHERE o.author_id = videos.author_id AND o.content_hash = $2
                  AND o.status IN {_CONTENT_STATUSES})
            """,
            video_id,
            content_hash,
        )
        return done == "UPDATE 1"

    async def delete(self, video_id: int) -> None:
        # Uploads that made the video keep their row; their video_id goes NULL (FK).
        await self._execute("DELETE FROM videos WHERE id = $1", video_id)

    async def list_by_author(
        self,
        author_id: int,
        *,
        ready_only: bool,
        public_only: bool,
        before: tuple[datetime, int] | None,
        limit: int,
    ) -> list[Video]:
        # The text is built from fixed fragments (not "$2 IS NULL OR ...") so that the
        # planner sees plain conditions: the keyset becomes a range on the
        # (author_id, created_at DESC, id DESC) index instead of a filter over every
        # newer row.
        conditions = ["author_id = $1"]
        args: list[Any] = [author_id, max(0, limit)]
        if ready_only:
            conditions.append("status = 'ready'")
        if public_only:
            conditions.append("visibility = 'public'")
        if before is not None:
            conditions.append("(created_at, id) < ($3, $4)")
            args += [before[0], before[1]]
        rows = await self._fetch(
            f"""
            SELECT {_VIDEO_ROW} FROM videos
            WHERE {" AND ".join(conditions)}
            ORDER BY created_at DESC, id DESC
            LIMIT $2
            """,
            *args,
        )
        return [_video(row) for row in rows]

    async def referenced_keys(self, keys: list[str]) -> set[str]:
        """Keys a video (source, playback or thumbnail; any file of its HLS presentation,
        whose master playlist it names), an upload still in progress or an avatar points
        at. A completed upload has handed its key to its video, so once that video is
        gone the key is free."""
        if not keys:
            return set()
        masters = [(key, hls_master_of(key)) for key in keys]
        in_hls = [(k, m) for k, m in masters if m is not None]
        rows = await self._fetch(
            """
            SELECT source_key AS key FROM videos WHERE source_key = ANY($1::text[])
            UNION
            SELECT playback_key FROM videos WHERE playback_key = ANY($1::text[])
            UNION
            SELECT thumbnail_key FROM videos WHERE thumbnail_key = ANY($1::text[])
            UNION
            SELECT f.key FROM unnest($2::text[], $3::text[]) AS f (key, master)
            WHERE EXISTS (SELECT 1 FROM videos WHERE hls_key = f.master)
            UNION
            SELECT key FROM uploads WHERE key = ANY($1::text[]) AND completed_at IS NULL
            UNION
            SELECT avatar_key FROM users WHERE avatar_key = ANY($1::text[])
            """,
            list(keys),
            [k for k, _ in in_hls],
            [m for _, m in in_hls],
        )
        return {row["key"] for row in rows}


class PostgresUploadRepository(Repository):
    async def add(self, upload: Upload) -> Upload:
        """Raises NotFound(code="user_not_found"), Conflict when the key is in use."""
        row = await self._fetchrow(
            f"""
            INSERT INTO uploads (user_id, key, backend_id, size_bytes, content_type,
                part_size, description, visibility, created_at, video_id, completed_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
            RETURNING {_UPLOAD_COLUMNS}
            """,
            *_upload_values(upload),
        )
        assert row is not None
        return _upload(row)

    async def get(self, upload_id: int) -> Upload:
        return await self._get(upload_id, "")

    async def get_for_update(self, upload_id: int) -> Upload:
        return await self._get(upload_id, "FOR UPDATE")

    async def _get(self, upload_id: int, lock: str) -> Upload:
        row = await self._fetchrow(
            f"SELECT {_UPLOAD_COLUMNS} FROM uploads WHERE id = $1 {lock}", upload_id
        )
        if row is None:
            raise NotFound(_NO_SUCH_UPLOAD, code="upload_not_found")
        return _upload(row)

    async def update(self, upload: Upload) -> Upload:
        """Raises NotFound(code="upload_not_found" | "video_not_found")."""
        row = await self._fetchrow(
            f"""
            UPDATE uploads SET user_id = $2, key = $3, backend_id = $4, size_bytes = $5,
                content_type = $6, part_size = $7, description = $8, visibility = $9,
                created_at = $10, video_id = $11, completed_at = $12
            WHERE id = $1
            RETURNING {_UPLOAD_COLUMNS}
            """,
            upload.id,
            *_upload_values(upload),
        )
        if row is None:
            raise NotFound(_NO_SUCH_UPLOAD, code="upload_not_found")
        return _upload(row)

    async def delete(self, upload_id: int) -> None:
        await self._execute("DELETE FROM uploads WHERE id = $1", upload_id)

    async def count_open(self) -> int:
        # uploads_abandoned_idx covers exactly these rows.
        return int(await self._fetchval("SELECT count(*) FROM uploads WHERE completed_at IS NULL"))

    async def list_abandoned(self, created_before: datetime, limit: int) -> list[Upload]:
        rows = await self._fetch(
            f"""
            SELECT {_UPLOAD_COLUMNS} FROM uploads
            WHERE completed_at IS NULL AND created_at < $1
            ORDER BY created_at, id
            LIMIT $2
            """,
            created_before,
            max(0, limit),
        )
        return [_upload(row) for row in rows]


class PostgresJobQueue(Repository):
    """Enqueues on the unit of work's connection: the job commits with its rows."""

    def __init__(self, conn: asyncpg.Connection, clock: Clock) -> None:
        super().__init__(conn)
        self._clock = clock

    async def enqueue(
        self,
        message: JobMessage,
        *,
        run_at: datetime | None = None,
        max_attempts: int = 5,
        dedupe_key: str | None = None,
    ) -> int | None:
        now = self._clock.now()
        # The conflict target names jobs_dedupe_key_idx's predicate. A concurrent
        # enqueue with the same key waits for this transaction, then does nothing.
        job_id = await self._fetchval(
            """
            INSERT INTO jobs (kind, payload, max_attempts, run_at, dedupe_key, created_at,
                updated_at)
            VALUES ($1, $2::jsonb, $3, $4, $5, $6, $6)
            ON CONFLICT (dedupe_key) WHERE status IN ('queued', 'running') DO NOTHING
            RETURNING id
            """,
            message.kind,
            json.dumps(job_json(message)),
            max_attempts,
            run_at or now,
            dedupe_key,
            now,
        )
        return None if job_id is None else int(job_id)

    async def delete_finished(self, done_before: datetime, dead_before: datetime) -> int:
        status = await self._execute(
            "DELETE FROM jobs WHERE (status = 'done' AND updated_at < $1) "
            "OR (status = 'dead' AND updated_at < $2)",
            done_before,
            dead_before,
        )
        return int(status.rsplit(" ", 1)[-1])


_CLAIM = f"""
UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $3,
    updated_at = $2
WHERE id = (
    SELECT id FROM jobs
    WHERE kind = ANY($1::text[])
      AND ((status = 'queued' AND run_at <= $2)
           OR (status = 'running' AND locked_until < $2))
    ORDER BY run_at, id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
)
RETURNING {_JOB_COLUMNS}
"""


class PostgresJobRunner:
    """Takes and settles jobs, each call in its own short transaction."""

    def __init__(self, pool: asyncpg.Pool, clock: Clock, *, acquire_timeout: float = 5.0) -> None:
        self._pool = pool
        self._clock = clock
        self._acquire_timeout = acquire_timeout

    async def _fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        """Raises Unavailable when the database cannot be reached."""
        with translate_errors():
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                return await conn.fetchrow(sql, *args)

    async def claim(self, kinds: list[str], lease: timedelta) -> Job | None:
        if not kinds:
            return None
        now = self._clock.now()
        row = await self._fetchrow(_CLAIM, list(kinds), now, now + lease)
        return None if row is None else _job(row)

    async def next_due(self, kinds: list[str]) -> datetime | None:
        if not kinds:
            return None
        row = await self._fetchrow(  # jobs_due_idx, in run_at order
            "SELECT run_at FROM jobs WHERE status = 'queued' AND kind = ANY($1::text[]) "
            "ORDER BY run_at LIMIT 1", list(kinds))
        return None if row is None else row["run_at"]

    async def extend(self, job_id: int, attempt: int, lease: timedelta) -> bool:
        now = self._clock.now()
        row = await self._fetchrow(
            """
            UPDATE jobs SET locked_until = $3, updated_at = $4
            WHERE id = $1 AND status = 'running' AND attempts = $2
            RETURNING id
            """,
            job_id,
            attempt,
            now + lease,
            now,
        )
        return row is not None

    # $1 job id, $2 the claim's attempt or NULL (any claim); the rest per statement.
    _MINE = "id = $1 AND status = 'running' AND ($2::int IS NULL OR attempts = $2)"

    async def complete(
        self, job_id: int, attempt: int | None = None, *, forget: bool = False
    ) -> None:
        await self._fetchrow(
            f"""
            UPDATE jobs SET status = 'done', locked_until = NULL, updated_at = $3,
                payload = CASE WHEN $4::boolean THEN '{{}}'::jsonb ELSE payload END
            WHERE {self._MINE}
            """,
            job_id,
            attempt,
            self._clock.now(),
            forget,
        )

    async def retry(
        self, job_id: int, error: str, run_at: datetime, attempt: int | None = None,
        *, refund: bool = False,
    ) -> None:
        await self._fetchrow(
            f"""
            UPDATE jobs SET status = 'queued', run_at = $4, last_error = $3,
                locked_until = NULL, updated_at = $5,
                attempts = attempts - CASE WHEN $6::boolean THEN 1 ELSE 0 END
            WHERE {self._MINE}
            """,
            job_id,
            attempt,
            error,
            run_at,
            self._clock.now(),
            refund,
        )

    async def bury(
        self, job_id: int, error: str, attempt: int | None = None, *, forget: bool = False
    ) -> None:
        await self._fetchrow(
            f"""
            UPDATE jobs SET status = 'dead', last_error = $3, locked_until = NULL,
                updated_at = $4, payload = CASE WHEN $5::boolean THEN '{{}}'::jsonb ELSE payload END
            WHERE {self._MINE}
            """,
            job_id,
            attempt,
            error,
            self._clock.now(),
            forget,
        )

    async def get(self, job_id: int) -> Job | None:
        row = await self._fetchrow(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE id = $1", job_id)
        return None if row is None else _job(row)

    async def release(self, job_id: int, attempt: int) -> None:
        now = self._clock.now()
        await self._fetchrow(
            f"""
            UPDATE jobs SET status = 'queued', attempts = attempts - 1, run_at = $3,
                locked_until = NULL, updated_at = $3
            WHERE {self._MINE}
            """,
            job_id,
            attempt,
            now,
        )

    async def backlog(self) -> list[JobBacklog]:
        # Each status read through its partial index (done jobs, the bulk, are never read).
        with translate_errors():
            async with self._pool.acquire(timeout=self._acquire_timeout) as conn:
                rows = await conn.fetch(_BACKLOG, self._clock.now())
        return [
            JobBacklog(
                kind=row["kind"],
                queued=row["queued"],
                running=row["running"],
                dead=row["dead"],
                oldest_due_seconds=max(0.0, float(row["oldest_due_seconds"] or 0.0)),
            )
            for row in rows
        ]


_BACKLOG = """
SELECT kind,
    count(*) FILTER (WHERE status = 'queued')::int AS queued,
    count(*) FILTER (WHERE status = 'running')::int AS running,
    count(*) FILTER (WHERE status = 'dead')::int AS dead,
    EXTRACT(EPOCH FROM $1 - min(run_at) FILTER (WHERE status = 'queued' AND run_at <= $1))
        AS oldest_due_seconds
FROM (
    SELECT kind, status, run_at FROM jobs WHERE status = 'queued'
    UNION ALL SELECT kind, status, run_at FROM jobs WHERE status = 'running'
    UNION ALL SELECT kind, status, run_at FROM jobs WHERE status = 'dead'
) AS live
GROUP BY kind
ORDER BY kind
"""
