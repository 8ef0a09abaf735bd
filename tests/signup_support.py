"""Signing users up over HTTP the way the app does (register, then verify with the code
the in-memory mailer got), for the tests that drive create_app() through a test client
(tests/e2e, tests/security)."""

from __future__ import annotations

import uuid
from typing import Any

from adapters.http import keys
from adapters.memory.mail import InMemoryMailer

# a cheap password hash for the tests' Settings
FAST_HASH: dict[str, Any] = {
    "argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
PASSWORD = "correct horse battery"


class Api:
    """A tiny client that signs up users the way the app does."""

    def __init__(self, client: Any, mailer: InMemoryMailer) -> None:
        self.client = client
        self.mailer = mailer

    def headers(self) -> dict[str, str]:
        """Extra headers of each sign-up request: none here (a subclass may give, e.g., a
        client address of its own per request)."""
        return {}

    async def register(self, email: str, password: str = PASSWORD) -> None:
        r = await self.client.post("/v1/auth/register", headers=self.headers(),
                                   json={"email": email, "password": password})
        assert r.status == 202, await r.text()

    async def signup(self, email: str = "alex@bsu.by", password: str = PASSWORD) -> Any:
        """Register and verify: the token response (``access_token``, ...)."""
        await self.register(email, password)
        r = await self.client.post(
            "/v1/auth/verify", headers=self.headers(),
            json={"email": email, "code": self.mailer.last_code(email), "password": password},
        )
        assert r.status == 200, await r.text()
        return await r.json()

    async def signup_auth(self, email: str = "alex@bsu.by") -> dict[str, str]:
        """Sign up: the new user's bearer header."""
        return self.auth(await self.signup(email))

    @staticmethod
    def auth(tokens: dict[str, Any]) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens['access_token']}"}


async def new_user_auth(client: Any) -> dict[str, str]:
    """A verified user made through the services (no mail), signed in over HTTP: their
    bearer header."""
    email = f"u{uuid.uuid4().hex[:10]}@bsu.by"
    await client.app[keys.SERVICES].accounts.create_user(email, PASSWORD)
    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": email, "password": PASSWORD})
    assert r.status == 200, await r.text()
    return Api.auth(await r.json())


class PeerTransport:
    """A transport for ``make_mocked_request`` whose socket peer is ``peer``: a client
    connected straight from that address (no proxy header)."""

    def __init__(self, peer: tuple[Any, ...]) -> None:
        self._peer = peer

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._peer if name == "peername" else default

    def is_closing(self) -> bool:
        return False
