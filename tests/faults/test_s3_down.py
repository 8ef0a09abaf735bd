"""The S3 endpoint stops and comes back (issue 9).

The app runs (``create_app(Composition(...))``) on this run's PostgreSQL database against a
PRIVATE moto server that this test starts on its own free loopback port; the
session-wide ``s3_server`` other tests use is never stopped.

``ThreadedMotoServer.stop()`` only leaves ``serve_forever``: the listening socket stays
open (the kernel keeps accepting connections nobody answers) and keep-alive connections
already open go on being served by their handler threads. A stopped S3 process does
neither, so ``StoppableMotoServer.kill()`` also closes the listening socket and shuts down
every open connection: clients then see what they see when the process is gone (refused
connections, reset keep-alive sockets).

The rules, with the server down:

- POST /v1/videos (multipart upload) and POST /v1/uploads (resumable) answer 503
  problem+json (an ``Unavailable`` kind: the S3 adapter's ``storage_unavailable``), never
  500, each within ``HANG_GUARD``;
- nothing is half-stored: no new videos, uploads or jobs rows;
- GET /v1/feed/global, /v1/videos/{id}, /v1/users/{id} and /v1/me answer 200 with signed
  playback, thumbnail and avatar URLs (presigning is local computation, no network).

Then a new server on the same port (moto's state lives in the process, so the bucket and
its objects are still there) takes an upload again, without restarting the app.
"""

from __future__ import annotations

import asyncio
import io
import logging
import secrets
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import boto3
import pytest
from clip_support import unique
from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from PIL import Image
from werkzeug.serving import make_server

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.memory.mail import InMemoryMailer

PASSWORD = "correct horse battery"
FAST_HASH: dict[str, Any] = {
    "argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1
}
HANG_GUARD = 15.0  # seconds one request may take while S3 is down (3 attempts, backoff)
UNAVAILABLE = {"unavailable", "storage_unavailable"}


# ------------------------------------------------------------- a private S3


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StoppableMotoServer(ThreadedMotoServer):
    """moto's threaded server on a fixed port that can be stopped the way a process stops:
    listening socket closed, open connections shut down."""

    def __init__(self, port: int) -> None:
        super().__init__(ip_address="127.0.0.1", port=port, verbose=False)
        self._live: set[socket.socket] = set()
        self._lock = threading.Lock()

    def _server_entry(self) -> None:
        live, lock = self._live, self._lock

        class Handler(MotoRequestHandler):
            def setup(self) -> None:
                super().setup()
                with lock:
                    live.add(self.connection)

            def finish(self) -> None:
                with lock:
                    live.discard(self.connection)
                super().finish()

        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=Handler
        )
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._port}"

    def kill(self) -> None:
        self.stop()
        assert self._server is not None
        self._server.server_close()
        with self._lock:
            connections = list(self._live)
        for conn in connections:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass  # already gone


@pytest.fixture
def private_s3() -> Iterator[dict[str, Any]]:
    """A private moto server and a bucket on it; ``state["server"]`` is replaced when the
    test starts a new one, and whichever runs at the end is stopped."""
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = StoppableMotoServer(_free_port())
    server.start()
    bucket = f"momentic-s3down-{secrets.token_hex(6)}"
    admin = boto3.client(
        "s3", endpoint_url=server.url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    admin.create_bucket(Bucket=bucket)
    state: dict[str, Any] = {"server": server, "bucket": bucket, "admin": admin, "up": True}
    try:
        yield state
    finally:
        if not state["up"]:
            state["server"] = StoppableMotoServer(server._port)
            state["server"].start()
        try:
            for page in admin.get_paginator("list_multipart_uploads").paginate(Bucket=bucket):
                for upload in page.get("Uploads", ()):
                    admin.abort_multipart_upload(
                        Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"]
                    )
            for page in admin.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
                if keys:
                    admin.delete_objects(Bucket=bucket, Delete={"Objects": keys})
            admin.delete_bucket(Bucket=bucket)
        finally:
            admin.close()
            state["server"].kill()
            werkzeug_log.setLevel(level)


# ------------------------------------------------------------------- helpers


def video_form(data: bytes) -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("description", "Sunset")
    body.add_field("visibility", "public")
    body.add_field("video_file", io.BytesIO(data), filename="clip.mp4", content_type="video/mp4")
    return body


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (20, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def assert_signed(url: str, endpoint: str) -> None:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == endpoint, url
    assert "X-Amz-Signature=" in parts.query and "X-Amz-Expires=" in parts.query, url


async def guarded(call: Any) -> tuple[aiohttp.ClientResponse, Any, float]:
    """Send one request (an awaitable response) within the hang guard; the body read."""
    started = time.monotonic()
    async with asyncio.timeout(HANG_GUARD):
        r = await call
        body = await r.json(content_type=None)
    return r, body, time.monotonic() - started


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    return {
        "videos": int(await pool.fetchval("SELECT count(*) FROM videos")),
        "uploads": int(await pool.fetchval("SELECT count(*) FROM uploads")),
        "jobs": int(
            await pool.fetchval("SELECT count(*) FROM jobs WHERE kind <> 'send_mail'")
        ),
    }


# ------------------------------------------------------------------------ test


async def test_s3_down_uploads_503_nothing_half_stored_reads_still_sign(
    aiohttp_client: Any,
    database_url: str,
    clean_pg_pool: asyncpg.Pool,
    private_s3: dict[str, Any],
    sample_clips: dict[str, Path],
    tmp_path: Path,
) -> None:
    server: StoppableMotoServer = private_s3["server"]
    bucket, admin = private_s3["bucket"], private_s3["admin"]
    mailer = InMemoryMailer()
    settings = Settings(
        database_url=database_url,
        storage="s3",
        s3_bucket=bucket,
        s3_endpoint_url=server.url,
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        secret="s3-down-secret",
        data_dir=str(tmp_path),
        db_pool_min=1,
        db_pool_max=4,
        rate_limit_multiplier=100.0,
        **FAST_HASH,
    )
    backend = Composition(settings, mailer=mailer)
    client = await aiohttp_client(create_app(backend))
    data = sample_clips["playable"].read_bytes()

    # Seed: a user with an avatar and a ready video, through the API and the worker.
    email = f"s3down-{uuid.uuid4().hex[:10]}@bsu.by"
    r = await client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert r.status == 202, await r.text()
    r = await client.post(
        "/v1/auth/verify",
        json={"email": email, "code": await mailer.wait_code(email), "password": PASSWORD},
    )
    assert r.status == 200, await r.text()
    auth = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
    r = await client.put("/v1/me/avatar", data=jpeg(), headers=auth)
    assert r.status == 200, await r.text()
    r = await client.post("/v1/videos", data=video_form(data), headers=auth)
    assert r.status == 201, await r.text()
    video_id = (await r.json())["id"]
    worker = await backend.worker()
    while await worker.run_once() is not None:
        pass
    r = await client.get(f"/v1/videos/{video_id}", headers=auth)
    assert (await r.json())["status"] == "ready"
    me = await (await client.get("/v1/me", headers=auth)).json()
    user_id = me["id"]
    before = await counts(clean_pg_pool)
    objects_before = sorted(
        o["Key"] for o in admin.list_objects_v2(Bucket=bucket).get("Contents", ())
    )

    # S3 stops.
    server.kill()
    private_s3["up"] = False

    # Uploads: 503 problem+json, never 500, within the guard.
    r, body, took = await guarded(
        client.post("/v1/videos", data=video_form(data), headers=auth)
    )
    assert r.status == 503, body
    assert r.content_type == "application/problem+json"
    assert body["status"] == 503 and body["code"] in UNAVAILABLE, body
    assert took < HANG_GUARD
    r, body, took = await guarded(
        client.post(
            "/v1/uploads",
            json={"size_bytes": len(data), "content_type": "video/mp4",
                  "description": "Resumed", "visibility": "public"},
            headers=auth,
        )
    )
    assert r.status == 503, body
    assert r.content_type == "application/problem+json"
    assert body["status"] == 503 and body["code"] in UNAVAILABLE, body

    # Nothing half-stored.
    assert await counts(clean_pg_pool) == before

    # Reads keep working: every URL is signed locally.
    r, body, _ = await guarded(client.get("/v1/feed/global", headers=auth))
    assert r.status == 200, body
    items = body["items"]
    assert [item["video"]["id"] for item in items] == [video_id]
    assert_signed(items[0]["video"]["playback_url"], server.url)
    assert_signed(items[0]["video"]["thumbnail_url"], server.url)
    r, body, _ = await guarded(client.get(f"/v1/videos/{video_id}", headers=auth))
    assert r.status == 200, body
    assert_signed(body["playback_url"], server.url)
    assert_signed(body["thumbnail_url"], server.url)
    for path in (f"/v1/users/{user_id}", "/v1/me"):
        r, body, _ = await guarded(client.get(path, headers=auth))
        assert r.status == 200, body
        assert_signed(body["avatar_url"], server.url)

    # S3 is back on the same port: uploads work again, with the same app.
    revived = StoppableMotoServer(server._port)
    revived.start()
    private_s3["server"], private_s3["up"] = revived, True
    objects_now = sorted(
        o["Key"] for o in admin.list_objects_v2(Bucket=bucket).get("Contents", ())
    )
    assert objects_now == objects_before  # the failed uploads left no object behind
    assert admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    fresh = unique(data)  # a new video (the seeded one's bytes again would be a duplicate)
    r, body, _ = await guarded(client.post("/v1/videos", data=video_form(fresh), headers=auth))
    assert r.status == 201, body
    again = body["id"]
    r, body, _ = await guarded(
        client.post(
            "/v1/uploads",
            json={"size_bytes": len(data), "content_type": "video/mp4"},
            headers=auth,
        )
    )
    assert r.status == 201, body
    while await worker.run_once() is not None:
        pass
    r, body, _ = await guarded(client.get(f"/v1/videos/{again}", headers=auth))
    assert body["status"] == "ready", body
    async with aiohttp.ClientSession() as plain, plain.get(body["playback_url"]) as r:
        assert r.status == 200
        assert len(await r.read()) == len(fresh)
