"""Live updates and counters over real HTTP, real WebSockets and real PostgreSQL.

Two app instances (two ``create_app(Composition(...))``, each on its own loopback port) share
one database, as N instances behind a load balancer do: a write on one reaches sockets
on the other only through PostgreSQL's LISTEN/NOTIFY. They share a data dir (the local
blob store, the JWT signing key) and the server secret, so a token issued by one is good
on the other.

No test measures time: every wait has a hang guard (``RECEIVE``) and nothing more.
"""

from __future__ import annotations

import asyncio
import io
import json
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import pytest
from aiohttp import WSMsgType
from clip_support import unique
from failure_support import Fails, Switch, storage_with
from PIL import Image

from adapters.config import Settings
from adapters.container import Composition
from adapters.http import keys
from adapters.http.app import create_app
from adapters.memory.mail import InMemoryMailer
from adapters.postgres.uow import PostgresUnitOfWork
from momentic_core.model.accounts import Role

PASSWORD = "correct horse battery"
RECEIVE = 15.0  # hang guard for one frame or one batch of requests, not a timing assertion
KINDS = ("heart", "flame", "funny", "angry")
NO_REACTIONS = dict.fromkeys(KINDS, 0)


# ------------------------------------------------------------------------- helpers


class User:
    def __init__(self, id: int, email: str, tokens: dict[str, Any]) -> None:
        self.id = id
        self.email = email
        self.tokens = tokens

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


class Instance:
    """One app instance: its test client (own loopback port) and its backend."""

    def __init__(self, name: str, client: Any, backend: Composition) -> None:
        self.name = name
        self.client = client
        self.backend = backend

    async def run_jobs(self) -> int:
        worker = await self.backend.worker()
        ran = 0
        while await worker.run_once() is not None:
            ran += 1
        return ran

    async def connect(self, who: User) -> aiohttp.ClientWebSocketResponse:
        ws = await self.client.ws_connect("/v1/ws", headers=who.auth)
        hello = await frame(ws)
        assert (hello["type"], hello["user_id"]) == ("hello", who.id), hello
        return ws


class Cluster:
    """Two instances on one database, one mailer, and the pool to look behind their back."""

    def __init__(self, a: Instance, b: Instance, mailer: InMemoryMailer, pool: asyncpg.Pool):
        self.a, self.b = a, b
        self.mailer = mailer
        self.pool = pool

    async def signup(self, nickname: str, on: Instance | None = None) -> User:
        client = (on or self.a).client
        email = f"{nickname}-{uuid.uuid4().hex[:8]}@bsu.by"
        r = await client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
        assert r.status == 202, await r.text()
        r = await client.post(
            "/v1/auth/verify",
            json={"email": email, "code": await self.mailer.wait_code(email), "password": PASSWORD},
        )
        assert r.status == 200, await r.text()
        tokens = await r.json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}
        r = await client.patch("/v1/me", json={"nickname": nickname}, headers=auth)
        assert r.status == 200, await r.text()
        return User((await r.json())["id"], email, tokens)

    async def moderator(self, nickname: str = "mod") -> User:
        """Made the way `momentic users create --role moderator` makes one, then signed in
        over HTTP."""
        accounts = self.a.client.app[keys.SERVICES].accounts
        email = f"{nickname}-{uuid.uuid4().hex[:8]}@bsu.by"
        made = await accounts.create_user(email, PASSWORD, Role.MODERATOR)
        r = await self.a.client.post(
            "/v1/auth/token", json={"grant_type": "password", "email": email, "password": PASSWORD}
        )
        assert r.status == 200, await r.text()
        return User(made.id, email, await r.json())

    async def ready_video(self, author: User, clip: Path) -> int:
        """Uploaded to instance A and processed by A's worker (the real PyAV pipeline)."""
        form = aiohttp.FormData()
        form.add_field(
            "video_file", io.BytesIO(unique(clip)), filename="c.mp4", content_type="video/mp4"
        )
        form.add_field("visibility", "public")
        r = await self.a.client.post("/v1/videos", data=form, headers=author.auth)
        assert r.status == 201, await r.text()
        video_id = int((await r.json())["id"])
        assert await self.a.run_jobs() >= 1
        r = await self.b.client.get(f"/v1/videos/{video_id}", headers=author.auth)
        assert (await r.json())["status"] == "ready"
        return video_id


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


async def frame(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    msg = await ws.receive(timeout=RECEIVE)
    assert msg.type is WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
    return dict(json.loads(msg.data))


async def event(ws: aiohttp.ClientWebSocketResponse, name: str) -> dict[str, Any]:
    """The next event frame called ``name``, skipping other events."""
    while True:
        got = await frame(ws)
        if got["type"] == "event" and got["event"] == name:
            return got


async def subscribe(ws: aiohttp.ClientWebSocketResponse, channel: str) -> None:
    await ws.send_json({"op": "subscribe", "channel": channel})
    assert await frame(ws) == {"type": "subscribed", "channel": channel}


async def closed(ws: aiohttp.ClientWebSocketResponse) -> tuple[int | None, str]:
    """Read until the server closes: its close code and reason."""
    while True:
        msg = await ws.receive(timeout=RECEIVE)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            return ws.close_code, msg.extra or ""


def settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        storage="local",
        data_dir=str(data_dir),
        secret="live-postgres-secret",
        rate_limit_multiplier=1000,
        max_video_bytes=2_000_000,
        db_pool_min=1,
        db_pool_max=8,
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
    )


@pytest.fixture
def make_cluster(
    aiohttp_client: Any, database_url: str, clean_pg_pool: asyncpg.Pool, tmp_path: Path
) -> Callable[..., Any]:
    """``await make_cluster(b_overrides={...})``: instances A and B on a clean database,
    each served on its own port; ``b_overrides`` replace container providers of B (a test
    that injects a failure)."""

    async def make(b_overrides: dict[str, Any] | None = None) -> Cluster:
        mailer = InMemoryMailer()
        instances = []
        for name in ("A", "B"):  # one after the other: A makes the signing key, B reads it
            overrides = (b_overrides or {}) if name == "B" else {}
            backend = Composition(settings(database_url, tmp_path), mailer=mailer, **overrides)
            client = await aiohttp_client(create_app(backend))
            instances.append(Instance(name, client, backend))
        a, b = instances
        assert a.client.port != b.client.port
        return Cluster(a, b, mailer, clean_pg_pool)

    return make


# ------------------------------------------------------------------------- across instances


async def test_a_comment_on_one_instance_reaches_a_socket_on_the_other(
    make_cluster: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_cluster()
    ann, bob, cat = await env.signup("ann"), await env.signup("bob"), await env.signup("cat")
    video = await env.ready_video(ann, sample_clips["silent"])

    watcher = await env.b.connect(bob)  # bob listens on B
    await subscribe(watcher, f"video:{video}")
    author = await env.b.connect(ann)  # ann, the video's author, is on B too

    r = await env.a.client.post(  # cat writes on A
        f"/v1/videos/{video}/comments", json={"body": "seen from B?"}, headers=cat.auth
    )
    assert r.status == 201, await r.text()
    comment = await r.json()
    got = await event(watcher, "comment.created")
    assert got["channel"] == f"video:{video}"
    data = got["data"]
    assert (data["id"], data["video_id"], data["body"], data["comment_count"]) == (
        comment["id"], video, "seen from B?", 1)
    assert data["author"]["id"] == cat.id and data["author"]["nickname"] == "cat"
    note = await event(author, "notification.created")
    assert note["channel"] == f"user:{ann.id}"
    assert (note["data"]["kind"], note["data"]["comment_id"]) == ("comment", comment["id"])

    r = await env.a.client.put(
        f"/v1/videos/{video}/reaction", json={"kind": "flame"}, headers=cat.auth
    )
    assert r.status == 200, await r.text()
    counts = await event(watcher, "reactions.changed")
    assert counts == {"type": "event", "channel": f"video:{video}", "event": "reactions.changed",
                      "data": {"video_id": video, "reactions": dict(NO_REACTIONS, flame=1)}}
    r = await env.a.client.put(
        f"/v1/videos/{video}/reaction", json={"kind": "heart"}, headers=cat.auth
    )
    changed = await event(watcher, "reactions.changed")
    assert changed["data"]["reactions"] == dict(NO_REACTIONS, heart=1), "a change, not a sum"

    # And the other way round: a write on B reaches a socket on A.
    on_a = await env.a.connect(ann)
    await subscribe(on_a, f"video:{video}")
    r = await env.b.client.delete(f"/v1/videos/{video}/reaction", headers=cat.auth)
    assert r.status == 200, await r.text()
    assert (await event(on_a, "reactions.changed"))["data"]["reactions"] == NO_REACTIONS
    assert (await event(watcher, "reactions.changed"))["data"]["reactions"] == NO_REACTIONS
    for ws in (watcher, author, on_a):
        await ws.close()


async def test_a_comment_frame_has_the_authors_avatar_url_and_no_storage_key(
    make_cluster: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_cluster()
    ann, bob = await env.signup("ann"), await env.signup("bob")
    video = await env.ready_video(ann, sample_clips["silent"])
    r = await env.a.client.put("/v1/me/avatar", data=jpeg(), headers=bob.auth)
    assert r.status == 200, await r.text()
    avatar_key = await env.pool.fetchval("SELECT avatar_key FROM users WHERE id = $1", bob.id)
    assert avatar_key

    ws = await env.a.connect(ann)
    await subscribe(ws, f"video:{video}")
    # The longest comment in four-byte characters: the NOTIFY payload stays far below
    # PostgreSQL's 8000-byte limit.
    body = "\N{FACE WITH TEARS OF JOY}" * 500
    r = await env.a.client.post(
        f"/v1/videos/{video}/comments", json={"body": body}, headers=bob.auth
    )
    assert r.status == 201, await r.text()
    posted = await r.json()
    got = await event(ws, "comment.created")
    data = got["data"]
    assert set(data) == {"id", "video_id", "parent_id", "body", "created_at", "edited_at",
                         "like_count", "reply_count", "author", "comment_count"}
    assert data == {
        "id": posted["id"], "video_id": video, "parent_id": None, "body": body,
        "created_at": data["created_at"], "edited_at": None, "like_count": 0,
        "reply_count": 0, "author": data["author"], "comment_count": 1,
    }
    author = data["author"]
    assert set(author) == {"id", "nickname", "name", "surname", "avatar_url"}
    assert (author["id"], author["nickname"]) == (bob.id, "bob")
    assert author["avatar_url"]
    assert avatar_key not in json.dumps(got).replace(author["avatar_url"], ""), (
        "the key appears only inside its signed URL")
    # The URL in the frame is the one the API gives, and it serves the picture.
    assert urlsplit(author["avatar_url"]).path == urlsplit(posted["author"]["avatar_url"]).path
    url = urlsplit(author["avatar_url"])
    picture = await env.b.client.get(f"{url.path}?{url.query}")
    assert picture.status == 200 and picture.content_type == "image/jpeg"
    assert data["created_at"] == posted["created_at"]

    r = await env.a.client.post(
        f"/v1/videos/{video}/comments",
        json={"body": "a reply", "parent_id": posted["id"]},
        headers=ann.auth,
    )
    assert r.status == 201, await r.text()
    reply = (await event(ws, "comment.created"))["data"]
    assert (reply["parent_id"], reply["comment_count"]) == (posted["id"], 2)
    assert reply["author"]["avatar_url"] is None and "avatar_key" not in reply["author"]
    await ws.close()


async def test_a_ban_on_one_instance_closes_the_sockets_on_the_other(
    make_cluster: Any,
) -> None:
    env = await make_cluster()
    ann, bob, mod = await env.signup("ann"), await env.signup("bob"), await env.moderator()
    bob_on_b = await env.b.connect(bob)
    bob_on_a = await env.a.connect(bob)
    ann_on_b = await env.b.connect(ann)
    r = await env.b.client.get("/v1/me", headers=bob.auth)
    assert r.status == 200, "bob's token works on B before the ban"

    r = await env.a.client.post(
        f"/v1/mod/users/{bob.id}/ban", json={"reason": "spam"}, headers=mod.auth
    )
    assert r.status == 200, await r.text()
    assert (await r.json())["status"] == "banned"
    assert await closed(bob_on_b) == (4401, "account_banned")
    assert await closed(bob_on_a) == (4401, "account_banned")
    await ann_on_b.send_json({"op": "ping"})
    assert await frame(ann_on_b) == {"type": "pong"}, "others stay connected"

    # The access token is refused everywhere (its token_version is stale: 401), the
    # socket cannot reopen, and signing in again says why (403).
    for instance in (env.a, env.b):
        r = await instance.client.get("/v1/me", headers=bob.auth)
        assert r.status == 401 and (await r.json())["code"] == "token_revoked"
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await instance.client.ws_connect("/v1/ws", headers=bob.auth)
        assert refused.value.status == 401
    r = await env.b.client.post(
        "/v1/auth/token", json={"grant_type": "password", "email": bob.email, "password": PASSWORD}
    )
    assert r.status == 403 and (await r.json())["code"] == "account_banned"
    r = await env.b.client.post(
        "/v1/auth/token",
        json={"grant_type": "refresh_token", "refresh_token": bob.tokens["refresh_token"]},
    )
    assert r.status in (401, 403), "the refresh token went with the sessions"
    await ann_on_b.close()


# ------------------------------------------------------------------------- rolled back


class _RecordingOutbox:
    """The real outbox (NOTIFY in the transaction), noting what it was given."""

    def __init__(self, inner: Any, into: list[str]) -> None:
        self._inner = inner
        self._into = into

    async def emit(self, event: Any) -> None:
        await self._inner.emit(event)
        self._into.append(event.name)


def _failing_notifications(uow: PostgresUnitOfWork, switch: Switch) -> None:
    """Storing a notification fails: a comment's ``comment.created`` has been emitted by
    then, in the transaction that rolls back."""
    uow.notifications = Fails(uow.notifications, "add")
    uow.events = _RecordingOutbox(uow.events, switch.emitted)


async def test_a_rolled_back_write_sends_nothing(
    make_cluster: Any, database_url: str, clean_pg_pool: asyncpg.Pool,
    sample_clips: dict[str, Path],
) -> None:
    switch = Switch()
    # B's writes fail on cue; A is the plain app.
    env = await make_cluster(b_overrides={
        "storage": storage_with(clean_pg_pool, database_url, switch, _failing_notifications)})
    ann, bob = await env.signup("ann"), await env.signup("bob")
    video = await env.ready_video(ann, sample_clips["silent"])
    watchers = [await env.a.connect(ann), await env.b.connect(ann)]
    for ws in watchers:
        await subscribe(ws, f"video:{video}")

    # Refused before any transaction: nothing to send.
    r = await env.a.client.post(
        f"/v1/videos/{video}/comments", json={"body": "x" * 501}, headers=bob.auth
    )
    assert r.status == 422 and (await r.json())["code"] == "comment_too_long"
    # Failed after its NOTIFY, inside the transaction: rolled back, so never delivered.
    switch.on = True
    r = await env.b.client.post(
        f"/v1/videos/{video}/comments", json={"body": "rolled back"}, headers=bob.auth
    )
    assert r.status == 503, await r.text()
    switch.on = False
    assert switch.emitted == ["comment.created"], "emitted, then rolled back"
    assert await clean_pg_pool.fetchval("SELECT count(*) FROM comments") == 0

    r = await env.b.client.post(
        f"/v1/videos/{video}/comments", json={"body": "kept"}, headers=bob.auth
    )
    assert r.status == 201, await r.text()
    # Events arrive in commit order: had the rolled-back one gone out, it would come first.
    for ws in watchers:
        got = await frame(ws)
        assert (got["event"], got["data"]["body"], got["data"]["comment_count"]) == (
            "comment.created", "kept", 1), got
        await ws.close()
    assert await clean_pg_pool.fetchval("SELECT count(*) FROM comments") == 1
    assert await clean_pg_pool.fetchval("SELECT comment_count FROM videos") == 1


# ------------------------------------------------------------------------- counters


USERS = 30
VIDEOS = 3
OPS_PER_USER = 12


async def test_concurrent_reactions_keep_every_count_equal_to_the_rows(
    make_cluster: Any, sample_clips: dict[str, Path]
) -> None:
    """30 users react, change and remove concurrently over HTTP, half on each instance.
    Each user's own writes are sequential, so the final reactions are known whatever the
    interleaving; the counts must equal them, in SQL rows, in the counters, over HTTP,
    and in the last reactions.changed event of each video (events go out in commit
    order)."""
    env = await make_cluster()
    author = await env.signup("author")
    videos = [await env.ready_video(author, sample_clips["silent"]) for _ in range(VIDEOS)]
    users = list(await asyncio.gather(*(env.signup(f"fan{i}") for i in range(USERS))))

    rng = random.Random(5)
    burst: list[tuple[User, int, str | None]] = [
        (u, videos[0], KINDS[i % 4]) for i, u in enumerate(users)
    ]
    plans: dict[int, list[tuple[int, str | None]]] = {
        u.id: [(rng.choice(videos), None if rng.random() < 0.3 else rng.choice(KINDS))
               for _ in range(OPS_PER_USER)]
        for u in users
    }
    # What each user's reaction to each video ends as, and how many writes change
    # something (each of those sends one reactions.changed).
    final: dict[tuple[int, int], str | None] = {}
    changes = dict.fromkeys(videos, 0)
    for u, video, kind in burst:
        changes[video] += final.get((u.id, video)) != kind
        final[(u.id, video)] = kind
    for u in users:
        for video, kind in plans[u.id]:
            changes[video] += final.get((u.id, video)) != kind
            final[(u.id, video)] = kind
    assert all(n <= 200 for n in changes.values()), "within a socket's queue"

    sockets = {}
    for i, video in enumerate(videos):
        ws = await (env.a if i % 2 else env.b).connect(author)
        await subscribe(ws, f"video:{video}")
        sockets[video] = ws
    heard: dict[int, list[dict[str, int]]] = {v: [] for v in videos}

    async def listen(video: int) -> None:
        while len(heard[video]) < changes[video]:
            got = await event(sockets[video], "reactions.changed")
            heard[video].append(got["data"]["reactions"])

    listeners = [asyncio.create_task(listen(v)) for v in videos]

    def instance_of(u: User) -> Instance:
        return env.a if u.id % 2 else env.b

    async def write(u: User, video: int, kind: str | None) -> None:
        client = instance_of(u).client
        if kind is None:
            r = await client.delete(f"/v1/videos/{video}/reaction", headers=u.auth)
        else:
            r = await client.put(
                f"/v1/videos/{video}/reaction", json={"kind": kind}, headers=u.auth
            )
        assert r.status == 200, (r.status, await r.text())
        body = await r.json()
        assert body["my_reaction"] == kind and sum(body["reactions"].values()) >= (kind is not None)

    async def run(u: User) -> None:
        for video, kind in plans[u.id]:
            await write(u, video, kind)

    async with asyncio.timeout(120):
        await asyncio.gather(*(write(u, v, k) for u, v, k in burst))  # all at once, one video
        await asyncio.gather(*(run(u) for u in users))
        await asyncio.gather(*listeners)

    expected = {v: dict(NO_REACTIONS) for v in videos}
    for (_, video), kind in final.items():
        if kind is not None:
            expected[video][kind] += 1
    rows = await env.pool.fetch("SELECT video_id, kind, count(*) AS n FROM reactions "
                                "GROUP BY video_id, kind")
    in_rows = {v: dict(NO_REACTIONS) for v in videos}
    for row in rows:
        in_rows[row["video_id"]][row["kind"]] = row["n"]
    assert in_rows == expected
    counters = await env.pool.fetch(
        "SELECT id, heart_count, flame_count, funny_count, angry_count FROM videos"
    )
    assert {c["id"]: {k: c[f"{k}_count"] for k in KINDS} for c in counters} == expected
    for video in videos:
        for instance in (env.a, env.b):
            r = await instance.client.get(f"/v1/videos/{video}", headers=author.auth)
            assert (await r.json())["reactions"] == expected[video], (instance.name, video)
        assert heard[video][-1] == expected[video], "the last event has the final counts"
        await sockets[video].close()
    for u in users[:6]:
        r = await instance_of(u).client.get(f"/v1/videos/{videos[0]}", headers=u.auth)
        assert (await r.json())["my_reaction"] == final[(u.id, videos[0])]


# ------------------------------------------------------------------------- access cache

REACH = 1.0  # seconds: a revocation holds on every instance within this


async def _until(instance: Instance, who: User, status: int) -> float:
    """Seconds until ``GET /v1/me`` with ``who``'s token answers ``status`` on
    ``instance`` (polled; fails past REACH)."""
    started = time.monotonic()
    while True:
        r = await instance.client.get("/v1/me", headers=who.auth)
        if r.status == status:
            return time.monotonic() - started
        assert time.monotonic() - started < REACH, (instance.name, r.status, await r.text())
        await asyncio.sleep(0.01)


class _CountingUsers:
    """The user repository of a unit of work, counting the token lookups."""

    def __init__(self, inner: Any, seen: list[int]) -> None:
        self._inner = inner
        self._seen = seen

    async def get_with_session(self, user_id: int, session_id: int) -> Any:
        self._seen.append(user_id)
        return await self._inner.get_with_session(user_id, session_id)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


async def test_a_token_checked_once_is_not_looked_up_again_while_the_channel_holds(
    make_cluster: Any, database_url: str, clean_pg_pool: asyncpg.Pool,
) -> None:
    lookups: list[int] = []

    def counting(uow: PostgresUnitOfWork, switch: Switch) -> None:
        uow.users = _CountingUsers(uow.users, lookups)  # type: ignore[assignment]

    switch = Switch()
    switch.on = True
    env = await make_cluster(b_overrides={
        "storage": storage_with(clean_pg_pool, database_url, switch, counting)})
    ann = await env.signup("ann")
    for _ in range(20):
        assert (await env.b.client.get("/v1/me", headers=ann.auth)).status == 200
    assert lookups == [ann.id]


async def test_a_sign_out_on_one_instance_holds_on_the_other_within_a_second(
    make_cluster: Any,
) -> None:
    env = await make_cluster()
    ann = await env.signup("ann")
    await _until(env.b, ann, 200)  # B keeps its check of the token
    r = await env.a.client.post("/v1/auth/logout", headers=ann.auth,
                                json={"refresh_token": ann.tokens["refresh_token"]})
    assert r.status == 204, await r.text()
    await _until(env.b, ann, 401)
    await _until(env.a, ann, 401)


async def test_a_ban_and_a_promotion_reach_the_other_instance_within_a_second(
    make_cluster: Any,
) -> None:
    env = await make_cluster()
    ann, bob, mod = await env.signup("ann"), await env.signup("bob"), await env.moderator()
    queue = "/v1/mod/cases"
    assert (await env.b.client.get(queue, headers=ann.auth)).status == 403
    accounts = env.a.client.app[keys.SERVICES].accounts
    await accounts.set_role(ann.id, Role.MODERATOR)  # a promotion keeps the token...
    started = time.monotonic()
    while (r := await env.b.client.get(queue, headers=ann.auth)).status != 200:
        assert time.monotonic() - started < REACH, (r.status, await r.text())
        await asyncio.sleep(0.01)  # ...and B reads the new role
    await _until(env.b, bob, 200)
    r = await env.a.client.post(f"/v1/mod/users/{bob.id}/ban", json={"reason": "spam"},
                                headers=mod.auth)
    assert r.status == 200, await r.text()
    await _until(env.b, bob, 401)


async def test_an_instance_that_lost_its_channel_looks_every_caller_up(
    make_cluster: Any,
) -> None:
    """Revocations sent while B's LISTEN connection is gone never reach B: it trusts none
    of its kept checks until it listens again, and none from before then either."""
    env = await make_cluster()
    ann = await env.signup("ann")
    await _until(env.b, ann, 200)
    source = env.b.client.app[keys.SERVICES].live_events
    epoch = source.listening()
    assert epoch is not None
    async with env.pool.acquire() as conn:  # cut B's channel (A's goes too: both listen)
        await conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE query LIKE 'LISTEN %' AND datname = current_database()"
        )
    started = time.monotonic()
    while source.listening() == epoch:
        assert time.monotonic() - started < RECEIVE
        await asyncio.sleep(0.01)
    async with env.pool.acquire() as conn:  # revoked behind every channel's back
        await conn.execute("UPDATE sessions SET revoked_at = now() WHERE user_id = $1", ann.id)
    await _until(env.b, ann, 401)
