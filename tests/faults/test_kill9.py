"""``kill -9`` of the app under write load, then a restart on the same database and S3
(issue 9).

``momentic serve`` runs as a real subprocess (``python -m adapters.cli.main serve``) on a
fresh PostgreSQL database of this run's server and a bucket on the session's moto server,
with a short job lease (``MOMENTIC_JOB_LEASE_SECONDS``). Clients then write all at once:
reactions (kinds changing), top-level comments, replies, comment likes, friend requests
(some meet a request the other way and make friends), streaming uploads
(``POST /v1/videos``, some of them WebM that the worker must transcode) and resumable
uploads (``POST /v1/uploads``, two 8 MiB parts PUT straight to S3 at their presigned URLs,
``complete``). Every write answered 2xx is recorded with the ids the answer gave. Two more
uploads are left half done on purpose (one part of two received).

Once every kind of write has been acknowledged and the worker is inside a transcode (a
``process_video`` job is ``running``), the server process gets SIGKILL. The rules, after
it is started again on the same database and bucket:

- no acknowledged write is lost: every comment, reply, like, reaction (with its last
  acknowledged kind, or the kind of a request that got no answer), friend request or
  friendship, video and upload is in the database;
- every counter equals its rows: videos' four reaction counts and ``comment_count``,
  comments' ``reply_count`` and ``like_count``; friendships are symmetric and never sit
  beside a pending request;
- an interrupted upload is resumed: ``GET /v1/uploads/{id}`` tells which part arrived, the
  missing one is PUT, ``complete`` makes the video (so is every upload whose create was
  acknowledged but whose client died with the server);
- the jobs that were ``running`` when the process died are taken again by the restarted
  server's worker once their lease runs out (``attempts`` grows, status ``done``), and
  every acknowledged video ends ``ready``;
- after ``momentic janitor --min-age-seconds 0`` (the server stopped, nothing in flight)
  the abandoned upload's row and parts are gone, no multipart upload is left open, every
  object in the bucket belongs to a row (video source/playback/thumbnail, avatar, open
  upload), and every ready video's playback and thumbnail objects are still there.
"""

from __future__ import annotations

import asyncio
import io
import os
import random
import signal
import socket
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import attrs
import pytest
from clip_support import unique

from adapters.config import Settings
from adapters.container import Composition
from adapters.postgres.migrate import apply_migrations
from momentic_core.model.accounts import Role
from momentic_core.model.jobs import ProcessVideo

ROOT = Path(__file__).resolve().parents[2]
MiB = 1024 * 1024
PASSWORD = "correct horse battery"
FAST_HASH: dict[str, Any] = {
    "argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1
}
SECRET = "kill9-secret"
LEASE = 3  # seconds: MOMENTIC_JOB_LEASE_SECONDS of the server
HANG_GUARD = 20.0  # seconds one request may take (a hang guard, not a performance claim)
KINDS = ("heart", "flame", "funny", "angry")
REACTORS, COMMENTERS, FRIENDS, VIDEOS = 4, 3, 10, 4
STREAMED = 4  # streamed videos uploaded at full speed (Load.stream)


# ------------------------------------------------------------------- the server


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """``momentic serve`` as a child process; its output goes to ``log``."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.url = f"http://127.0.0.1:{env['MOMENTIC_PORT']}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "adapters.cli.main", "serve"],
                cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]

    async def wait_ready(self, http: aiohttp.ClientSession, within: float = 30.0) -> None:
        deadline = time.monotonic() + within
        while True:
            assert self.proc is not None and self.proc.poll() is None, self.tail()
            try:
                async with http.get(f"{self.url}/readyz") as r:
                    if r.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            assert time.monotonic() < deadline, f"not ready within {within} s\n{self.tail()}"
            await asyncio.sleep(0.1)

    def kill9(self) -> None:
        assert self.proc is not None and self.proc.poll() is None, self.tail()
        os.kill(self.proc.pid, signal.SIGKILL)
        assert self.proc.wait(10) == -signal.SIGKILL

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def server_env(
    make_database: Callable[[], str], s3_server: str, s3_bucket: str, tmp_path: Path
) -> dict[str, str]:
    url = make_database()
    apply_migrations(url)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MOMENTIC_")}
    env.update({
        "MOMENTIC_DATABASE_URL": url,
        "MOMENTIC_DATA_DIR": str(tmp_path / "data"),
        "MOMENTIC_SECRET": SECRET,
        "MOMENTIC_HOST": "127.0.0.1",
        "MOMENTIC_PORT": str(port),
        "MOMENTIC_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "MOMENTIC_STORAGE": "s3",
        "MOMENTIC_S3_BUCKET": s3_bucket,
        "MOMENTIC_S3_ENDPOINT_URL": s3_server,
        "MOMENTIC_S3_ACCESS_KEY_ID": "testing",
        "MOMENTIC_S3_SECRET_ACCESS_KEY": "testing",
        "MOMENTIC_DB_POOL_MIN": "2",
        "MOMENTIC_DB_POOL_MAX": "12",
        "MOMENTIC_JOB_LEASE_SECONDS": str(LEASE),
        "MOMENTIC_RATE_LIMIT_MULTIPLIER": "1000",
        "MOMENTIC_BEREAL_LOCK": "false",
        "MOMENTIC_ARGON2_TIME_COST": "1",
        "MOMENTIC_ARGON2_MEMORY_KIB": "1024",
        "MOMENTIC_ARGON2_PARALLELISM": "1",
        "MOMENTIC_LOG_LEVEL": "WARNING",
        "MOMENTIC_LOG_FORMAT": "text",
    })
    return env


@pytest.fixture
def server(server_env: dict[str, str], tmp_path: Path) -> Iterator[Server]:
    app = Server(server_env, tmp_path / "server.log")
    try:
        yield app
    finally:
        app.stop()


def janitor_cli(env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "adapters.cli.main", "janitor", "--min-age-seconds", "0"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


# ------------------------------------------------------------------- media


def padded(clip: bytes, total: int) -> bytes:
    """``clip`` grown to ``total`` bytes by a top-level ``free`` box: still a valid MP4,
    large enough for two S3 parts (8 MiB each)."""
    pad = total - len(clip)
    return clip + struct.pack(">I4s", pad, b"free") + bytes(pad - 8)


def video_form(data: bytes, filename: str, content_type: str) -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("description", "under load")
    body.add_field("visibility", "public")
    body.add_field("video_file", io.BytesIO(data), filename=filename, content_type=content_type)
    return body


# ------------------------------------------------------------------- the load


class Killed(Exception):
    """The request got no answer because the server was killed: outcome unknown."""


@attrs.define
class Load:
    http: aiohttp.ClientSession
    base: str
    killed: bool = False
    failures: list[str] = attrs.field(factory=list)
    # What was acknowledged (2xx), with the ids the answers gave.
    reactions: dict[tuple[int, int], str] = attrs.field(factory=dict)  # (user, video) -> kind
    unsure: dict[tuple[int, int], set[str]] = attrs.field(factory=dict)  # sent, no answer
    comments: dict[int, tuple[int, int, int | None, str]] = attrs.field(factory=dict)
    likes: set[tuple[int, int]] = attrs.field(factory=set)  # (comment, user)
    requests: set[tuple[int, int]] = attrs.field(factory=set)  # (from, to): request_sent
    friendships: set[tuple[int, int]] = attrs.field(factory=set)  # (from, to): friends
    videos: dict[int, str] = attrs.field(factory=dict)  # streamed video id -> file kind
    uploads: dict[int, int | None] = attrs.field(factory=dict)  # upload id -> video id
    reaction_writes: int = 0

    async def call(
        self, method: str, url: str, *, auth: dict[str, str] | None = None, **kw: Any
    ) -> tuple[int, Any]:
        """(status, JSON body or None); raises Killed when the server died under it."""
        target = url if url.startswith("http") else self.base + url
        try:
            async with asyncio.timeout(HANG_GUARD):
                async with self.http.request(method, target, headers=auth, **kw) as r:
                    body = await r.json(content_type=None) if r.content_length != 0 else None
                    status = r.status
        except (aiohttp.ClientError, ConnectionError, TimeoutError) as exc:
            if self.killed:
                raise Killed from exc
            raise
        if not 200 <= status < 300:
            self.failures.append(f"{method} {url}: {status} {body}")
        return status, body

    async def react(self, user: int, auth: dict[str, str], videos: list[int]) -> None:
        rng = random.Random(user)
        while not self.killed:
            video, kind = rng.choice(videos), rng.choice(KINDS)
            pair = (user, video)
            try:
                status, _ = await self.call(
                    "PUT", f"/v1/videos/{video}/reaction", auth=auth, json={"kind": kind}
                )
            except Killed:
                self.unsure.setdefault(pair, set()).add(kind)
                return
            if status == 200:
                self.reactions[pair] = kind
                self.reaction_writes += 1

    async def comment(self, user: int, auth: dict[str, str], videos: list[int]) -> None:
        rng = random.Random(100 + user)
        i = 0
        try:
            while not self.killed:
                i += 1
                video = rng.choice(videos)
                tops = [c for c, (v, _, p, _) in self.comments.items() if v == video and p is None]
                parent = rng.choice(tops) if tops and i % 3 == 0 else None
                text = f"user {user} says {i}"
                status, body = await self.call(
                    "POST", f"/v1/videos/{video}/comments", auth=auth,
                    json={"body": text, "parent_id": parent},
                )
                if status == 201:
                    self.comments[int(body["id"])] = (video, user, parent, text)
                if tops and i % 2 == 0:
                    liked = rng.choice(tops)
                    if (liked, user) not in self.likes:
                        status, _ = await self.call(
                            "PUT", f"/v1/comments/{liked}/like", auth=auth
                        )
                        if 200 <= status < 300:
                            self.likes.add((liked, user))
        except Killed:
            return

    async def befriend(self, pairs: list[tuple[int, int]], tokens: dict[int, Any]) -> None:
        try:
            for a, b in pairs:
                if self.killed:
                    return
                status, body = await self.call(
                    "POST", "/v1/friend-requests", auth=tokens[a], json={"user_id": b}
                )
                if status == 201:
                    relation = body["relation"]
                    (self.friendships if relation == "friends" else self.requests).add((a, b))
                await asyncio.sleep(0.05)
        except Killed:
            return

    async def stream(self, auth: dict[str, str], files: list[tuple[bytes, str, str]],
                     queued: Callable[[], Awaitable[int]]) -> None:
        """Upload the files in turn until the kill. Past the first STREAMED, the next one
        waits for the worker to take every queued job: the worker always has a video (the
        kill lands inside a job) and the restart has a few to redo, not a queue of 50."""
        i = 0
        try:
            while not self.killed:
                if len(self.videos) >= STREAMED and await queued():
                    await asyncio.sleep(0.05)
                    continue
                data, name, ctype = files[i % len(files)]
                data = unique(data)  # each a new video, not a duplicate of the last
                i += 1
                status, body = await self.call(
                    "POST", "/v1/videos", auth=auth, data=video_form(data, name, ctype)
                )
                if status == 201:
                    self.videos[int(body["id"])] = name
        except Killed:
            return

    async def park_stream(self, auth: dict[str, str], data: bytes, parked: asyncio.Event,
                          release: asyncio.Event) -> None:
        """POST /v1/videos with a body that stops after 10 MiB (the server has stored its
        first 8 MiB part in S3 by then) and goes on only once ``release`` is set."""

        async def pieces() -> AsyncIterator[bytes]:
            for start in range(0, len(data), MiB):
                if start == 10 * MiB:
                    parked.set()
                    await release.wait()
                yield data[start : start + MiB]

        writer = aiohttp.MultipartWriter("form-data")
        part = writer.append(pieces(), {"Content-Type": "video/mp4"})
        part.set_content_disposition("form-data", name="video_file", filename="big.mp4")
        try:
            status, body = await self.call("POST", "/v1/videos", auth=auth, data=writer)
        except Killed:
            return
        self.failures.append(f"the parked upload was answered: {status} {body}")

    async def start_upload(self, auth: dict[str, str], data: bytes) -> dict[str, Any]:
        status, upload = await self.call(
            "POST", "/v1/uploads", auth=auth,
            json={"size_bytes": len(data), "content_type": "video/mp4",
                  "description": "resumable", "visibility": "public"},
        )
        assert status == 201, upload
        self.uploads[int(upload["id"])] = None
        return dict(upload)

    async def put_part(self, part: dict[str, Any], data: bytes) -> None:
        """Straight to S3 at the presigned URL (the app is not in the way)."""
        start = (part["number"] - 1) * 8 * MiB
        chunk = data[start : start + part["size_bytes"]]
        async with self.http.put(part["url"], data=io.BytesIO(chunk)) as r:
            assert r.status == 200, await r.text()

    async def resume(self, auth: dict[str, str], data: bytes) -> None:
        try:
            while not self.killed:
                copy = unique(data)  # each a new video, not a duplicate of the last
                upload = await self.start_upload(auth, copy)
                for part in upload["parts"]:
                    await self.put_part(part, copy)
                status, video = await self.call(
                    "POST", f"/v1/uploads/{upload['id']}/complete", auth=auth
                )
                if status == 200:
                    self.uploads[int(upload["id"])] = int(video["id"])
        except Killed:
            return

    async def half_upload(self, auth: dict[str, str], data: bytes, done: asyncio.Event) -> int:
        """Create an upload and send its first part only (the phone lost its signal)."""
        upload = await self.start_upload(auth, data)
        await self.put_part(upload["parts"][0], data)
        done.set()
        return int(upload["id"])


async def _wait_for(
    predicate: Callable[[], Any], within: float, what: str | Callable[[], str]
) -> None:
    deadline = time.monotonic() + within
    while not await predicate():
        assert time.monotonic() < deadline, (
            f"not within {within} s: {what() if callable(what) else what}"
        )
        await asyncio.sleep(0.02)


async def _seed_users(url: str, data_dir: Path, count: int) -> list[int]:
    settings = Settings(
        database_url=url, data_dir=str(data_dir), storage="memory", secret=SECRET,
        db_pool_min=1, db_pool_max=2, log_level="ERROR", **FAST_HASH,
    )
    async with Composition(settings) as services:
        return [
            (await services.accounts.create_user(f"kill9-{n}@bsu.by", PASSWORD, Role.USER)).id
            for n in range(count)
        ]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=100)) as session:
        yield session


# ------------------------------------------------------------------- the test


async def test_kill9_under_write_load_loses_nothing_and_recovers(
    server: Server,
    server_env: dict[str, str],
    http: aiohttp.ClientSession,
    s3_admin: Any,
    s3_bucket: str,
    sample_clips: dict[str, Path],
    clip_factory: Callable[..., Path],
    tmp_path: Path,
) -> None:
    began = time.monotonic()
    url = server_env["MOMENTIC_DATABASE_URL"]
    # A WebM the worker transcodes for a second or more: the kill lands inside a job.
    slow = clip_factory(
        tmp_path / "slow.webm", seconds=3, codec="vp8", container="webm", width=640, height=480
    ).read_bytes()
    playable = sample_clips["playable"].read_bytes()
    big = padded(playable, 12 * MiB)

    server.start()
    total = 1 + REACTORS + COMMENTERS + FRIENDS + 2
    ids = await _seed_users(url, tmp_path / "seed", total)
    await server.wait_ready(http)
    load = Load(http, server.url)
    tokens: dict[int, dict[str, str]] = {}
    for n, uid in enumerate(ids):
        status, body = await load.call("POST", "/v1/auth/token", json={
            "grant_type": "password", "email": f"kill9-{n}@bsu.by", "password": PASSWORD})
        assert status == 200, body
        tokens[uid] = {"Authorization": f"Bearer {body['access_token']}"}
    author, rest = ids[0], ids[1:]
    reactors, rest = rest[:REACTORS], rest[REACTORS:]
    commenters, rest = rest[:COMMENTERS], rest[COMMENTERS:]
    friends, (streamer, resumer) = rest[:FRIENDS], rest[FRIENDS:]

    db = await asyncpg.connect(url)
    watch = await asyncpg.connect(url)  # the stream's own: db is busy in ready_to_kill

    async def queued_videos() -> int:
        return int(await watch.fetchval(
            "SELECT count(*) FROM jobs WHERE kind = $1 AND status = 'queued'", ProcessVideo.kind))

    try:
        videos = [
            await db.fetchval(
                "INSERT INTO videos (author_id, visibility, status, playback_key, thumbnail_key,"
                " created_at, updated_at, ready_at) VALUES ($1, 'public', 'ready',"
                " $2, $3, now(), now(), now()) RETURNING id",
                author, f"seed/{n}.mp4", f"seed/{n}.jpg",
            )
            for n in range(VIDEOS)
        ]
        pairs = [(a, b) for a in friends for b in friends if a != b]
        random.Random(9).shuffle(pairs)

        # ---- the load, everything at once
        half_sent = [asyncio.Event(), asyncio.Event()]
        tasks = [
            *(asyncio.create_task(load.react(u, tokens[u], videos)) for u in reactors),
            *(asyncio.create_task(load.comment(u, tokens[u], videos)) for u in commenters),
            asyncio.create_task(load.befriend(pairs[0::2], tokens)),
            asyncio.create_task(load.befriend(pairs[1::2], tokens)),
            asyncio.create_task(load.stream(
                tokens[streamer], [(playable, "clip.mp4", "video/mp4"),
                                   (slow, "slow.webm", "video/webm")], queued_videos)),
            asyncio.create_task(load.resume(tokens[resumer], big)),
        ]
        parked, release = asyncio.Event(), asyncio.Event()
        tasks.append(asyncio.create_task(
            load.park_stream(tokens[streamer], padded(playable, 20 * MiB), parked, release)
        ))
        halves = [
            asyncio.create_task(load.half_upload(tokens[resumer], big, done))
            for done in half_sent
        ]

        def stream_part_stored() -> bool:
            """The parked stream's multipart upload (no uploads row) holds a part."""
            open_uploads = s3_admin.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", [])
            return any(
                s3_admin.list_parts(
                    Bucket=s3_bucket, Key=u["Key"], UploadId=u["UploadId"]
                ).get("Parts")
                for u in open_uploads
                if u["UploadId"] not in rows_backend_ids
            )

        rows_backend_ids: set[str] = set()
        state: dict[str, Any] = {}

        async def ready_to_kill() -> bool:
            assert not load.failures, load.failures[:5]
            for task in tasks:
                if task.done() and (error := task.exception()) is not None:
                    raise error
            state.update(
                reactions=load.reaction_writes, comments=len(load.comments),
                likes=len(load.likes), friends=len(load.requests) + len(load.friendships),
                videos=len(load.videos), uploads=len(load.uploads),
                halves=[d.is_set() for d in half_sent], parked=parked.is_set(),
            )
            if not (
                load.reaction_writes >= 40
                and sum(p is None for _, _, p, _ in load.comments.values()) >= 6
                and sum(p is not None for _, _, p, _ in load.comments.values()) >= 2
                and len(load.likes) >= 2
                and len(load.requests) + len(load.friendships) >= 5
                and len(load.videos) >= 3
                and any(v is not None for v in load.uploads.values())
                and all(done.is_set() for done in half_sent)
                and parked.is_set()
            ):
                return False
            rows_backend_ids.clear()
            rows_backend_ids.update(
                r["backend_id"] for r in await db.fetch("SELECT backend_id FROM uploads")
            )
            state["stream part stored"] = await asyncio.to_thread(stream_part_stored)
            if not state["stream part stored"]:
                return False
            running = await db.fetchval(
                "SELECT count(*) FROM jobs WHERE kind = $1 AND status = 'running'",
                ProcessVideo.kind,
            )
            return bool(running)

        await _wait_for(ready_to_kill, 15, lambda: f"ready to kill: {state}")
        load.killed = True
        server.kill9()
        killed_at = time.monotonic()
        release.set()
        await asyncio.gather(*tasks)
        interrupted, abandoned = [h.result() for h in halves]
        assert not load.failures, load.failures[:5]
        load_seconds = killed_at - began

        # The process is gone: what is 'running' now was running when it died.
        running = {
            r["id"]: r["attempts"]
            for r in await db.fetch("SELECT id, attempts FROM jobs WHERE status = 'running'")
        }
        running_kinds = {
            r["kind"] for r in await db.fetch(
                "SELECT kind FROM jobs WHERE id = ANY($1::bigint[])", list(running)
            )
        }
        assert ProcessVideo.kind in running_kinds

        # ---- restart on the same database and bucket
        server.start()
        await server.wait_ready(http)
        restarted_in = time.monotonic() - killed_at

        # Every acknowledged write is there.
        rows = {
            (r["user_id"], r["video_id"]): r["kind"]
            for r in await db.fetch("SELECT user_id, video_id, kind FROM reactions")
        }
        for pair, kind in load.reactions.items():
            assert rows.get(pair) in {kind} | load.unsure.get(pair, set()), (pair, kind)
        found = {
            r["id"]: (r["video_id"], r["author_id"], r["parent_id"], r["body"])
            for r in await db.fetch(
                "SELECT id, video_id, author_id, parent_id, body FROM comments"
                " WHERE id = ANY($1::bigint[])", list(load.comments),
            )
        }
        assert found == load.comments
        liked = {
            (r["comment_id"], r["user_id"])
            for r in await db.fetch("SELECT comment_id, user_id FROM comment_likes")
        }
        assert load.likes <= liked
        befriended = {
            (r["user_id"], r["friend_id"])
            for r in await db.fetch("SELECT user_id, friend_id FROM friendships")
        }
        asked = {
            (r["from_id"], r["to_id"])
            for r in await db.fetch("SELECT from_id, to_id FROM friend_requests")
        }
        assert load.friendships <= befriended
        for pair in load.requests:  # still pending, or the other side asked back
            assert pair in asked or pair in befriended, pair
        assert befriended == {(b, a) for a, b in befriended}, "friendships are symmetric"
        assert not asked & befriended and not asked & {(b, a) for a, b in befriended}
        made = {
            r["id"] for r in await db.fetch(
                "SELECT id FROM videos WHERE id = ANY($1::bigint[])", list(load.videos)
            )
        }
        assert made == set(load.videos)
        upload_rows = {
            r["id"]: r["video_id"] for r in await db.fetch(
                "SELECT id, video_id FROM uploads WHERE id = ANY($1::bigint[])", list(load.uploads)
            )
        }
        assert set(upload_rows) == set(load.uploads)
        for upload_id, video_id in load.uploads.items():
            if video_id is not None:
                assert upload_rows[upload_id] == video_id

        # Every counter equals its rows.
        drift = await db.fetch(
            """
            SELECT v.id, v.heart_count, v.flame_count, v.funny_count, v.angry_count,
                   v.comment_count, r.heart, r.flame, r.funny, r.angry, c.n
            FROM videos v
            LEFT JOIN LATERAL (
                SELECT count(*) FILTER (WHERE kind = 'heart') AS heart,
                       count(*) FILTER (WHERE kind = 'flame') AS flame,
                       count(*) FILTER (WHERE kind = 'funny') AS funny,
                       count(*) FILTER (WHERE kind = 'angry') AS angry
                FROM reactions WHERE video_id = v.id) r ON true
            LEFT JOIN LATERAL (SELECT count(*) AS n FROM comments WHERE video_id = v.id) c
                ON true
            WHERE (v.heart_count, v.flame_count, v.funny_count, v.angry_count, v.comment_count)
                IS DISTINCT FROM (r.heart, r.flame, r.funny, r.angry, c.n)
            """
        )
        assert drift == []
        drift = await db.fetch(
            """
            SELECT c.id, c.reply_count, c.like_count,
                   (SELECT count(*) FROM comments r WHERE r.parent_id = c.id) AS replies,
                   (SELECT count(*) FROM comment_likes l WHERE l.comment_id = c.id) AS likes
            FROM comments c
            WHERE (c.reply_count, c.like_count) IS DISTINCT FROM (
                (SELECT count(*) FROM comments r WHERE r.parent_id = c.id),
                (SELECT count(*) FROM comment_likes l WHERE l.comment_id = c.id))
            """
        )
        assert drift == []

        # The interrupted upload resumes: part 1 is there, part 2 is sent, complete works.
        # So does every upload whose client died with the server.
        auth = tokens[resumer]
        resumed: list[int] = []
        for upload_id in [interrupted] + [
            u for u, v in load.uploads.items() if v is None and u not in (interrupted, abandoned)
        ]:
            status, state = await load.call("GET", f"/v1/uploads/{upload_id}", auth=auth)
            assert status == 200, state
            if upload_id == interrupted:
                assert state["status"] == "open"
                assert [p["received"] for p in state["parts"]] == [True, False]
            if state["status"] == "open":
                for part in state["parts"]:
                    if not part["received"]:
                        await load.put_part(part, big)
            status, video = await load.call(
                "POST", f"/v1/uploads/{upload_id}/complete", auth=auth
            )
            assert status == 200, video
            resumed.append(int(video["id"]))
            load.uploads[upload_id] = int(video["id"])

        # The jobs that were running are taken again; every video ends ready.
        expected = set(load.videos) | {v for v in load.uploads.values() if v is not None}

        async def settled() -> bool:
            left = await db.fetchval(
                "SELECT count(*) FROM jobs WHERE kind = $1 AND status IN ('queued', 'running')",
                ProcessVideo.kind,
            )
            return left == 0

        await _wait_for(settled, 45, "every process_video job settled")
        retaken = await db.fetch(
            "SELECT id, status, attempts FROM jobs WHERE id = ANY($1::bigint[])", list(running)
        )
        for job in retaken:
            assert job["status"] == "done", dict(job)
            assert job["attempts"] > running[job["id"]], dict(job)
        statuses = {
            r["id"]: r["status"] for r in await db.fetch(
                "SELECT id, status FROM videos WHERE id = ANY($1::bigint[])", list(expected)
            )
        }
        assert statuses == dict.fromkeys(expected, "ready")
        assert not await db.fetchval("SELECT count(*) FROM jobs WHERE status = 'dead'")

        # The janitor, with nothing in flight, leaves no orphan.
        server.stop()
        swept = janitor_cli(server_env)
        assert swept.startswith("removed ") and not swept.startswith("removed 0 "), swept
        assert await db.fetchval("SELECT count(*) FROM uploads WHERE id = $1", abandoned) == 0
        assert await db.fetchval("SELECT count(*) FROM uploads WHERE completed_at IS NULL") == 0
        assert s3_admin.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []
        objects: set[str] = set()
        for page in s3_admin.get_paginator("list_objects_v2").paginate(Bucket=s3_bucket):
            objects |= {item["Key"] for item in page.get("Contents", ())}
        owned = {
            r["key"] for r in await db.fetch(
                "SELECT source_key AS key FROM videos UNION SELECT playback_key FROM videos"
                " UNION SELECT thumbnail_key FROM videos UNION SELECT avatar_key FROM users"
                " UNION SELECT key FROM uploads WHERE completed_at IS NULL"
            )
        }
        # An HLS presentation is a folder: its master playlist (videos.hls_key) and the
        # renditions' playlists and segments beside it.
        folders = tuple(
            r["hls_key"].rsplit("/", 1)[0] + "/"
            for r in await db.fetch("SELECT hls_key FROM videos WHERE hls_key IS NOT NULL")
        )
        orphans = {key for key in objects - owned if not key.startswith(folders or ("\0",))}
        assert not orphans, sorted(orphans)[:5]
        needed = {
            r["key"] for r in await db.fetch(
                "SELECT playback_key AS key FROM videos WHERE id = ANY($1::bigint[])"
                " UNION SELECT thumbnail_key FROM videos WHERE id = ANY($1::bigint[])",
                list(expected),
            )
        }
        assert needed <= objects, sorted(needed - objects)[:5]
    finally:
        await watch.close()
        await db.close()

    counts = {
        "reaction writes": load.reaction_writes,
        "reactions (user, video)": len(load.reactions),
        "comments": sum(p is None for _, _, p, _ in load.comments.values()),
        "replies": sum(p is not None for _, _, p, _ in load.comments.values()),
        "likes": len(load.likes),
        "friend requests": len(load.requests),
        "friendships": len(load.friendships),
        "streamed videos": len(load.videos),
        "resumable uploads": len(load.uploads),
        "jobs running at kill": len(running),
        "uploads resumed after restart": len(resumed),
    }
    print(
        f"\nkill -9 after {load_seconds:.1f} s, ready again {restarted_in:.1f} s later;"
        f" acknowledged: {counts}\njanitor: {swept.strip()}"
    )
