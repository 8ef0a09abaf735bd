"""In-memory videos, resumable uploads and background jobs.

The tables live in ``MemoryStore`` (so a unit of work's snapshot covers them and a
rollback drops an enqueued job with the rows that needed it); these classes are the
repositories over them, with the PostgreSQL adapters' semantics: foreign keys are
checked (NotFound "user_not_found" / "video_not_found"), deleting a video leaves the
uploads that made it with ``video_id=None``, and at most one queued or running job has
a given dedupe key.

``InMemoryJobRunner`` takes the store's lock for each call, as the PostgreSQL runner
uses one short transaction per call, so a unit of work that rolls back never undoes a
claim made meanwhile. (So never call it inside a unit of work: the lock is not
re-entrant.) Pass the units of work the runner's clock (``InMemoryUnitOfWork(store,
clock=clock)``): they stamp enqueued jobs' ``run_at`` with it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import attrs

from adapters.messages import job_from_json, job_json
from momentic_core.errors import Conflict, NotFound
from momentic_core.model.accounts import Person
from momentic_core.model.engagement import no_reactions
from momentic_core.model.jobs import Job, JobBacklog, JobMessage
from momentic_core.model.social import VideoForViewer
from momentic_core.model.videos import (
    CONTENT_STATUSES,
    Backfill,
    Upload,
    Video,
    VideoStatus,
    Visibility,
)
from momentic_core.policies.media import hls_master_of
from momentic_core.ports import Clock

from .engagement import forget_video
from .store import JobRow
from .views import forget_video_views

if TYPE_CHECKING:
    from .store import MemoryStore

_LIVE = ("queued", "running")


def _check_user(store: MemoryStore, user_id: int) -> None:
    if user_id not in store.users:
        raise NotFound("The record it refers to does not exist.", code="user_not_found")


def in_force(store: MemoryStore, video: Video, *, choose: bool) -> Video:
    """``video`` with the visibility in force: friends for a private author, else what
    was chosen (``choose``: its visibility is a new choice, kept in
    ``store.chosen_visibility``). What migration 20261207_62's triggers do."""
    if choose or video.id not in store.chosen_visibility:
        store.chosen_visibility[video.id] = video.visibility
    author = store.users.get(video.author_id)
    private = author is not None and author.private
    visibility = Visibility.FRIENDS if private else store.chosen_visibility[video.id]
    return attrs.evolve(video, visibility=visibility)


def _holds_content(video: Video) -> bool:
    return video.content_hash is not None and video.status in CONTENT_STATUSES


def _unpackaged(video: Video) -> bool:
    return (video.status is VideoStatus.READY and video.hls_key is None
            and video.playback_key is not None)


def _lacks(video: Video, what: Backfill) -> bool:
    if what is Backfill.HLS:
        return _unpackaged(video) and video.hls_error is None
    if what is Backfill.HASHES:
        return (video.status in CONTENT_STATUSES and video.content_hash is None
                and video.source_key is not None)
    return False  # SEARCH: the memory search reads the descriptions themselves


def _check_content(store: MemoryStore, video: Video) -> None:
    """Migration 20261207_79's unique index on (author, content) over the videos that
    hold their content."""
    if _holds_content(video) and any(
        other.id != video.id
        and other.author_id == video.author_id
        and other.content_hash == video.content_hash
        and _holds_content(other)
        for other in store.videos.values()
    ):
        raise Conflict("You have a video of this very file already.", code="duplicate_content")


class InMemoryVideoRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    async def add(self, video: Video) -> Video:
        _check_user(self._s, video.author_id)
        _check_content(self._s, attrs.evolve(video, id=0))
        video = attrs.evolve(
            video, id=next(self._s.ids), reactions=no_reactions(), comment_count=0,
            view_count=0, completed_views=0, watched_ms=0,
        )
        video = self._s.videos[video.id] = in_force(self._s, video, choose=True)
        return video

    async def get(self, video_id: int) -> Video:
        try:
            return self._s.videos[video_id]
        except KeyError:
            raise NotFound("No such video.", code="video_not_found") from None

    async def get_for_update(self, video_id: int) -> Video:
        return await self.get(video_id)

    async def get_for_viewer(self, video_id: int, viewer_id: int) -> VideoForViewer:
        video = await self.get(video_id)
        author = video.author_id
        if viewer_id not in self._s.users:
            raise NotFound("No such video.", code="video_not_found")
        return VideoForViewer(
            video=video,
            # As PostgreSQL's statement has them: the author without their secrets, the
            # viewer's public part.
            author=attrs.evolve(self._s.users[author], email="", password_hash=None),
            viewer=Person.of(self._s.users[viewer_id]),
            blocked=(viewer_id, author) in self._s.blocks or (author, viewer_id) in self._s.blocks,
            friends=(viewer_id, author) in self._s.friendships,
        )

    async def update(self, video: Video) -> Video:
        stored = await self.get(video.id)
        _check_user(self._s, video.author_id)
        _check_content(self._s, video)
        # The counters belong to the reaction and comment repositories.
        video = attrs.evolve(
            video, reactions=stored.reactions, comment_count=stored.comment_count,
            view_count=stored.view_count, completed_views=stored.completed_views,
            watched_ms=stored.watched_ms,
        )
        choose = video.visibility is not stored.visibility  # a write of it is a choice
        video = self._s.videos[video.id] = in_force(self._s, video, choose=choose)
        return video

    async def set_visibility(self, video_id: int, visibility: Visibility, at: datetime) -> Video:
        stored = await self.get(video_id)
        self._s.chosen_visibility[video_id] = visibility  # a choice, whatever is in force
        video = attrs.evolve(stored, updated_at=at)
        video = self._s.videos[video_id] = in_force(self._s, video, choose=False)
        return video

    async def by_content(self, author_id: int, content_hash: str) -> Video | None:
        return next(
            (
                v
                for v in self._s.videos.values()
                if v.author_id == author_id and v.content_hash == content_hash
                and _holds_content(v)
            ),
            None,
        )

    async def remember_removed(self, author_id: int, content_hash: str, at: datetime) -> None:
        _check_user(self._s, author_id)
        self._s.removed_contents.setdefault((author_id, content_hash), at)

    async def removed_content(self, author_id: int, content_hash: str) -> bool:
        return (author_id, content_hash) in self._s.removed_contents

    async def delete(self, video_id: int) -> None:
        self._s.chosen_visibility.pop(video_id, None)
        if self._s.videos.pop(video_id, None) is None:
            return
        forget_video(self._s, video_id)
        forget_video_views(self._s, video_id)
        for upload in list(self._s.uploads.values()):
            if upload.video_id == video_id:
                self._s.uploads[upload.id] = attrs.evolve(upload, video_id=None)

    async def list_by_author(
        self,
        author_id: int,
        *,
        ready_only: bool,
        public_only: bool,
        before: tuple[datetime, int] | None,
        limit: int,
    ) -> list[Video]:
        found = [
            v
            for v in self._s.videos.values()
            if v.author_id == author_id
            and (not ready_only or v.status is VideoStatus.READY)
            and (not public_only or v.visibility is Visibility.PUBLIC)
            and (before is None or (v.created_at, v.id) < before)
        ]
        found.sort(key=lambda v: (v.created_at, v.id), reverse=True)
        return found[: max(0, limit)]

    async def lacking(self, what: Backfill, after_id: int, limit: int) -> list[Video]:
        found = sorted(
            (v for v in self._s.videos.values() if v.id > after_id and _lacks(v, what)),
            key=lambda v: v.id,
        )
        return found[:limit]

    async def count_lacking(self, what: Backfill) -> int:
        return sum(1 for v in self._s.videos.values() if _lacks(v, what))

    async def count_hls_failed(self) -> int:
        return sum(
            1 for v in self._s.videos.values() if _unpackaged(v) and v.hls_error is not None
        )

    async def index_search(self, video_ids: list[int]) -> int:
        return 0  # the memory search reads the descriptions: nothing is ever unindexed

    async def set_content_hash(self, video_id: int, content_hash: str) -> bool:
        video = self._s.videos.get(video_id)
        if video is None or video.content_hash is not None or video.status not in CONTENT_STATUSES:
            return False
        hashed = attrs.evolve(video, content_hash=content_hash)
        if await self.by_content(video.author_id, content_hash) is not None:
            return False
        self._s.videos[video_id] = hashed
        return True

    async def referenced_keys(self, keys: list[str]) -> set[str]:
        """Keys a video, an upload still in progress or an avatar points at."""
        wanted = set(keys)
        used: set[str] = set()
        masters = {v.hls_key for v in self._s.videos.values() if v.hls_key}
        used.update(k for k in wanted if hls_master_of(k) in masters)
        for video in self._s.videos.values():
            used.update(
                k
                for k in (video.source_key, video.playback_key, video.thumbnail_key)
                if k in wanted
            )
        used.update(
            u.key for u in self._s.uploads.values() if u.completed_at is None and u.key in wanted
        )
        used.update(
            u.avatar_key
            for u in self._s.users.values()
            if u.avatar_key is not None and u.avatar_key in wanted
        )
        return used


class InMemoryUploadRepository:
    def __init__(self, store: MemoryStore) -> None:
        self._s = store

    def _check(self, upload: Upload) -> None:
        _check_user(self._s, upload.user_id)
        if upload.video_id is not None and upload.video_id not in self._s.videos:
            raise NotFound("The record it refers to does not exist.", code="video_not_found")
        if any(u.key == upload.key and u.id != upload.id for u in self._s.uploads.values()):
            raise Conflict("That exists already.", code="conflict")

    async def add(self, upload: Upload) -> Upload:
        upload = attrs.evolve(upload, id=next(self._s.ids))
        self._check(upload)
        self._s.uploads[upload.id] = upload
        return upload

    async def get(self, upload_id: int) -> Upload:
        try:
            return self._s.uploads[upload_id]
        except KeyError:
            raise NotFound("No such upload.", code="upload_not_found") from None

    async def get_for_update(self, upload_id: int) -> Upload:
        return await self.get(upload_id)

    async def update(self, upload: Upload) -> Upload:
        await self.get(upload.id)
        self._check(upload)
        self._s.uploads[upload.id] = upload
        return upload

    async def delete(self, upload_id: int) -> None:
        self._s.uploads.pop(upload_id, None)

    async def count_open(self) -> int:
        return sum(1 for u in self._s.uploads.values() if u.completed_at is None)

    async def list_abandoned(self, created_before: datetime, limit: int) -> list[Upload]:
        stale = [
            u
            for u in self._s.uploads.values()
            if u.completed_at is None and u.created_at < created_before
        ]
        stale.sort(key=lambda u: (u.created_at, u.id))
        return stale[: max(0, limit)]


class InMemoryJobQueue:
    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._s = store
        self._clock = clock

    async def enqueue(
        self,
        message: JobMessage,
        *,
        run_at: datetime | None = None,
        max_attempts: int = 5,
        dedupe_key: str | None = None,
    ) -> int | None:
        if dedupe_key is not None and any(
            r.dedupe_key == dedupe_key and r.job.status in _LIVE for r in self._s.jobs.values()
        ):
            return None
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        now = self._clock.now()
        job = Job(
            id=next(self._s.ids),
            kind=message.kind,
            payload=_copy(job_json(message)),
            attempts=0,
            max_attempts=max_attempts,
            run_at=run_at or now,
            created_at=now,
        )
        self._s.jobs[job.id] = JobRow(
            job=job, locked_until=None, dedupe_key=dedupe_key, updated_at=now
        )
        return job.id

    async def delete_finished(self, done_before: datetime, dead_before: datetime) -> int:
        gone = [
            job_id for job_id, row in self._s.jobs.items()
            if (row.job.status == "done" and row.updated_at < done_before)
            or (row.job.status == "dead" and row.updated_at < dead_before)
        ]
        for job_id in gone:
            del self._s.jobs[job_id]
        return len(gone)


def _copy(payload: dict[str, Any]) -> dict[str, Any]:
    """A deep copy, as a JSON round trip through the database would make."""
    copied: dict[str, Any] = json.loads(json.dumps(payload))
    return copied


class InMemoryJobRunner:
    """Takes and settles the store's jobs with the PostgreSQL runner's semantics."""

    def __init__(self, store: MemoryStore, clock: Clock) -> None:
        self._s = store
        self._clock = clock

    async def claim(self, kinds: list[str], lease: timedelta) -> Job | None:
        async with self._s.lock:
            now = self._clock.now()
            due = [
                r
                for r in self._s.jobs.values()
                if r.job.kind in kinds
                and (
                    (r.job.status == "queued" and r.job.run_at <= now)
                    or (
                        r.job.status == "running"
                        and r.locked_until is not None
                        and r.locked_until < now
                    )
                )
            ]
            if not due:
                return None
            row = min(due, key=lambda r: (r.job.run_at, r.job.id))
            job = attrs.evolve(row.job, status="running", attempts=row.job.attempts + 1)
            self._s.jobs[job.id] = attrs.evolve(
                row, job=job, locked_until=now + lease, updated_at=now
            )
            return _copy_job(job)

    async def next_due(self, kinds: list[str]) -> datetime | None:
        due = [r.job.run_at for r in self._s.jobs.values()
               if r.job.kind in kinds and r.job.status == "queued"]
        return min(due, default=None)

    async def extend(self, job_id: int, attempt: int, lease: timedelta) -> bool:
        async with self._s.lock:
            row = self._s.jobs.get(job_id)
            if row is None or row.job.status != "running" or row.job.attempts != attempt:
                return False
            now = self._clock.now()
            self._s.jobs[job_id] = attrs.evolve(row, locked_until=now + lease, updated_at=now)
            return True

    async def _settle(
        self, job_id: int, attempt: int | None, *, refund: bool = False, **changes: Any
    ) -> None:
        async with self._s.lock:
            row = self._s.jobs.get(job_id)
            if row is None or row.job.status != "running":
                return
            if attempt is not None and row.job.attempts != attempt:
                return
            if refund:  # this attempt is not counted
                changes["attempts"] = row.job.attempts - 1
            self._s.jobs[job_id] = attrs.evolve(
                row,
                job=attrs.evolve(row.job, **changes),
                locked_until=None,
                updated_at=self._clock.now(),
            )

    async def complete(
        self, job_id: int, attempt: int | None = None, *, forget: bool = False
    ) -> None:
        await self._settle(job_id, attempt, status="done", **_forgotten(forget))

    async def retry(
        self, job_id: int, error: str, run_at: datetime, attempt: int | None = None,
        *, refund: bool = False,
    ) -> None:
        await self._settle(job_id, attempt, refund=refund, status="queued", run_at=run_at,
                           last_error=error)

    async def bury(
        self, job_id: int, error: str, attempt: int | None = None, *, forget: bool = False
    ) -> None:
        await self._settle(job_id, attempt, status="dead", last_error=error, **_forgotten(forget))

    async def release(self, job_id: int, attempt: int) -> None:
        async with self._s.lock:
            row = self._s.jobs.get(job_id)
            if row is None or row.job.status != "running" or row.job.attempts != attempt:
                return
            now = self._clock.now()
            job = attrs.evolve(row.job, status="queued", attempts=attempt - 1, run_at=now)
            self._s.jobs[job_id] = attrs.evolve(row, job=job, locked_until=None, updated_at=now)

    async def backlog(self) -> list[JobBacklog]:
        now = self._clock.now()
        kinds: dict[str, list[JobRow]] = {}
        for row in self._s.jobs.values():
            if row.job.status in ("queued", "running", "dead"):
                kinds.setdefault(row.job.kind, []).append(row)
        result = []
        for kind in sorted(kinds):
            rows = [r.job for r in kinds[kind]]
            due = [j.run_at for j in rows if j.status == "queued" and j.run_at <= now]
            result.append(
                JobBacklog(
                    kind=kind,
                    queued=sum(j.status == "queued" for j in rows),
                    running=sum(j.status == "running" for j in rows),
                    dead=sum(j.status == "dead" for j in rows),
                    oldest_due_seconds=(now - min(due)).total_seconds() if due else 0.0,
                )
            )
        return result

    async def get(self, job_id: int) -> Job | None:
        row = self._s.jobs.get(job_id)
        return None if row is None else _copy_job(row.job)


def _forgotten(forget: bool) -> dict[str, Any]:
    return {"payload": {}} if forget else {}


def _copy_job(job: Job) -> Job:
    """The caller gets its own payload, read as its message, as from the database."""
    payload = _copy(job.payload)
    return attrs.evolve(job, payload=payload, message=job_from_json(job.kind, payload))
