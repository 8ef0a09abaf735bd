"""Caps and pairings under concurrent requests, over real HTTP on real PostgreSQL: what the
in-memory unit of work (serial by construction) cannot show. Each test fires its requests
at once (one ``asyncio.gather``) and then counts rows behind the app's back.

- A cap that counts and then inserts holds: 30 reports at once from one user, 20 stored;
  36 WebSocket handshakes at once for one user, at most 16 sockets open.
- Two friend requests that cross make one friendship and leave no request row.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import pytest

from adapters.config import Settings
from adapters.container import Composition
from adapters.http import keys
from adapters.http.app import create_app
from adapters.http.live.routes import HUB, LiveOptions
from momentic_core.model.accounts import Role
from momentic_core.services.moderation import REPORTS_PER_DAY

PASSWORD = "correct horse battery"


class Person:
    def __init__(self, id: int, token: str) -> None:
        self.id = id
        self.auth = {"Authorization": f"Bearer {token}"}


class App:
    def __init__(self, client: Any, pool: asyncpg.Pool) -> None:
        self.client = client
        self.pool = pool

    async def person(self, role: Role = Role.USER) -> Person:
        """Made as `momentic users create` makes one, signed in over HTTP."""
        accounts = self.client.app[keys.SERVICES].accounts
        email = f"u-{uuid.uuid4().hex[:10]}@bsu.by"
        made = await accounts.create_user(email, PASSWORD, role)
        r = await self.client.post("/v1/auth/token", json={
            "grant_type": "password", "email": email, "password": PASSWORD})
        assert r.status == 200, await r.text()
        return Person(made.id, (await r.json())["access_token"])


@pytest.fixture
def make_app(
    aiohttp_client: Any, database_url: str, clean_pg_pool: asyncpg.Pool, tmp_path: Path
) -> Any:
    async def make(live: LiveOptions | None = None) -> App:
        settings = Settings(
            database_url=database_url, storage="local", data_dir=str(tmp_path),
            secret="races-secret", rate_limit_multiplier=1000, db_pool_min=1, db_pool_max=8,
            argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1,
        )
        client = await aiohttp_client(create_app(Composition(settings), live=live))
        return App(client, clean_pg_pool)

    return make


async def test_concurrent_reports_of_one_user_stop_at_the_daily_cap(make_app: Any) -> None:
    app = await make_app()
    reporter = await app.person()
    targets = [await app.person() for _ in range(REPORTS_PER_DAY + 10)]
    answers = await asyncio.gather(*(
        app.client.post("/v1/reports", json={
            "target_type": "user", "target_id": t.id, "reason": "spam"}, headers=reporter.auth)
        for t in targets
    ))
    statuses = sorted(r.status for r in answers)
    assert statuses == [201] * REPORTS_PER_DAY + [429] * 10, statuses
    for r in answers:
        if r.status == 429:
            assert (await r.json())["code"] == "too_many_reports"
    stored = await app.pool.fetchval(
        "SELECT count(*) FROM reports WHERE reporter_id = $1", reporter.id)
    assert stored == REPORTS_PER_DAY


async def test_concurrent_handshakes_of_one_user_stop_at_the_socket_cap(make_app: Any) -> None:
    cap = LiveOptions().max_sockets_per_user
    app = await make_app()
    me = await app.person()

    async def connect() -> aiohttp.ClientWebSocketResponse | int:
        try:
            return await app.client.ws_connect("/v1/ws", headers=me.auth)
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status

    got = await asyncio.gather(*(connect() for _ in range(cap + 20)))
    opened = [g for g in got if not isinstance(g, int)]
    refused = [g for g in got if isinstance(g, int)]
    assert len(opened) == cap and refused == [429] * 20, (len(opened), refused)
    hub = app.client.app[HUB]
    assert hub.sockets_of(me.id) == cap
    for ws in opened:
        await ws.close()
    for _ in range(200):  # the handlers finish on their own loop turns
        if hub.sockets_of(me.id) == 0:
            break
        await asyncio.sleep(0.01)
    assert hub.sockets_of(me.id) == 0, "a refused or closed handshake keeps no slot"
    ws = await app.client.ws_connect("/v1/ws", headers=me.auth)
    await ws.close()


async def test_crossing_friend_requests_make_one_friendship_and_leave_no_request(
    make_app: Any,
) -> None:
    app = await make_app()
    pairs = [(await app.person(), await app.person()) for _ in range(8)]
    answers = await asyncio.gather(*(
        app.client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.auth)
        for one, other in pairs for a, b in ((one, other), (other, one))
    ))
    relations = [(r.status, (await r.json())["relation"]) for r in answers]
    for i in range(0, len(relations), 2):
        assert sorted(relations[i:i + 2]) == [(201, "friends"), (201, "request_sent")], relations
    ids = [p.id for pair in pairs for p in pair]
    assert await app.pool.fetchval(
        "SELECT count(*) FROM friend_requests WHERE from_id = ANY($1)", ids) == 0
    assert await app.pool.fetchval(
        "SELECT count(*) FROM friendships WHERE user_id = ANY($1)", ids) == len(ids)
