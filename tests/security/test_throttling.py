"""Brute force on sign-in, codes and password reset, against create_app() on the
in-memory backend behind one trusted proxy (so each request can come from its own
client address).

Already covered elsewhere: 429 after 10 wrong logins from one address with Retry-After
and X-RateLimit-* (tests/e2e/test_http_conventions.py), equal bodies for unknown and
known emails on login, register, resend and reset (tests/security/test_inputs.py), the
core's per-account limits (tests/unit/test_accounts.py). Added here, over HTTP:

- the guesser, not the owner: 10 wrong passwords from one address lock that address out
  of the account (429 problem+json with Retry-After, the right password included) while
  the owner signs in from another; past the account's ceiling (wrong passwords from many
  addresses) no new address gets in, but the right password from an address the account
  signed in from before does; an unknown email locks and answers alike;
- a verification code burns after 5 wrong tries (the right one is then refused) and
  verify is 429 after 10 tries across addresses;
- reset requests are 429 after 3 for one email across addresses, a reset code burns
  after 5 wrong tries, and confirm is 429 after 10;
- known and unknown emails get the same status, body and headers (all but the request id
  and the date), throttled or not;
- timing: a login for an unknown (or malformed) email runs one argon2 verification with
  the same parameters as a real one (a spy on the password hasher port), as does verify
  for an unknown email; no wall clock is measured.
"""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from signup_support import FAST_HASH, PASSWORD, Api

from adapters.config import Settings
from adapters.container import Composition
from adapters.crypto.passwords import Argon2PasswordHasher
from adapters.http import keys
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from adapters.memory.mail import InMemoryMailer

WRONG = "wrong horse battery"
_ADDRESSES = itertools.count(1)


def ip() -> dict[str, str]:
    """A request from a client address of its own (behind the one trusted proxy)."""
    n = next(_ADDRESSES)
    return {"X-Forwarded-For": f"198.51.{n // 250}.{n % 250 + 1}"}


class SpyHasher(Argon2PasswordHasher):
    """The real hasher, recording the hash each argon2 verification ran against."""

    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.verified: list[str] = []

    def _verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return super()._verify(password_hash, password)


class Env(Api):
    def __init__(self, client: Any, mailer: InMemoryMailer, hasher: SpyHasher) -> None:
        super().__init__(client, mailer)
        self.hasher = hasher

    def headers(self) -> dict[str, str]:
        return ip()  # register and verify each from an address of its own

    async def login(self, email: str, password: str) -> Any:
        return await self.client.post("/v1/auth/token", headers=ip(), json={
            "grant_type": "password", "email": email, "password": password})


@pytest.fixture
async def env(aiohttp_client: Any) -> Env:
    mailer = InMemoryMailer()
    hasher = SpyHasher()
    backend = Composition(Settings(memory=True, **FAST_HASH), mailer=mailer, hasher=hasher)
    app = create_app(backend, HttpOptions(max_body_bytes=64 * 1024, trusted_proxies=1))
    return Env(await aiohttp_client(app), mailer, hasher)


async def _problem(r: Any, status: int, code: str) -> dict[str, Any]:
    text = await r.text()
    assert r.status == status, text
    assert r.headers["Content-Type"].startswith("application/problem+json"), text
    body = json.loads(text)
    assert body["code"] == code and body["status"] == status, text
    if status == 429:
        assert int(r.headers["Retry-After"]) > 0
        assert r.headers["X-RateLimit-Remaining"] == "0"
    return dict(body)


# Differ by request (the id) or by the clock (a window's remaining seconds may tick
# between two requests); the clock ones are compared within a second below.
_PER_REQUEST = {"x-request-id", "date", "retry-after", "x-ratelimit-reset"}


async def _shape(r: Any) -> tuple[int, dict[str, Any], dict[str, str]]:
    """What a response tells: status, body and headers but the request id and date."""
    body = json.loads(await r.text())
    body.pop("request_id", None)
    headers = {k.lower(): v for k, v in r.headers.items() if k.lower() not in _PER_REQUEST}
    for name in ("Retry-After", "X-RateLimit-Reset"):
        if name in r.headers:
            headers[name.lower()] = "present"
    _CLOCK.setdefault(r.status, []).append(int(r.headers.get("Retry-After", "0")))
    return r.status, body, headers


_CLOCK: dict[int, list[int]] = {}


# ---------------------------------------------------------------- sign-in


async def test_wrong_passwords_lock_out_the_guesser_not_the_owner(env: Env) -> None:
    """Ten wrong passwords from one address lock that address out of the account, the
    right password included; the owner, from any other address, signs in."""
    await env.signup("known@bsu.by")
    attacker = ip()

    async def login(password: str, address: dict[str, str]) -> Any:
        return await env.client.post("/v1/auth/token", headers=address, json={
            "grant_type": "password", "email": "known@bsu.by", "password": password})

    for _ in range(10):
        await _problem(await login(WRONG, attacker), 401, "invalid_credentials")
    await _problem(await login(WRONG, attacker), 429, "rate_limited")
    await _problem(await login(PASSWORD, attacker), 429, "rate_limited")
    r = await env.login("known@bsu.by", PASSWORD)  # the owner, from a new address
    assert r.status == 200, await r.text()


async def test_past_the_account_ceiling_a_known_address_still_signs_in(env: Env) -> None:
    """Wrong passwords from many addresses (a botnet) reach the account's ceiling: then
    no new address may try, the right password included, but an address the account
    signed in from before still gets in with it. An unknown email is throttled and
    answered alike: same statuses, bodies and headers."""
    home = ip()
    r = await env.client.post("/v1/auth/register", headers=home, json={
        "email": "known@bsu.by", "password": PASSWORD})
    assert r.status == 202
    r = await env.client.post("/v1/auth/verify", headers=home, json={
        "email": "known@bsu.by", "code": env.mailer.last_code("known@bsu.by"),
        "password": PASSWORD})
    assert r.status == 200, await r.text()  # a session from home
    ceiling = (await env.client.app[keys.SERVICES].throttle.limit("login:account")).count
    _CLOCK.clear()
    known, unknown = [], []
    for _ in range(ceiling + 2):
        known.append(await _shape(await env.login("known@bsu.by", WRONG)))
        unknown.append(await _shape(await env.login("nobody@bsu.by", WRONG)))
    assert [status for status, _, _ in known] == [401] * ceiling + [429] * 2
    assert known == unknown
    assert max(_CLOCK[429]) - min(_CLOCK[429]) <= 1, _CLOCK[429]
    await _problem(await env.login("known@bsu.by", PASSWORD), 429, "rate_limited")
    r = await env.client.post("/v1/auth/token", headers=home, json={
        "grant_type": "password", "email": "known@bsu.by", "password": WRONG})
    await _problem(r, 429, "rate_limited")  # no more guesses from home either
    r = await env.client.post("/v1/auth/token", headers=home, json={
        "grant_type": "password", "email": "known@bsu.by", "password": PASSWORD})
    assert r.status == 200, await r.text()


async def test_an_unknown_email_is_throttled_and_answered_like_a_known_one(env: Env) -> None:
    await env.signup("known@bsu.by")
    _CLOCK.clear()
    known, unknown = [], []
    one, other = ip(), ip()  # each from one address: the per-address limit of an account
    for _ in range(12):
        for email, address, shapes in (("known@bsu.by", one, known),
                                       ("nobody@bsu.by", other, unknown)):
            r = await env.client.post("/v1/auth/token", headers=address, json={
                "grant_type": "password", "email": email, "password": WRONG})
            shapes.append(await _shape(r))
    assert [s for s, _, _ in known] == [401] * 10 + [429] * 2
    assert known == unknown
    assert max(_CLOCK[429]) - min(_CLOCK[429]) <= 1, _CLOCK[429]


# ---------------------------------------------------------------- verification codes


async def test_a_verification_code_burns_after_five_wrong_tries(env: Env) -> None:
    await env.register("new@bsu.by")
    code = env.mailer.last_code("new@bsu.by")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    for _ in range(5):
        r = await env.client.post("/v1/auth/verify", headers=ip(), json={
            "email": "new@bsu.by", "code": wrong, "password": PASSWORD})
        await _problem(r, 422, "invalid_code")
    r = await env.client.post("/v1/auth/verify", headers=ip(), json={
        "email": "new@bsu.by", "code": code, "password": PASSWORD})
    await _problem(r, 422, "invalid_code")  # the right code, too late
    r = await env.login("new@bsu.by", PASSWORD)
    await _problem(r, 403, "email_not_verified")


async def test_verify_is_throttled_per_account_across_addresses(env: Env) -> None:
    await env.register("new@bsu.by")
    for n in range(10):
        r = await env.client.post("/v1/auth/verify", headers=ip(), json={
            "email": "new@bsu.by", "code": f"{n:06d}", "password": PASSWORD})
        assert r.status == 422, await r.text()
    r = await env.client.post("/v1/auth/verify", headers=ip(), json={
        "email": "new@bsu.by", "code": env.mailer.last_code("new@bsu.by"),
        "password": PASSWORD})
    await _problem(r, 429, "rate_limited")


# ---------------------------------------------------------------- password reset


async def test_reset_requests_are_throttled_per_email_alike_for_unknown_ones(env: Env) -> None:
    await env.signup("known@bsu.by")
    answers: dict[str, list[Any]] = {"known@bsu.by": [], "nobody@bsu.by": []}
    for email, shapes in answers.items():
        for _ in range(5):
            r = await env.client.post("/v1/auth/password-reset", headers=ip(),
                                      json={"email": email})
            shapes.append(await _shape(r))
    assert [s for s, _, _ in answers["known@bsu.by"]] == [202] * 3 + [429] * 2
    assert answers["known@bsu.by"] == answers["nobody@bsu.by"]
    resets = [m for m in env.mailer.sent if m.to == "known@bsu.by" and "reset" in m.subject]
    assert len(resets) == 3  # the throttled requests mailed nothing
    assert not [m for m in env.mailer.sent if m.to == "nobody@bsu.by"]


async def test_a_reset_code_burns_and_confirm_is_throttled(env: Env) -> None:
    await env.signup("known@bsu.by")
    r = await env.client.post("/v1/auth/password-reset", headers=ip(),
                              json={"email": "known@bsu.by"})
    assert r.status == 202
    code = env.mailer.last_code("known@bsu.by")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    confirm = {"email": "known@bsu.by", "new_password": "another horse battery"}
    for _ in range(5):
        r = await env.client.post("/v1/auth/password-reset/confirm", headers=ip(),
                                  json={**confirm, "code": wrong})
        await _problem(r, 422, "invalid_code")
    r = await env.client.post("/v1/auth/password-reset/confirm", headers=ip(),
                              json={**confirm, "code": code})
    await _problem(r, 422, "invalid_code")  # burnt
    r = await env.login("known@bsu.by", PASSWORD)  # the password did not change
    assert r.status == 200, await r.text()
    for _ in range(3):  # verify:account counts confirms too: 10 in all, sign-up's included
        r = await env.client.post("/v1/auth/password-reset/confirm", headers=ip(),
                                  json={**confirm, "code": wrong})
        await _problem(r, 422, "invalid_code")
    r = await env.client.post("/v1/auth/password-reset/confirm", headers=ip(),
                              json={**confirm, "code": wrong})
    await _problem(r, 429, "rate_limited")
    # an unknown email is answered the same way, throttled the same way
    unknown = {**confirm, "email": "nobody@bsu.by", "code": wrong}
    statuses = []
    for _ in range(11):
        r = await env.client.post("/v1/auth/password-reset/confirm", headers=ip(),
                                  json=unknown)
        statuses.append(r.status)
    assert statuses == [422] * 10 + [429]


# ---------------------------------------------------------------- timing


async def test_a_login_for_an_unknown_email_still_hashes(env: Env) -> None:
    await env.signup("known@bsu.by")
    stored = env.hasher.verified[-1]  # verify checked the sign-up password against it
    prefix = stored.rsplit("$", 2)[0]  # $argon2id$v=19$m=...,t=...,p=...
    for email, password in (("known@bsu.by", WRONG), ("nobody@bsu.by", WRONG),
                            ("not an email", WRONG), ("nobody@bsu.by", PASSWORD)):
        env.hasher.verified.clear()
        r = await env.login(email, password)
        await _problem(r, 401, "invalid_credentials")
        assert len(env.hasher.verified) == 1, (email, env.hasher.verified)
        assert env.hasher.verified[0].rsplit("$", 2)[0] == prefix, email
    # verify with an unknown email hashes as with a known one
    for email in ("new@bsu.by", "ghost@bsu.by"):
        if email == "new@bsu.by":
            await env.register(email)
        env.hasher.verified.clear()
        r = await env.client.post("/v1/auth/verify", headers=ip(), json={
            "email": email, "code": "000000", "password": PASSWORD})
        await _problem(r, 422, "invalid_code")
        assert len(env.hasher.verified) == 1, (email, env.hasher.verified)


# ---------------------------------------------------------------- the per-IP limit


async def test_a_bearer_header_never_takes_a_request_out_of_the_per_ip_limit(
    aiohttp_client: Any,
) -> None:
    """Routes that never ask who calls (the config, the token endpoint, an unknown path)
    count the per-IP limit before they run, whatever Authorization says: a junk bearer,
    and a valid one, are refused (429) once the address is over it, as no header is.
    Routes that authenticate count it with the per-user one: a junk bearer there is
    refused too."""
    mailer = InMemoryMailer()
    backend = Composition(Settings(memory=True, **FAST_HASH), mailer=mailer)
    app = create_app(backend, HttpOptions(max_body_bytes=64 * 1024, trusted_proxies=1))
    client = await aiohttp_client(app)
    env = Env(client, mailer, SpyHasher())
    token = (await env.signup("known@bsu.by"))["access_token"]
    limit = (await app[keys.SERVICES].throttle.limit("api:ip")).count
    junk = {"Authorization": "Bearer junk"}
    valid = {"Authorization": f"Bearer {token}"}
    calls = [
        ("GET", "/v1/config", junk, None),
        ("POST", "/v1/auth/token", junk, {"grant_type": "bogus"}),
        ("GET", "/v1/nowhere", junk, None),
        ("GET", "/v1/config", valid, None),
        ("GET", "/v1/me", junk, None),
    ]
    for method, path, headers, body in calls:
        address = ip()
        for _ in range(limit):
            r = await client.request(method, path, json=body, headers={**headers, **address})
            assert r.status != 429, (path, headers, await r.text())
        r = await client.request(method, path, json=body, headers={**headers, **address})
        await _problem(r, 429, "rate_limited")
        # the same address with no header at all is over its limit too: one bucket
        r = await client.get("/v1/config", headers=address)
        await _problem(r, 429, "rate_limited")
