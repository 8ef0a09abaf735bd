"""HTTP tests against create_app() on the in-memory backend, over a real loopback socket."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.config import Settings
from adapters.container import Backend
from adapters.http.app import HttpOptions, create_app
from adapters.memory.mail import InMemoryMailer

FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@pytest.fixture
def fast_settings() -> Settings:
    """The in-memory backend with a cheap password hash."""
    return Settings(memory=True, **FAST_HASH)


@pytest.fixture
def mailer() -> InMemoryMailer:
    return InMemoryMailer()


@pytest.fixture
async def client(aiohttp_client: Any, mailer: InMemoryMailer) -> Any:
    settings = Settings(memory=True, **FAST_HASH)
    app = create_app(Backend(settings, mailer=mailer), HttpOptions(max_body_bytes=64 * 1024))
    return await aiohttp_client(app)


class Api:
    """A tiny client that signs up users the way the app does."""

    def __init__(self, client: Any, mailer: InMemoryMailer) -> None:
        self.client = client
        self.mailer = mailer

    async def signup(self, email: str = "alex@bsu.by", password: str = "correct horse battery"):
        r = await self.client.post("/v1/auth/register", json={"email": email, "password": password})
        assert r.status == 202, await r.text()
        r = await self.client.post(
            "/v1/auth/verify",
            json={"email": email, "code": self.mailer.last_code(email), "password": password},
        )
        assert r.status == 200, await r.text()
        return await r.json()

    @staticmethod
    def auth(tokens: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens['access_token']}"}


@pytest.fixture
def api(client: Any, mailer: InMemoryMailer) -> Api:
    return Api(client, mailer)
