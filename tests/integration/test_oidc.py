"""Sign in with Apple and Google: ``JwksIdTokenVerifier`` against a JWKS served on 127.0.0.1.

The tests hold the providers' keys: they sign ID tokens with their own RSA (RS256) and
EC (ES256) keys and publish the public halves from a local aiohttp server that counts
its requests.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import socket
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest
from aiohttp import web
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

from adapters.memory.clock import ManualClock
from adapters.oidc import JwksIdTokenVerifier, from_settings
from momentic_core.errors import Invalid, Unauthenticated, Unavailable
from momentic_core.model.accounts import VerifiedIdToken

GOOGLE_AUD = "1234-web.apps.googleusercontent.com"
APPLE_AUD = "app.momentic.ios"
RSA_KEY = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
DROP = object()  # a claim value that means "leave the claim out"


class JwksServer:
    """Serves ``keys`` as a JWKS at ``url``; ``status`` other than 200 plays an outage."""

    def __init__(self) -> None:
        self.keys: list[RSAKey | ECKey] = [RSA_KEY, EC_KEY]
        self.requests = 0
        self.status = 200
        self.body: str | None = None
        self.url = ""

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        if self.status != 200:
            return web.Response(status=self.status)
        if self.body is not None:
            return web.Response(text=self.body, content_type="application/json")
        return web.json_response({"keys": [key.as_dict(private=False) for key in self.keys]})


@pytest.fixture
async def jwks_server() -> AsyncIterator[JwksServer]:
    server = JwksServer()
    app = web.Application()
    app.router.add_get("/keys", server.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.url = f"http://127.0.0.1:{runner.addresses[0][1]}/keys"
    yield server
    await runner.cleanup()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def verifier(
    jwks_server: JwksServer, clock: ManualClock
) -> AsyncIterator[JwksIdTokenVerifier]:
    v = from_settings(
        google_client_ids=f"{GOOGLE_AUD}, 5678-android.apps.googleusercontent.com",
        apple_client_ids=APPLE_AUD,
        google_jwks_url=jwks_server.url,
        apple_jwks_url=jwks_server.url,
        clock=clock.now,
    )
    yield v
    await v.close()


def claims_for(clock: ManualClock, provider: str = "google", **overrides: Any) -> dict[str, Any]:
    now = int(clock.now().timestamp())
    google = provider == "google"
    claims: dict[str, Any] = {
        "iss": "https://accounts.google.com" if google else "https://appleid.apple.com",
        "aud": GOOGLE_AUD if google else APPLE_AUD,
        "sub": "110169484474386276334" if google else "000123.abc",
        "email": "ann@example.com",
        "email_verified": True if google else "true",
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not DROP}


def sign(claims: dict[str, Any], key: RSAKey | ECKey = RSA_KEY, **header: Any) -> str:
    alg = header.pop("alg", "RS256" if isinstance(key, RSAKey) else "ES256")
    full_header = {"alg": alg, "kid": key.kid, "typ": "JWT", **header}
    return jwt.encode(full_header, claims, key, algorithms=[alg])


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


async def refused(
    verifier: JwksIdTokenVerifier, token: str, nonce: str | None = None, provider: str = "google"
) -> Unauthenticated:
    with pytest.raises(Unauthenticated) as caught:
        await verifier.verify(provider, token, nonce)
    assert caught.value.code == "invalid_id_token"
    if len(token) > 10:  # the token is never echoed back
        assert token not in str(caught.value) and token.split(".")[1] not in str(caught.value)
    return caught.value


# --- valid tokens ---------------------------------------------------------------------------


async def test_valid_google_token(verifier: JwksIdTokenVerifier, clock: ManualClock) -> None:
    token = sign(claims_for(clock, nonce="n-0S6_WzA2Mj"))
    result = await verifier.verify("google", token, "n-0S6_WzA2Mj")
    assert result == VerifiedIdToken(
        provider="google",
        subject="110169484474386276334",
        email="ann@example.com",
        email_verified=True,
    )


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"iss": "accounts.google.com"}, True),
        ({"aud": ["someone-else", "5678-android.apps.googleusercontent.com"]}, True),
        ({"email_verified": False}, False),
        ({"email": DROP, "email_verified": DROP}, False),
    ],
)
async def test_google_variants(
    verifier: JwksIdTokenVerifier, clock: ManualClock, overrides: dict[str, Any], expected: bool
) -> None:
    result = await verifier.verify("google", sign(claims_for(clock, **overrides)), None)
    assert result.email_verified is expected
    assert result.email == ("ann@example.com" if "email" not in overrides else None)


@pytest.mark.parametrize(("flag", "expected"), [("true", True), ("false", False), ("TRUE", True)])
async def test_valid_apple_token(
    verifier: JwksIdTokenVerifier, clock: ManualClock, flag: str, expected: bool
) -> None:
    token = sign(claims_for(clock, "apple", email_verified=flag, nonce="abc"), EC_KEY)
    result = await verifier.verify("apple", token, "abc")
    assert result == VerifiedIdToken(
        provider="apple", subject="000123.abc", email="ann@example.com", email_verified=expected
    )


# --- claims ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "overrides",
    [
        {"aud": "someone-else.apps.googleusercontent.com"},
        {"aud": ["someone-else", "and-another"]},
        {"aud": APPLE_AUD},
        {"aud": DROP},
        {"iss": "https://evil.example.com"},
        {"iss": "https://appleid.apple.com"},
        {"iss": DROP},
        {"exp": 1_767_610_000},  # well before the clock's 2026-01-05 12:00 UTC
        {"exp": DROP},
        {"exp": "tomorrow"},
        {"sub": DROP},
        {"sub": ""},
        {"iat": DROP},
        {"iat": 4_000_000_000},  # issued in the future
    ],
    ids=lambda o: ",".join(f"{k}={v!r}"[:30] for k, v in o.items()),
)
async def test_bad_claims_are_refused(
    verifier: JwksIdTokenVerifier, clock: ManualClock, overrides: dict[str, Any]
) -> None:
    await refused(verifier, sign(claims_for(clock, **overrides)))


async def test_expired_token(verifier: JwksIdTokenVerifier, clock: ManualClock) -> None:
    token = sign(claims_for(clock))
    clock.advance(timedelta(hours=1, seconds=30))  # expired, but inside the 60 s leeway
    await verifier.verify("google", token, None)
    clock.advance(timedelta(seconds=31))
    error = await refused(verifier, token)
    assert "expired" in error.detail


async def test_nonce_mismatch(verifier: JwksIdTokenVerifier, clock: ManualClock) -> None:
    error = await refused(verifier, sign(claims_for(clock, nonce="from-token")), "from-caller")
    assert "nonce" in error.detail


async def test_nonce_expected_but_missing(
    verifier: JwksIdTokenVerifier, clock: ManualClock
) -> None:
    await refused(verifier, sign(claims_for(clock)), "expected-nonce")


async def test_nonce_in_token_but_none_expected(
    verifier: JwksIdTokenVerifier, clock: ManualClock
) -> None:
    await refused(verifier, sign(claims_for(clock, nonce="replayed")), None)


# --- signatures and algorithms --------------------------------------------------------------


async def test_alg_none_is_refused(verifier: JwksIdTokenVerifier, clock: ManualClock) -> None:
    token = f"{b64({'alg': 'none', 'kid': 'rsa-1'})}.{b64(claims_for(clock))}."
    await refused(verifier, token)


async def test_hs256_with_the_public_key_as_secret_is_refused(
    verifier: JwksIdTokenVerifier, clock: ManualClock
) -> None:
    signing_input = f"{b64({'alg': 'HS256', 'kid': 'rsa-1'})}.{b64(claims_for(clock))}"
    secret = RSA_KEY.as_pem(private=False)
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    token = f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    await refused(verifier, token)


async def test_alg_that_does_not_fit_the_key_type_is_refused(
    verifier: JwksIdTokenVerifier, clock: ManualClock
) -> None:
    # Signed by the EC key with ES256, but naming the RSA key's kid.
    await refused(verifier, sign(claims_for(clock), EC_KEY, kid="rsa-1"))
    # An RSA signature presented as RS512 under the RSA kid.
    await refused(verifier, sign(claims_for(clock), RSA_KEY, alg="RS512"))


async def test_tampered_payload_is_refused(
    verifier: JwksIdTokenVerifier, clock: ManualClock
) -> None:
    header, _, signature = sign(claims_for(clock)).split(".")
    forged = f"{header}.{b64(claims_for(clock, sub='someone-else'))}.{signature}"
    await refused(verifier, forged)


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "a.b", "....."])
async def test_garbage_is_refused(verifier: JwksIdTokenVerifier, token: str) -> None:
    await refused(verifier, token)


async def test_token_without_kid_is_refused(
    verifier: JwksIdTokenVerifier, clock: ManualClock
) -> None:
    token = jwt.encode({"alg": "RS256"}, claims_for(clock), RSA_KEY, algorithms=["RS256"])
    await refused(verifier, token)


async def test_token_of_another_provider_is_refused(
    verifier: JwksIdTokenVerifier, clock: ManualClock
) -> None:
    await refused(verifier, sign(claims_for(clock, "apple"), EC_KEY), provider="google")


# --- providers ------------------------------------------------------------------------------


async def test_unknown_provider(
    verifier: JwksIdTokenVerifier, jwks_server: JwksServer, clock: ManualClock
) -> None:
    with pytest.raises(Invalid) as caught:
        await verifier.verify("facebook", sign(claims_for(clock)), None)
    assert caught.value.code == "unknown_provider"
    assert jwks_server.requests == 0


async def test_from_settings_registers_only_configured_providers(clock: ManualClock) -> None:
    verifier = from_settings(
        google_client_ids=" , ",
        apple_client_ids=[APPLE_AUD],
        google_jwks_url="http://127.0.0.1:9/google",
        apple_jwks_url="http://127.0.0.1:9/apple",
    )
    try:
        with pytest.raises(Invalid) as caught:
            await verifier.verify("google", sign(claims_for(clock)), None)
        assert caught.value.code == "unknown_provider"
    finally:
        await verifier.close()


def test_construction_opens_nothing() -> None:
    # No event loop runs here: a ClientSession made now would fail or warn.
    verifier = from_settings(GOOGLE_AUD, APPLE_AUD, "http://127.0.0.1:9/g", "http://127.0.0.1:9/a")
    assert isinstance(verifier, JwksIdTokenVerifier)


# --- the key cache --------------------------------------------------------------------------


async def test_jwks_is_cached(
    verifier: JwksIdTokenVerifier, jwks_server: JwksServer, clock: ManualClock
) -> None:
    await verifier.verify("google", sign(claims_for(clock)), None)
    clock.advance(timedelta(minutes=59))
    await verifier.verify("google", sign(claims_for(clock), EC_KEY), None)
    assert jwks_server.requests == 1
    clock.advance(timedelta(minutes=1))  # the hour is up
    await verifier.verify("google", sign(claims_for(clock)), None)
    assert jwks_server.requests == 2


async def test_key_rotation(
    verifier: JwksIdTokenVerifier, jwks_server: JwksServer, clock: ManualClock
) -> None:
    old_token = sign(claims_for(clock))
    await verifier.verify("google", old_token, None)
    assert jwks_server.requests == 1

    new_key = RSAKey.generate_key(2048, parameters={"kid": "rsa-2"})
    jwks_server.keys = [new_key, EC_KEY]
    clock.advance(timedelta(seconds=61))
    result = await verifier.verify("google", sign(claims_for(clock), new_key), None)
    assert result.subject == "110169484474386276334"
    assert jwks_server.requests == 2

    # The retired key is gone from the refreshed set; asking again does not refetch.
    await refused(verifier, sign(claims_for(clock)))
    await verifier.verify("google", sign(claims_for(clock), new_key), None)
    assert jwks_server.requests == 2


async def test_flood_of_unknown_kids_refetches_at_most_once_per_interval(
    verifier: JwksIdTokenVerifier, jwks_server: JwksServer, clock: ManualClock
) -> None:
    await verifier.verify("google", sign(claims_for(clock)), None)
    assert jwks_server.requests == 1
    clock.advance(timedelta(seconds=61))

    def bogus() -> str:
        return sign(claims_for(clock), kid=secrets.token_hex(8))

    results = await asyncio.gather(
        *(verifier.verify("google", bogus(), None) for _ in range(50)), return_exceptions=True
    )
    assert all(isinstance(r, Unauthenticated) for r in results), results
    assert jwks_server.requests == 2

    for _ in range(20):
        await refused(verifier, bogus())
    clock.advance(timedelta(seconds=30))
    await refused(verifier, bogus())
    assert jwks_server.requests == 2
    # Genuine tokens keep working from the cache meanwhile.
    await verifier.verify("google", sign(claims_for(clock)), None)
    assert jwks_server.requests == 2

    clock.advance(timedelta(seconds=31))  # a new interval: one more refetch is allowed
    await refused(verifier, bogus())
    await refused(verifier, bogus())
    assert jwks_server.requests == 3

    # The limit is per provider: Apple's first fetch is not held back by Google's.
    await verifier.verify("apple", sign(claims_for(clock, "apple"), EC_KEY), None)
    assert jwks_server.requests == 4


# --- the provider is down -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (503, None),
        (404, None),
        (200, "{not json"),
        (200, '{"nokeys": []}'),
        (200, '{"keys": {}}'),
        (200, "[]"),
    ],
)
async def test_jwks_endpoint_failing(
    verifier: JwksIdTokenVerifier,
    jwks_server: JwksServer,
    clock: ManualClock,
    status: int,
    body: str | None,
) -> None:
    jwks_server.status, jwks_server.body = status, body
    with pytest.raises(Unavailable) as caught:
        await verifier.verify("google", sign(claims_for(clock)), None)
    assert caught.value.code == "provider_unavailable"

    # Once the provider answers again, sign-in works without waiting for an interval.
    jwks_server.status, jwks_server.body = 200, None
    await verifier.verify("google", sign(claims_for(clock)), None)


async def test_unusable_keys_in_the_jwks_are_skipped(
    verifier: JwksIdTokenVerifier, jwks_server: JwksServer, clock: ManualClock
) -> None:
    junk: list[Any] = [
        "x",
        {"kty": []},
        {"kty": "RSA", "kid": "broken", "n": 1},
        {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
        {**EC_KEY.as_dict(private=False), "kid": "enc", "use": "enc"},
        {**RSA_KEY.as_dict(private=False), "kid": "rs512", "alg": "RS512"},
    ]
    good = [RSA_KEY.as_dict(private=False)]
    jwks_server.body = json.dumps({"keys": [*junk, *good]})
    assert (await verifier.verify("google", sign(claims_for(clock)), None)).email_verified
    for kid in ("broken", "secret", "enc", "rs512"):
        await refused(verifier, sign(claims_for(clock), kid=kid))
    assert jwks_server.requests == 1


async def test_jwks_endpoint_unreachable(clock: ManualClock) -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    verifier = from_settings(GOOGLE_AUD, "", f"http://127.0.0.1:{port}/keys", "", clock=clock.now)
    try:
        with pytest.raises(Unavailable) as caught:
            await verifier.verify("google", sign(claims_for(clock)), None)
        assert caught.value.code == "provider_unavailable"
    finally:
        await verifier.close()
