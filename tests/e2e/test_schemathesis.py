"""Schemathesis against the real app: every documented operation, fuzzed from the OpenAPI
document the app serves, must answer as documented and never with a 5xx; then hostile
input no generator makes (lone surrogates, deep nesting, NaN, UTF-16, broken multipart
forms, media that is not media, bad tokens, bad ids, an oversized Content-Length) must be
a 4xx problem+json on every operation it fits.

The app runs on the in-memory backend in a background thread with its own event loop, on
a free loopback port, behind a real socket. Schemathesis runs its examples, coverage and
fuzzing phases with every check, as a user (on the shared server the hostile tests use),
and with fewer examples as a moderator and as an admin (each on a server of its own).

The stateful phase follows the OpenAPI links of the document (adapters/http/openapi.py
``_LINKS``: an upload to its parts and complete, a video to its comments and reactions, a
comment to its likes, a report to its case, the case queue to assign and resolve, the
admin user list to roles and bans, ...) with every default check, the stateful ones
(use_after_free, ensure_resource_availability) included, once per role, each on its own
server seeded with a ready public video of another user, a comment on it, a friend
request to the caller and a report (an open case), so that lists have ids to follow.

The seed is fixed; SCHEMATHESIS_SEED and SCHEMATHESIS_MAX_EXAMPLES explore further, e.g.
``SCHEMATHESIS_SEED=7 SCHEMATHESIS_MAX_EXAMPLES=200 pytest tests/e2e/test_schemathesis.py``
(SCHEMATHESIS_STAFF_EXAMPLES, SCHEMATHESIS_STATEFUL_SCENARIOS and
SCHEMATHESIS_STATEFUL_STEPS bound the staff and stateful runs).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import hypothesis
import pytest
import requests
import schemathesis
from aiohttp import web
from clip_support import unique
from schemathesis.auths import AuthContext, set_on_case
from schemathesis.checks import positive_data_acceptance
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.stateful import run_state_machine_as_test
from schemathesis.specs.openapi.checks import use_after_free

from adapters.config import Settings
from adapters.container import Composition
from adapters.http import keys
from adapters.http.app import create_app
from adapters.http.openapi import document
from adapters.memory.mail import InMemoryMailer
from momentic_core.model.accounts import Role
from momentic_core.model.moderation import CONFIG_KEYS

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
UPLOAD_SIZE = 4321  # no hostile body below has this length

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
# schemathesis' default list plus 422, for these operations only (email codes and
# two-factor codes alike).
CODE_OPERATIONS = [
    "post_v1_auth_verify",
    "post_v1_auth_password_reset_confirm",
    "post_auth_verify_code",
    "post_v1_me_email_confirm",  # the code of an email change (issue 21)
    "post_v1_me_2fa_confirm",  # a code of the authenticator app
    "delete_v1_me_2fa",
    "post_v1_auth_2fa",
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

# POST /v1/uploads declares a file to come: its size_bytes (over max_video_bytes) and
# content_type (outside the enum) are refused as the streamed upload refuses the file itself,
# 413 video_too_large and 415 unsupported_media_type, both documented. 413 is not in
# negative_data_rejection's default list (415 is), so it is added for this operation only.
# max_video_bytes is a runtime setting (GET /v1/config), so the schema gives size_bytes no
# fixed maximum: a schema-valid size may still be over it, 413 in positive_data_acceptance.
DECLARED_MEDIA_OPERATIONS = ["post_v1_uploads"]
# These take another user's id: with the caller's own id (schemathesis' user is id 1, and
# ids start at 1) the core answers 422 cannot_target_self, a rule about who, not shape.
# A report names its target likewise: the caller, or their own content, is 422
# cannot_report_self. Staff acting on their own account (ban, suspend, unban) are 422
# cannot_target_self, as documented.
SELF_TARGET_OPERATIONS = ["put_v1_blocks_user_id", "post_v1_friend_requests", "post_v1_reports",
                          "post_v1_mod_users_user_id_ban", "post_v1_mod_users_user_id_suspend",
                          "post_v1_mod_users_user_id_unban", "post_v1_users_user_id_mute"]
# A range of days is refused past 400 points (from and to, each a valid date, can lie
# centuries apart): 422 invalid_query, documented; no schema ties one parameter to another.
RANGE_OPERATIONS = ["get_v1_admin_stats"]
# A hashtag is Unicode letters, digits and _ with a letter among them (policies.search):
# JSON Schema's patterns cannot name Unicode categories, so a schema-valid tag of other
# characters is 422 invalid_hashtag, documented.
HASHTAG_OPERATIONS = ["get_v1_hashtags_tag_videos"]
# The WebSocket handshakes. An HTTP client cannot open a socket (a 101 switches protocols
# away from HTTP), so a schema-valid plain GET with a good token is answered 426
# upgrade_required, as documented; the sockets themselves are tested in test_live_ws.py.
WEBSOCKET_OPERATIONS = ["get_v1_ws", "get_ws_chat", "get_ws_chat_slash"]
NEGATIVE_STATUSES = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428",
                     "429", "5xx"]



def _both_spellings(operation_ids: list[str]) -> list[str]:
    """A legacy route answers with and without its trailing slash; the document names the
    slash spelling's operation ``<id>_slash`` (legacy.routes._legacy: one handler, two routes)."""
    return [*operation_ids, *(f"{o}_slash" for o in operation_ids if not o.endswith("_slash"))]


CONFIG: dict[str, Any] = {
    "seed": int(os.environ.get("SCHEMATHESIS_SEED", "20261127")),
    "generation": {
        "max-examples": int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30")),
        "database": "none",
    },
    "operations": [
        {
            "include-operation-id": _both_spellings(CODE_OPERATIONS),
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "422"]}
            },
        },
        {
            "include-operation-id": _both_spellings(MEDIA_OPERATIONS),
            "checks": {
                "positive_data_acceptance": {
                    "expected-statuses": [*POSITIVE_STATUSES, "413", "415", "422"]
                }
            },
        },
        {
            "include-operation-id": SELF_TARGET_OPERATIONS,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "422"]}
            },
        },
        {
            "include-operation-id": HASHTAG_OPERATIONS,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "422"]}
            },
        },
        {
            "include-operation-id": RANGE_OPERATIONS,
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "422"]}
            },
        },
        {
            "include-operation-id": _both_spellings(WEBSOCKET_OPERATIONS),
            "checks": {
                "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "426"]}
            },
        },
        {
            "include-operation-id": DECLARED_MEDIA_OPERATIONS,
            "checks": {
                "negative_data_rejection": {"expected-statuses": [*NEGATIVE_STATUSES, "413"]},
                "positive_data_acceptance": {"expected-statuses": [*POSITIVE_STATUSES, "413"]},
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
    # An open one-part upload of the shared user, so that hostile parts and completes
    # reach the code that reads them instead of stopping at 404 upload_not_found.
    upload_id: int = 0
    config: dict[str, Any] = attrs.Factory(dict)  # GET /v1/config: the limits in force
    role: Role = Role.USER
    user_id: int = 0  # of the shared principal
    loop: asyncio.AbstractEventLoop | None = None
    app: web.Application | None = None

    def run(self, coro: Any) -> Any:
        """Run a coroutine on the app's loop (to call the core directly) and wait for it."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def signup(self) -> str:
        """A fresh verified account of this server's role, its access token. Users sign up
        the way the app does it; staff are made as the CLI makes them, then sign in."""
        email = f"st-{uuid.uuid4().hex[:12]}@example.org"
        if self.role is not Role.USER:
            assert self.app is not None
            svc = self.app[keys.SERVICES]
            self.run(svc.accounts.create_user(email, PASSWORD, self.role))
            r = self.http.post(f"{self.url}/v1/auth/token", json={
                "grant_type": "password", "email": email, "password": PASSWORD})
            assert r.status_code == 200, r.text
            return str(r.json()["access_token"])
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

    def principal_token(self) -> str:
        """The shared principal's token. An admin may demote itself once other admins exist
        (the fresh ones of DESTRUCTIVE operations): the role is put back, with a new token,
        so every case runs with the role it is meant to test."""
        if self.role is Role.USER:
            return self.token
        me = self.http.get(f"{self.url}/v1/me", headers={"Authorization": f"Bearer {self.token}"})
        if me.status_code == 200 and me.json()["role"] == self.role.value:
            return self.token
        assert self.app is not None
        svc = self.app[keys.SERVICES]
        user = self.run(svc.accounts.set_role(self.user_id, self.role))
        r = self.http.post(f"{self.url}/v1/auth/token", json={
            "grant_type": "password", "email": user.email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        self.token = str(r.json()["access_token"])
        return self.token

    def auth(self, token: str | None = None) -> dict[str, str]:
        return {"Authorization": f"Bearer {token or self.token}"}


def _listen() -> tuple[socket.socket, str]:
    """A socket on a free loopback port, and its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock, f"http://127.0.0.1:{sock.getsockname()[1]}"


@contextlib.contextmanager
def _serve(
    *apps: tuple[web.Application, socket.socket]
) -> Iterator[asyncio.AbstractEventLoop]:
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
        yield loop
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


@contextlib.contextmanager
def _live(role: Role, *, workers: bool = False, **changes: Any) -> Iterator[LiveServer]:
    """A server on the in-memory backend (``changes`` to SETTINGS), with the shared
    principal of ``role`` signed in and one open upload of theirs."""
    mailer = InMemoryMailer()
    keys_sock, keys_url = _listen()
    settings = attrs.evolve(
        SETTINGS, google_jwks_url=f"{keys_url}/jwks", apple_jwks_url=f"{keys_url}/jwks",
        **changes,
    )
    app = create_app(Composition(settings, mailer=mailer, workers=workers))
    sock, url = _listen()
    with requests.Session() as http, _serve((_provider_keys(), keys_sock), (app, sock)) as loop:
        server = LiveServer(url=url, mailer=mailer, http=http, role=role, loop=loop, app=app)
        served = http.get(f"{url}/openapi.json")
        assert served.json() == document(), "the fuzzed document is not the served one"
        server.token = server.signup()
        server.user_id = http.get(f"{url}/v1/me", headers=server.auth()).json()["id"]
        r = http.post(f"{url}/v1/uploads", headers=server.auth(),
                      json={"size_bytes": UPLOAD_SIZE, "content_type": "video/mp4"})
        assert r.status_code == 201, r.text
        server.upload_id = r.json()["id"]
        server.config = http.get(f"{url}/v1/config").json()
        yield server


@pytest.fixture(scope="module")
def live_server() -> Iterator[LiveServer]:
    with _live(Role.USER) as server:
        yield server
        # No operation outside DESTRUCTIVE may have ended the shared session.
        me = server.http.get(f"{server.url}/v1/me", headers=server.auth())
        assert me.status_code == 200, me.text


def _seed(server: LiveServer, clip: Path) -> None:
    """Other people's things the principal can reach, so lists hold ids for links: a ready
    public video of ann's with her comment, a friend request from bob, bob's report of the
    video (an open case)."""
    svc = server.app[keys.SERVICES] if server.app is not None else None
    assert svc is not None
    tokens = {}
    for name in ("ann", "bob"):
        email = f"{name}-{uuid.uuid4().hex[:8]}@example.org"
        server.run(svc.accounts.create_user(email, PASSWORD))
        r = server.http.post(f"{server.url}/v1/auth/token", json={
            "grant_type": "password", "email": email, "password": PASSWORD})
        assert r.status_code == 200, r.text
        tokens[name] = str(r.json()["access_token"])
    ann, bob = server.auth(tokens["ann"]), server.auth(tokens["bob"])
    r = server.http.post(f"{server.url}/v1/videos", headers=ann,
                         files={"video_file": ("clip.mp4", unique(clip), "video/mp4")},
                         data={"visibility": "public", "description": "Seeded"})
    assert r.status_code == 201, r.text
    video_id = r.json()["id"]
    for _ in range(300):  # the backend's worker processes it
        video = server.http.get(f"{server.url}/v1/videos/{video_id}", headers=ann).json()
        if video["status"] != "processing":
            break
        time.sleep(0.05)
    assert video["status"] == "ready", video
    r = server.http.post(f"{server.url}/v1/videos/{video_id}/comments", headers=ann,
                         json={"body": "First!"})
    assert r.status_code == 201, r.text
    r = server.http.post(f"{server.url}/v1/friend-requests", headers=bob,
                         json={"user_id": server.user_id})
    assert r.status_code == 201, r.text
    r = server.http.post(f"{server.url}/v1/reports", headers=bob,
                         json={"target_type": "video", "target_id": video_id, "reason": "spam"})
    assert r.status_code == 201, r.text


@pytest.fixture(scope="module")
def seeded_servers(sample_clips: dict[str, Path]) -> Iterator[dict[Role, LiveServer]]:
    """One seeded server per role, for the staff and stateful runs. An admin's fuzzed
    PATCH /v1/admin/settings may store a rate limit of 1 a week; the multiplier scales
    overrides too, so such a limit is still out of the run's reach and auth probes that
    follow it see 401, not 429."""
    with contextlib.ExitStack() as stack:
        servers = {
            role: stack.enter_context(_live(role, workers=True, rate_limit_multiplier=10**7))
            for role in Role
        }
        for server in servers.values():
            _seed(server, sample_clips["silent"])
        yield servers


def _never_issued_cursor(case: Any, response: Any) -> bool:
    """A ``?cursor=`` refused as one the server never issued. Cursors are opaque: the
    document can say "a string", never which strings are positions the server handed out,
    so a generated one is 422 invalid_cursor (the same reason as CODE_OPERATIONS). Only
    that refusal is excused, only when a cursor was sent: a schema-valid limit or user id
    refused still fails positive_data_acceptance."""
    return (
        "cursor" in (case.query or {})
        and response.status_code == 422
        and response.json().get("code") == "invalid_cursor"
    )


def _authorize(case: Any, server: LiveServer, *, apply_auth: bool = False) -> None:
    """Swap the auth provider's marker for a real token: a fresh account's for DESTRUCTIVE
    operations, else the shared principal's. The stateful phase does not call the auth
    provider (it applies to the generated cases of the other phases), nor is it sure to
    reach a filtered copy of the schema: those cases get it here (``apply_auth``), unless
    the case is a negative one that left the token out on purpose."""
    if apply_auth:
        set_on_case(case, AuthContext(operation=case.operation, app=None), schema.auth)
    if case.headers and case.headers.get("Authorization") == f"Bearer {TOKEN_MARKER}":
        destructive = (case.method.upper(), case.path) in DESTRUCTIVE
        token = server.signup() if destructive else server.principal_token()
        case.headers["Authorization"] = f"Bearer {token}"


def _excluded(case: Any, response: Any) -> list[Any]:
    excluded = [positive_data_acceptance] if _never_issued_cursor(case, response) else []
    if case.path.rstrip("/").endswith("/reactions"):
        # DELETE there takes back my reaction, not the list of everyone's: the list stays.
        excluded.append(use_after_free)
    return excluded


# Runtime settings back to the deployment's values (null resets each one).
# Every runtime setting back to the deployment's value (null), whatever settings exist.
RESET_SETTINGS: dict[str, Any] = {"changes": dict.fromkeys(CONFIG_KEYS),
                                  "reason": "schemathesis: back to the defaults"}


def _restore_settings(case: Any, server: LiveServer) -> None:
    """An admin's PATCH /v1/admin/settings may set a rate limit of one request a week, or
    require staff to enrol in two-factor authentication (then every staff route is 403):
    later cases would then test that, not the operation. Each such case is undone, as the
    operator undoes it (``momentic settings``), since the admin may be locked out."""
    if server.role is Role.ADMIN and (case.method.upper(), case.path) == (
        "PATCH", "/v1/admin/settings"
    ):
        assert server.app is not None
        server.run(server.app[keys.SERVICES].config.update(
            None, RESET_SETTINGS["changes"], RESET_SETTINGS["reason"]))


def _check(case: Any, server: LiveServer, *, apply_auth: bool = False) -> None:
    _authorize(case, server, apply_auth=apply_auth)
    response = case.call(base_url=server.url, session=server.http)
    try:
        case.validate_response(
            response,
            excluded_checks=_excluded(case, response),
            transport_kwargs={"base_url": server.url, "session": server.http},
        )
    finally:
        _restore_settings(case, server)


@schema.parametrize()
def test_api(case: Any, live_server: LiveServer) -> None:
    _check(case, live_server)


STAFF_EXAMPLES = int(os.environ.get("SCHEMATHESIS_STAFF_EXAMPLES", "10"))
# As a moderator and as an admin: the operations whose answer depends on the role (the
# moderation and admin ones, and what staff may do to others' content), not the whole
# API again (the user run covers that, and the stateful phase runs every role).
STAFF_OPERATIONS = {"get_v1_videos_video_id", "delete_v1_videos_video_id",
                    "delete_videos_video_id", "get_v1_comments_comment_id",
                    "delete_v1_comments_comment_id", "get_v1_users_user_id"}
staff_schema = schema.exclude(  # (include would be OR-ed with the base schema's filter)
    lambda ctx: ctx.operation.definition.raw["tags"][0] not in ("moderation", "admin")
    and ctx.operation.definition.raw["operationId"] not in STAFF_OPERATIONS
)


@staff_schema.parametrize()
@hypothesis.settings(max_examples=STAFF_EXAMPLES)
def test_api_as_moderator(case: Any, seeded_servers: dict[Role, LiveServer]) -> None:
    _check(case, seeded_servers[Role.MODERATOR], apply_auth=True)


@staff_schema.parametrize()
@hypothesis.settings(max_examples=STAFF_EXAMPLES)
def test_api_as_admin(case: Any, seeded_servers: dict[Role, LiveServer]) -> None:
    _check(case, seeded_servers[Role.ADMIN], apply_auth=True)


# ---------------------------------------------------------------- stateful phase

STATEFUL_SCENARIOS = int(os.environ.get("SCHEMATHESIS_STATEFUL_SCENARIOS", "40"))
STATEFUL_STEPS = int(os.environ.get("SCHEMATHESIS_STATEFUL_STEPS", "8"))


def test_the_document_has_links_for_the_stateful_phase() -> None:
    """Every link names an existing operation and only parameters that operation takes;
    schemathesis finds transitions to follow."""
    doc = document()
    ops = {op["operationId"]: op for ops in doc["paths"].values() for op in ops.values()}
    count = 0
    for op in ops.values():
        for response in op["responses"].values():
            for link in response.get("links", {}).values():
                target = ops[link["operationId"]]
                names = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                assert set(link["parameters"]) == names, (op["operationId"], link)
                count += 1
    assert count >= 50
    assert schema.statistic.transitions.total >= count


@pytest.mark.parametrize("role", list(Role))
def test_stateful(role: Role, seeded_servers: dict[Role, LiveServer]) -> None:
    """Every failure a check raises is kept here, so that the verdict does not rest on how
    Hypothesis ends: replaying a scenario against a server whose state has moved on draws
    differently (FlakyStrategyDefinition), which schemathesis' own runner takes as no
    finding. Here it is taken so too, only when no check failed in any scenario."""
    server = seeded_servers[role]
    failures: list[BaseException] = []
    steps: list[int] = []

    class Links(schema.as_state_machine()):  # type: ignore[misc]
        def before_call(self, case: Any) -> None:
            _authorize(case, server, apply_auth=True)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"base_url": server.url, "session": server.http}

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            steps.append(response.status_code)
            try:
                case.validate_response(
                    response,
                    additional_checks=additional_checks,
                    excluded_checks=_excluded(case, response),
                    transport_kwargs=kwargs or None,
                    recorder=self.recorder,
                )
            except Exception as exc:
                failures.append(exc)
                raise

    try:
        run_state_machine_as_test(Links, settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS,
            stateful_step_count=STATEFUL_STEPS,
            deadline=None,
            derandomize=True,
            database=None,
            phases=[hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        ))
    except hypothesis.errors.Flaky:
        if failures:
            raise
        print(f"{role}: Hypothesis stopped on a flaky replay after {len(steps)} steps")
    assert not failures, failures
    # The links were followed: scenarios ran and some of their steps succeeded.
    assert len(steps) >= STATEFUL_SCENARIOS, len(steps)
    assert sum(200 <= status < 300 for status in steps) >= len(steps) // 10, steps


# ---------------------------------------------------------------- what the runs found
# Each was a schema-valid request the server refused (positive_data_acceptance); the
# document now says what the server takes, and the server keeps answering as it did.


def _body_schema(method: str, path: str) -> Any:
    import jsonschema

    doc = document()
    schema = doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator({**schema, "components": doc["components"]})


def test_found_suspend_needs_a_duration(seeded_servers: dict[Role, LiveServer]) -> None:
    validator = _body_schema("post", "/v1/mod/cases/{case_id}/resolve")
    assert not validator.is_valid({"action": "suspend", "reason": "Spam", "duration_seconds": None})
    assert not validator.is_valid({"action": "suspend", "reason": "Spam"})
    assert validator.is_valid({"action": "suspend", "reason": "Spam", "duration_seconds": 600})
    assert validator.is_valid({"action": "dismiss", "reason": "Fine", "duration_seconds": None})
    server = seeded_servers[Role.MODERATOR]
    cases = server.http.get(f"{server.url}/v1/mod/cases", headers=server.auth(
        server.principal_token())).json()["items"]
    assert cases
    r = server.http.post(f"{server.url}/v1/mod/cases/{cases[0]['id']}/resolve",
                         headers=server.auth(server.principal_token()),
                         json={"action": "suspend", "reason": "Spam", "duration_seconds": None})
    assert r.status_code == 422 and r.json()["code"] == "invalid_duration", r.text


def test_found_rate_limit_names_and_whole_floats(seeded_servers: dict[Role, LiveServer]) -> None:
    validator = _body_schema("patch", "/v1/admin/settings")
    limit = {"count": 5, "window_seconds": 60}
    assert not validator.is_valid({"changes": {"rate_limits": {"x-other": limit}}, "reason": "x"})
    assert not validator.is_valid(
        {"changes": {"rate_limits": {"api:ip": {**limit, "extra": 1}}}, "reason": "x"})
    assert validator.is_valid({"changes": {"rate_limits": {"api:ip": limit}}, "reason": "x"})
    server = seeded_servers[Role.ADMIN]
    auth = server.auth(server.principal_token())
    try:
        # JSON Schema's integer takes 5.0; so does the server now (it answered 422).
        r = server.http.patch(f"{server.url}/v1/admin/settings", headers=auth, json={
            "changes": {"report_threshold": 5.0, "max_video_bytes": 2000000.0,
                        "rate_limits": {"comment:user": {"count": 40.0,
                                                         "window_seconds": 60.0}}},
            "reason": "Whole floats"})
        assert r.status_code == 200, r.text
        stored = r.json()["stored"]
        assert stored["report_threshold"] == 5 and stored["max_video_bytes"] == 2000000
        assert stored["rate_limits"]["comment:user"] == {"count": 40, "window_seconds": 60}
        for bad in (5.5, 1e300, True):
            r = server.http.patch(f"{server.url}/v1/admin/settings", headers=auth, json={
                "changes": {"report_threshold": bad}, "reason": "Not whole"})
            assert r.status_code in (400, 422), (bad, r.text)
        r = server.http.patch(f"{server.url}/v1/admin/settings", headers=auth, json={
            "changes": {"rate_limits": {"x-other": {"count": 1, "window_seconds": 1}}},
            "reason": "Unknown"})
        assert r.status_code == 422 and r.json()["code"] == "invalid_setting", r.text
    finally:
        server.http.patch(f"{server.url}/v1/admin/settings", headers=auth, json=RESET_SETTINGS)


def test_found_body_ids_stop_at_int8(live_server: LiveServer) -> None:
    too_big = 2**63
    assert not _body_schema("post", "/v1/videos/{video_id}/comments").is_valid(
        {"body": "hi", "parent_id": too_big})
    assert not _body_schema("post", "/v1/friend-requests").is_valid({"user_id": too_big})
    r = live_server.http.post(f"{live_server.url}/v1/friend-requests",
                              headers=live_server.auth(), json={"user_id": too_big})
    assert r.status_code == 422 and r.json()["code"] == "invalid_id", r.text


# ---------------------------------------------------------------- hostile input
# What a generator from the document does not produce, sent to every operation it fits.

OPERATIONS = [
    (method.upper(), path, op)
    for path, methods in document()["paths"].items()
    for method, op in methods.items()
]


def _media_types(op: dict[str, Any]) -> list[str]:
    return list(op.get("requestBody", {}).get("content", {}))


def _id_params(op: dict[str, Any]) -> list[str]:
    """The path parameters that are integers (ids, part numbers)."""
    return [
        p["name"] for p in op.get("parameters", [])
        if p["in"] == "path" and p["schema"].get("type") == "integer"
    ]


WITH_BODY = [(m, p, op) for m, p, op in OPERATIONS if "requestBody" in op]
WITH_JSON = [(m, p, op) for m, p, op in WITH_BODY if "application/json" in _media_types(op)]
WITH_MULTIPART = [
    (m, p, op) for m, p, op in WITH_BODY if "multipart/form-data" in _media_types(op)
]
WITH_RAW = [
    (m, p, op) for m, p, op in WITH_BODY
    if not {"application/json", "multipart/form-data"} & set(_media_types(op))
]
WITH_AUTH = [(m, p, op) for m, p, op in OPERATIONS if op.get("security")]
WITH_ID = [(m, p, op) for m, p, op in OPERATIONS if _id_params(op)]
assert {id(op) for *_, op in WITH_JSON + WITH_MULTIPART + WITH_RAW} == {
    id(op) for *_, op in WITH_BODY
}, "a request body of a kind the hostile tests below do not cover"


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


def _path(path: str, server: LiveServer, ids: str | None = None) -> str:
    """The path with a provider, the shared upload's id (or ``ids``, raw, for every integer
    parameter) and 1 for the other ids."""
    def value(match: re.Match[str]) -> str:
        name = match[1]
        if name == "provider":
            return "apple"
        if ids is not None:
            return ids
        return str(server.upload_id) if name == "upload_id" else "1"

    return re.sub(r"\{(\w+)\}", value, path)


def _send(
    server: LiveServer, method: str, path: str, body: bytes, content_type: str
) -> requests.Response:
    token = server.signup() if (method, path) in DESTRUCTIVE else server.token
    headers = {"Content-Type": content_type, "Authorization": f"Bearer {token}"}
    return server.http.request(method, server.url + _path(path, server), data=body,
                               headers=headers)


@pytest.mark.parametrize("kind", BODIES)
@pytest.mark.parametrize("operation", WITH_JSON, ids=_label)
def test_hostile_bodies_are_a_4xx_problem(
    live_server: LiveServer, operation: tuple[str, str, Any], kind: str
) -> None:
    method, path, op = operation
    r = _send(live_server, method, path, BODIES[kind](op), "application/json")
    _expect_problem(r, range(400, 500))


# Forms a browser or the app would never send. A video part starts like an MP4 (an ftyp
# box) where the form must get past the sniff to reach what follows.
BOUNDARY = "st-boundary"
MP4_HEAD = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 48


def _form(*parts: tuple[str, bytes], end: bool = True) -> bytes:
    body = b"".join(
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value + b"\r\n"
        for name, value in parts
    )
    return body + (f"--{BOUNDARY}--\r\n".encode() if end else b"")


FORM = f"multipart/form-data; boundary={BOUNDARY}"
MULTIPART_BODIES: dict[str, tuple[str, bytes]] = {
    "no boundary": ("multipart/form-data", _form(("video_file", MP4_HEAD))),
    "an empty boundary": ("multipart/form-data; boundary=", b"--\r\n"),
    "another boundary": ("multipart/form-data; boundary=other", _form(("video_file", MP4_HEAD))),
    "an empty body": (FORM, b""),
    "no parts": (FORM, f"--{BOUNDARY}--\r\n".encode()),
    "cut off in part headers": (FORM, f"--{BOUNDARY}\r\nContent-Disposition: form-da".encode()),
    "cut off in the video": (FORM, _form(("video_file", MP4_HEAD * 5000), end=False)[:-2]),
    "cut off after the video": (
        FORM, _form(("video_file", MP4_HEAD), end=False) + f"--{BOUNDARY}\r\nContent".encode()
    ),
    "nested multipart": (FORM, (
        f"--{BOUNDARY}\r\nContent-Type: multipart/mixed; boundary=inner\r\n\r\n"
        f"--inner--\r\n--{BOUNDARY}--\r\n"
    ).encode()),
    "no video_file": (FORM, _form(("description", b"Sunset"))),
    "not a video": (FORM, _form(("video_file", b"GIF89a" + b"\x00" * 100))),
    "description not UTF-8": (FORM, _form(("description", b"\xff\xfe"),
                                          ("video_file", MP4_HEAD))),
    "description of 100 KB": (FORM, _form(("description", b"a" * 100_000),
                                          ("video_file", MP4_HEAD))),
    "description with a bidi override": (
        FORM, _form(("video_file", MP4_HEAD), ("description", "a\u202eb".encode()))
    ),
    "unknown visibility": (FORM, _form(("video_file", MP4_HEAD), ("visibility", b"secret"))),
    "JSON instead": ("application/json", b'{"description": "Sunset"}'),
}

RAW_BODIES: dict[str, tuple[str, bytes]] = {
    "empty": ("application/octet-stream", b""),
    "text": ("text/plain", b"not media " * 10),
    "a truncated JPEG": ("image/jpeg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"),
    "a PNG header of 100000 x 100000": (
        "image/png",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (100_000).to_bytes(4, "big") * 2
        + b"\x08\x06\x00\x00\x00" + b"\x00" * 4,
    ),
    "JSON instead": ("application/json", b'{"email": NaN}'),
    "nested 100k deep": ("application/octet-stream", b"[" * 100_000 + b"]" * 100_000),
}


@pytest.mark.parametrize("kind", MULTIPART_BODIES)
@pytest.mark.parametrize("operation", WITH_MULTIPART, ids=_label)
def test_hostile_forms_are_a_4xx_problem(
    live_server: LiveServer, operation: tuple[str, str, Any], kind: str
) -> None:
    method, path, _ = operation
    content_type, body = MULTIPART_BODIES[kind]
    _expect_problem(_send(live_server, method, path, body, content_type), range(400, 500))


@pytest.mark.parametrize("kind", RAW_BODIES)
@pytest.mark.parametrize("operation", WITH_RAW, ids=_label)
def test_hostile_raw_bodies_are_a_4xx_problem(
    live_server: LiveServer, operation: tuple[str, str, Any], kind: str
) -> None:
    method, path, _ = operation
    content_type, body = RAW_BODIES[kind]
    _expect_problem(_send(live_server, method, path, body, content_type), range(400, 500))


def _over_the_limit(op: dict[str, Any], config: dict[str, Any]) -> tuple[int, str, str]:
    """A Content-Length over what the operation takes, the Content-Type to send, and the
    code of the 413."""
    media_type = _media_types(op)[0]
    if media_type == "application/json":
        return 2_000_000, media_type, "body_too_large"  # HttpOptions.max_body_bytes: 1 MiB
    if media_type == "multipart/form-data":
        return 2 * config["max_video_bytes"], FORM, "video_too_large"
    if media_type.startswith("image/"):
        return 2 * config["avatar_max_bytes"], media_type, "avatar_too_large"
    # A part: never longer than the largest video.
    return 2 * config["max_video_bytes"], media_type, "part_too_large"


@pytest.mark.parametrize("operation", WITH_BODY, ids=_label)
def test_a_body_over_the_limit_is_413_before_it_is_sent(
    live_server: LiveServer, operation: tuple[str, str, Any]
) -> None:
    method, path, op = operation
    length, content_type, code = _over_the_limit(op, live_server.config)
    assert code in json.dumps(op["responses"]["413"]), "the 413 is not documented"
    token = live_server.signup() if (method, path) in DESTRUCTIVE else live_server.token
    host, port = urllib.parse.urlsplit(live_server.url).netloc.split(":")
    head = (
        f"{method} {_path(path, live_server)} HTTP/1.1\r\nHost: {host}\r\n"
        f"Connection: close\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: {content_type}\r\nContent-Length: {length}\r\n\r\n{{"
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
    assert json.loads(body)["code"] == code


@pytest.mark.parametrize("header", HEADERS)
@pytest.mark.parametrize("operation", WITH_AUTH, ids=_label)
def test_bad_authorization_is_a_401_problem(
    live_server: LiveServer, operation: tuple[str, str, Any], header: str
) -> None:
    method, path, _ = operation
    r = live_server.http.request(
        method, live_server.url + _path(path, live_server),
        headers={"Authorization": HEADERS[header]},
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
    url = live_server.url + _path(path, live_server, ids=raw_id)
    token = live_server.signup() if (method, path) in DESTRUCTIVE else live_server.token
    r = live_server.http.request(method, url, headers={"Authorization": f"Bearer {token}"})
    _expect_problem(r, {422})
    # an id holding a NUL character is refused as any text holding one, before routing
    assert r.json()["code"] == ("nul_character" if raw_id == "%00" else "invalid_id")
