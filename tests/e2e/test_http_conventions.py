"""Errors are problem+json with a stable code; every response has a request id."""

from __future__ import annotations

from typing import Any

import pytest

PROBLEM = "application/problem+json"


async def _problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status == status, await r.text()
    assert r.content_type == PROBLEM
    body = await r.json()
    assert body["code"] == code
    assert body["status"] == status
    assert {"type", "title", "detail"} <= body.keys()
    assert body["request_id"] == r.headers["X-Request-Id"]
    return body


async def test_probes(client: Any) -> None:
    r = await client.get("/healthz")
    assert r.status == 200 and (await r.json()) == {"status": "ok"}
    r = await client.get("/readyz")
    assert r.status == 200 and (await r.json()) == {"status": "ready", "replicas": []}


async def test_request_id_is_made_or_echoed(client: Any) -> None:
    r = await client.get("/healthz")
    made = r.headers["X-Request-Id"]
    assert len(made) >= 8
    r = await client.get("/healthz", headers={"X-Request-Id": "client-id-12345"})
    assert r.headers["X-Request-Id"] == "client-id-12345"
    r = await client.get("/healthz", headers={"X-Request-Id": "bad id\twith junk"})
    assert r.headers["X-Request-Id"] != "bad id\twith junk"


async def test_unknown_route_and_wrong_method(client: Any) -> None:
    await _problem(await client.get("/v1/nope"), 404, "route_not_found")
    r = await client.get("/v1/auth/register")
    await _problem(r, 405, "method_not_allowed")
    assert "POST" in r.headers["Allow"]


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"", 422, "body_required"),
        (b"{not json", 400, "malformed_json"),
        (b"[1, 2]", 422, "validation_failed"),
        (b'{"email": 5, "password": "x"}', 422, "validation_failed"),
        (b'{"email": "a@b.co"}', 422, "validation_failed"),
        (b'{"email": "a@b.co", "password": true}', 422, "validation_failed"),
        (b'{"email": "nope", "password": "correct horse battery"}', 422, "invalid_email"),
        (b'{"email": "a@b.co", "password": "short"}', 422, "password_too_short"),
        (b'{"email": "a@b.co", "password": "password123"}', 422, "password_too_common"),
        (b"\xff\xfe", 400, "malformed_json"),
    ],
)
async def test_bad_bodies(client: Any, body: bytes, status: int, code: str) -> None:
    r = await client.post(
        "/v1/auth/register", data=body, headers={"Content-Type": "application/json"}
    )
    await _problem(r, status, code)


async def test_validation_errors_name_the_fields(client: Any) -> None:
    r = await client.post("/v1/auth/register", json={"email": 5})
    body = await _problem(r, 422, "validation_failed")
    assert any("$.password" in e for e in body["errors"])


async def test_oversized_body_is_413(client: Any) -> None:
    r = await client.post(
        "/v1/auth/register",
        data=b'{"email": "' + b"a" * 200_000 + b'"}',
        headers={"Content-Type": "application/json"},
    )
    await _problem(r, 413, "body_too_large")


async def test_missing_and_bad_tokens_are_401(client: Any) -> None:
    r = await client.get("/v1/me")
    await _problem(r, 401, "missing_token")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    r = await client.get("/v1/me", headers={"Authorization": "Bearer not.a.jwt"})
    await _problem(r, 401, "invalid_token")
    r = await client.get("/v1/me", headers={"Authorization": "Basic Zm9vOmJhcg=="})
    await _problem(r, 401, "missing_token")


async def test_bad_path_ids(client: Any, api: Any) -> None:
    tokens = await api.signup()
    r = await client.get("/v1/users/abc", headers=api.auth(tokens))
    await _problem(r, 422, "invalid_id")
    r = await client.get("/v1/users/99999999999999999999", headers=api.auth(tokens))
    await _problem(r, 422, "invalid_id")
    r = await client.get("/v1/users/424242", headers=api.auth(tokens))
    await _problem(r, 404, "user_not_found")


async def test_ids_of_thousands_of_digits_are_refused_not_a_500(client: Any, api: Any) -> None:
    auth = api.auth(await api.signup())
    huge = "9" * 5000  # int() refuses strings over 4300 digits with ValueError
    for method, path in (
        ("GET", f"/v1/users/{huge}"),
        ("GET", f"/v1/videos/{huge}/comments"),
        ("POST", f"/v1/mod/cases/{huge}/resolve"),
        ("GET", f"/videos/{huge}/comments/"),  # legacy
        ("DELETE", f"/videos/{huge}/reactions"),
        ("GET", f"/users/{huge}/friends/videos"),
    ):
        r = await client.request(method, path, headers=auth)
        await _problem(r, 422, "invalid_id")
    r = await client.get(f"/ws/chat?video_id={huge}", headers=auth)
    await _problem(r, 422, "invalid_query")
    r = await client.get(f"/media/avatars/x.jpg?exp={huge}&sig=abc")
    await _problem(r, 404, "media_not_found")


async def test_body_ids_out_of_range_are_422(client: Any, api: Any) -> None:
    auth = api.auth(await api.signup())
    for value in (2**64, 2**63, 0, -1):
        r = await client.post("/v1/videos/1/comments", json={"body": "hi", "parent_id": value},
                              headers=auth)
        body = await _problem(r, 422, "invalid_id")
        assert body.get("field") == "parent_id" or "parent_id" in body["detail"]
        r = await client.post("/v1/friend-requests", json={"user_id": value}, headers=auth)
        await _problem(r, 422, "invalid_id")


async def test_rate_limit_headers_and_429(client: Any) -> None:
    r = await client.get("/v1/me")
    assert {"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= r.headers.keys()
    statuses = []
    for _ in range(12):
        r = await client.post(
            "/v1/auth/token",
            json={"grant_type": "password", "email": "x@bsu.by", "password": "wrong password"},
        )
        statuses.append(r.status)
    assert statuses[:10] == [401] * 10
    body = await _problem(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) > 0
    assert r.headers["X-RateLimit-Remaining"] == "0"
    assert body["detail"]


async def test_the_client_ip_behind_trusted_proxies(
    aiohttp_client: Any, fast_settings: Any, mailer: Any, api: Any
) -> None:
    """Behind two proxies of ours, the client is the second entry from the right; what
    the client itself wrote further left is ignored. Sessions show it."""
    from adapters.container import Composition
    from adapters.http.app import create_app
    from adapters.http.keys import HttpOptions

    app = create_app(Composition(fast_settings, mailer=mailer), HttpOptions(trusted_proxies=2))
    client = await aiohttp_client(app)
    api = type(api)(client, mailer)  # the same helper, on this app
    tokens = await api.signup()
    forged = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7, 10.0.0.2"}
    r = await client.post("/v1/auth/token", headers=forged, json={
        "grant_type": "password", "email": "alex@bsu.by", "password": "correct horse battery"})
    assert r.status == 200
    sessions = await (await client.get("/v1/me/sessions", headers=api.auth(tokens))).json()
    assert "203.0.113.7" in {s["ip"] for s in sessions["items"]}
    assert "6.6.6.6" not in {s["ip"] for s in sessions["items"]}


async def test_the_per_ip_counter_counts_every_request_once(client: Any, api: Any) -> None:
    """A request with a token has its per-IP count taken with the per-user one (one
    statement); without a token, with a bad one, or on a route that does not ask who
    calls, it is still counted, once. Read back from the per-IP counter's remaining."""

    async def ip_remaining() -> int:
        r = await client.get("/v1/moments/today")  # no token: the per-IP decision shows
        return int(r.headers["X-RateLimit-Remaining"])

    tokens = await api.signup()
    start = await ip_remaining()
    for _ in range(3):
        r = await client.get("/v1/me", headers=api.auth(tokens))
        assert r.status == 200
    assert await ip_remaining() == start - 4
    r = await client.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status == 401
    assert await ip_remaining() == start - 6
    r = await client.post(
        "/v1/auth/token",
        headers=api.auth(tokens),
        json={"grant_type": "password", "email": "alex@bsu.by", "password": "wrong password"},
    )
    assert r.status == 401
    assert await ip_remaining() == start - 8
