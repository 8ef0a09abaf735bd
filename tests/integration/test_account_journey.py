"""The whole sign-up journey over real HTTP, real PostgreSQL and real SMTP."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

from adapters.config import Settings
from adapters.container import Backend
from adapters.http.app import create_app


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
    app = create_app(Backend(_settings(database_url, smtp_server.port, tmp_path)))
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

    # Reusing the rotated-out token revokes its whole family.
    r = await client.post("/v1/auth/token",
                          json={"grant_type": "refresh_token",
                                "refresh_token": laptop["refresh_token"]})
    assert r.status == 401 and (await r.json())["code"] == "refresh_token_reused"
    r = await client.post("/v1/auth/token",
                          json={"grant_type": "refresh_token",
                                "refresh_token": rotated["refresh_token"]})
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


async def test_concurrent_refreshes_with_one_token_cannot_both_succeed(
    aiohttp_client: Any, database_url: str, smtp_server: Any, tmp_path: Path
) -> None:
    app = create_app(Backend(_settings(database_url, smtp_server.port, tmp_path)))
    client = await aiohttp_client(app)
    addr = f"race-{uuid.uuid4().hex[:8]}@bsu.by"
    await client.post("/v1/auth/register",
                      json={"email": addr, "password": "correct horse battery"})
    r = await client.post("/v1/auth/verify",
                          json={"email": addr, "code": await smtp_server.code_for(addr),
                                "password": "correct horse battery"})
    tokens = await r.json()
    body = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    responses = await asyncio.gather(*(client.post("/v1/auth/token", json=body)
                                       for _ in range(8)))
    assert [r.status for r in responses].count(200) == 1


async def test_registration_survives_a_dead_smtp_server(
    aiohttp_client: Any, database_url: str, tmp_path: Path
) -> None:
    app = create_app(Backend(_settings(database_url, 1, tmp_path)))  # nothing listens on :1
    client = await aiohttp_client(app)
    r = await client.post("/v1/auth/register",
                          json={"email": f"nomail-{uuid.uuid4().hex[:6]}@bsu.by",
                                "password": "correct horse battery"})
    assert r.status == 202
