"""Every runtime setting, changed by an admin over HTTP, holds on every route that
publishes or enforces it: at once on the instance that took the change, and within
``Config.TTL`` on another instance on the same PostgreSQL database.

One case per name in ``CONFIG_KEYS``: a setting added without a case here fails. Each case
checks the deployment's value first (on instance B, which then holds it in its cache),
then each change: on A right away, on B once its (hand-moved) clock has passed the TTL.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
import attrs
import pyotp
import pytest
from clip_support import unique

from adapters.config import Settings
from adapters.container import Composition
from adapters.http import keys
from adapters.http.app import create_app
from adapters.memory.clock import ManualClock
from adapters.memory.mail import InMemoryMailer
from momentic_core.model.accounts import Role
from momentic_core.model.jobs import AnnounceReminder
from momentic_core.model.moderation import CONFIG_KEYS
from momentic_core.policies import moments
from momentic_core.services.config import Config
from momentic_core.services.throttle import DEFAULT_LIMITS

PASSWORD = "correct horse battery"
RECEIVE = 15.0  # hang guard for one websocket frame, not a timing assertion
ENV_DOMAINS = "bsu.by,*.edu"
ENV_BYTES = 2_000_000


@attrs.define
class User:
    id: int
    auth: dict[str, str]


@attrs.define
class Instance:
    name: str
    client: Any
    backend: Composition

    async def run_jobs(self) -> None:
        worker = await self.backend.worker()
        while await worker.run_once() is not None:
            pass

    async def call(
        self, method: str, path: str, who: User | None = None, status: int | None = None,
        **kwargs: Any,
    ) -> Any:
        r = await self.client.request(method, path, headers=who.auth if who else None, **kwargs)
        body = await r.json() if r.content_type.endswith("json") else None
        if status is not None:
            assert r.status == status, (self.name, method, path, r.status, body)
        return r, body


@attrs.define
class Cluster:
    a: Instance
    b: Instance
    clock: ManualClock
    admin: User | None = None

    async def user(self, role: Role = Role.USER) -> User:
        """An account made as the CLI makes one (no domain rule), signed in over HTTP."""
        email = f"u{uuid.uuid4().hex[:10]}@bsu.by"
        made = await self.a.client.app[keys.SERVICES].accounts.create_user(
            email, PASSWORD, role
        )
        _, tokens = await self.a.call("POST", "/v1/auth/token", status=200, json={
            "grant_type": "password", "email": email, "password": PASSWORD})
        return User(made.id, {"Authorization": f"Bearer {tokens['access_token']}"})

    async def effective(self, on: Instance, name: str) -> Any:
        assert self.admin is not None
        _, shown = await on.call("GET", "/v1/admin/settings", self.admin, status=200)
        return shown["effective"][name]

    async def change(self, name: str, value: Any) -> Any:
        """PATCH on A; what it answers is in force."""
        assert self.admin is not None
        _, shown = await self.a.call("PATCH", "/v1/admin/settings", self.admin, status=200,
                                     json={"changes": {name: value}})
        return shown["effective"][name]


def _form(data: bytes, visibility: str = "public") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("video_file", io.BytesIO(data), filename="c.mp4", content_type="video/mp4")
    form.add_field("visibility", visibility)
    return form


def _mp4(size: int) -> bytes:
    """An upload of ``size`` bytes that the upload routes take for an MP4 (the worker
    would reject it; these tests do not run it), unlike any other (a second upload of the
    same bytes would be a duplicate)."""
    return b"\0\0\0\x18ftypmp42" + os.urandom(16) + bytes(size - 28)


async def _ready(on: Instance, who: User, clip: Path, visibility: str = "public") -> int:
    _, video = await on.call("POST", "/v1/videos", who, status=201,
                             data=_form(unique(clip), visibility))
    await on.run_jobs()
    _, got = await on.call("GET", f"/v1/videos/{video['id']}", who, status=200)
    assert got["status"] == "ready", got
    return int(video["id"])


Check = Callable[[Instance, Any], Awaitable[None]]


@attrs.frozen
class Tools:
    clips: dict[str, Path]
    clip_factory: Callable[..., Path]
    tmp_path: Path


@attrs.frozen
class Case:
    """``prepare`` makes what the checks need and returns ``check(instance, expected)``.
    ``deployment``: (the published value, what to expect) before any change; ``steps``:
    (the value sent, the published value, what to expect) for each change in turn."""

    prepare: Callable[[Cluster, Tools], Awaitable[Check]]
    deployment: tuple[Any, Any]
    steps: list[tuple[Any, Any, Any]]
    environment: dict[str, Any] = attrs.Factory(dict)


# ------------------------------------------------------------------ allowed_email_domains


async def _domains(env: Cluster, tools: Tools) -> Check:
    async def check(on: Instance, admits: dict[str, bool]) -> None:
        for domain, admitted in admits.items():
            for path, ok in (("/v1/auth/register", 202), ("/auth/register/", 201)):
                email = f"r{uuid.uuid4().hex[:10]}@{domain}"
                r, body = await on.call("POST", path, json={"email": email,
                                                            "password": PASSWORD})
                if admitted:
                    assert r.status == ok, (on.name, path, email, body)
                else:
                    assert (r.status, body["code"]) == (422, "email_domain_not_allowed"), (
                        on.name, path, email, body)

    return check


_ENV_ADMITS = {"bsu.by": True, "fpmi.bsu.by": False, "cs.mit.edu": True, "gmail.com": False}

DOMAINS = Case(
    _domains,
    deployment=(["bsu.by", "*.edu"], _ENV_ADMITS),
    steps=[
        (["*.BSU.by"], ["*.bsu.by"],
         {"bsu.by": False, "fpmi.bsu.by": True, "cs.mit.edu": False, "gmail.com": False}),
        (["*"], ["*"], dict.fromkeys(_ENV_ADMITS, True)),
        (None, ["bsu.by", "*.edu"], _ENV_ADMITS),
    ],
)


# ------------------------------------------------------------------ max_video_bytes


async def _video_bytes(env: Cluster, tools: Tools) -> Check:
    author = await env.user()

    async def check(on: Instance, limit: int) -> None:
        _, config = await on.call("GET", "/v1/config", status=200)
        assert config["max_video_bytes"] == limit
        upload = {"content_type": "video/mp4"}
        await on.call("POST", "/v1/uploads", author, status=201,
                      json={**upload, "size_bytes": limit})
        _, body = await on.call("POST", "/v1/uploads", author, status=413,
                                json={**upload, "size_bytes": limit + 1})
        assert body["code"] == "video_too_large"
        for path in ("/v1/videos", "/videos"):
            await on.call("POST", path, author, status=201, data=_form(_mp4(limit - 100_000)))
            _, body = await on.call("POST", path, author, status=413,
                                    data=_form(_mp4(limit + 100_000)))
            assert body["code"] == "video_too_large"

    return check


VIDEO_BYTES = Case(
    _video_bytes,
    deployment=(ENV_BYTES, ENV_BYTES),
    # Above the environment's (the request's Content-Length is let through), then below.
    steps=[(3_000_000, 3_000_000, 3_000_000), (1_000_000, 1_000_000, 1_000_000)],
)


# ------------------------------------------------------------------ max_video_seconds


async def _video_seconds(env: Cluster, tools: Tools) -> Check:
    author = await env.user()

    def clip(seconds: float) -> Path:
        path = tools.tmp_path / f"clip-{seconds}.mp4"
        if not path.exists():
            tools.clip_factory(path, seconds=seconds, width=64, height=48, fps=2, audio=False)
        return path

    async def check(on: Instance, longest: float) -> None:
        _, config = await on.call("GET", "/v1/config", status=200)
        assert config["max_video_seconds"] == longest
        ids = {}
        for name, seconds in (("under", longest - 0.5), ("over", longest + 1)):
            _, video = await on.call("POST", "/v1/videos", author, status=201,
                                     data=_form(unique(clip(seconds))))
            ids[name] = video["id"]
        await on.run_jobs()  # this instance's worker processes them
        for name, expected in (("under", ("ready", None)), ("over", ("rejected", "too_long"))):
            _, got = await on.call("GET", f"/v1/videos/{ids[name]}", author, status=200)
            assert (got["status"], got["status_reason"]) == expected, (on.name, name, got)

    return check


VIDEO_SECONDS = Case(
    _video_seconds,
    deployment=(60.0, 60.0),
    steps=[(2, 2.0, 2.0)],
)


# ------------------------------------------------------------------ bereal_lock


async def _bereal_lock(env: Cluster, tools: Tools) -> Check:
    ann, bob = await env.user(), await env.user()
    await env.a.call("POST", "/v1/friend-requests", ann, status=201, json={"user_id": bob.id})
    await env.a.call("POST", f"/v1/friend-requests/{ann.id}/accept", bob, status=204)
    video = await _ready(env.a, ann, tools.clips["silent"], visibility="friends")
    # bob never posts: ann's moment of today is behind the lock while it is on.

    async def check(on: Instance, locked: bool) -> None:
        where = on.name
        _, feed = await on.call("GET", "/v1/feed/friends", bob, status=200)
        assert feed["locked"] is locked, where
        [item] = [i for i in feed["items"] if i["video"]["id"] == video]
        assert (item["video"]["playback_url"] is None) is locked, where
        _, legacy = await on.call("GET", f"/users/{bob.id}/friends/videos", bob, status=200)
        assert [v["locked"] for v in legacy if v["video_id"] == video] == [locked], where
        _, got = await on.call("GET", f"/v1/videos/{video}", bob, status=200)
        assert got["locked"] is locked and (got["playback_url"] is None) is locked, where
        _, page = await on.call("GET", f"/v1/users/{ann.id}/videos", bob, status=200)
        assert [v["locked"] for v in page["items"] if v["id"] == video] == [locked], where
        for method, path, body in (
            ("GET", f"/v1/videos/{video}/comments", None),
            ("PUT", f"/v1/videos/{video}/reaction", {"kind": "heart"}),
        ):
            r, answer = await on.call(method, path, bob, json=body)
            if locked:
                assert (r.status, answer["code"]) == (403, "moment_locked"), (where, path)
            else:
                assert r.status == 200, (where, path, answer)
        ws = await on.client.ws_connect("/v1/ws", headers=bob.auth)
        try:
            assert (await ws.receive_json(timeout=RECEIVE))["type"] == "hello"
            await ws.send_json({"op": "subscribe", "channel": f"video:{video}"})
            frame = await ws.receive_json(timeout=RECEIVE)
            if locked:
                assert (frame["type"], frame["code"]) == ("error", "moment_locked"), frame
            else:
                assert frame == {"type": "subscribed", "channel": f"video:{video}"}
        finally:
            await ws.close()

    return check


BEREAL_LOCK = Case(_bereal_lock, deployment=(True, True), steps=[(False, False, False)])


# ------------------------------------------------------------------ report_threshold


async def _report_threshold(env: Cluster, tools: Tools) -> Check:
    author, watcher = await env.user(), await env.user()
    reporters = [await env.user() for _ in range(3)]

    async def check(on: Instance, threshold: int) -> None:
        assert threshold <= len(reporters)
        video = await _ready(on, author, tools.clips["silent"])
        _, comment = await on.call("POST", f"/v1/videos/{video}/comments", author, status=201,
                                   json={"body": "mine"})

        async def comment_shown() -> bool:
            _, page = await on.call("GET", f"/v1/videos/{video}/comments", watcher,
                                    status=200)
            return comment["id"] in [c["id"] for c in page["items"]]

        async def video_shown() -> bool:
            r, _ = await on.call("GET", f"/v1/videos/{video}", watcher)
            assert r.status in (200, 404)
            return bool(r.status == 200)

        for target_type, target_id, shown in (
            ("comment", comment["id"], comment_shown), ("video", video, video_shown),
        ):
            for n, reporter in enumerate(reporters[:threshold], start=1):
                assert await shown(), (on.name, target_type, n)
                await on.call("POST", "/v1/reports", reporter, status=201, json={
                    "target_type": target_type, "target_id": target_id, "reason": "spam"})
            assert not await shown(), (on.name, target_type, "held at", threshold)

    return check


REPORT_THRESHOLD = Case(_report_threshold, deployment=(3, 3), steps=[(2, 2, 2)])


# ------------------------------------------------------------------ staff_mfa_required


async def _staff_mfa_required(env: Cluster, tools: Tools) -> Check:
    """A moderator without two-factor authentication is refused the case queue while the
    setting is on; the admin who reads the settings has it on (so is never refused)."""
    assert env.admin is not None
    _, made = await env.a.call("POST", "/v1/me/2fa", env.admin, status=201)
    await env.a.call("POST", "/v1/me/2fa/confirm", env.admin, status=200,
                     json={"code": pyotp.TOTP(made["secret"]).at(env.clock.now())})
    moderator = await env.user(Role.MODERATOR)

    async def check(on: Instance, required: bool) -> None:
        r, body = await on.call("GET", "/v1/mod/cases", moderator)
        if required:
            assert (r.status, body["code"]) == (403, "mfa_enrolment_required"), on.name
        else:
            assert r.status == 200, (on.name, body)

    return check


STAFF_MFA_REQUIRED = Case(_staff_mfa_required, deployment=(False, False),
                          steps=[(True, True, True), (None, False, False)])


# ------------------------------------------------------------------ for_you_completion_weight


async def _completion_weight(env: Cluster, tools: Tools) -> Check:
    """Two public videos posted at the same time (so ranked newest first by default), the
    older one viewed to the end: with a weight, it comes first. A fresh viewer each time
    (a first page is a new ranking), past the candidate table's staleness (ranked at
    request time, where a change applies at once; the table follows at its refresh)."""
    author = await env.user()
    watched = await _ready(env.a, author, tools.clips["playable"])
    newer = await _ready(env.a, author, tools.clips["rotated"])
    _, seen = await env.a.call("POST", f"/v1/videos/{watched}/view", await env.user(),
                               status=200, json={"watched_seconds": 1.0})
    assert seen["completed"], seen
    env.clock.advance(timedelta(minutes=6))

    async def check(on: Instance, first: str) -> None:
        _, page = await on.call("GET", "/v1/feed/for-you", await env.user(), status=200)
        order = [i["video"]["id"] for i in page["items"]]
        expected = [watched, newer] if first == "watched" else [newer, watched]
        assert order == expected, (on.name, first, order)

    return check


COMPLETION_WEIGHT = Case(_completion_weight, deployment=(0.0, "newer"),
                         steps=[(10, 10.0, "watched"), (None, 0.0, "newer")])


# ------------------------------------------------------------------ moment_reminder


async def _moment_reminder(env: Cluster, tools: Tools) -> Check:
    """A user who has not posted, with a phone (pushes go to the log gateway here), in a
    zone where today's moment's window has closed and the day is not over (the reminder
    is due when the window closes and expires at the end of the day; at any instant
    some zone of Etc/GMT-14..+12 is there): the reminder reaches it while the setting is
    on. A fresh user each time (the reminder goes once per user and day)."""

    def closed_today(ranking: Any) -> tuple[str, Any]:
        now = env.clock.now()
        for zone in [f"Etc/GMT-{n}" for n in range(14, 0, -1)] + [
                f"Etc/GMT+{n}" for n in range(1, 13)]:
            day = now.astimezone(ZoneInfo(zone)).date()
            moment = moments.moment_of(ranking.moment_rules, day, zone)
            if moment.window_ends_at <= now < moment.reminder_ends_at:
                return zone, day
        raise AssertionError("no zone between its window's end and midnight")

    async def check(on: Instance, reminded: bool) -> None:
        who = await env.user()
        ranking = on.client.app[keys.SERVICES].ranking
        zone, day = closed_today(ranking)
        await on.call("PATCH", "/v1/me", who, status=200, json={"time_zone": zone})
        token = uuid.uuid4().hex * 2
        await on.call("POST", "/v1/me/devices", who, status=201, json={
            "platform": "ios", "token": token, "apns_environment": "production"})
        await ranking.announce_reminder(AnnounceReminder(zone=zone, day=day))
        await on.run_jobs()
        router = await on.backend.container.push_gateway()
        sent = [m for m in router._fallback.delivered
                if m.token == token and m.data["kind"] == "moment_reminder"]
        assert len(sent) == int(reminded), (on.name, reminded, sent)

    return check


MOMENT_REMINDER = Case(_moment_reminder, deployment=(False, False),
                       steps=[(True, True, True), (None, False, False)])


# ------------------------------------------------------------------ rate_limits

_COMMENTS = "comment:user"
_DEFAULT_COMMENTS = DEFAULT_LIMITS[_COMMENTS].count  # at MOMENTIC_RATE_LIMIT_MULTIPLIER 1


async def _rate_limits(env: Cluster, tools: Tools) -> Check:
    author = await env.user()
    video = await _ready(env.a, author, tools.clips["silent"])

    async def check(on: Instance, allowed: int) -> None:
        who = await env.user()  # a fresh count
        path = f"/v1/videos/{video}/comments"
        for n in range(allowed):
            await on.call("POST", path, who, status=201, json={"body": f"c{n}"})
        r, body = await on.call("POST", path, who, status=429, json={"body": "one more"})
        assert body["code"] == "rate_limited"
        assert r.headers["X-RateLimit-Limit"] == str(allowed)

    return check


RATE_LIMITS = Case(
    _rate_limits,
    deployment=({}, _DEFAULT_COMMENTS),
    steps=[
        ({_COMMENTS: {"count": 1, "window_seconds": 60}},
         {_COMMENTS: {"count": 1, "window_seconds": 60}}, 1),
        (None, {}, _DEFAULT_COMMENTS),
    ],
    environment={"rate_limit_multiplier": 1},  # the limits as set, unscaled
)


CASES: dict[str, Case] = {
    "allowed_email_domains": DOMAINS,
    "max_video_bytes": VIDEO_BYTES,
    "max_video_seconds": VIDEO_SECONDS,
    "bereal_lock": BEREAL_LOCK,
    "report_threshold": REPORT_THRESHOLD,
    "staff_mfa_required": STAFF_MFA_REQUIRED,
    "for_you_completion_weight": COMPLETION_WEIGHT,
    "moment_reminder": MOMENT_REMINDER,
    "rate_limits": RATE_LIMITS,
}


def test_every_runtime_setting_has_a_case() -> None:
    assert sorted(CASES) == sorted(CONFIG_KEYS)


@pytest.fixture
def make_cluster(
    aiohttp_client: Any, database_url: str, clean_pg_pool: Any, tmp_path: Path
) -> Callable[..., Awaitable[Cluster]]:
    async def make(**environment: Any) -> Cluster:
        settings = Settings(**{
            "database_url": database_url, "storage": "local", "data_dir": str(tmp_path),
            "secret": "runtime-settings-secret", "rate_limit_multiplier": 1000,
            "max_video_bytes": ENV_BYTES, "allowed_email_domains": ENV_DOMAINS,
            "access_token_ttl_seconds": 7 * 86400,
            "db_pool_min": 1, "db_pool_max": 4, "argon2_time_cost": 1,
            "argon2_memory_kib": 1024, "argon2_parallelism": 1, **environment,
        })
        # Moved by hand from noon of today (so 5 seconds never cross midnight); tokens
        # last a week, since the sockets time their token's end on the system clock.
        noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
        clock, mailer = ManualClock(noon), InMemoryMailer()
        instances = []
        for name in ("A", "B"):  # one after the other: A makes the signing key, B reads it
            backend = Composition(settings, mailer=mailer, clock=clock)
            instances.append(Instance(name, await aiohttp_client(create_app(backend)), backend))
        env = Cluster(*instances, clock=clock)
        env.admin = await env.user(Role.ADMIN)
        return env

    return make


@pytest.mark.parametrize("name", CONFIG_KEYS)
async def test_a_setting_holds_on_every_route_at_once_and_on_every_instance_within_the_ttl(
    name: str,
    make_cluster: Callable[..., Awaitable[Cluster]],
    sample_clips: dict[str, Path],
    clip_factory: Callable[..., Path],
    tmp_path: Path,
) -> None:
    case = CASES[name]  # a KeyError here: a new setting needs its case above
    env = await make_cluster(**case.environment)
    check = await case.prepare(env, Tools(sample_clips, clip_factory, tmp_path))

    published, expected = case.deployment
    assert await env.effective(env.b, name) == published
    await check(env.b, expected)  # B now holds the deployment's value for Config.TTL

    for sent, published, expected in case.steps:
        assert await env.change(name, sent) == published
        assert await env.effective(env.a, name) == published
        await check(env.a, expected)  # at once where the change was made
        env.clock.advance(Config.TTL)
        assert await env.effective(env.b, name) == published
        await check(env.b, expected)  # within the TTL everywhere else
