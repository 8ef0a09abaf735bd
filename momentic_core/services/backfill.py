"""Backfills: what videos stored before a migration lack, filled in (``momentic backfill``).

- ``search``: the search words and hashtags of descriptions never indexed (migration
  20261207_73), written as an edit writes them.
- ``hls``: an HLS presentation for ready videos processed before migration 20261207_75.
  Nothing is transcoded here: each video gets a ``package_hls`` job (one per video, by
  dedupe key), which the job workers run as processing does. A video whose MP4 would not
  package (``Video.hls_error``, migration 20261207_84) is passed over and counted as
  ``failed``; a job that failed otherwise (died) is queued again.
- ``hashes``: the SHA-256 of each stored original (migration 20261207_79), read as a
  stream from the blob store, a chunk at a time.

Each works in batches by video id, each batch its own short transactions (a file is
hashed outside any), so it can be stopped at any point and run again: what was done is
no longer listed, and a second run writes nothing. ``progress(done, total)`` is called
after each batch.

Two old videos of one author with the same bytes cannot both be hashed (the unique index
``videos_author_content_key``): the one hashed first keeps the hash (the oldest, since
ids go by upload; or one uploaded since migration 79, which was hashed then) and the
others stay NULL, reported as duplicates of it. They stay apart as they were (nothing is
deleted); as before, only the hashed one answers a new upload of those bytes. A later run
reads them again and reports them again.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable

import attrs

from momentic_core.errors import Conflict, NotFound
from momentic_core.model.jobs import PackageHls
from momentic_core.model.videos import Backfill, Video
from momentic_core.ports import BlobStore, UnitOfWorkFactory
from momentic_core.services.videos import DUPLICATE_CONTENT

Progress = Callable[[int, int], None]

BATCH = 200


@attrs.frozen
class Duplicate:
    """An old video left unhashed: another video of its author holds its bytes."""

    video_id: int
    author_id: int
    kept_video_id: int


@attrs.frozen
class BackfillReport:
    """What one run did. ``done``: videos indexed, queued or hashed; ``already``: HLS jobs
    queued or running before this run; ``failed``: videos without HLS passed over because
    their MP4 would not package (``hls_error``); ``duplicates`` and ``missing`` (no stored
    file): hashes left NULL."""

    what: Backfill
    seen: int = 0
    done: int = 0
    already: int = 0
    failed: int = 0
    duplicates: tuple[Duplicate, ...] = ()
    missing: tuple[int, ...] = ()


class Backfills:
    """The backfills, run by the operator (``momentic backfill``)."""

    def __init__(self, *, uow: UnitOfWorkFactory, blobs: BlobStore) -> None:
        self._uow = uow
        self._blobs = blobs

    async def run(
        self, what: Backfill, progress: Progress | None = None, batch: int = BATCH
    ) -> BackfillReport:
        if batch < 1:
            raise ValueError(f"a backfill batch is at least 1 video, not {batch}")
        async with self._uow() as tx:
            total = await tx.videos.count_lacking(what)
            failed = await tx.videos.count_hls_failed() if what is Backfill.HLS else 0
        report = BackfillReport(what, failed=failed)
        after = 0
        while True:
            async with self._uow() as tx:
                videos = await tx.videos.lacking(what, after, batch)
            if not videos:
                break
            after = videos[-1].id
            report = await self._batch(report, videos)
            if progress is not None:
                progress(min(report.seen, total), max(total, report.seen))
        return report

    async def _batch(self, report: BackfillReport, videos: list[Video]) -> BackfillReport:
        seen = report.seen + len(videos)
        if report.what is Backfill.SEARCH:
            async with self._uow() as tx:
                done = await tx.videos.index_search([v.id for v in videos])
            return attrs.evolve(report, seen=seen, done=report.done + done)
        if report.what is Backfill.HLS:
            queued = 0
            async with self._uow() as tx:
                for video in videos:
                    job = await tx.jobs.enqueue(
                        PackageHls(video_id=video.id),
                        dedupe_key=f"{PackageHls.kind}:{video.id}",
                    )
                    queued += job is not None
            return attrs.evolve(report, seen=seen, done=report.done + queued,
                                already=report.already + len(videos) - queued)
        done, duplicates, missing = 0, list(report.duplicates), list(report.missing)
        for video in videos:
            assert video.source_key is not None  # lacking(HASHES) lists those with one
            try:
                digest = await self._sha256(video.source_key)
            except NotFound:
                missing.append(video.id)
                continue
            written = await self._set_hash(video, digest)
            if isinstance(written, Video):
                duplicates.append(Duplicate(video.id, video.author_id, written.id))
            elif written:
                done += 1
        return attrs.evolve(report, seen=seen, done=report.done + done,
                            duplicates=tuple(duplicates), missing=tuple(missing))

    async def _sha256(self, key: str) -> str:
        """The SHA-256 of a blob, read as a stream (one chunk in memory at a time)."""
        digest = hashlib.sha256()
        async with contextlib.aclosing(self._blobs.read(key)) as chunks:
            async for chunk in chunks:
                digest.update(chunk)
        return digest.hexdigest()

    async def _set_hash(self, video: Video, digest: str) -> bool | Video:
        """True when written; the video that holds these bytes instead; False when the
        video changed meanwhile (deleted, rejected, hashed)."""
        try:
            async with self._uow() as tx:
                if await tx.videos.set_content_hash(video.id, digest):
                    return True
                holder = await tx.videos.by_content(video.author_id, digest)
        except Conflict as exc:  # an upload of the same bytes committed meanwhile
            if exc.code != DUPLICATE_CONTENT:
                raise
            async with self._uow() as tx:
                holder = await tx.videos.by_content(video.author_id, digest)
        return holder if holder is not None and holder.id != video.id else False
