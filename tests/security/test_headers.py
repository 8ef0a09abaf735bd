"""Response hygiene against create_app() on the in-memory backend: security headers on
every kind of response, CORS only for allow-listed origins, and error bodies that say
nothing but the problem+json fields (no stack traces, no SQL)."""

from __future__ import annotations

import io
import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import web
from PIL import Image
from signup_support import FAST_HASH, Api

from adapters.config import Settings
from adapters.container import Composition
from adapters.http import keys
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from adapters.http.middlewares import API_CSP
from adapters.http.ranking.routes import dashboard_csp
from adapters.http.system.routes import DOCS_CSP
from adapters.memory.mail import InMemoryMailer
from momentic_core.errors import RateLimited

ALLOWED = "https://app.momentic.test"
OTHER = "https://evil.example"
HANDSHAKE = {"Upgrade": "websocket", "Connection": "Upgrade",
             "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}
PROBLEM_FIELDS = {"type", "title", "status", "detail", "code", "request_id", "errors", "field",
                  "limit", "retry_after", "allow"}


Env = Api  # the app's test client and the mailer its codes go to


async def _env(aiohttp_client: Any, **options: Any) -> Env:
    mailer = InMemoryMailer()
    backend = Composition(Settings(memory=True, **FAST_HASH), mailer=mailer)
    app = create_app(backend, HttpOptions(max_body_bytes=64 * 1024, **options))
    return Env(await aiohttp_client(app), mailer)


@pytest.fixture
async def env(aiohttp_client: Any) -> Env:
    return await _env(aiohttp_client)


@pytest.fixture
async def cors_env(aiohttp_client: Any) -> Env:
    return await _env(aiohttp_client, cors_origins=(ALLOWED, "http://localhost:5173"))


def _hygienic(r: Any, csp: str = API_CSP) -> None:
    where = f"{r.method} {r.url.path} -> {r.status}"
    assert r.headers.get("X-Content-Type-Options") == "nosniff", where
    assert r.headers.get("Referrer-Policy") == "no-referrer", where
    assert r.headers.get("X-Frame-Options") == "DENY", where
    assert r.headers.get("Content-Security-Policy") == csp, where
    assert "frame-ancestors 'none'" in csp
    assert "Strict-Transport-Security" not in r.headers, where  # off unless configured
    assert "Access-Control-Allow-Origin" not in r.headers, where  # no CORS unless configured


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def _problem(r: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert r.status == status, await r.text()
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = await r.json()
    assert body["status"] == status and body["type"].endswith(body["code"])
    if code is not None:
        assert body["code"] == code
    _clean(body)
    return body  # type: ignore[no-any-return]


def _clean(body: dict[str, Any]) -> None:
    """Only problem+json fields, and nothing in them that looks like an internal leak."""
    assert set(body) <= PROBLEM_FIELDS, set(body) - PROBLEM_FIELDS
    text = json.dumps(body).lower()
    for leak in ("traceback", 'file "', ".py", "select ", "insert ", "update ", "delete from",
                 "asyncpg", "psycopg", "sqlstate", "syntax error", "exception", "0x7f"):
        assert leak not in text, (leak, body)


# ---------------------------------------------------------------- security headers


async def test_headers_on_every_kind_of_response(env: Env) -> None:
    c = env.client
    auth = await env.signup_auth()

    r = await c.get("/healthz")  # 2xx JSON, anonymous: no Cache-Control forced
    assert r.status == 200
    _hygienic(r)
    r = await c.get("/v1/me", headers=auth)  # 2xx JSON, authenticated
    assert r.status == 200
    _hygienic(r)
    assert r.headers["Cache-Control"] == "no-store"
    r = await c.get("/v1/me")  # 401
    await _problem(r, 401, "missing_token")
    _hygienic(r)
    r = await c.get("/v1/no/such/route", headers=auth)  # 404, with credentials
    await _problem(r, 404, "route_not_found")
    _hygienic(r)
    assert r.headers["Cache-Control"] == "no-store"
    r = await c.delete("/healthz")  # 405
    await _problem(r, 405, "method_not_allowed")
    _hygienic(r)
    assert "GET" in r.headers["Allow"]
    r = await c.post("/v1/auth/register", data=b'{"email": "' + b"a" * 200_000 + b'"}',
                     headers={"Content-Type": "application/json"})  # 413
    await _problem(r, 413, "body_too_large")
    _hygienic(r)
    r = await c.post("/v1/auth/register", json={"email": 5})  # 422
    await _problem(r, 422, "validation_failed")
    _hygienic(r)
    r = await c.get("/openapi.json")
    assert r.status == 200 and (await r.json())["openapi"]
    _hygienic(r)


async def test_pages_keep_their_own_policy(env: Env) -> None:
    c = env.client
    r = await c.get("/docs")
    assert r.status == 200 and "swagger-ui-bundle.js" in await r.text()
    _hygienic(r, DOCS_CSP)
    assert "script-src 'self'" in DOCS_CSP and "unsafe-eval" not in DOCS_CSP
    r = await c.get("/docs/assets/swagger-ui.css")  # a static file
    assert r.status == 200
    _hygienic(r)
    r = await c.get("/admin")
    assert r.status == 200
    _hygienic(r, dashboard_csp(c.app[keys.SERVICES].media_url.origins()))
    assert r.headers["Cache-Control"] == "no-cache"  # its own, kept
    r = await c.get("/admin/admin.js")
    assert r.status == 200
    _hygienic(r, dashboard_csp(c.app[keys.SERVICES].media_url.origins()))


async def test_media_responses(env: Env) -> None:
    c = env.client
    auth = await env.signup_auth()
    picture = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(picture, "JPEG")
    r = await c.put("/v1/me/avatar", data=picture.getvalue(),
                    headers={**auth, "Content-Type": "image/jpeg"})
    assert r.status == 200, await r.text()
    url = (await r.json())["avatar_url"]
    r = await c.get(_path(url))
    assert r.status == 200 and await r.read()
    _hygienic(r)  # default-src 'none': an uploaded file can never run script here
    assert "immutable" in r.headers["Cache-Control"]  # the route's own policy wins
    r = await c.get(_path(url).replace("sig=", "sig=x"))
    await _problem(r, 404, "media_not_found")
    _hygienic(r)


async def test_refused_websocket_upgrades(env: Env) -> None:
    c = env.client
    r = await c.get("/v1/ws", headers=HANDSHAKE)  # no token: refused before the upgrade
    await _problem(r, 401, "missing_token")
    _hygienic(r)
    auth = await env.signup_auth()
    r = await c.get("/v1/ws", headers=auth)  # plain HTTP to a socket endpoint
    await _problem(r, 426, "upgrade_required")
    _hygienic(r)
    ws = await c.ws_connect("/v1/ws", headers=auth)  # an accepted one still works
    await ws.close()


async def test_500_and_429_paths(aiohttp_client: Any) -> None:
    """Routes that fail the two ways no real route can be made to fail on demand: an
    unexpected exception (its text holds SQL and a path) and a rate limit."""

    async def boom(request: web.Request) -> web.Response:
        raise RuntimeError('SELECT * FROM users WHERE id = $1 -- File "/app/x.py", line 3')

    async def limited(request: web.Request) -> web.Response:
        raise RateLimited("Slow down.", retry_after=7, limit=10)

    backend = Composition(Settings(memory=True, **FAST_HASH), mailer=InMemoryMailer())
    app = create_app(backend, HttpOptions(cors_origins=(ALLOWED,)))
    app.router.add_get("/v1/test-boom", boom)
    app.router.add_get("/v1/test-limited", limited)
    c = await aiohttp_client(app)
    r = await c.get("/v1/test-boom", headers={"Origin": ALLOWED})
    body = await _problem(r, 500, "internal_error")
    assert set(body) == {"type", "title", "status", "detail", "code", "request_id"}
    _secure(r)
    assert r.headers["Access-Control-Allow-Origin"] == ALLOWED
    r = await c.get("/v1/test-limited", headers={"Origin": OTHER})
    await _problem(r, 429)
    _secure(r)
    assert r.headers["Retry-After"] == "7" and "Access-Control-Allow-Origin" not in r.headers


async def test_hsts_only_when_configured(aiohttp_client: Any) -> None:
    env = await _env(aiohttp_client, hsts_seconds=31_536_000)
    for path in ("/healthz", "/v1/nope", "/docs"):
        r = await env.client.get(path)
        assert r.headers["Strict-Transport-Security"] == "max-age=31536000"


async def test_v1_problems_are_problem_json(env: Env) -> None:
    c = env.client
    auth = await env.signup_auth()
    for method, path, kw, status in (
        ("GET", "/v1/me", {}, 401),
        ("GET", "/v1/users/abc", {"headers": auth}, 422),
        ("GET", "/v1/users/424242", {"headers": auth}, 404),
        ("GET", "/v1/videos/1", {"headers": auth}, 404),
        ("POST", "/v1/auth/token",
         {"json": {"grant_type": "password", "email": "x@bsu.by", "password": "wrong one!"}},
         401),
        ("PATCH", "/v1/me", {"headers": auth, "data": b"{", }, 400),
        ("PUT", "/v1/moments/today", {"headers": auth}, 405),
    ):
        r = await c.request(method, path, **kw)
        await _problem(r, status)


# ---------------------------------------------------------------- hostile inputs


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/auth/register", b"{\"email\": \"' OR 1=1; DROP TABLE users; --\"}"),
        ("POST", "/v1/auth/register", b"\xff\xfe\x00garbage"),
        ("POST", "/v1/auth/register", b'{"email": {"$gt": ""}, "password": ["x"]}'),
        ("POST", "/v1/auth/token",
         b'{"grant_type": "password", "email": "a@b.c", "password": "' + b"\\u0000" * 50 + b'"}'),
        ("POST", "/v1/auth/token",
         b'{"grant_type": "refresh_token", "refresh_token": "../../etc/passwd%00"}'),
        ("POST", "/v1/auth/token", b'{"grant_type": "password\'; DROP TABLE sessions;--"}'),
        ("POST", "/v1/auth/verify", b'[1, 2, 3]'),
        ("POST", "/v1/auth/register", b"[" * 5000 + b"]" * 5000),
    ],
)
async def test_hostile_bodies_get_clean_problems(
    env: Env, method: str, path: str, body: bytes
) -> None:
    r = await env.client.request(method, path, data=body,
                                 headers={"Content-Type": "application/json"})
    assert 400 <= r.status < 500, await r.text()
    await _problem(r, r.status)
    _hygienic(r)


async def test_hostile_paths_and_queries_get_clean_problems(env: Env) -> None:
    c = env.client
    auth = await env.signup_auth()
    for path in (
        "/v1/users/1%27%20OR%20%271%27=%271",
        "/v1/users/" + "9" * 5000,
        "/v1/videos/-1",
        "/v1/users/search?q=%27%3B%20DROP%20TABLE%20users%3B--",
        "/v1/ranking?scope=';--&period=%00",
        "/v1/feed/global?cursor=%27%20UNION%20SELECT%201--&limit=abc",
        "/v1/admin/stats?from=2026-13-45",
        "/media/..%2F..%2Fetc%2Fpasswd?exp=1&sig=x",
    ):
        r = await c.get(path, headers=auth)
        body = await _problem(r, r.status)
        assert r.status in (404, 422), path
        assert body["code"] != "route_not_found", path  # each one reached its handler
        _hygienic(r)


# ---------------------------------------------------------------- CORS


async def test_cors_off_by_default(env: Env) -> None:
    r = await env.client.get("/healthz", headers={"Origin": ALLOWED})
    assert "Access-Control-Allow-Origin" not in r.headers
    assert "Origin" not in r.headers.get("Vary", "")
    r = await env.client.options("/v1/me", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "GET"})
    assert "Access-Control-Allow-Origin" not in r.headers and r.status == 405


async def test_cors_allowed_origin(cors_env: Env) -> None:
    c = cors_env.client
    auth = await cors_env.signup_auth()
    for path, headers in (("/healthz", {}), ("/v1/me", auth), ("/v1/nope", auth)):
        r = await c.get(path, headers={**headers, "Origin": ALLOWED})
        assert r.headers.getall("Access-Control-Allow-Origin") == [ALLOWED], path
        assert "Origin" in r.headers["Vary"]
        assert "X-Request-Id" in r.headers["Access-Control-Expose-Headers"]
        assert "Access-Control-Allow-Credentials" not in r.headers
        _secure(r)
    r = await c.get("/healthz", headers={"Origin": "http://localhost:5173"})
    assert r.headers["Access-Control-Allow-Origin"] == "http://localhost:5173"


async def test_cors_disallowed_origins_get_nothing(cors_env: Env) -> None:
    c = cors_env.client
    for origin in (OTHER, "null", ALLOWED + ".evil.example", ALLOWED.upper(),
                   ALLOWED + "/", "http://app.momentic.test", "*"):
        r = await c.get("/healthz", headers={"Origin": origin})
        assert r.status == 200
        assert "Access-Control-Allow-Origin" not in r.headers, origin
        assert "Origin" in r.headers["Vary"]  # caches keep the answers apart
        r = await c.options("/v1/me", headers={
            "Origin": origin, "Access-Control-Request-Method": "GET"})
        assert r.status == 405 and "Access-Control-Allow-Origin" not in r.headers, origin
        assert "Access-Control-Allow-Methods" not in r.headers
    r = await c.get("/healthz")  # no Origin at all
    assert "Access-Control-Allow-Origin" not in r.headers


async def test_cors_preflight(cors_env: Env) -> None:
    c = cors_env.client
    for path in ("/v1/me", "/v1/videos/7/comments", "/v1/auth/token", "/v1/no/such/route"):
        r = await c.options(path, headers={
            "Origin": ALLOWED, "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "authorization, content-type"})
        assert r.status == 204, path
        assert r.headers["Access-Control-Allow-Origin"] == ALLOWED
        methods = {m.strip() for m in r.headers["Access-Control-Allow-Methods"].split(",")}
        assert {"GET", "POST", "PATCH", "PUT", "DELETE"} <= methods
        allowed = {h.strip().lower() for h in r.headers["Access-Control-Allow-Headers"].split(",")}
        assert {"authorization", "content-type"} <= allowed
        assert int(r.headers["Access-Control-Max-Age"]) > 0
        assert "Origin" in r.headers["Vary"]
        assert "Access-Control-Allow-Credentials" not in r.headers
        _secure(r)
        assert await r.read() == b""
    # An OPTIONS that is not a preflight is an ordinary request: no such route method.
    r = await c.options("/v1/me", headers={"Origin": ALLOWED})
    assert r.status == 405 and r.headers["Access-Control-Allow-Origin"] == ALLOWED


async def test_cors_never_star_with_credentials(cors_env: Env) -> None:
    c = cors_env.client
    auth = await cors_env.signup_auth()
    for origin in (ALLOWED, OTHER, "*", "null"):
        for r in (
            await c.get("/v1/me", headers={**auth, "Origin": origin}),
            await c.options("/v1/me", headers={
                "Origin": origin, "Access-Control-Request-Method": "GET"}),
        ):
            acao = r.headers.getall("Access-Control-Allow-Origin", [])
            assert "*" not in acao
            assert acao in ([], [ALLOWED])
            assert acao == [] or origin == ALLOWED
            if "Access-Control-Allow-Credentials" in r.headers:
                assert acao == [ALLOWED]


def _secure(r: Any) -> None:
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.headers["Content-Security-Policy"] == API_CSP


async def test_cors_origins_setting() -> None:
    settings = Settings.from_env({"MOMENTIC_CORS_ORIGINS": f"{ALLOWED}, http://localhost:5173,"})
    assert Settings.split(settings.cors_origins) == (ALLOWED, "http://localhost:5173")
    assert Settings().cors_origins == "" and Settings().hsts_seconds == 0


# ---------------------------------------------------------------- what the server says of itself


async def _raw(client: Any, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request written by hand on its own connection: status, headers, body."""
    import asyncio

    reader, writer = await asyncio.open_connection(client.host, client.port)
    try:
        writer.write(request)
        await writer.drain()
        answer = await reader.read()
    finally:
        writer.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines)}
    return int(status_line.split()[1]), headers, body


async def test_the_server_header_names_no_software_or_version(env: Env) -> None:
    c = env.client
    for r in (await c.get("/healthz"), await c.get("/v1/me"), await c.get("/v1/nowhere"),
              await c.post("/v1/auth/register", data=b"{", headers={
                  "Content-Type": "application/json"})):
        assert r.headers["Server"] == "momentic", (r.url.path, r.headers)
    # what aiohttp's HTTP parser answers itself, before any middleware (a header too long)
    status, headers, _ = await _raw(c.server, b"GET /v1/me HTTP/1.1\r\nHost: x\r\n"
                                    b"X-Long: " + b"a" * 9000 + b"\r\nConnection: close\r\n\r\n")
    assert status == 400
    assert headers["server"] == "momentic", headers
    assert not any("python" in v.lower() or "aiohttp" in v.lower() for v in headers.values())


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip", "deflate", "compress", "x-gzip",
                                      "gzip, br", "identity, br", "snappy"])
async def test_compressed_request_bodies_are_415_problems(env: Env, encoding: str) -> None:
    """Request bodies travel as they are (identity): any other Content-Encoding is refused
    before a byte of the body is read, on JSON, form and raw-media routes alike, with the
    codings we take in Accept-Encoding (RFC 9110 15.5.16)."""
    auth = await env.signup_auth()
    for method, path, content_type in (
        ("POST", "/v1/auth/register", "application/json"),
        ("POST", "/v1/videos", "multipart/form-data; boundary=x"),
        ("PUT", "/v1/me/avatar", "image/png"),
    ):
        r = await env.client.request(method, path, data=b'{"email": "a@bsu.by"}', headers={
            **auth, "Content-Type": content_type, "Content-Encoding": encoding})
        await _problem(r, 415, "unsupported_encoding")
        assert r.headers["Accept-Encoding"] == "identity"
        _hygienic(r)
    # identity is what every body is anyway
    r = await env.client.post("/v1/auth/register", json={"email": "x"}, headers={
        "Content-Encoding": "identity"})
    await _problem(r, 422, "validation_failed")


async def test_the_api_document_and_swagger_ui_can_be_turned_off(aiohttp_client: Any) -> None:
    on = await _env(aiohttp_client)
    off = await _env(aiohttp_client, docs=False)
    for path in ("/openapi.json", "/docs", "/docs/assets/swagger-init.js",
                 "/docs/assets/swagger-ui.css"):
        assert (await on.client.get(path)).status == 200, path
        await _problem(await off.client.get(path), 404, "route_not_found")
    assert (await off.client.get("/healthz")).status == 200
    assert Settings().docs is True  # on by default (development)
