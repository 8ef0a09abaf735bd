"""The whole sign-up journey over real HTTP, real PostgreSQL and real SMTP."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.memory.clock import ManualClock


def _settings(database_url: str, smtp_port: int, data_dir: Path) -> Settings:
    return Settings(
        database_url=database_url,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_security="none",
        secret="integration-secret",
        data_dir=str(data_dir),
        argon2_time_cost=1,
        argon2_memory_kib=1024,
        argon2_parallelism=1,
    )


async def test_register_verify_login_refresh_reuse_sessions(
    aiohttp_client: Any, database_url: str, smtp_server: Any, tmp_path: Path
) -> None:
    app = create_app(Composition(_settings(database_url, smtp_server.port, tmp_path)))
    client = await aiohttp_client(app)
    addr = f"journey-{uuid.uuid4().hex[:8]}@bsu.by"
    password = "correct horse battery"

    r = await client.post("/v1/auth/register", json={"email": addr, "password": password})
    assert r.status == 202
    code = await smtp_server.code_for(addr)

    r = await client.post("/v1/auth/token",
                          json={"grant_type": "password", "email": addr, "password": password})
    assert r.status == 403 and (await r.json())["code"] == "email_not_verified"

    r = await client.post("/v1/auth/verify",
                          json={"email": addr, "code": code, "password": password,
                                "device_name": "phone"})
    assert r.status == 200
    first = await r.json()

    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": addr, "password": password, "device_name": "laptop"})
    assert r.status == 200
    laptop = await r.json()

    r = await client.post("/v1/auth/token",
                          json={"grant_type": "refresh_token",
                                "refresh_token": laptop["refresh_token"]})
    assert r.status == 200
    rotated = await r.json()
    r = await client.post("/v1/auth/token",
                          json={"grant_type": "refresh_token",
                                "refresh_token": rotated["refresh_token"]})
    assert r.status == 200
    newest = await r.json()

    # Reusing the rotated-out token once its successor was used revokes its whole family.
    r = await client.post("/v1/auth/token",
                          json={"grant_type": "refresh_token",
                                "refresh_token": laptop["refresh_token"]})
    assert r.status == 401 and (await r.json())["code"] == "refresh_token_reused"
    r = await client.post("/v1/auth/token",
                          json={"grant_type": "refresh_token",
                                "refresh_token": newest["refresh_token"]})
    assert r.status == 401

    phone = {"Authorization": f"Bearer {first['access_token']}"}
    r = await client.get("/v1/me/sessions", headers=phone)
    sessions = (await r.json())["items"]
    assert [s["device_name"] for s in sessions] == ["phone"], "the laptop family is gone"

    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": addr, "password": password, "device_name": "tablet"})
    tablet = await r.json()
    r = await client.delete(f"/v1/me/sessions/{tablet['session_id']}", headers=phone)
    assert r.status == 204
    r = await client.get("/v1/me", headers={"Authorization": f"Bearer {tablet['access_token']}"})
    assert r.status == 401
    r = await client.get("/v1/me/sessions", headers=phone)
    assert [s["device_name"] for s in (await r.json())["items"]] == ["phone"]


async def test_concurrent_refreshes_with_one_token_share_one_successor(
    aiohttp_client: Any, database_url: str, smtp_server: Any, tmp_path: Path
) -> None:
    """A double-submitted refresh (8 at once with one token, as a phone on a flaky network
    sends it): one request rotates the token, the others wait on its row and are retries
    within the grace; all get the same successor and working access tokens, and the
    session holds. Presented after the grace, the spent token revokes the session."""
    clock = ManualClock(datetime.now(UTC))
    backend = Composition(_settings(database_url, smtp_server.port, tmp_path), clock=clock)
    client = await aiohttp_client(create_app(backend))
    addr = f"race-{uuid.uuid4().hex[:8]}@bsu.by"
    await client.post("/v1/auth/register",
                      json={"email": addr, "password": "correct horse battery"})
    r = await client.post("/v1/auth/verify",
                          json={"email": addr, "code": await smtp_server.code_for(addr),
                                "password": "correct horse battery"})
    tokens = await r.json()

    async def refresh(token: str) -> Any:
        return await client.post("/v1/auth/token", json={
            "grant_type": "refresh_token", "refresh_token": token})

    responses = await asyncio.gather(*(refresh(tokens["refresh_token"]) for _ in range(8)))
    assert [r.status for r in responses] == [200] * 8, [await r.text() for r in responses]
    pairs = [await r.json() for r in responses]
    assert len({p["refresh_token"] for p in pairs}) == 1
    assert {p["session_id"] for p in pairs} == {tokens["session_id"]}
    for pair in pairs:
        r = await client.get("/v1/me", headers={"Authorization": f"Bearer {pair['access_token']}"})
        assert r.status == 200, await r.text()

    clock.advance(timedelta(seconds=Settings().refresh_grace_seconds + 1))
    r = await refresh(tokens["refresh_token"])
    assert r.status == 401 and (await r.json())["code"] == "refresh_token_reused"
    r = await refresh(pairs[0]["refresh_token"])
    assert r.status == 401 and (await r.json())["code"] == "invalid_refresh_token"


async def test_registration_survives_a_dead_smtp_server(
    aiohttp_client: Any, database_url: str, tmp_path: Path
) -> None:
    app = create_app(Composition(_settings(database_url, 1, tmp_path)))  # nothing listens on :1
    client = await aiohttp_client(app)
    r = await client.post("/v1/auth/register",
                          json={"email": f"nomail-{uuid.uuid4().hex[:6]}@bsu.by",
                                "password": "correct horse battery"})
    assert r.status == 202
