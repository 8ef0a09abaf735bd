"""Two-factor authentication over HTTP (issue 21 item 1): enrolment, sign-in with a code
(v1, legacy, social), recovery codes, replays, drift, throttling, turning it off, and the
staff enrolment requirement."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from xml.etree import ElementTree

import pyotp
import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from signup_support import PASSWORD
from test_social_http import StaticVerifier

from adapters.http import keys
from adapters.memory.clock import ManualClock
from momentic_core.model.accounts import Role
from momentic_core.services import mfa

LONG_TOKENS = {"access_token_ttl_seconds": 7 * 86400}
START = datetime(2026, 12, 7, 12, 0, 5, tzinfo=UTC)  # 5 s into a 30 s step


def _code(secret: str, clock: ManualClock, steps: int = 0) -> str:
    at = clock.now() + timedelta(seconds=30 * steps)
    return pyotp.TOTP(secret).at(at)


async def _problem(r: Any) -> str:
    assert r.headers["Content-Type"].startswith("application/problem+json"), await r.text()
    return str((await r.json())["code"])


async def _env(make_video_env: Any) -> tuple[Any, ManualClock]:
    clock = ManualClock(START)
    env = await make_video_env(overrides={"clock": clock}, **LONG_TOKENS)
    return env, clock


async def _enrolled(client: Any, auth: dict[str, str], clock: ManualClock) -> tuple[str, list[str]]:
    r = await client.post("/v1/me/2fa", headers=auth)
    assert r.status == 201, await r.text()
    assert r.headers["Cache-Control"] == "no-store"
    secret = (await r.json())["secret"]
    r = await client.post("/v1/me/2fa/confirm", json={"code": _code(secret, clock)},
                          headers=auth)
    assert r.status == 200, await r.text()
    codes = (await r.json())["recovery_codes"]
    clock.advance(timedelta(seconds=30))  # the confirming step is spent
    return secret, codes


async def _password(client: Any, email: str = "alex@bsu.by") -> Any:
    return await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": email, "password": PASSWORD})


async def _challenge(client: Any, email: str = "alex@bsu.by") -> str:
    r = await _password(client, email)
    assert r.status == 403 and await _problem(r) == "mfa_required"
    body = await r.json()
    assert "access_token" not in body and body["expires_in"] == 300
    return str(body["mfa_token"])


def _is_qr_of(svg: str, text: str) -> None:
    """``svg`` is an SVG document of ``text``'s QR code: its dark modules are those of
    the code segno makes of ``text`` (error correction M, a 4-module quiet zone)."""
    root = ElementTree.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert not [e for e in root.iter() if e.tag.endswith("script") or any(
        name.startswith("on") for name in e.attrib)]
    code = segno.make(text, error="m")
    size = (code.symbol_size(scale=4, border=4))[0]
    assert root.attrib["width"] == root.attrib["height"] == str(size)
    dark = code.matrix
    assert len(dark) > 21, "large enough for the URI"
    # The path draws each row's dark runs: h<n> after m moves; count the dark modules.
    path = next(e for e in root.iter() if e.tag.endswith("path") and "stroke" in e.attrib)
    runs = [int(n) for n in re.findall(r"h(\d+)", path.attrib["d"])]
    assert sum(runs) == sum(sum(1 for m in row if m) for row in dark)


async def test_enrol_confirm_and_sign_in_with_a_code(make_video_env: Any) -> None:
    env, clock = await _env(make_video_env)
    client = env.client
    auth = await env.api.signup_auth()
    r = await client.get("/v1/me/2fa", headers=auth)
    assert await r.json() == {"enabled": False, "pending": False, "recovery_codes_left": 0}

    r = await client.post("/v1/me/2fa", headers=auth)
    made = await r.json()
    assert made["otpauth_uri"].startswith("otpauth://totp/Momentic:alex%40bsu.by?secret=")
    assert f"secret={made['secret']}" in made["otpauth_uri"] and "issuer=Momentic" in \
        made["otpauth_uri"]
    _is_qr_of(made["qr_svg"], made["otpauth_uri"])
    r = await client.get("/v1/me/2fa", headers=auth)
    assert await r.json() == {"enabled": False, "pending": True, "recovery_codes_left": 0}
    assert (await _password(client)).status == 200, "pending: sign-in is unchanged"

    r = await client.post("/v1/me/2fa/confirm", json={"code": "000000"}, headers=auth)
    assert r.status == 422 and await _problem(r) == "invalid_mfa_code"
    r = await client.post("/v1/me/2fa/confirm", json={"code": _code(made["secret"], clock)},
                          headers=auth)
    codes = (await r.json())["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(mfa.RECOVERY_CODE.fullmatch(c) for c in codes)
    r = await client.post("/v1/me/2fa", headers=auth)
    assert r.status == 409 and await _problem(r) == "mfa_already_enabled"
    r = await client.post("/v1/me/2fa/confirm", json={"code": _code(made["secret"], clock)},
                          headers=auth)
    assert r.status == 409 and await _problem(r) == "mfa_not_pending"

    token = await _challenge(client)
    r = await client.post("/v1/auth/2fa", json={
        "mfa_token": token, "code": _code(made["secret"], clock)})
    assert r.status == 422, "the code that confirmed is spent (same step)"
    clock.advance(timedelta(seconds=30))
    r = await client.post("/v1/auth/2fa", json={
        "mfa_token": token, "code": _code(made["secret"], clock), "device_name": "Pixel"})
    assert r.status == 200, await r.text()
    assert r.headers["Cache-Control"] == "no-store"
    tokens = await r.json()
    r = await client.get("/v1/me", headers=env.api.auth(tokens))
    assert r.status == 200
    r = await client.get("/v1/me/2fa", headers=auth)
    assert (await r.json())["enabled"] is True


async def test_a_code_is_accepted_once_and_never_an_older_one(make_video_env: Any) -> None:
    env, clock = await _env(make_video_env)
    client = env.client
    secret, _ = await _enrolled(client, await env.api.signup_auth(), clock)
    token = await _challenge(client)
    now_code = _code(secret, clock)
    r = await client.post("/v1/auth/2fa", json={"mfa_token": token, "code": now_code})
    assert r.status == 200
    r = await client.post("/v1/auth/2fa", json={"mfa_token": token, "code": now_code})
    assert r.status == 422 and await _problem(r) == "invalid_mfa_code", "a replay"
    r = await client.post("/v1/auth/2fa", json={
        "mfa_token": token, "code": _code(secret, clock, -1)})
    assert r.status == 422, "an earlier step than the last accepted one"


async def test_recovery_codes_work_once_each(make_video_env: Any) -> None:
    env, clock = await _env(make_video_env)
    client = env.client
    auth = await env.api.signup_auth()
    _, codes = await _enrolled(client, auth, clock)
    token = await _challenge(client)
    r = await client.post("/v1/auth/2fa", json={"mfa_token": token,
                                                "code": codes[3].upper()})
    assert r.status == 200, "case does not matter"
    r = await client.post("/v1/auth/2fa", json={"mfa_token": token, "code": codes[3]})
    assert r.status == 422 and await _problem(r) == "invalid_mfa_code"
    r = await client.get("/v1/me/2fa", headers=auth)
    assert (await r.json())["recovery_codes_left"] == 9


async def test_challenges_expire_and_cannot_be_forged(make_video_env: Any) -> None:
    env, clock = await _env(make_video_env)
    client = env.client
    secret, _ = await _enrolled(client, await env.api.signup_auth(), clock)
    token = await _challenge(client)
    body, _, sig = token.partition(".")
    for forged in ("nonsense", body + ".AAAA", "e30." + sig, ""):
        r = await client.post("/v1/auth/2fa", json={"mfa_token": forged,
                                                    "code": _code(secret, clock)})
        assert r.status == 401 and await _problem(r) == "invalid_mfa_token", forged
    clock.advance(timedelta(minutes=5, seconds=1))
    r = await client.post("/v1/auth/2fa", json={"mfa_token": token,
                                                "code": _code(secret, clock)})
    assert r.status == 401 and await _problem(r) == "invalid_mfa_token"


async def test_a_password_change_voids_the_challenge(make_video_env: Any) -> None:
    env, clock = await _env(make_video_env)
    client = env.client
    auth = await env.api.signup_auth()
    secret, _ = await _enrolled(client, auth, clock)
    token = await _challenge(client)
    r = await client.post("/v1/me/password", headers=auth, json={
        "current_password": PASSWORD, "new_password": "another long passphrase"})
    assert r.status == 204, await r.text()
    r = await client.post("/v1/auth/2fa", json={"mfa_token": token,
                                                "code": _code(secret, clock)})
    assert r.status == 401 and await _problem(r) == "invalid_mfa_token"


async def test_codes_are_throttled(make_video_env: Any) -> None:
    env, clock = await _env(make_video_env)
    client = env.client
    secret, _ = await _enrolled(client, await env.api.signup_auth(), clock)
    token = await _challenge(client)
    statuses = []
    for _ in range(10):
        r = await client.post("/v1/auth/2fa", json={"mfa_token": token, "code": "000000"})
        statuses.append(r.status)
    # The confirmation counted one; the tenth wrong guess is refused before it is tried.
    assert statuses == [422] * 9 + [429]
    r = await client.post("/v1/auth/2fa", json={"mfa_token": token,
                                                "code": _code(secret, clock)})
    assert r.status == 429 and await _problem(r) == "rate_limited", "even the right one"
    clock.advance(timedelta(minutes=15))
    token = await _challenge(client)
    r = await client.post("/v1/auth/2fa", json={"mfa_token": token,
                                                "code": _code(secret, clock)})
    assert r.status == 200


async def test_legacy_login_of_a_two_factor_account_gets_no_tokens(
    make_video_env: Any,
) -> None:
    env, clock = await _env(make_video_env)
    client = env.client
    await _enrolled(client, await env.api.signup_auth(), clock)
    for path in ("/auth/login/", "/auth/login"):
        r = await client.post(path, json={"email": "alex@bsu.by", "password": PASSWORD})
        assert r.status == 403 and await _problem(r) == "mfa_required"
        assert "access" not in await r.json()


async def test_disable_needs_password_and_code(make_video_env: Any) -> None:
    env, clock = await _env(make_video_env)
    client = env.client
    auth = await env.api.signup_auth()
    secret, codes = await _enrolled(client, auth, clock)
    r = await client.delete("/v1/me/2fa", headers=auth,
                            json={"password": "wrong password!", "code": _code(secret, clock)})
    assert r.status == 401 and await _problem(r) == "invalid_credentials"
    r = await client.delete("/v1/me/2fa", headers=auth, json={"code": _code(secret, clock)})
    assert r.status == 401, "the password is required"
    r = await client.delete("/v1/me/2fa", headers=auth,
                            json={"password": PASSWORD, "code": "123456"})
    assert r.status == 422 and await _problem(r) == "invalid_mfa_code"
    r = await client.delete("/v1/me/2fa", headers=auth,
                            json={"password": PASSWORD, "code": codes[0]})
    assert r.status == 204
    r = await client.delete("/v1/me/2fa", headers=auth,
                            json={"password": PASSWORD, "code": codes[1]})
    assert r.status == 409 and await _problem(r) == "mfa_not_enabled"
    assert (await _password(client)).status == 200, "sign-in is one step again"


async def test_the_secret_is_never_answered_again_nor_logged(
    make_video_env: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    env, clock = await _env(make_video_env)
    client = env.client
    auth = await env.api.signup_auth()
    secret, _ = await _enrolled(client, auth, clock)
    for path in ("/v1/me/2fa", "/v1/me", "/v1/me/export"):
        r = await client.get(path, headers=auth)
        assert secret not in await r.text(), path
    assert secret not in caplog.text
    svc = client.app[keys.SERVICES]
    user = await svc.accounts.find_by_email("alex@bsu.by")
    async with svc.accounts._uow() as tx:
        stored = await tx.totp.get(user.id)
    assert stored is not None and secret not in repr(stored)
    assert secret not in stored.secret, "sealed at rest"
    assert all(len(h) == 64 for h in stored.recovery), "recovery codes kept as HMACs"


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(min_value=-3, max_value=3), into_step=st.integers(0, 29))
def test_drift_of_one_step_is_accepted_not_more(offset: int, into_step: int) -> None:
    secret = pyotp.random_base32()
    now = datetime(2026, 12, 7, 12, 0, tzinfo=UTC) + timedelta(seconds=into_step)
    code = pyotp.TOTP(secret).at(now + timedelta(seconds=30 * offset))
    step = mfa.matching_step(secret, code, now)
    if abs(offset) <= 1:
        assert step == mfa.step_at(now) + offset
    else:  # refused, unless it equals a code within the drift by chance (1 in 10**6)
        within = {mfa.step_at(now) + d: pyotp.TOTP(secret).at(now + timedelta(seconds=30 * d))
                  for d in (-1, 0, 1)}
        assert step is None or (step in within and within[step] == code)


@settings(max_examples=40, deadline=None)
@given(seconds=st.integers(min_value=0, max_value=2**33))
def test_steps_are_rfc_6238_steps(seconds: int) -> None:
    at = datetime.fromtimestamp(seconds, UTC)
    assert mfa.step_at(at) == seconds // 30 == pyotp.TOTP("A" * 32).timecode(at)
    assert mfa.code_at_step("A" * 32, mfa.step_at(at)) == pyotp.TOTP("A" * 32).at(at)


async def test_social_sign_in_asks_for_the_code_too(make_video_env: Any) -> None:
    clock = ManualClock(START)
    env2 = await make_video_env(overrides={"clock": clock, "id_tokens": StaticVerifier()},
                                **LONG_TOKENS)
    client = env2.client
    body = {"id_token": "good-apple", "nonce": "n1"}
    r = await client.post("/v1/auth/social/apple", json=body)
    assert r.status == 200, await r.text()
    auth = env2.api.auth(await r.json())
    secret, _ = await _enrolled(client, auth, clock)
    r = await client.post("/v1/auth/social/apple", json=body)
    assert r.status == 403 and await _problem(r) == "mfa_required"
    token = (await r.json())["mfa_token"]
    r = await client.post("/v1/auth/2fa", json={"mfa_token": token,
                                                "code": _code(secret, clock)})
    assert r.status == 200, await r.text()
    clock.advance(timedelta(seconds=30))
    r = await client.delete("/v1/me/2fa", headers=auth, json={"code": _code(secret, clock)})
    assert r.status == 204, "an account without a password turns it off with a code"


async def _staff(env: Any, role: Role, email: str) -> dict[str, str]:
    svc = env.client.app[keys.SERVICES]
    await svc.accounts.create_user(email, PASSWORD, role)
    r = await _password(env.client, email)
    assert r.status == 200, await r.text()
    return env.api.auth(await r.json())


async def test_staff_must_enrol_when_the_setting_says_so(make_video_env: Any) -> None:
    env, clock = await _env(make_video_env)
    client = env.client
    admin = await _staff(env, Role.ADMIN, "root@bsu.by")
    moderator = await _staff(env, Role.MODERATOR, "mod@bsu.by")
    user = await env.api.signup_auth()
    assert (await client.get("/v1/mod/cases", headers=moderator)).status == 200
    r = await client.patch("/v1/admin/settings", headers=admin, json={
        "changes": {"staff_mfa_required": True}, "reason": "policy"})
    assert r.status == 200, await r.text()
    assert (await r.json())["effective"]["staff_mfa_required"] is True

    for auth, path in ((moderator, "/v1/mod/cases"), (admin, "/v1/admin/settings"),
                       (admin, "/v1/mod/appeals")):
        r = await client.get(path, headers=auth)
        assert r.status == 403 and await _problem(r) == "mfa_enrolment_required", path
    r = await client.get("/v1/mod/cases", headers=user)
    assert r.status == 403 and await _problem(r) == "insufficient_role", "users: as before"
    assert (await client.get("/v1/mod/cases")).status == 401
    assert (await client.get("/v1/me", headers=moderator)).status == 200, "the rest answers"

    await _enrolled(client, moderator, clock)
    assert (await client.get("/v1/mod/cases", headers=moderator)).status == 200
    await _enrolled(client, admin, clock)
    r = await client.patch("/v1/admin/settings", headers=admin, json={
        "changes": {"staff_mfa_required": None}})
    assert (await r.json())["effective"]["staff_mfa_required"] is False, "the default"
    r = await client.patch("/v1/admin/settings", headers=admin, json={
        "changes": {"staff_mfa_required": "yes"}})
    assert r.status == 422 and await _problem(r) == "invalid_setting"
