"""Access and refresh tokens under attack, against create_app() on the in-memory backend:
forged JWTs (alg none, HS256 keyed with the public key, another iss or aud, an expired one,
a tampered payload), tokens used as the other kind, tokens of deleted or banned accounts,
and refresh token reuse. Forged tokens are built here by hand (joserfc, base64, hmac).

Concurrent refreshes with one token: tests/integration/test_account_journey.py
``test_concurrent_refreshes_with_one_token_share_one_successor`` covers them on
PostgreSQL; the in-memory variant below only pins the same rule where no database is at
hand."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey
from signup_support import FAST_HASH, PASSWORD, Api

from adapters.config import Settings
from adapters.container import Composition
from adapters.http import keys
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from adapters.memory.mail import InMemoryMailer
from momentic_core.model.accounts import Role

KEY = ECKey.generate_key("P-256", private=True)


class Env(Api):
    async def refresh(self, refresh_token: str) -> Any:
        return await self.client.post("/v1/auth/token", json={
            "grant_type": "refresh_token", "refresh_token": refresh_token})


@pytest.fixture
async def env(aiohttp_client: Any) -> Env:
    mailer = InMemoryMailer()
    settings = Settings(memory=True, jwt_private_key=KEY.as_pem(private=True).decode(),
                        **FAST_HASH)
    app = create_app(Composition(settings, mailer=mailer), HttpOptions(max_body_bytes=64 * 1024))
    return Env(await aiohttp_client(app), mailer)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _problem(r: Any, status: int, code: str) -> None:
    text = await r.text()
    assert r.status == status, text
    assert r.headers["Content-Type"].startswith("application/problem+json"), text
    assert json.loads(text)["code"] == code, text


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def claims_of(token: str) -> dict[str, Any]:
    return dict(json.loads(unb64(token.split(".")[1])))


def signed(claims: dict[str, Any], key: ECKey = KEY) -> str:
    return jwt.encode({"alg": "ES256", "typ": "JWT"}, claims, key, ["ES256"])


async def _valid_claims(env: Env) -> tuple[str, dict[str, Any]]:
    tokens = await env.signup()
    r = await env.client.get("/v1/me", headers=bearer(tokens["access_token"]))
    assert r.status == 200, await r.text()
    return tokens["access_token"], claims_of(tokens["access_token"])


# ---------------------------------------------------------------- forged access tokens


async def test_the_genuine_token_and_a_re_signed_copy_work(env: Env) -> None:
    """The control: a token the test signs with the server key and the same claims is
    accepted, so each refusal below is due to the one thing it changes."""
    _, claims = await _valid_claims(env)
    r = await env.client.get("/v1/me", headers=bearer(signed(claims)))
    assert r.status == 200, await r.text()


async def test_alg_none_is_refused(env: Env) -> None:
    _, claims = await _valid_claims(env)
    for alg in ("none", "None", "NONE"):
        header = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
        payload = b64(json.dumps(claims).encode())
        for token in (f"{header}.{payload}.", f"{header}.{payload}"):
            await _problem(await env.client.get("/v1/me", headers=bearer(token)),
                           401, "invalid_token")


async def test_hs256_keyed_with_the_public_key_is_refused(env: Env) -> None:
    _, claims = await _valid_claims(env)
    public = KEY.as_pem(private=False)
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    payload = b64(json.dumps({**claims, "role": "admin"}).encode())
    for secret in (public, public.strip(), json.dumps(KEY.as_dict(private=False)).encode()):
        mac = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        token = f"{header}.{payload}.{b64(mac)}"
        await _problem(await env.client.get("/v1/me", headers=bearer(token)),
                       401, "invalid_token")


@pytest.mark.parametrize(("claim", "value"), [
    ("iss", "someone-else"),
    ("aud", "another-api"),
    ("aud", ["another-api"]),
    ("typ", "refresh"),
])
async def test_another_issuer_audience_or_type_is_refused(
    env: Env, claim: str, value: Any
) -> None:
    _, claims = await _valid_claims(env)
    await _problem(await env.client.get("/v1/me", headers=bearer(signed({**claims, claim: value}))),
                   401, "invalid_token")


async def test_a_token_signed_with_another_key_is_refused(env: Env) -> None:
    _, claims = await _valid_claims(env)
    other = ECKey.generate_key("P-256", private=True)
    await _problem(await env.client.get("/v1/me", headers=bearer(signed(claims, other))),
                   401, "invalid_token")


async def test_an_expired_token_is_refused(env: Env) -> None:
    _, claims = await _valid_claims(env)
    now = int(time.time())
    expired = {**claims, "iat": now - 3600, "exp": now - 1800}
    await _problem(await env.client.get("/v1/me", headers=bearer(signed(expired))),
                   401, "token_expired")


async def test_a_tampered_payload_with_the_original_signature_is_refused(env: Env) -> None:
    token, claims = await _valid_claims(env)
    header, _, signature = token.split(".")
    assert claims["role"] == "user"
    for changed in ({**claims, "role": "admin"}, {**claims, "sub": "1"}):
        forged = f"{header}.{b64(json.dumps(changed).encode())}.{signature}"
        await _problem(await env.client.get("/v1/me", headers=bearer(forged)),
                       401, "invalid_token")
    r = await env.client.get("/v1/admin/stats", headers=bearer(
        f"{header}.{b64(json.dumps({**claims, 'role': 'admin'}).encode())}.{signature}"))
    await _problem(r, 401, "invalid_token")


# ---------------------------------------------------------------- one kind for the other


async def test_a_refresh_token_is_no_access_token(env: Env) -> None:
    tokens = await env.signup()
    await _problem(await env.client.get("/v1/me", headers=bearer(tokens["refresh_token"])),
                   401, "invalid_token")


async def test_an_access_token_is_no_refresh_token(env: Env) -> None:
    tokens = await env.signup()
    await _problem(await env.refresh(tokens["access_token"]), 401, "invalid_refresh_token")
    # and the session is still fine: a failed guess does not count as reuse
    r = await env.refresh(tokens["refresh_token"])
    assert r.status == 200, await r.text()


# ---------------------------------------------------------------- accounts that changed


async def test_the_token_of_a_deleted_user(env: Env) -> None:
    tokens = await env.signup()
    auth = bearer(tokens["access_token"])
    r = await env.client.delete("/v1/me", json={"password": PASSWORD}, headers=auth)
    assert r.status == 204, await r.text()
    await _problem(await env.client.get("/v1/me", headers=auth), 401, "token_revoked")
    await _problem(await env.refresh(tokens["refresh_token"]), 401, "invalid_refresh_token")


async def test_the_token_of_a_banned_user(env: Env) -> None:
    tokens = await env.signup()
    auth = bearer(tokens["access_token"])
    user_id = (await (await env.client.get("/v1/me", headers=auth)).json())["id"]
    svc = env.client.app[keys.SERVICES]
    await svc.accounts.create_user("mod@bsu.by", PASSWORD, Role.MODERATOR)
    r = await env.client.post("/v1/auth/token", json={
        "grant_type": "password", "email": "mod@bsu.by", "password": PASSWORD})
    mod = bearer((await r.json())["access_token"])
    r = await env.client.post(f"/v1/mod/users/{user_id}/ban", json={"reason": "Spam."},
                              headers=mod)
    assert r.status == 200, await r.text()
    await _problem(await env.client.get("/v1/me", headers=auth), 401, "token_revoked")
    await _problem(await env.refresh(tokens["refresh_token"]), 401, "invalid_refresh_token")
    # the old claims re-signed with the server key still carry the old token version
    await _problem(await env.client.get("/v1/me", headers=bearer(
        signed(claims_of(tokens["access_token"])))), 401, "token_revoked")


# ---------------------------------------------------------------- refresh tokens


async def test_reusing_a_rotated_refresh_token_revokes_the_session(env: Env) -> None:
    """A stolen refresh token presented after its owner moved on (its successor was used:
    no retry's grace applies) closes the session for both."""
    tokens = await env.signup()
    r = await env.refresh(tokens["refresh_token"])
    assert r.status == 200, await r.text()
    rotated = await r.json()
    r = await env.refresh(rotated["refresh_token"])
    assert r.status == 200, await r.text()
    newest = await r.json()
    r = await env.client.get("/v1/me", headers=bearer(newest["access_token"]))
    assert r.status == 200
    await _problem(await env.refresh(tokens["refresh_token"]), 401, "refresh_token_reused")
    await _problem(await env.refresh(newest["refresh_token"]), 401, "invalid_refresh_token")
    await _problem(await env.client.get("/v1/me", headers=bearer(newest["access_token"])),
                   401, "token_revoked")


async def test_an_unknown_refresh_token(env: Env) -> None:
    await env.signup()
    await _problem(await env.refresh(secrets.token_urlsafe(32)), 401, "invalid_refresh_token")


async def test_concurrent_refreshes_in_memory(env: Env) -> None:
    """Eight refreshes with one token at once (a double submit): one rotates it, the
    others are retries within the grace and get the same successor; the session holds
    (see the module docstring for the PostgreSQL test)."""
    tokens = await env.signup()
    responses = await asyncio.gather(*(env.refresh(tokens["refresh_token"]) for _ in range(8)))
    assert [r.status for r in responses] == [200] * 8
    pairs = [await r.json() for r in responses]
    assert len({p["refresh_token"] for p in pairs}) == 1
    for pair in pairs:
        r = await env.client.get("/v1/me", headers=bearer(pair["access_token"]))
        assert r.status == 200, await r.text()
    r = await env.refresh(pairs[0]["refresh_token"])
    assert r.status == 200, await r.text()
