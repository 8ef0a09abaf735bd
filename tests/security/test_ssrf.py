"""No SSRF: the only outbound fetch a request can cause is the configured OIDC providers'
JWKS, at the configured URL.

- Statically: the modules that can open a connection (an HTTP client, S3, SMTP, a
  database driver, raw sockets) are exactly the expected ones, and the only HTTP client
  in the code for a request's sake is the JWKS fetch of adapters/oidc/verifier.py, whose
  URL comes from settings. S3, SMTP, Redis, APNs and FCM talk to configured endpoints;
  asyncpg to the configured database.
- Dynamically, against create_app() on the in-memory backend: every string of every JSON
  body the OpenAPI document describes (plus url-ish fields no schema has, and the
  multipart description) is set to a URL of a local TCP listener, on real resources, as a
  user and as an admin; after the requests, the queued jobs and the mail, the listener has
  had zero connections.
- Social sign-in: an ID token naming another issuer, with jku/x5u headers pointing at the
  listener, is refused (401 invalid_id_token); the only fetch is the configured JWKS URL.
"""

from __future__ import annotations

import ast
import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from clip_support import unique
from joserfc import jwt
from joserfc.jwk import RSAKey
from signup_support import FAST_HASH, PASSWORD, Api

from adapters.config import Settings
from adapters.container import Composition
from adapters.http import keys
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from adapters.http.openapi import document
from adapters.memory.mail import InMemoryMailer
from momentic_core.model.accounts import Role

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "ssrf.apps.googleusercontent.com"

# ---------------------------------------------------------------- static


# Imports that can open a network connection, and which modules may hold them.
NETWORK_MODULES = {"aiohttp.client", "httpx", "requests", "urllib.request", "urllib3",
                   "http.client", "socket", "aiobotocore", "boto3", "botocore", "smtplib",
                   "aiosmtplib", "asyncpg", "psycopg", "websockets", "ftplib", "telnetlib",
                   "redis"}
HTTP_CLIENT_NAMES = {"ClientSession", "request", "TCPConnector", "ClientRequest"}
# asyncio's own ways to open a connection (asyncio.open_connection, loop.create_connection):
# a client written on a protocol library (h2) needs no network module above.
ASYNCIO_OPENERS = {"open_connection", "create_connection", "open_unix_connection",
                   "create_unix_connection", "create_datagram_endpoint"}
EXPECTED = {
    # the JWKS fetch: the only HTTP client
    ("adapters/oidc/verifier.py", "aiohttp.ClientSession"),
    # S3 through aiobotocore (aiohttp only for its exception types)
    ("adapters/s3/blob_store.py", "aiobotocore"),
    ("adapters/s3/blob_store.py", "botocore"),
    ("adapters/mail/smtp.py", "aiosmtplib"),
    # push: APNs and FCM at the URLs of the settings (FCM's token URL from the configured
    # service account); the payloads come from our notifications, never a URL of a user's
    ("adapters/push/h2client.py", "asyncio.open_connection"),  # APNs and FCM sends, HTTP/2
    ("adapters/push/fcm.py", "aiohttp.ClientSession"),  # FCM's OAuth token, hourly
    # the rate-limit counters, at MOMENTIC_REDIS_URL
    ("adapters/redis/rate_limiter.py", "redis"),
    # socket options of accepted WebSocket connections, no connection of its own
    ("adapters/http/live/routes.py", "socket"),
}
# adapters/postgres/* (migrations and the embedded server through psycopg) and the
# composition root: the configured database only.
DATABASE = {"asyncpg", "psycopg"}


def _network_uses(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: set[str] = set()
    aiohttp_aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if alias.name in NETWORK_MODULES or top in NETWORK_MODULES:
                    found.add(top if top in NETWORK_MODULES else alias.name)
                if alias.name == "aiohttp":
                    aiohttp_aliases.add(alias.asname or "aiohttp")
        elif isinstance(node, ast.ImportFrom) and node.module:
            top = node.module.split(".")[0]
            if node.module in NETWORK_MODULES or top in NETWORK_MODULES:
                found.add(top if top in NETWORK_MODULES else node.module)
            if top == "aiohttp" and {a.name for a in node.names} & HTTP_CLIENT_NAMES:
                found.add("aiohttp.ClientSession")
            if top == "asyncio":
                found |= {f"asyncio.{a.name}" for a in node.names if a.name in ASYNCIO_OPENERS}
        elif isinstance(node, ast.Attribute) and node.attr in ASYNCIO_OPENERS:
            found.add(f"asyncio.{node.attr}")
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
              and node.value.id in aiohttp_aliases and node.attr in HTTP_CLIENT_NAMES):
            found.add("aiohttp.ClientSession")
    return found


def test_only_the_expected_modules_can_open_connections() -> None:
    uses = set()
    for package in ("momentic_core", "adapters"):
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            uses |= {(rel, what) for what in _network_uses(path)}
    database = {(rel, what) for rel, what in uses if what in DATABASE}
    assert all(rel.startswith("adapters/postgres/") or rel == "adapters/container.py"
               for rel, _ in database), database
    assert uses - database == EXPECTED
    assert not any(rel.startswith("momentic_core/") for rel, _ in uses)


def test_the_jwks_url_comes_from_settings_only() -> None:
    """The verifier's one GET takes ``config.jwks_url``, a ProviderConfig built by
    from_settings; nothing from a token or a request names a URL."""
    source = (ROOT / "adapters/oidc/verifier.py").read_text()
    tree = ast.parse(source)
    gets = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute) and node.func.attr in
            {"get", "post", "request", "put", "head", "ws_connect"}
            and isinstance(node.func.value, ast.Attribute) and node.func.value.attr == "_session"]
    assert len(gets) == 1
    assert ast.unparse(gets[0].args[0]) == "config.jwks_url"
    assert "jku" not in source and "x5u" not in source


# ---------------------------------------------------------------- dynamic


class Listener:
    """A TCP server that counts connections (and answers nothing useful)."""

    def __init__(self) -> None:
        self.connections = 0
        self.server: asyncio.Server | None = None
        self.port = 0

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}")
        await writer.drain()
        writer.close()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    def urls(self) -> list[str]:
        p = self.port
        return [f"http://127.0.0.1:{p}/x.jpg", f"https://127.0.0.1:{p}/.well-known/jwks.json",
                f"//127.0.0.1:{p}/a", f"http://localhost:{p}/", f"127.0.0.1:{p}",
                f"http://[::ffff:127.0.0.1]:{p}/", f"gopher://127.0.0.1:{p}/_x"]


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    listening = Listener()
    await listening.start()
    try:
        yield listening
    finally:
        assert listening.server is not None
        listening.server.close()
        await listening.server.wait_closed()


class Jwks:
    """The configured JWKS endpoint: one RSA key, and a log of the requests it gets."""

    def __init__(self) -> None:
        self.key = RSAKey.generate_key(2048, private=True, parameters={"kid": "k1"})
        self.requests: list[str] = []

    def app(self) -> web.Application:
        async def jwks(request: web.Request) -> web.Response:
            self.requests.append(request.path)
            return web.json_response({"keys": [
                {**self.key.as_dict(private=False), "kid": "k1", "use": "sig", "alg": "RS256"}]})

        app = web.Application()
        app.router.add_get("/jwks", jwks)
        return app


class Env(Api):
    def __init__(self, client: Any, mailer: InMemoryMailer, backend: Composition) -> None:
        super().__init__(client, mailer)
        self.backend = backend

    async def staff(self, email: str, role: Role) -> dict[str, str]:
        await self.client.app[keys.SERVICES].accounts.create_user(email, PASSWORD, role)
        r = await self.client.post("/v1/auth/token", json={
            "grant_type": "password", "email": email, "password": PASSWORD})
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}

    async def run_jobs(self) -> None:
        worker = await self.backend.worker()
        while await worker.run_once() is not None:
            pass
        await self.backend.deliver_mail()


@pytest.fixture
async def jwks(aiohttp_server: Any) -> tuple[Jwks, str]:
    keys_ = Jwks()
    server = await aiohttp_server(keys_.app())
    return keys_, str(server.make_url("/jwks"))


@pytest.fixture
async def env(aiohttp_client: Any, jwks: tuple[Jwks, str]) -> Env:
    mailer = InMemoryMailer()
    settings = Settings(memory=True, max_video_bytes=2_000_000, google_client_ids=CLIENT_ID,
                        apple_client_ids="app.ssrf", google_jwks_url=jwks[1],
                        apple_jwks_url=jwks[1], rate_limit_multiplier=1000, **FAST_HASH)
    backend = Composition(settings, mailer=mailer)
    app = create_app(backend, HttpOptions(max_body_bytes=64 * 1024))
    return Env(await aiohttp_client(app), mailer, backend)


def _with_url(value: Any, url: str) -> Any:
    """``value`` with every string replaced by ``url`` (keys kept)."""
    if isinstance(value, str):
        return url
    if isinstance(value, dict):
        return {k: _with_url(v, url) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_url(v, url) for v in value] or [url]
    return value


def _string_fields(schema: Any, doc: dict[str, Any]) -> set[str]:
    """Names of the string properties of a body schema (refs followed, one level)."""
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].split("/")[-1]]
    found = set()
    for name, prop in schema.get("properties", {}).items():
        kinds = prop.get("type")
        kinds = kinds if isinstance(kinds, list) else [kinds]
        if "string" in kinds or "array" in kinds or "$ref" in prop:
            found.add(name)
    return found


# Fields no schema has, that a client might hope the server fetches.
URL_FIELDS = ["avatar_url", "url", "image_url", "video_url", "callback_url", "webhook",
              "jwks_uri", "picture", "redirect_uri", "source_url", "thumbnail_url"]


async def test_no_request_field_makes_the_server_fetch_a_url(
    env: Env, listener: Listener, sample_clips: dict[str, Path]
) -> None:
    doc = document()
    user = await env.signup_auth("ann@bsu.by")
    other = await env.signup_auth("bob@bsu.by")
    admin = await env.staff("root@bsu.by", Role.ADMIN)
    form = aiohttp.FormData()
    form.add_field("video_file", io.BytesIO(unique(sample_clips["silent"])),
                   filename="c.mp4", content_type="video/mp4")
    form.add_field("visibility", "public")
    form.add_field("description", listener.urls()[0])
    r = await env.client.post("/v1/videos", data=form, headers=user)
    assert r.status == 201, await r.text()
    video_id = (await r.json())["id"]
    await env.run_jobs()
    r = await env.client.post(f"/v1/videos/{video_id}/comments", headers=other,
                              json={"body": "hi"})
    comment_id = (await r.json())["id"]
    ids = {"video_id": video_id, "comment_id": comment_id, "user_id": 2, "case_id": 1,
           "appeal_id": 1, "upload_id": 1, "part": 1, "notification_id": 1,
           "session_id": 1, "provider": "google"}
    sent = 0
    for path, operations in doc["paths"].items():
        for method, op in operations.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            media = content["application/json"]
            example = media["example"]
            target = path.format(**ids)
            staff = op["tags"][0] in ("moderation", "admin")
            for url in listener.urls():
                body = _with_url(example, url)
                if isinstance(body, dict):
                    for name in _string_fields(media["schema"], doc) - set(body):
                        body[name] = url
                    for name in URL_FIELDS:
                        body.setdefault(name, url)
                auth = admin if staff else user
                if (method, path) in {("delete", "/v1/me"), ("post", "/v1/me/password")}:
                    auth = await env.signup_auth(f"gone{sent}@bsu.by")  # ends that account
                r = await env.client.request(method.upper(), target, json=body, headers=auth)
                assert r.status < 500, (method, path, r.status, await r.text())
                sent += 1
    r = await env.client.patch("/v1/me", headers=user, json={
        "bio": listener.urls()[0], "name": listener.urls()[1], "avatar_url": listener.urls()[0]})
    assert r.status == 200, await r.text()
    assert "avatar_url" not in json.dumps(await r.json()) or (
        (await r.json())["avatar_url"] is None)
    await env.run_jobs()
    await asyncio.sleep(0.2)  # anything fired and forgotten has had its chance
    assert sent > 36 * 5
    assert listener.connections == 0
    # the control: the listener does count a fetch of its URL
    async with aiohttp.ClientSession() as http, http.get(listener.urls()[0]) as r:
        await r.read()
    assert listener.connections == 1


def _id_token(key: RSAKey, header: dict[str, Any], **claims: Any) -> str:
    now = int(time.time())
    payload = {"iss": "https://accounts.google.com", "aud": CLIENT_ID, "sub": "1234",
               "email": "sam@bsu.by", "email_verified": True, "iat": now, "exp": now + 600,
               **claims}
    return jwt.encode({"alg": "RS256", "kid": "k1", **header}, payload, key)


async def test_id_tokens_never_make_us_fetch_their_urls(
    env: Env, listener: Listener, jwks: tuple[Jwks, str]
) -> None:
    keys_, _ = jwks
    evil = listener.urls()[0]
    attacker = RSAKey.generate_key(2048, private=True)
    tokens = [
        # another issuer, and key URLs of the attacker's, signed with the attacker's key
        _id_token(attacker, {"jku": evil, "x5u": evil}, iss=evil),
        _id_token(attacker, {"jku": evil, "x5u": evil, "kid": "attacker"}, iss=evil),
        # the attacker's key inline (jwk) with a kid the provider has
        _id_token(attacker, {"jwk": {**attacker.as_dict(private=False)}}),
        # well signed by the provider's key, but naming another issuer and key URLs
        _id_token(keys_.key, {"jku": evil, "x5u": evil}, iss=evil),
        _id_token(keys_.key, {"jku": evil}, iss=f"http://127.0.0.1:{listener.port}"),
    ]
    for provider in ("google", "apple"):
        for token in tokens:
            r = await env.client.post(f"/v1/auth/social/{provider}",
                                      json={"id_token": token, "nonce": None})
            text = await r.text()
            assert r.status == 401, text
            assert json.loads(text)["code"] == "invalid_id_token", text
    assert listener.connections == 0
    assert keys_.requests and set(keys_.requests) == {"/jwks"}  # the configured URL only
    # the control: the provider's own token for this client is accepted
    r = await env.client.post("/v1/auth/social/google",
                              json={"id_token": _id_token(keys_.key, {}), "nonce": None})
    assert r.status == 200, await r.text()
    assert listener.connections == 0
