"""The account API end to end on the in-memory backend: v1 and the legacy mobile routes."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?[+-]\d\d:\d\d$")


async def test_signup_profile_and_sessions(client: Any, api: Any) -> None:
    tokens = await api.signup()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 900
    auth = api.auth(tokens)

    r = await client.get("/v1/me", headers=auth)
    me = await r.json()
    assert me["email"] == "alex@bsu.by" and me["email_verified"] is True
    assert RFC3339.match(me["created_at"])
    datetime.fromisoformat(me["created_at"])

    r = await client.patch(
        "/v1/me",
        json={"nickname": "Alex_K", "bio": "Film student", "time_zone": "Europe/Minsk",
              "role": "admin", "rating": 9999},
        headers=auth,
    )
    assert r.status == 200, await r.text()
    me = await r.json()
    assert me["nickname"] == "alex_k" and me["bio"] == "Film student"
    assert me["role"] == "user" and me["rating"] == 0, "mass assignment is ignored"

    r = await client.get(f"/v1/users/{me['id']}", headers=auth)
    public = await r.json()
    assert public["nickname"] == "alex_k" and "email" not in public

    r = await client.patch("/v1/me", json={"bio": "x" * 101}, headers=auth)
    assert r.status == 422 and (await r.json())["code"] == "bio_too_long"

    other = await api.signup("sam@bsu.by")
    r = await client.patch("/v1/me", json={"nickname": "ALEX_K"}, headers=api.auth(other))
    assert r.status == 409 and (await r.json())["code"] == "nickname_taken"

    r = await client.post(
        "/v1/auth/token",
        json={"grant_type": "password", "email": "alex@bsu.by",
              "password": "correct horse battery", "device_name": "iPad"},
    )
    second = await r.json()
    r = await client.get("/v1/me/sessions", headers=auth)
    sessions = (await r.json())["items"]
    assert len(sessions) == 2
    assert [s["current"] for s in sessions].count(True) == 1
    assert {s["device_name"] for s in sessions} >= {"iPad"}

    r = await client.delete(f"/v1/me/sessions/{second['session_id']}", headers=auth)
    assert r.status == 204
    r = await client.get("/v1/me", headers=api.auth(second))
    assert r.status == 401 and (await r.json())["code"] == "token_revoked"
    r = await client.delete(f"/v1/me/sessions/{other['session_id']}", headers=auth)
    assert r.status == 404, "another user's session is not mine to revoke"


async def test_refresh_rotation_and_reuse(client: Any, api: Any) -> None:
    tokens = await api.signup()
    r = await client.post(
        "/v1/auth/token", json={"grant_type": "refresh_token",
                                "refresh_token": tokens["refresh_token"]}
    )
    assert r.status == 200 and r.headers["Cache-Control"] == "no-store"
    rotated = await r.json()
    assert rotated["refresh_token"] != tokens["refresh_token"]

    async def refresh(token: str) -> Any:
        return await client.post(
            "/v1/auth/token", json={"grant_type": "refresh_token", "refresh_token": token})

    r = await refresh(tokens["refresh_token"])  # a retry at once: the same successor
    assert r.status == 200, await r.text()
    assert (await r.json())["refresh_token"] == rotated["refresh_token"]
    r = await refresh(rotated["refresh_token"])
    assert r.status == 200, await r.text()
    newest = await r.json()
    r = await refresh(tokens["refresh_token"])  # its successor was used: a reuse
    assert (await r.json())["code"] == "refresh_token_reused"
    r = await refresh(newest["refresh_token"])
    assert r.status == 401, "the whole family is revoked"
    r = await client.get("/v1/me", headers=api.auth(newest))
    assert r.status == 401


async def test_password_change_reset_logout_and_delete(client: Any, api: Any, mailer: Any) -> None:
    tokens = await api.signup()
    auth = api.auth(tokens)
    r = await client.post("/v1/me/password", json={"current_password": "nope nope",
                                                    "new_password": "new horse battery"},
                          headers=auth)
    assert r.status == 401
    r = await client.post("/v1/me/password",
                          json={"current_password": "correct horse battery",
                                "new_password": "new horse battery"}, headers=auth)
    assert r.status == 204

    r = await client.post("/v1/auth/password-reset", json={"email": "alex@bsu.by"})
    assert r.status == 202
    r2 = await client.post("/v1/auth/password-reset", json={"email": "ghost@bsu.by"})
    assert r2.status == 202 and await r2.json() == await r.json(), "no user enumeration"
    r = await client.post("/v1/auth/password-reset/confirm", json={
        "email": "alex@bsu.by", "code": mailer.last_code("alex@bsu.by"),
        "new_password": "third horse battery"})
    assert r.status == 204
    r = await client.get("/v1/me", headers=auth)
    assert r.status == 401, "a reset revokes every session"

    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": "alex@bsu.by", "password": "third horse battery"})
    tokens = await r.json()
    auth = api.auth(tokens)
    r = await client.get("/v1/me/export", headers=auth)
    export = await r.json()
    assert export["account"]["email"] == "alex@bsu.by" and export["sessions"]

    r = await client.delete("/v1/me", json={"password": "wrong one!"}, headers=auth)
    assert r.status == 401
    r = await client.delete("/v1/me", json={"password": "third horse battery"}, headers=auth)
    assert r.status == 204
    r = await client.get("/v1/me", headers=auth)
    assert r.status == 401
    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": "alex@bsu.by", "password": "third horse battery"})
    assert r.status == 401


async def test_logout(client: Any, api: Any) -> None:
    tokens = await api.signup()
    r = await client.post("/v1/auth/logout", headers=api.auth(tokens))
    assert r.status == 204
    r = await client.get("/v1/me", headers=api.auth(tokens))
    assert r.status == 401


async def test_login_before_verification(client: Any) -> None:
    await client.post("/v1/auth/register",
                      json={"email": "new@bsu.by", "password": "correct horse battery"})
    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": "new@bsu.by", "password": "correct horse battery"})
    assert r.status == 403 and (await r.json())["code"] == "email_not_verified"
    r = await client.post("/v1/auth/token", json={"grant_type": "magic"})
    assert r.status == 422 and (await r.json())["code"] == "unsupported_grant_type"


async def test_legacy_mobile_flow(client: Any, mailer: Any) -> None:
    json_utf8 = {"Content-Type": "application/json; charset=utf-8"}
    creds = b'{"email": "ios@bsu.by", "password": "correct horse battery"}'
    r = await client.post("/auth/register/", data=creds, headers=json_utf8)
    assert 200 <= r.status < 300
    r = await client.post("/auth/resend-verify-code/", json={"email": "ios@bsu.by"})
    body = await r.json()
    assert r.status == 200 and body["success"] is True and isinstance(body["message"], str)

    r = await client.post("/auth/verify-code/", json={
        "email": "ios@bsu.by", "password": "correct horse battery", "code": "000000"})
    assert 400 <= r.status < 500
    r = await client.post("/auth/verify-code/", json={
        "email": "ios@bsu.by", "password": "correct horse battery",
        "code": mailer.last_code("ios@bsu.by")})
    body = await r.json()
    assert body["success"] is True and set(body["token"]) == {"access", "refresh"}

    r = await client.post("/auth/login/", data=creds, headers=json_utf8)
    tokens = await r.json()
    assert set(tokens) == {"access", "refresh"}
    r = await client.post("/auth/refresh/", json={"refresh": tokens["refresh"]})
    rotated = await r.json()
    assert r.status == 200 and rotated["refresh"] != tokens["refresh"]

    auth = {"Authorization": f"Bearer {rotated['access']}"}
    r = await client.patch("/user/profile/", json={
        "name": "Ann", "surname": "Lee", "bio": None, "token": "ignored"}, headers=auth)
    assert 200 <= r.status < 300
    r = await client.get("/v1/me", headers=auth)
    me = await r.json()
    assert (me["name"], me["surname"], me["bio"]) == ("Ann", "Lee", None)

    r = await client.patch("/user/profile/", json={"name": "Eve"})
    assert r.status == 401 and r.content_type == "application/problem+json"


async def test_legacy_token_answers_are_not_cached(client: Any, mailer: Any) -> None:
    creds = {"email": "cache@bsu.by", "password": "correct horse battery"}
    await client.post("/auth/register/", json=creds)
    r = await client.post("/auth/verify-code/",
                          json={**creds, "code": mailer.last_code("cache@bsu.by")})
    assert r.status == 200 and r.headers.get("Cache-Control") == "no-store"
    r = await client.post("/auth/login/", json=creds)
    assert r.status == 200 and r.headers.get("Cache-Control") == "no-store"
    r = await client.post("/auth/refresh/", json={"refresh": (await r.json())["refresh"]})
    assert r.status == 200 and r.headers.get("Cache-Control") == "no-store"
