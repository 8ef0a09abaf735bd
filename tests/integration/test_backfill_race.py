"""The content-hash backfill against an upload of the same bytes by the same author that
commits while the backfill writes, on PostgreSQL: the backfill's NOT EXISTS cannot see the
upload's uncommitted row, so its write waits on the unique index videos_author_content_key
until the upload commits, then is refused (Conflict duplicate_content); the backfill
leaves its old video unhashed and reports it as a duplicate of the upload's."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import asyncpg

from adapters.memory.blobs import InMemoryBlobStore
from adapters.memory.clock import ManualClock
from adapters.postgres.uow import PostgresUnitOfWork
from momentic_core.model.accounts import User
from momentic_core.model.videos import Backfill, Video, VideoStatus, Visibility
from momentic_core.services.backfill import Backfills, Duplicate

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
DATA = b"the same file, uploaded before and after migration 79"
WAITS_FOR = 2000  # looks at pg_stat_activity, a hang guard: not a timing assertion


async def _one(data: bytes) -> AsyncIterator[bytes]:
    yield data


def _video(author_id: int, n: int, content_hash: str | None = None) -> Video:
    return Video(id=0, author_id=author_id, description="", visibility=Visibility.PUBLIC,
                 status=VideoStatus.READY, created_at=T0, updated_at=T0,
                 source_key=f"videos/{n:032x}/source", content_hash=content_hash)


async def test_an_upload_committing_meanwhile_keeps_the_hash(clean_pg_pool: asyncpg.Pool) -> None:
    clock = ManualClock(T0)
    uow = functools.partial(PostgresUnitOfWork, clean_pg_pool, clock=clock)
    blobs = InMemoryBlobStore("http://media.test", b"blob secret", clock=clock)
    async with uow() as tx:
        ann = await tx.users.add(User(id=0, email="ann@bsu.by", nickname="ann",
                                      created_at=T0, email_verified=True))
        old = await tx.videos.add(_video(ann.id, 1))
    assert old.source_key is not None
    await blobs.put_stream(old.source_key, _one(DATA), "video/mp4")

    async with uow() as upload:  # the upload's row, not committed yet
        new = await upload.videos.add(_video(ann.id, 2, hashlib.sha256(DATA).hexdigest()))
        backfill = asyncio.create_task(Backfills(uow=uow, blobs=blobs).run(Backfill.HASHES))
        for _ in range(WAITS_FOR):
            waiting = await clean_pg_pool.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                " AND query LIKE '%UPDATE videos SET content_hash%'")
            if waiting or backfill.done():
                break
            await asyncio.sleep(0.01)
        assert waiting == 1 and not backfill.done(), "the backfill waits on the index"
    report = await backfill
    assert (report.seen, report.done) == (1, 0)
    assert report.duplicates == (Duplicate(old.id, ann.id, new.id),)
    hashes = await clean_pg_pool.fetch("SELECT id, content_hash FROM videos ORDER BY id")
    assert [(r["id"], r["content_hash"]) for r in hashes] == [
        (old.id, None), (new.id, hashlib.sha256(DATA).hexdigest())]
