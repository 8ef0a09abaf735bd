"""The video pipeline end to end: real HTTP, real PostgreSQL, the real S3 protocol (moto's
server) and the real PyAV media adapter.

Doubles appear only where a failure has to be injected: a BlobStore that delegates to the
real S3 store but fails on cue, and a unit of work whose video insert fails.
"""

from __future__ import annotations

import functools
import hashlib
import io
import struct
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest
from clip_support import unique
from failure_support import Fails, Switch, storage_with
from PIL import Image

from adapters.clock import SystemClock
from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.memory.clock import ManualClock
from adapters.memory.mail import InMemoryMailer
from adapters.postgres.uow import PostgresUnitOfWork
from adapters.postgres.videos import PostgresJobRunner
from adapters.s3.blob_store import S3BlobStore
from momentic_core.errors import Unavailable
from momentic_core.ports import BlobStore, Clock
from momentic_core.services.processing import Janitor

MiB = 1024 * 1024
PASSWORD = "correct horse battery"
FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


# ------------------------------------------------------------------------- helpers


def padded(clip: bytes, total: int) -> bytes:
    """``clip`` grown to ``total`` bytes by a top-level ``free`` box at the end: still a
    valid MP4 (players skip free boxes), large enough to need several S3 parts."""
    pad = total - len(clip)
    assert pad >= 8
    return clip + struct.pack(">I4s", pad, b"free") + bytes(pad - 8)


def form(
    data: bytes,
    *,
    description: str = "Sunset",
    visibility: str = "public",
    filename: str = "clip.mp4",
) -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("description", description)
    body.add_field("visibility", visibility)
    # A file object, not bytes: aiohttp warns about bytes payloads over 1 MiB.
    body.add_field("video_file", io.BytesIO(data), filename=filename, content_type="video/mp4")
    return body


def chunked_form(data: bytes, chunk: int = 256 * 1024) -> aiohttp.MultipartWriter:
    """A multipart body without a Content-Length (the file part is an async generator),
    so the server only learns the size by reading it."""

    async def pieces() -> AsyncIterator[bytes]:
        for start in range(0, len(data), chunk):
            yield data[start : start + chunk]

    writer = aiohttp.MultipartWriter("form-data")
    part = writer.append(pieces(), {"Content-Type": "video/mp4"})
    part.set_content_disposition("form-data", name="video_file", filename="big.mp4")
    return writer


def digest(data: bytes) -> str:
    """Compared instead of the bytes, so that a failure does not print megabytes."""
    return f"{len(data)}:{hashlib.sha256(data).hexdigest()}"


class Env:
    """One app on PostgreSQL + moto, its backend, and ways to look behind its back."""

    def __init__(
        self,
        client: Any,
        backend: Composition,
        mailer: InMemoryMailer,
        pool: asyncpg.Pool,
        s3: Any,
        bucket: str,
    ) -> None:
        self.client = client
        self.backend = backend
        self.mailer = mailer
        self.pool = pool
        self.s3 = s3
        self.bucket = bucket

    async def signup(self) -> dict[str, str]:
        email = f"pipeline-{uuid.uuid4().hex[:10]}@bsu.by"
        r = await self.client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status == 202, await r.text()
        r = await self.client.post(
            "/v1/auth/verify",
            json={"email": email, "code": await self.mailer.wait_code(email), "password": PASSWORD},
        )
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}

    async def run_jobs(self) -> int:
        worker = await self.backend.worker()
        ran = 0
        while await worker.run_once() is not None:
            ran += 1
        return ran

    def objects(self) -> list[str]:
        page = self.s3.list_objects_v2(Bucket=self.bucket)
        return sorted(item["Key"] for item in page.get("Contents", ()))

    def open_multipart(self) -> list[str]:
        page = self.s3.list_multipart_uploads(Bucket=self.bucket)
        return [u["Key"] for u in page.get("Uploads", ())]

    async def rows(self, table: str) -> int:
        assert table in ("videos", "uploads", "jobs")
        # Sign-up mail is a job too (send_mail): only the others count here.
        where = " WHERE kind <> 'send_mail'" if table == "jobs" else ""
        return int(await self.pool.fetchval(f"SELECT count(*) FROM {table}{where}"))

    async def assert_nothing_kept(self) -> None:
        assert self.objects() == []
        assert self.open_multipart() == []
        assert await self.rows("videos") == 0
        assert await self.rows("uploads") == 0
        assert await self.rows("jobs") == 0


def s3_settings(
    database_url: str, s3_server: str, bucket: str, data_dir: Path, **overrides: Any
) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "storage": "s3",
        "s3_bucket": bucket,
        "s3_endpoint_url": s3_server,
        "s3_access_key_id": "testing",
        "s3_secret_access_key": "testing",
        "secret": "pipeline-secret",
        "data_dir": str(data_dir),
        "db_pool_min": 1,
        "db_pool_max": 4,
        **FAST_HASH,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def make_env(
    aiohttp_client: Any,
    database_url: str,
    clean_pg_pool: asyncpg.Pool,
    s3_server: str,
    s3_admin: Any,
    s3_bucket: str,
    tmp_path: Path,
) -> Any:
    """``await make_env(settings={...}, **providers)``: an app on a clean database and an
    empty bucket; ``settings`` change Settings fields, ``providers`` override providers of
    the container (``blobs=``, ``clock=``, ``storage=``)."""

    async def make(settings: dict[str, Any] | None = None, **providers: Any) -> Env:
        mailer = InMemoryMailer()
        config = s3_settings(database_url, s3_server, s3_bucket, tmp_path, **(settings or {}))
        backend = Composition(config, mailer=mailer, **providers)
        client = await aiohttp_client(create_app(backend))
        return Env(client, backend, mailer, clean_pg_pool, s3_admin, s3_bucket)

    return make


@pytest.fixture
async def s3_store(s3_server: str, s3_bucket: str) -> AsyncIterator[S3BlobStore]:
    """The real S3 adapter on this test's bucket, for doubles to wrap."""
    async with S3BlobStore(
        bucket=s3_bucket,
        endpoint_url=s3_server,
        access_key_id="testing",
        secret_access_key="testing",
    ) as store:
        yield store


class FlakyBlobStore:
    """The real store, failing on cue: a failure is the one place a double is fine.

    ``fail_after``: ``put_stream``'s chunks raise Unavailable once that many bytes went
    through. ``fail_deletes``: ``delete`` raises Unavailable (S3 hiccup during cleanup)."""

    def __init__(
        self,
        inner: BlobStore,
        *,
        fail_after: int | None = None,
        fail_deletes: bool = False,
        on_fail: Any = None,
    ) -> None:
        self._inner = inner
        self.fail_after = fail_after
        self.fail_deletes = fail_deletes
        self.on_fail = on_fail

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def put_stream(self, key: str, chunks: Any, content_type: str) -> int:
        return await self._inner.put_stream(key, self._failing(chunks), content_type)

    async def _failing(self, chunks: Any) -> AsyncIterator[bytes]:
        total = 0
        async for chunk in chunks:
            total += len(chunk)
            if self.fail_after is not None and total > self.fail_after:
                if self.on_fail is not None:
                    self.on_fail()
                raise Unavailable("S3 stopped answering.", code="storage_unavailable")
            yield chunk

    async def delete(self, key: str) -> None:
        if self.fail_deletes:
            raise Unavailable("S3 stopped answering.", code="storage_unavailable")
        await self._inner.delete(key)


def _failing_video_insert(uow: PostgresUnitOfWork, switch: Switch) -> None:
    uow.videos = Fails(uow.videos, "add")



async def assert_ready_and_playable(
    env: Env, auth: dict[str, str], video_id: int, data: bytes
) -> None:
    r = await env.client.get(f"/v1/videos/{video_id}", headers=auth)
    video = await r.json()
    assert video["status"] == "ready", video
    assert (video["width"], video["height"]) == (320, 240)
    assert abs(video["duration_seconds"] - 1.0) < 0.1
    assert video["size_bytes"] == len(data)
    for url in (video["playback_url"], video["thumbnail_url"]):
        parts = urlsplit(url)
        assert f"{parts.scheme}://{parts.netloc}" == env.s3.meta.endpoint_url
        assert "X-Amz-Signature=" in parts.query and "X-Amz-Expires=" in parts.query
    async with aiohttp.ClientSession() as plain:  # straight from S3, no app in between
        async with plain.get(video["playback_url"]) as r:
            assert r.status == 200
            assert digest(await r.read()) == digest(data)
        async with plain.get(video["thumbnail_url"]) as r:
            assert r.status == 200
            thumb = Image.open(io.BytesIO(await r.read()))
    assert thumb.format == "JPEG" and thumb.size[0] > 0


# ------------------------------------------------------------------------- happy paths


async def test_a_clip_uploaded_both_ways_becomes_ready_and_plays_from_s3(
    make_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_env()
    auth = await env.signup()
    data = padded(sample_clips["playable"].read_bytes(), 12 * MiB)  # two 8 MiB S3 parts
    other = padded(unique(sample_clips["playable"]), 12 * MiB)  # not a duplicate of data

    # 1. Simple: one multipart/form-data POST, streamed to S3.
    r = await env.client.post("/v1/videos", data=form(data), headers=auth)
    assert r.status == 201, await r.text()
    simple = await r.json()
    assert simple["status"] == "processing"

    # 2. Resumable: parts PUT straight to S3 at presigned URLs, without our token.
    r = await env.client.post(
        "/v1/uploads",
        json={
            "size_bytes": len(other),
            "content_type": "video/mp4",
            "description": "Resumed",
            "visibility": "public",
        },
        headers=auth,
    )
    assert r.status == 201, await r.text()
    upload = await r.json()
    parts = upload["parts"]
    assert [p["number"] for p in parts] == [1, 2]
    assert all(
        urlsplit(p["url"]).netloc == urlsplit(env.s3.meta.endpoint_url).netloc for p in parts
    )
    async with aiohttp.ClientSession() as plain:
        offset = 0
        for i, part in enumerate(parts):
            chunk = other[offset : offset + part["size_bytes"]]
            offset += part["size_bytes"]
            async with plain.put(part["url"], data=io.BytesIO(chunk)) as r:
                assert r.status == 200, await r.text()
                assert r.headers["ETag"]
            state = await (await env.client.get(f"/v1/uploads/{upload['id']}", headers=auth)).json()
            assert [p["received"] for p in state["parts"]] == [j <= i for j in range(2)]
        assert offset == len(other)
    first = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    assert first.status == 200, await first.text()
    second = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    assert second.status == 200
    resumed, again = await first.json(), await second.json()
    assert again["id"] == resumed["id"] and resumed["description"] == "Resumed"
    assert env.open_multipart() == []

    assert await env.run_jobs() == 2
    for video_id, sent in ((simple["id"], data), (resumed["id"], other)):
        await assert_ready_and_playable(env, auth, video_id, sent)
    assert await env.rows("videos") == 2


# ------------------------------------------------------------------------- refusals


async def test_html_renamed_mp4_gets_415_both_ways_and_nothing_is_kept(
    make_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_env()
    auth = await env.signup()
    html = sample_clips["html"].read_bytes()

    r = await env.client.post("/v1/videos", data=form(html, filename="page.mp4"), headers=auth)
    assert r.status == 415
    assert r.content_type == "application/problem+json"
    assert (await r.json())["code"] == "unsupported_media_type"

    r = await env.client.post(
        "/v1/uploads", json={"size_bytes": len(html), "content_type": "video/mp4"}, headers=auth
    )
    upload = await r.json()
    async with aiohttp.ClientSession() as plain:
        async with plain.put(upload["parts"][0]["url"], data=html) as put:
            assert put.status == 200
    r = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    assert r.status == 415 and (await r.json())["code"] == "unsupported_media_type"
    await env.assert_nothing_kept()


async def test_oversize_gets_413_and_nothing_is_kept(
    make_env: Any, sample_clips: dict[str, Path]
) -> None:
    limit = 10 * MiB
    env = await make_env(settings={"max_video_bytes": limit})
    auth = await env.signup()
    data = padded(sample_clips["playable"].read_bytes(), 12 * MiB)

    # Declared length over the limit: refused before a byte is read.
    r = await env.client.post("/v1/videos", data=form(data), headers=auth)
    assert r.status == 413 and (await r.json())["code"] == "video_too_large"
    # No length: refused when the limit is crossed, after one 8 MiB part went to S3.
    r = await env.client.post("/v1/videos", data=chunked_form(data), headers=auth)
    assert r.status == 413 and (await r.json())["code"] == "video_too_large"
    # Resumable: refused at creation.
    r = await env.client.post(
        "/v1/uploads", json={"size_bytes": len(data), "content_type": "video/mp4"}, headers=auth
    )
    assert r.status == 413 and (await r.json())["limit"] == limit
    await env.assert_nothing_kept()


# ------------------------------------------------------------------------- failures


async def test_s3_failure_mid_upload_leaves_no_row_and_no_blob(
    make_env: Any,
    s3_store: S3BlobStore,
    s3_admin: Any,
    s3_bucket: str,
    sample_clips: dict[str, Path],
) -> None:
    seen: list[list[dict[str, Any]]] = []
    flaky = FlakyBlobStore(
        s3_store,
        fail_after=10 * MiB,
        on_fail=lambda: seen.append(
            s3_admin.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
        ),
    )
    env = await make_env(blobs=flaky)
    auth = await env.signup()
    data = padded(sample_clips["playable"].read_bytes(), 12 * MiB)

    r = await env.client.post("/v1/videos", data=form(data), headers=auth)
    assert r.status == 503, await r.text()
    assert r.content_type == "application/problem+json"
    problem = await r.json()
    assert problem["status"] == 503 and problem["code"] == "storage_unavailable"
    assert len(seen) == 1 and len(seen[0]) == 1, "a multipart upload was under way"
    await env.assert_nothing_kept()


@pytest.mark.parametrize("cleanup_works", [True, False], ids=["cleanup", "s3-down-too"])
async def test_database_failure_after_the_blob_is_stored_leaves_no_orphan(
    make_env: Any,
    s3_store: S3BlobStore,
    clean_pg_pool: asyncpg.Pool,
    database_url: str,
    sample_clips: dict[str, Path],
    cleanup_works: bool,
) -> None:
    switch = Switch()  # off: signing up needs the database
    flaky = FlakyBlobStore(s3_store, fail_deletes=not cleanup_works)
    storage = storage_with(clean_pg_pool, database_url, switch, _failing_video_insert)
    env = await make_env(blobs=flaky, storage=storage)
    auth = await env.signup()
    switch.on = True

    r = await env.client.post(
        "/v1/videos", data=form(sample_clips["playable"].read_bytes()), headers=auth
    )
    assert r.status == 503, await r.text()
    assert (await r.json())["code"] == "unavailable"
    assert await env.rows("videos") == 0 and await env.rows("jobs") == 0
    if cleanup_works:
        assert env.objects() == [], "the service deleted the blob itself"
    else:
        assert len(env.objects()) == 1, "S3 was down for the cleanup too: an orphan"

    flaky.fail_deletes = False
    janitor = Janitor(
        uow=functools.partial(PostgresUnitOfWork, clean_pg_pool),
        blobs=s3_store,
        clock=SystemClock(),
        min_age=timedelta(0),
    )
    swept = await janitor.run()
    assert swept["blobs"] == (0 if cleanup_works else 1)
    await env.assert_nothing_kept()


async def test_completing_again_after_a_database_failure_creates_the_video(
    make_env: Any,
    s3_store: S3BlobStore,
    clean_pg_pool: asyncpg.Pool,
    database_url: str,
    sample_clips: dict[str, Path],
) -> None:
    """The first complete joined the parts, then the row could not be written: the retry
    finds the joined blob instead of the multipart upload and finishes the job."""
    switch = Switch()
    storage = storage_with(clean_pg_pool, database_url, switch, _failing_video_insert)
    env = await make_env(storage=storage)
    auth = await env.signup()
    data = sample_clips["playable"].read_bytes()
    upload = await (
        await env.client.post(
            "/v1/uploads", json={"size_bytes": len(data), "content_type": "video/mp4"}, headers=auth
        )
    ).json()
    async with aiohttp.ClientSession() as plain:
        async with plain.put(upload["parts"][0]["url"], data=data) as put:
            assert put.status == 200
    switch.on = True
    r = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    assert r.status == 503
    assert env.open_multipart() == [] and len(env.objects()) == 1  # joined, no row yet
    state = await (await env.client.get(f"/v1/uploads/{upload['id']}", headers=auth)).json()
    assert state["status"] == "open" and [p["received"] for p in state["parts"]] == [True]

    switch.on = False
    r = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    assert r.status == 200, await r.text()
    video = await r.json()
    again = await (
        await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    ).json()
    assert again["id"] == video["id"]
    assert await env.run_jobs() == 1
    await assert_ready_and_playable(env, auth, video["id"], data)


# ------------------------------------------------------------------------- janitor


async def test_janitor_removes_old_orphans_and_keeps_referenced_and_young_blobs(
    make_env: Any,
    s3_store: S3BlobStore,
    clean_pg_pool: asyncpg.Pool,
    s3_admin: Any,
    s3_bucket: str,
    sample_clips: dict[str, Path],
) -> None:
    env = await make_env()
    auth = await env.signup()
    r = await env.client.post(
        "/v1/videos", data=form(sample_clips["playable"].read_bytes()), headers=auth
    )
    video = await r.json()
    assert await env.run_jobs() == 1
    kept = env.objects()
    # source (also the playback file), thumbnail, and the HLS master playlist with two
    # renditions of a media playlist, an init segment and one segment each
    assert len(kept) == 9
    orphan = f"videos/{uuid.uuid4().hex}/source"
    s3_admin.put_object(Bucket=s3_bucket, Key=orphan, Body=b"left behind")

    def janitor(clock: Clock) -> Janitor:
        return Janitor(
            uow=functools.partial(PostgresUnitOfWork, clean_pg_pool),
            blobs=s3_store,
            clock=clock,
            min_age=timedelta(hours=1),
        )

    assert (await janitor(SystemClock()).run())["blobs"] == 0, "the orphan is too young"
    assert env.objects() == sorted([*kept, orphan])
    later = ManualClock(datetime.now(UTC) + timedelta(hours=2))
    assert await janitor(later).run() == {
        "uploads": 0, "blobs": 1, "snapshots": 0, "push_claims": 0,
        "jobs": 0, "sessions": 0, "rate_limits": 0}
    assert env.objects() == kept
    await assert_ready_and_playable(env, auth, video["id"], sample_clips["playable"].read_bytes())


async def test_janitor_aborts_a_resumable_upload_abandoned_for_a_day(
    make_env: Any, sample_clips: dict[str, Path]
) -> None:
    clock = ManualClock(datetime.now(UTC))
    env = await make_env(clock=clock)
    auth = await env.signup()
    data = padded(sample_clips["playable"].read_bytes(), 12 * MiB)
    upload = await (
        await env.client.post(
            "/v1/uploads", json={"size_bytes": len(data), "content_type": "video/mp4"}, headers=auth
        )
    ).json()
    async with aiohttp.ClientSession() as plain:  # the phone sends one part, then vanishes
        async with plain.put(upload["parts"][0]["url"], data=io.BytesIO(data[: 8 * MiB])) as put:
            assert put.status == 200
    janitor = await env.backend.janitor()

    clock.advance(timedelta(hours=23))
    assert await janitor.run() == {"uploads": 0, "blobs": 0, "snapshots": 0, "push_claims": 0,
        "jobs": 0, "sessions": 0, "rate_limits": 0}
    assert len(env.open_multipart()) == 1 and await env.rows("uploads") == 1

    clock.advance(timedelta(hours=2))
    assert await janitor.run() == {"uploads": 1, "blobs": 0, "snapshots": 0, "push_claims": 0,
        "jobs": 0, "sessions": 0, "rate_limits": 0}
    await env.assert_nothing_kept()


# ------------------------------------------------------------------------- restarts


async def test_a_job_whose_worker_died_is_taken_again_after_a_restart(
    aiohttp_client: Any,
    make_env: Any,
    clean_pg_pool: asyncpg.Pool,
    sample_clips: dict[str, Path],
) -> None:
    clock = ManualClock(datetime.now(UTC))
    env = await make_env(clock=clock)
    auth = await env.signup()
    data = sample_clips["playable"].read_bytes()
    video = await (await env.client.post("/v1/videos", data=form(data), headers=auth)).json()

    # A worker takes the job and is killed: it never completes, retries or buries it.
    dying = PostgresJobRunner(clean_pg_pool, clock)
    job = await dying.claim(["process_video"], timedelta(seconds=1))
    assert job is not None and job.attempts == 1
    await env.client.close()  # the whole instance goes down

    # The restart: a new backend on the same database and bucket.
    restarted = Composition(env.backend.settings, mailer=env.mailer, clock=clock)
    env.client = await aiohttp_client(create_app(restarted))
    env.backend = restarted
    worker = await restarted.worker()
    assert await worker.run_once() is None, "the lease still holds"
    clock.advance(timedelta(seconds=2))
    taken = await worker.run_once()
    assert taken is not None and taken.id == job.id and taken.attempts == 2
    assert await worker.run_once() is None

    row = await clean_pg_pool.fetchrow("SELECT status, attempts FROM jobs WHERE id = $1", job.id)
    assert (row["status"], row["attempts"]) == ("done", 2)
    await assert_ready_and_playable(env, auth, video["id"], data)
