"""A sign-up whose email is not verified yet is no one to other users: every route that
resolves or lists another user answers for it exactly as for an id or nickname that does
not exist (no enumeration difference). Staff still see it (profile, admin user list)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from engagement_support import User, moderator, user

from adapters.http import keys

NO_ONE = 987_654  # an id no user has


@pytest.fixture
async def env(make_video_env: Any) -> Any:
    return await make_video_env(rate_limit_multiplier=1000)


async def _pending(env: Any, email: str = "pending@bsu.by") -> tuple[int, str]:
    """Register (the code is mailed, never entered): the new account's id and nickname."""
    await env.api.register(email)
    found = await env.client.app[keys.SERVICES].accounts.find_by_email(email)
    assert not found.email_verified
    return found.id, found.nickname


async def _answer(response: Any) -> tuple[int, str]:
    """Status and body, but for the request id every answer has its own of."""
    body = await response.json()
    body.pop("request_id", None)
    return response.status, json.dumps(body, sort_keys=True)


async def _same(env: Any, method: str, path: str, who: User, body: Any = None,
                unknown_body: Any = None, unknown_path: str | None = None) -> tuple[int, Any]:
    """The answers for the pending account and for no one: they must be equal."""
    c = env.client
    pending = await _answer(await c.request(method, path, json=body, headers=who.auth))
    unknown = await _answer(await c.request(
        method, unknown_path or path, json=unknown_body, headers=who.auth))
    assert pending == unknown, (path, pending, unknown)
    return pending


async def test_an_unverified_sign_up_is_no_one_to_other_users(env: Any) -> None:
    ann = await user(env, "ann")
    pid, nick = await _pending(env)
    c = env.client

    # Profiles, stats and videos: 404 user_not_found, as for an id nobody has.
    for tail in ("", "/stats", "/videos"):
        status, text = await _same(env, "GET", f"/v1/users/{pid}{tail}", ann,
                                   unknown_path=f"/v1/users/{NO_ONE}{tail}")
        assert status == 404 and '"user_not_found"' in text, (tail, text)

    # Friend requests by id and by nickname; a block; a report.
    status, text = await _same(env, "POST", "/v1/friend-requests", ann,
                               {"user_id": pid}, {"user_id": NO_ONE})
    assert status == 404 and '"user_not_found"' in text
    status, text = await _same(env, "POST", "/v1/friend-requests", ann,
                               {"nickname": nick}, {"nickname": "zz.nobody"})
    assert status == 404 and '"user_not_found"' in text
    status, text = await _same(env, "PUT", f"/v1/blocks/{pid}", ann,
                               unknown_path=f"/v1/blocks/{NO_ONE}")
    assert status == 404 and '"user_not_found"' in text
    status, _ = await _same(
        env, "POST", "/v1/reports", ann,
        {"target_type": "user", "target_id": pid, "reason": "spam"},
        {"target_type": "user", "target_id": NO_ONE, "reason": "spam"},
    )
    assert status == 404

    # Search by its nickname and by the prefix every generated nickname shares.
    for q in (nick, nick[:4]):
        r = await c.get(f"/v1/users/search?q={q}", headers=ann.auth)
        assert r.status == 200
        assert pid not in [u["id"] for u in (await r.json())["items"]], q

    # The leaderboard, global and friends.
    for scope in ("global", "friends"):
        r = await c.get(f"/v1/ranking?scope={scope}", headers=ann.auth)
        assert r.status == 200
        assert pid not in [s["user"]["id"] for s in (await r.json())["items"]], scope

    # Nothing was stored for it: no request, no block.
    for path in ("/v1/friend-requests?direction=outgoing", "/v1/blocks"):
        r = await c.get(path, headers=ann.auth)
        assert r.status == 200
        assert pid not in [i["user"]["id"] for i in (await r.json())["items"]], path


async def test_once_verified_the_account_is_someone(env: Any) -> None:
    ann = await user(env, "ann")
    pid, nick = await _pending(env)
    r = await env.client.post("/v1/auth/verify", json={
        "email": "pending@bsu.by", "code": env.api.mailer.last_code("pending@bsu.by"),
        "password": "correct horse battery"})
    assert r.status == 200, await r.text()
    r = await env.client.get(f"/v1/users/{pid}", headers=ann.auth)
    assert r.status == 200 and (await r.json())["nickname"] == nick
    r = await env.client.get(f"/v1/users/search?q={nick}", headers=ann.auth)
    assert [u["id"] for u in (await r.json())["items"]] == [pid]
    r = await env.client.post("/v1/friend-requests", json={"nickname": nick}, headers=ann.auth)
    assert r.status in (200, 201), await r.text()


async def test_staff_still_see_an_unverified_sign_up(env: Any) -> None:
    mod = await moderator(env)
    pid, nick = await _pending(env)
    r = await env.client.get(f"/v1/users/{pid}", headers=mod.auth)
    assert r.status == 200, await r.text()
    r = await env.client.get(f"/v1/admin/users?q={nick}", headers=mod.auth)
    assert r.status == 200
    rows = (await r.json())["items"]
    assert [(u["id"], u["email_verified"]) for u in rows] == [(pid, False)]

