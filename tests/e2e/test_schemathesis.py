"""Schemathesis against the real app: every documented operation, fuzzed from the OpenAPI
document the app serves, must answer as documented and never with a 5xx; then hostile
input no generator makes (lone surrogates, deep nesting, NaN, UTF-16, bad tokens, bad ids,
an oversized Content-Length) must be a 4xx problem+json on every operation it fits.

The app runs on the in-memory backend in a background thread with its own event loop, on
a free loopback port, behind a real socket. Schemathesis runs its examples, coverage and
fuzzing phases with every check. The stateful phase is left out: the only links it infers
carry a session id into DELETE /v1/me/sessions/{session_id}, which runs as a fresh user
here (see DESTRUCTIVE), so every such step would only prove another user's id is a 404.
The seed is fixed; SCHEMATHESIS_SEED and SCHEMATHESIS_MAX_EXAMPLES explore further, e.g.
``SCHEMATHESIS_SEED=7 SCHEMATHESIS_MAX_EXAMPLES=200 pytest tests/e2e/test_schemathesis.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import attrs
import pytest
import requests
import schemathesis
from aiohttp import web
from schemathesis.config import SchemathesisConfig
from schemathesis.checks import positive_data_acceptance

from adapters.config import Settings
from adapters.container import Backend
from adapters.http.app import create_app
from adapters.http.openapi import document
from adapters.memory.mail import InMemoryMailer

SETTINGS = Settings(
    memory=True,
    argon2_time_cost=1,
    argon2_memory_kib=1024,
    argon2_parallelism=1,
    rate_limit_multiplier=1000,
    # Both social providers on, as in production; their keys come from a local stub.
    google_client_ids="schemathesis.apps.googleusercontent.com",
    apple_client_ids="app.momentic.schemathesis",
)

PASSWORD = "schemathesis horse battery"

# Operations that end the caller's session or account (or may: a generated session_id
# can be the caller's own). Each of their test cases runs with a fresh user's token.
DESTRUCTIVE = {
    ("POST", "/v1/auth/logout"),
    ("DELETE", "/v1/me"),
    ("POST", "/v1/me/password"),
    ("DELETE", "/v1/me/sessions"),
    ("DELETE", "/v1/me/sessions/{session_id}"),
}

# positive_data_acceptance expects schema-valid requests to succeed (or 401/403/404/409).
# These operations take a one-time code from an email: a well-formed code that was never
# sent is refused with 422 invalid_code, and no schema can say which code was mailed. The
# same exception schemathesis makes for token endpoints ("a schema promises which requests
# are well formed, not which credentials exist"), narrowed to the status the core answers:
# schemathesis' default list plus 422, for these three operations only.
CODE_OPERATIONS = [
    "post_v1_auth_verify",
    "post_v1_auth_password_reset_confirm",
    "post_auth_verify_code",
]
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]

# These take media whose acceptance depends on the bytes (sniffed, decoded): a schema can
# say "a binary string", never "a decodable MP4" or "a JPEG". Schema-valid bytes that are
# not media get 415, a part of the wrong length 413/422, a complete before the parts 422.
MEDIA_OPERATIONS = [
    "post_v1_videos",
    "post_videos",
    "put_v1_me_avatar",
    "patch_user_avatar",
    "put_v1_uploads_upload_id_parts_part",
    "post_v1_uploads_upload_id_complete",
]

# POST /v1/uploads declares a file to come: its size_bytes (over the maximum) and
# content_type (outside the enum) are refused as the streamed upload refuses the file itself,
# 413 video_too_large and 415 unsupported_media_type, both documented. 413 is not in
# negative_data_rejection's default list (415 is), so it is added for this operation only.
DECLARED_MEDIA_OPERATIONS = ["post_v1_uploads"]
NEGATIVE_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428",
                     "429", "5xx"]

CONFIG: dict[str, Any] = {
    "seed": int(os.environ.get("SCHEMATHESIS_SEED", "20261127")),
    "generation": {
        "max-examples": int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30")),
        "database": "none",
    },
    "operations": [
        {
            "include-operation-id": CODE_OPERATIONS,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "422"]}
            },
        },
        {
            "include-operation-id": MEDIA_OPERATIONS,
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [*POSITIVE_STATUSES, "413", "415", "422"]
                }
            },
        },
        {
            "include-operation-id": DECLARED_MEDIA_OPERATIONS,
            "checks": {
                "negative_data_rejection": {"expected-statuses": [*NEGATIVE_STATUSES, "413"]}
            },
        },
    ],
}

# The document the app serves (the fixture checks the server serves exactly this).
schema = schemathesis.openapi.from_dict(document(), config=SchemathesisConfig.from_dict(CONFIG))

# Coverage-phase cases are built while pytest collects, before any server runs, so the
# auth provider writes this marker and the test swaps in a real token just before sending.
TOKEN_MARKER = "schemathesis-token-goes-here"


@schema.auth(refresh_interval=None)
class BearerAuth:
    def get(self, case: Any, ctx: Any) -> str:
        return TOKEN_MARKER

    def set(self, case: Any, data: str, ctx: Any) -> None:
        if ctx.operation.definition.raw.get("security"):
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@attrs.define
class LiveServer:
    url: str
    mailer: InMemoryMailer
    http: requests.Session
    token: str = ""

    def signup(self) -> str:
        """A fresh verified user, signed up the way the app does it; its access token."""
        email = f"st-{uuid.uuid4().hex[:12]}@example.org"
        r = self.http.post(
            f"{self.url}/v1/auth/register", json={"email": email, "password": PASSWORD}
        )
        assert r.status_code == 202, r.text
        code = self.mailer.last_code(email)
        r = self.http.post(
            f"{self.url}/v1/auth/verify",
            json={"email": email, "code": code, "password": PASSWORD},
        )
        assert r.status_code == 200, r.text
        return str(r.json()["access_token"])


def _listen() -> tuple[socket.socket, str]:
    """A socket on a free loopback port, and its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def _serve(*apps: tuple[web.Application, socket.socket]) -> Iterator[None]:
    """Serve each app on its socket from one event loop in a background thread; on exit,
    run the apps' cleanup (the backend closes), stop the loop and close the sockets."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="schemathesis-app", daemon=True)
    thread.start()
    started: list[web.AppRunner] = []

    async def start() -> None:
        for app, sock in apps:
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            started.append(runner)
            await web.SockSite(runner, sock).start()

    async def stop() -> None:
        for runner in reversed(started):
            await runner.cleanup()
        # Handlers still draining an unread body (aiohttp's lingering close after an
        # early 413) outlive the runner; end them before the loop goes.
        leftovers = asyncio.all_tasks() - {asyncio.current_task()}
        for task in leftovers:
            task.cancel()
        await asyncio.gather(*leftovers, return_exceptions=True)

    try:
        asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=30)
        yield
    finally:
        asyncio.run_coroutine_threadsafe(stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        loop.close()
        for _, sock in apps:
            sock.close()


def _provider_keys() -> web.Application:
    """Apple's and Google's JWKS endpoints, with no keys: every ID token fails as invalid."""

    async def jwks(request: web.Request) -> web.Response:
        return web.json_response({"keys": []})

    app = web.Application()
    app.router.add_get("/jwks", jwks)
    return app


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    mailer = InMemoryMailer()
    keys_sock, keys_url = _listen()
    settings = attrs.evolve(
        SETTINGS, google_jwks_url=f"{keys_url}/jwks", apple_jwks_url=f"{keys_url}/jwks"
    )
    app = create_app(Backend(settings, mailer=mailer))
    sock, url = _listen()
    with requests.Session() as http, _serve((_provider_keys(), keys_sock), (app, sock)):
        server = LiveServer(url=url, mailer=mailer, http=http)
        served = http.get(f"{url}/openapi.json")
        assert served.json() == document(), "the fuzzed document is not the served one"
        server.token = server.signup()
        yield server
        # No operation outside DESTRUCTIVE may have ended the shared session.
        me = http.get(f"{url}/v1/me", headers={"Authorization": f"Bearer {server.token}"})
        assert me.status_code == 200, me.text


def _never_issued_cursor(case: Any, response: requests.Response) -> bool:
    """A ``?cursor=`` refused as one the server never issued. Cursors are opaque: the
    document can say "a string", never which strings are positions the server handed out,
    so a generated one is 422 invalid_cursor (the same reason as CODE_OPERATIONS). Only
    that refusal is excused, only when a cursor was sent: a schema-valid limit or user id
    refused still fails positive_data_acceptance."""
    return (
        "cursor" in (case.query or {})
        and response.status_code == 422
        and response.headers.get("Content-Type", "").startswith("application/problem+json")
        and response.json().get("code") == "invalid_cursor"
    )


@schema.parametrize()
def test_api(case: Any, live_server: LiveServer) -> None:
    if case.headers and case.headers.get("Authorization") == f"Bearer {TOKEN_MARKER}":
        destructive = (case.method.upper(), case.path) in DESTRUCTIVE
        token = live_server.signup() if destructive else live_server.token
        case.headers["Authorization"] = f"Bearer {token}"
    response = case.call(base_url=live_server.url, session=live_server.http)
    excluded = [positive_data_acceptance] if _never_issued_cursor(case, response) else []
    case.validate_response(
        response,
        excluded_checks=excluded,
        transport_kwargs={"base_url": live_server.url, "session": live_server.http},
    )


# ---------------------------------------------------------------- hostile input
# What a generator from the document does not produce, sent to every operation it fits.

OPERATIONS = [
    (method.upper(), path, op)
    for path, methods in document()["paths"].items()
    for method, op in methods.items()
]
WITH_BODY = [(m, p, op) for m, p, op in OPERATIONS if "requestBody" in op]
WITH_AUTH = [(m, p, op) for m, p, op in OPERATIONS if op.get("security")]
WITH_ID = [(m, p, op) for m, p, op in OPERATIONS if p.endswith("_id}")]


def _label(value: Any) -> str:
    return f"{value[0]} {value[1]}" if isinstance(value, tuple) else str(value)


def _surrogates(value: Any) -> Any:
    """The example body with every string an unpaired surrogate: text no store can keep."""
    if isinstance(value, str):
        return "\ud800" + value
    if isinstance(value, dict):
        return {k: _surrogates(v) for k, v in value.items()}
    return value


def _json_body(op: dict[str, Any]) -> dict[str, Any]:
    example = op["requestBody"]["content"]["application/json"]["example"]
    return dict(example)


BODIES: dict[str, Any] = {
    "unpaired surrogates": lambda op: json.dumps(_surrogates(_json_body(op))).encode(),
    "nested 100k deep": lambda op: b"[" * 100_000 + b"]" * 100_000,
    "not UTF-8": lambda op: b'{"email": "\xff\xfe"}',
    "UTF-16": lambda op: json.dumps(_json_body(op)).encode("utf-16"),
    "an array": lambda op: b"[]",
    "a string": lambda op: b'"x"',
    "wrong types": lambda op: json.dumps({key: [1] for key in _json_body(op)}).encode(),
    "huge number": lambda op: b'{"email": ' + b"9" * 5000 + b"}",
    "NaN": lambda op: b'{"email": NaN, "password": Infinity}',
}

HEADERS = {
    "non-ASCII bearer": "Bearer \xff\xfe\xe9t\xe9",
    "8 KB bearer": "Bearer " + "a" * 8000,
    "JWT-shaped garbage": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiIxIn0.",
    "empty bearer": "Bearer ",
    "basic": "Basic Zm9vOmJhcg==",
}

IDS = ["abc", "0", "-1", "+1", "1.5", "1_000", "%D9%A1", "%EF%BC%91", "9" * 30, "%00", "%FF"]


def _expect_problem(r: requests.Response, statuses: range | set[int]) -> None:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    assert r.headers["Content-Type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["status"] == r.status_code and body["code"], body


def _path(path: str) -> str:
    return path.replace("{provider}", "apple").replace("{session_id}", "1").replace(
        "{user_id}", "1"
    )


@pytest.mark.parametrize("kind", BODIES)
@pytest.mark.parametrize("operation", WITH_BODY, ids=_label)
def test_hostile_bodies_are_a_4xx_problem(
    live_server: LiveServer, operation: tuple[str, str, Any], kind: str
) -> None:
    method, path, op = operation
    body = BODIES[kind](op)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {live_server.token}"}
    if (method, path) in DESTRUCTIVE:
        headers["Authorization"] = f"Bearer {live_server.signup()}"
    r = live_server.http.request(method, live_server.url + _path(path), data=body, headers=headers)
    _expect_problem(r, range(400, 500))


@pytest.mark.parametrize("operation", WITH_BODY, ids=_label)
def test_a_body_over_the_limit_is_413_before_it_is_sent(
    live_server: LiveServer, operation: tuple[str, str, Any]
) -> None:
    method, path, _ = operation
    token = live_server.signup() if (method, path) in DESTRUCTIVE else live_server.token
    host, port = urllib.parse.urlsplit(live_server.url).netloc.split(":")
    head = (
        f"{method} {_path(path)} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        "Content-Length: 2000000\r\n\r\n{"
    )
    # Only the first byte of the body is sent: the answer must not wait for the rest.
    with socket.create_connection((host, int(port)), timeout=5) as conn:
        conn.sendall(head.encode())
        answer = conn.makefile("rb")
        status = answer.readline().split()[1]
        headers = dict(
            line.decode().lower().rstrip().split(": ", 1)
            for line in iter(answer.readline, b"\r\n")
        )
        body = answer.read(int(headers["content-length"]))
    assert status == b"413", (headers, body)
    assert headers["content-type"].startswith("application/problem+json"), headers
    assert json.loads(body)["code"] == "body_too_large"


@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("operation", WITH_AUTH, ids=_label)
def test_bad_authorization_is_a_401_problem(
    live_server: LiveServer, operation: tuple[str, str, Any], header: str
) -> None:
    method, path, _ = operation
    r = live_server.http.request(
        method, live_server.url + _path(path), headers={"Authorization": HEADERS[header]}
    )
    _expect_problem(r, {401})
    assert r.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_header_too_long_to_parse_is_still_a_4xx(live_server: LiveServer) -> None:
    # Past aiohttp's 8190-byte field limit the HTTP parser answers before any middleware,
    # in text/plain: still a client error, never a 500.
    r = live_server.http.get(
        live_server.url + "/v1/me", headers={"Authorization": "Bearer " + "a" * 9000}
    )
    assert r.status_code == 400


@pytest.mark.parametrize("raw_id", IDS)
@pytest.mark.parametrize("operation", WITH_ID, ids=_label)
def test_bad_path_ids_are_a_422_problem(
    live_server: LiveServer, operation: tuple[str, str, Any], raw_id: str
) -> None:
    method, path, _ = operation
    url = live_server.url + path.replace("{session_id}", raw_id).replace("{user_id}", raw_id)
    token = live_server.signup() if (method, path) in DESTRUCTIVE else live_server.token
    r = live_server.http.request(method, url, headers={"Authorization": f"Bearer {token}"})
    _expect_problem(r, {422})
    assert r.json()["code"] == "invalid_id"
