"""Shared helpers of the engagement and live tests: users, ready videos, a moderator."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
from clip_support import unique

from adapters.http import keys
from momentic_core.model.accounts import Role

PASSWORD = "correct horse battery"


class User:
    def __init__(self, auth: dict[str, str], id: int, nickname: str, tokens: dict[str, Any]):
        self.auth = auth
        self.id = id
        self.nickname = nickname
        self.tokens = tokens

    @property
    def token(self) -> str:
        return str(self.tokens["access_token"])


async def user(env: Any, nickname: str) -> User:
    tokens = await env.api.signup(f"{nickname}@bsu.by", PASSWORD)
    auth = env.api.auth(tokens)
    r = await env.client.patch("/v1/me", json={"nickname": nickname}, headers=auth)
    assert r.status == 200, await r.text()
    return User(auth, (await r.json())["id"], nickname, tokens)


async def login(env: Any, email: str) -> dict[str, Any]:
    r = await env.client.post("/v1/auth/token", json={
        "grant_type": "password", "email": email, "password": PASSWORD})
    assert r.status == 200, await r.text()
    return dict(await r.json())


async def moderator(env: Any, nickname: str = "mod") -> User:
    svc = env.client.app[keys.SERVICES]
    made = await svc.accounts.create_user(f"{nickname}@bsu.by", PASSWORD, Role.MODERATOR)
    tokens = await login(env, f"{nickname}@bsu.by")
    return User(env.api.auth(tokens), made.id, made.nickname, tokens)


async def befriend(env: Any, a: User, b: User) -> None:
    r = await env.client.post("/v1/friend-requests", json={"user_id": b.id}, headers=a.auth)
    assert r.status == 201, await r.text()
    r = await env.client.post(f"/v1/friend-requests/{a.id}/accept", headers=b.auth)
    assert r.status == 204, await r.text()


async def ready_video(env: Any, who: User, clip: Path, visibility: str = "public") -> int:
    form = aiohttp.FormData()
    form.add_field("video_file", io.BytesIO(unique(clip)), filename="c.mp4",
                   content_type="video/mp4")
    form.add_field("visibility", visibility)
    r = await env.client.post("/v1/videos", data=form, headers=who.auth)
    assert r.status == 201, await r.text()
    video_id = int((await r.json())["id"])
    await env.run_jobs()
    r = await env.client.get(f"/v1/videos/{video_id}", headers=who.auth)
    assert (await r.json())["status"] == "ready"
    return video_id
