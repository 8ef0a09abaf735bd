"""Background work: processing uploaded videos, and the janitor.

Both run as jobs (``momentic_core.services.jobs`` holds the worker that runs them).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import attrs

from momentic_core.errors import Invalid, MomenticError, NotFound
from momentic_core.model.engagement import Notification, NotificationKind, NotificationView
from momentic_core.model.jobs import PackageHls, ProcessVideo, RunJanitor
from momentic_core.model.videos import (
    MultipartInfo,
    Video,
    VideoStatus,
)
from momentic_core.policies.media import AVATARS, hls_master_key, media_type
from momentic_core.ports import (
    BlobStore,
    Clock,
    MediaProcessor,
    UnitOfWork,
    UnitOfWorkFactory,
)
from momentic_core.services.config import MAX_RATE_WINDOW, Config
from momentic_core.services.engagement import Notifier
from momentic_core.services.jobs import JobKind
from momentic_core.services.ranking import Scorer
from momentic_core.services.videos import status_event

log = logging.getLogger(__name__)

# A rate-limit counter whose window started this long ago counts for nothing.
RATE_COUNTER_TTL = MAX_RATE_WINDOW + timedelta(days=1)


class Processing:
    """Turns an uploaded file into a playable video, or rejects it with a reason."""

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        blobs: BlobStore,
        media: MediaProcessor,
        clock: Clock,
        config: Config,
        notifier: Notifier | None = None,
        scorer: Scorer | None = None,
    ) -> None:
        self._config = config  # the longest video
        self._uow = uow
        self._blobs = blobs
        self._media = media
        self._notifier = notifier or Notifier()
        self._scorer = scorer or Scorer(clock=clock)
        self._clock = clock

    async def process(self, job: ProcessVideo) -> None:
        """Idempotent: a video no longer processing is left alone.

        The result is written under the row's lock only if the video is still
        processing; if it was deleted, removed, held or settled meanwhile, the files
        this run stored for it are deleted again (but those its row names: another run
        of the job processed it to the same keys) and the job is done, not retried."""
        video_id = job.video_id
        try:
            async with self._uow() as tx:
                video = await tx.videos.get(video_id)
        except NotFound:
            return  # deleted meanwhile
        if video.status is not VideoStatus.PROCESSING or video.source_key is None:
            return
        with tempfile.TemporaryDirectory(prefix="momentic-") as tmp:
            work = Path(tmp)
            source = work / "source"
            await self._blobs.download(video.source_key, source)
            try:
                info = await self._media.probe(source)
            except Invalid as exc:
                await self._reject(video, exc.code)
                return
            if info.duration_seconds > (await self._config.current()).max_video_seconds:
                await self._reject(video, "too_long")
                return
            thumb = work / "thumb.jpg"
            base = video.source_key.rsplit("/", 1)[0]
            thumb_key = f"{base}/thumb.jpg"
            playback_key = video.source_key
            size = video.size_bytes
            playback = source if info.playable else work / "playback.mp4"
            hls = work / "hls"
            try:
                # A file can probe well and still fail to decode further on: that is the
                # file's fault (rejected now), not a passing failure to retry.
                await self._media.thumbnail(source, thumb)
                if not info.playable:
                    await self._media.transcode(source, playback)
                hls_files = await self._media.hls(playback, hls)
            except Invalid as exc:
                await self._reject(video, exc.code)
                return
            await self._blobs.put_file(thumb_key, thumb, "image/jpeg")
            stored = [thumb_key]
            if not info.playable:
                playback_key = f"{base}/playback.mp4"
                size = await self._blobs.put_file(playback_key, playback, "video/mp4")
                stored.append(playback_key)
            hls_key, hls_stored = await self._put_hls(base, hls, hls_files)
            stored += hls_stored
        now = self._clock.now()
        async with self._uow() as tx:
            try:
                current = await tx.videos.get_for_update(video_id)
            except NotFound:
                current = None  # deleted meanwhile
            processing = current is not None and current.status is VideoStatus.PROCESSING
            if current is not None and processing:
                done = await tx.videos.update(
                    attrs.evolve(
                        current,
                        status=VideoStatus.READY,
                        playback_key=playback_key,
                        thumbnail_key=thumb_key,
                        hls_key=hls_key,
                        size_bytes=size,
                        duration_seconds=round(info.duration_seconds, 3),
                        width=info.width,
                        height=info.height,
                        container=info.container,
                        video_codec=info.video_codec,
                        audio_codec=info.audio_codec,
                        ready_at=now,
                        updated_at=now,
                    )
                )
                await self._scorer.video_ready(tx, done)
                sent = await self._announce(tx, done)
        if not processing:
            await self._discard(video_id, current, stored)
            return
        await self._notifier.push([sent])

    async def _discard(self, video_id: int, current: Video | None, stored: list[str]) -> None:
        """The video is gone (``current`` None) or no longer processing: delete the files
        this run stored for it, but those its row names (another run of the job processed
        it, to the same keys). A delete that fails is left to the janitor. One line logged."""
        named = set(current.blob_keys()) if current is not None else set()
        folders = tuple(current.blob_folders()) if current is not None else ()
        unnamed = [k for k in stored if k not in named and not k.startswith(folders)]
        left = 0
        for key in unnamed:
            try:
                await self._blobs.delete(key)
            except MomenticError:
                left += 1
        extra = {"video": video_id, "status": current.status.value if current else "deleted",
                 "deleted": len(unnamed) - left, "left_to_janitor": left}
        log.log(logging.WARNING if left else logging.INFO,
                "processed video not written: deleted or no longer processing", extra=extra)

    async def _put_hls(self, base: str, hls: Path, files: list[str]) -> tuple[str, list[str]]:
        """Store an HLS presentation written in ``hls`` beside the video's files under
        ``base``; return its master playlist's key and every key stored."""
        hls_key = hls_master_key(base)
        folder = hls_key.rsplit("/", 1)[0]
        keys = []
        for name in files:
            key = f"{folder}/{name}"
            await self._blobs.put_file(key, hls / name, media_type(name))
            keys.append(key)
        return hls_key, keys

    async def package_hls(self, job: PackageHls) -> None:
        """An HLS presentation for a ready video that has none (processed before
        migration 20261207_75; ``services.backfill`` queues these), packaged from its MP4
        as processing would. Idempotent: a video that has one, is not ready, or failed to
        package before, is left alone. An MP4 that will not package (``Invalid``: the
        file's fault) keeps playing as it is: the video keeps the code (``hls_error``) so
        the backfill passes over it. Any other failure raises, and the job is retried.

        The result is written under the row's lock only if the video is still ready and
        without HLS; if it was deleted, removed or held meanwhile, the files stored for it
        are deleted again."""
        video_id = job.video_id
        try:
            async with self._uow() as tx:
                video = await tx.videos.get(video_id)
        except NotFound:
            return
        if not _unpackaged(video):
            return
        assert video.playback_key is not None  # _unpackaged
        base = (video.source_key or video.playback_key).rsplit("/", 1)[0]
        with tempfile.TemporaryDirectory(prefix="momentic-") as tmp:
            work = Path(tmp)
            playback, hls = work / "playback.mp4", work / "hls"
            await self._blobs.download(video.playback_key, playback)
            try:
                files = await self._media.hls(playback, hls)
            except Invalid as exc:
                log.warning("no HLS for this video: %s", exc.detail,
                            extra={"video": video_id, "code": exc.code})
                await self._hls_failed(video_id, exc.code)
                return
            hls_key, stored = await self._put_hls(base, hls, files)
        async with self._uow() as tx:
            try:
                current = await tx.videos.get_for_update(video_id)
            except NotFound:
                current = None  # deleted meanwhile
            if current is not None and current.hls_key is not None:
                return  # packaged meanwhile, to the same keys: they are its files
            if current is not None and _unpackaged(current):
                await tx.videos.update(
                    attrs.evolve(current, hls_key=hls_key, updated_at=self._clock.now())
                )
                return
        # Gone, or no longer ready (removed, held): nothing names these files.
        for key in stored:
            try:
                await self._blobs.delete(key)
            except MomenticError:
                log.warning("HLS file not deleted; the janitor will",
                            extra={"video": video_id, "key": key})

    async def _hls_failed(self, video_id: int, reason: str) -> None:
        """Record that the video's MP4 will not package, unless it changed meanwhile."""
        async with self._uow() as tx:
            try:
                current = await tx.videos.get_for_update(video_id)
            except NotFound:
                return
            if _unpackaged(current):  # not packaged, removed or failed meanwhile
                await tx.videos.update(attrs.evolve(current, hls_error=reason[:200]))

    async def _reject(self, video: Video, reason: str) -> None:
        await self._settle(video.id, VideoStatus.REJECTED, reason)
        if video.source_key:
            try:
                await self._blobs.delete(video.source_key)
            except MomenticError:
                log.warning("source not deleted; the janitor will", extra={"video": video.id})

    async def fail(self, job: ProcessVideo, reason: str) -> None:
        """The processing job died: the video is failed with the reason."""
        await self._settle(job.video_id, VideoStatus.FAILED, reason[:200])

    async def _settle(self, video_id: int, status: VideoStatus, reason: str) -> None:
        try:
            async with self._uow() as tx:
                video = await tx.videos.get_for_update(video_id)
                if video.status is not VideoStatus.PROCESSING:
                    return
                video = await tx.videos.update(
                    attrs.evolve(
                        video, status=status, status_reason=reason, updated_at=self._clock.now()
                    )
                )
                sent = await self._announce(tx, video)
        except NotFound:
            return
        await self._notifier.push([sent])

    async def _announce(self, tx: UnitOfWork, video: Video) -> NotificationView | None:
        """Tell the author's sockets, and notify them: ready, or rejected with the reason."""
        await tx.events.emit(status_event(video))
        kind = (
            NotificationKind.VIDEO_READY
            if video.status is VideoStatus.READY
            else NotificationKind.VIDEO_REJECTED
        )
        return await self._notifier.add(
            tx,
            Notification(
                id=0,
                user_id=video.author_id,
                kind=kind,
                created_at=self._clock.now(),
                video_id=video.id,
                text=video.status_reason,
            ),
            None,
        )


class Janitor:
    """Removes abandoned uploads and blobs nothing points at, once they are old enough,
    and For-You ranking snapshots past their time to live, and push fan-out claims
    older than ``claim_ttl`` (a fan-out job is retried for minutes, never days), done jobs
    after ``job_ttl`` and dead ones after ``dead_job_ttl``, sessions (with their refresh
    tokens and devices) ``session_retention`` after they were revoked or could last
    refresh (``session_ttl`` idle), and, with ``prune_rate_limits``, rate-limit counters
    whose windows ended long ago."""

    PREFIXES = ("videos/", f"{AVATARS}/")

    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory,
        blobs: BlobStore,
        clock: Clock,
        min_age: timedelta = timedelta(hours=24),
        snapshot_ttl: timedelta = timedelta(hours=2),
        claim_ttl: timedelta = timedelta(days=3),
        job_ttl: timedelta = timedelta(days=7),
        dead_job_ttl: timedelta = timedelta(days=30),
        session_ttl: timedelta = timedelta(days=60),
        session_retention: timedelta = timedelta(days=30),
        prune_rate_limits: Callable[[datetime], Awaitable[int]] | None = None,
    ) -> None:
        self._uow = uow
        self._blobs = blobs
        self._clock = clock
        self.min_age = min_age
        self.snapshot_ttl = snapshot_ttl
        self.claim_ttl = claim_ttl
        self.job_ttl, self.dead_job_ttl = job_ttl, dead_job_ttl
        self.session_ttl, self.session_retention = session_ttl, session_retention
        self._prune_rate_limits = prune_rate_limits

    async def run(self, job: RunJanitor | None = None) -> dict[str, int]:
        cutoff = self._clock.now() - self.min_age
        uploads = 0
        while True:
            async with self._uow() as tx:
                stale = await tx.uploads.list_abandoned(cutoff, 100)
            if not stale:
                break
            for upload in stale:
                await self._blobs.abort_multipart(upload.key, upload.backend_id)
                async with self._uow() as tx:
                    await tx.uploads.delete(upload.id)
                uploads += 1
        uploads += await self._abort_orphan_multiparts(cutoff)
        blobs = 0
        for prefix in self.PREFIXES:
            batch: list[str] = []
            async for info in self._blobs.list_blobs(prefix):
                if info.modified < cutoff:
                    batch.append(info.key)
                if len(batch) >= 500:
                    blobs += await self._sweep(batch)
                    batch = []
            blobs += await self._sweep(batch)
        async with self._uow() as tx:
            snapshots = await tx.feeds.delete_snapshots(self._clock.now() - self.snapshot_ttl)
        async with self._uow() as tx:
            claims = await tx.devices.prune_claims(self._clock.now() - self.claim_ttl)
        now = self._clock.now()
        async with self._uow() as tx:
            jobs = await tx.jobs.delete_finished(now - self.job_ttl, now - self.dead_job_ttl)
        async with self._uow() as tx:
            sessions = await tx.sessions.delete_ended(
                now - self.session_retention, now - self.session_ttl - self.session_retention
            )
        counters = 0
        if self._prune_rate_limits is not None:
            counters = await self._prune_rate_limits(now - RATE_COUNTER_TTL)
        counts = {"uploads": uploads, "blobs": blobs, "snapshots": snapshots,
                  "push_claims": claims, "jobs": jobs, "sessions": sessions,
                  "rate_limits": counters}
        if any(counts.values()):
            log.info("janitor swept", extra=counts)
        return counts

    async def _abort_orphan_multiparts(self, cutoff: datetime) -> int:
        """Multipart uploads no row points at: the process died between beginning one and
        writing its uploads row, or in the middle of streaming a large video
        (``put_stream``). Nothing else would ever abort them."""
        begun: list[MultipartInfo] = []
        for prefix in self.PREFIXES:
            async for pending in self._blobs.list_multipart(prefix):
                if pending.active < cutoff:
                    begun.append(pending)
        aborted = 0
        for start in range(0, len(begun), 500):
            batch = begun[start : start + 500]
            async with self._uow() as tx:
                used = await tx.videos.referenced_keys([p.key for p in batch])
            for pending in batch:
                if pending.key not in used:
                    await self._blobs.abort_multipart(pending.key, pending.upload_id)
                    aborted += 1
        return aborted

    async def _sweep(self, keys: list[str]) -> int:
        if not keys:
            return 0
        async with self._uow() as tx:
            used = await tx.videos.referenced_keys(keys)
        gone = [k for k in keys if k not in used]
        for key in gone:
            await self._blobs.delete(key)
        return len(gone)


def _unpackaged(video: Video) -> bool:
    """A ready video with an MP4, no HLS presentation and no failure to package one."""
    return (video.status is VideoStatus.READY and video.hls_key is None
            and video.hls_error is None and video.playback_key is not None)


def video_job_kinds(processing: Processing, janitor: Janitor) -> list[JobKind[Any]]:
    return [
        JobKind(ProcessVideo, processing.process, on_dead=processing.fail),
        JobKind(PackageHls, processing.package_hls),
        JobKind(RunJanitor, janitor.run),
    ]


async def schedule_janitor(uow: UnitOfWorkFactory) -> None:
    """Queue a janitor run unless one is queued or running already."""
    async with uow() as tx:
        await tx.jobs.enqueue(RunJanitor(), dedupe_key=RunJanitor.kind, max_attempts=1)
