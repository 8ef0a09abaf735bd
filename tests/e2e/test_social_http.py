"""POST /v1/auth/social/{provider}: the route, on a verifier that implements the port."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.container import Composition
from adapters.http.app import create_app
from momentic_core.errors import Invalid, Unauthenticated
from momentic_core.model.accounts import VerifiedIdToken


class StaticVerifier:
    """Knows one token per provider; anything else is refused like a forged token."""

    async def verify(self, provider: str, id_token: str, nonce: str | None) -> VerifiedIdToken:
        if provider not in ("apple", "google"):
            raise Invalid("Unknown provider.", code="unknown_provider")
        if id_token != f"good-{provider}" or nonce != "n1":
            raise Unauthenticated("The ID token is not valid.", code="invalid_id_token")
        return VerifiedIdToken(provider, "sub-1", "Social@BSU.by", True)


@pytest.fixture
async def social_client(aiohttp_client: Any, fast_settings: Any) -> Any:
    backend = Composition(fast_settings, id_tokens=StaticVerifier())
    return await aiohttp_client(create_app(backend))


async def test_social_sign_in_creates_then_reuses_the_account(social_client: Any) -> None:
    body = {"id_token": "good-apple", "nonce": "n1", "device_name": "iPhone"}
    r = await social_client.post("/v1/auth/social/apple", json=body)
    assert r.status == 200, await r.text()
    first = await r.json()
    me = await (await social_client.get(
        "/v1/me", headers={"Authorization": f"Bearer {first['access_token']}"})).json()
    assert me["email"] == "social@bsu.by" and me["email_verified"] is True

    r = await social_client.post("/v1/auth/social/apple", json=body)
    second = await r.json()
    again = await (await social_client.get(
        "/v1/me", headers={"Authorization": f"Bearer {second['access_token']}"})).json()
    assert again["id"] == me["id"]


@pytest.mark.parametrize(
    ("provider", "token", "status", "code"),
    [
        ("apple", "forged", 401, "invalid_id_token"),
        ("myspace", "good-myspace", 422, "unknown_provider"),
    ],
)
async def test_social_sign_in_refusals(
    social_client: Any, provider: str, token: str, status: int, code: str
) -> None:
    r = await social_client.post(f"/v1/auth/social/{provider}",
                                 json={"id_token": token, "nonce": "n1"})
    assert r.status == status
    assert (await r.json())["code"] == code
