"""The machinery of the route-by-role matrices (tests/e2e/test_permissions.py, and the
object-access table of tests/security/test_bola.py): the app's routes, a fresh world of
accounts and objects per call, and a valid-looking request for every route.

A World makes its objects on demand, once; a subclass may override how an object is made
(``video``, ``comment``, ...) or who the caller is (``caller``): the path values go
through the methods, so the override is what every request sees."""

from __future__ import annotations

import io
import itertools
import re
import secrets
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import pyotp
from aiohttp import web
from clip_support import unique
from PIL import Image

from adapters.http import keys
from adapters.http.openapi import document
from momentic_core.model.accounts import Role

PASSWORD = "correct horse battery"

STATIC_PREFIX = "/docs/assets"  # served files (Swagger UI), not routes of their own


def app_routes(app: web.Application) -> list[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method == "HEAD" or path is None or path == STATIC_PREFIX:
            continue
        found.add((route.method, path))
    return sorted(found)


def slash_twin(path: str) -> str:
    """The same path with its trailing slash taken off, or with one added."""
    return path.rstrip("/") if path.endswith("/") else path + "/"


def legacy_routes(app: web.Application) -> list[tuple[str, str]]:
    """(method, path) of every route whose handler is one of the old app's
    (adapters/http/legacy/routes.py), as the app's router has them: both spellings."""
    from adapters.http.legacy import routes as routes_legacy

    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        handler = getattr(route.handler, "__module__", None)
        if route.method != "HEAD" and path and handler == routes_legacy.__name__:
            found.add((route.method, path))
    return sorted(found)


def with_slash_twins(rows: dict[Any, Any], legacy: list[tuple[str, str]]) -> dict[Any, Any]:
    """``rows`` keyed by (method, path, ...) with each legacy route's row given to its
    twin spelling as well: a legacy route answers alike with and without the slash."""
    out = dict(rows)
    legacy_set = set(legacy)
    for key, row in rows.items():
        method, path, *rest = key
        twin = (method, slash_twin(path), *rest)
        if (method, path) in legacy_set and (method, twin[1]) in legacy_set:
            out.setdefault(twin, row)
    return out


# ---------------------------------------------------------------- a fresh world per call


@attrs.define
class Account:
    id: int
    email: str
    tokens: dict[str, Any]

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens['access_token']}"}


@attrs.define
class Call:
    path: str
    json: Any = None
    data: Any = None  # bytes or aiohttp.FormData
    headers: dict[str, str] = attrs.Factory(dict)


class World:
    """The accounts and objects of one call, made on demand."""

    counter = itertools.count(1)

    def __init__(self, env: Any, role: str, clips: dict[str, Path]) -> None:
        self.env = env
        self.client = env.client
        self.svc = env.client.app[keys.SERVICES]
        self.role = role
        self.clips = clips
        self.n = next(self.counter)
        self._made: dict[str, Any] = {}

    async def _once(self, key: str, make: Callable[[], Awaitable[Any]]) -> Any:
        if key not in self._made:
            self._made[key] = await make()
        return self._made[key]

    def email(self, name: str) -> str:
        return f"{name}{self.n}-{next(self.counter)}@bsu.by"

    async def account(self, name: str, role: Role = Role.USER) -> Account:
        async def make() -> Account:
            email = self.email(name)
            made = await self.svc.accounts.create_user(email, PASSWORD, role)
            r = await self.client.post("/v1/auth/token", json={
                "grant_type": "password", "email": email, "password": PASSWORD})
            assert r.status == 200, await r.text()
            return Account(made.id, email, dict(await r.json()))
        return await self._once(f"account:{name}", make)  # type: ignore[no-any-return]

    async def owner(self) -> Account:
        return await self.account("owner")

    async def caller(self) -> Account | None:
        if self.role == "guest":
            return None
        if self.role == "owner":
            return await self.owner()
        if self.role == "user":
            return await self.account("user")
        if self.role == "moderator":
            return await self.account("moderator", Role.MODERATOR)
        return await self.account("admin", Role.ADMIN)

    async def post(self, who: Account, path: str, status: int, **kw: Any) -> Any:
        r = await self.client.post(path, headers=who.auth, **kw)
        assert r.status == status, (path, r.status, await r.text())
        return await r.json() if r.content_type.endswith("json") else None

    def form(self) -> aiohttp.FormData:
        form = aiohttp.FormData()
        form.add_field("video_file", io.BytesIO(unique(self.clips["silent"])),
                       filename="c.mp4", content_type="video/mp4")
        form.add_field("visibility", "public")
        return form

    async def video(self) -> int:
        """The owner's public, ready video."""
        async def make() -> int:
            made = await self.post(await self.owner(), "/v1/videos", 201, data=self.form())
            await self.env.run_jobs()
            return int(made["id"])
        return await self._once("video", make)  # type: ignore[no-any-return]

    async def media_path(self) -> str:
        owner, video = await self.owner(), await self.video()
        r = await self.client.get(f"/v1/videos/{video}", headers=owner.auth)
        url = urllib.parse.urlsplit((await r.json())["playback_url"])
        return f"{url.path}?{url.query}"

    async def comment(self) -> int:
        """The owner's comment on their video."""
        async def make() -> int:
            video = await self.video()
            made = await self.post(await self.owner(), f"/v1/videos/{video}/comments", 201,
                                   json={"body": "Hello"})
            return int(made["id"])
        return await self._once("comment", make)  # type: ignore[no-any-return]

    async def case(self) -> int:
        """An open case about the owner (a user reported them)."""
        async def make() -> int:
            reporter, owner = await self.account("reporter"), await self.owner()
            made = await self.post(reporter, "/v1/reports", 201, json={
                "target_type": "user", "target_id": owner.id, "reason": "spam"})
            return int(made["case_id"])
        return await self._once("case", make)  # type: ignore[no-any-return]

    async def decided_case(self) -> int:
        """The case, decided (a warning) by a moderator who is none of the callers."""
        async def make() -> int:
            case_id = await self.case()
            judge = await self.account("judge", Role.MODERATOR)
            await self.post(judge, f"/v1/mod/cases/{case_id}/resolve", 200,
                            json={"action": "warn", "reason": "Be nice"})
            return case_id
        return await self._once("decided", make)  # type: ignore[no-any-return]

    async def appeal(self) -> int:
        """The owner's appeal of the warning."""
        async def make() -> int:
            case_id = await self.decided_case()
            made = await self.post(await self.owner(), "/v1/appeals", 201,
                                   json={"case_id": case_id, "body": "I was nice"})
            return int(made["id"])
        return await self._once("appeal", make)  # type: ignore[no-any-return]

    async def upload(self) -> int:
        """The owner's open one-part upload of the silent clip."""
        async def make() -> int:
            size = len(self.clips["silent"].read_bytes())
            made = await self.post(await self.owner(), "/v1/uploads", 201, json={
                "size_bytes": size, "content_type": "video/mp4"})
            return int(made["id"])
        return await self._once("upload", make)  # type: ignore[no-any-return]

    async def notification(self) -> int:
        """One of the owner's notifications (a friend request to them)."""
        async def make() -> int:
            owner, fan = await self.owner(), await self.account("fan")
            await self.post(fan, "/v1/friend-requests", 201, json={"user_id": owner.id})
            r = await self.client.get("/v1/notifications", headers=owner.auth)
            return int((await r.json())["items"][0]["id"])
        return await self._once("notification", make)  # type: ignore[no-any-return]

    async def device(self) -> int:
        """One of the owner's push devices (an iPhone of theirs)."""
        async def make() -> int:
            owner = await self.owner()
            made = await self.post(owner, "/v1/me/devices", 201, json={
                "platform": "ios", "token": secrets.token_hex(32),
                "apns_environment": "production"})
            return int(made["id"])
        return await self._once("device", make)  # type: ignore[no-any-return]

    async def registered(self) -> tuple[str, str]:
        """A fresh sign-up waiting for its code: (email, the code mailed)."""
        email = self.email("new")
        r = await self.client.post("/v1/auth/register", json={"email": email,
                                                              "password": PASSWORD})
        assert r.status == 202, await r.text()
        return email, self.env.api.mailer.last_code(email)


# ---------------------------------------------------------------- the requests

PathValue = Callable[[World], Awaitable[Any]]


async def _user_id(w: World) -> int:
    return (await w.owner()).id


async def _session_id(w: World) -> int:
    return int((await w.owner()).tokens["session_id"])


async def _constant(value: Any) -> Any:
    return value


async def _slug(w: World) -> str:
    """The share-link slug of the owner's public, ready video."""
    return str(w.svc.share_url(await w.video())).rsplit("/", 1)[1]


# (through the methods, not World.video itself: a subclass's override is what is called)
PATH_VALUES: dict[str, PathValue] = {
    "video_id": lambda w: w.video(),
    "comment_id": lambda w: w.comment(),
    "user_id": _user_id,
    "case_id": lambda w: w.case(),
    "appeal_id": lambda w: w.appeal(),
    "upload_id": lambda w: w.upload(),
    "session_id": _session_id,
    "notification_id": lambda w: w.notification(),
    "device_id": lambda w: w.device(),
    "part": lambda w: _constant(1),
    "provider": lambda w: _constant("apple"),
    "tag": lambda w: _constant("sunset"),
    "name": lambda w: _constant("admin.js"),
    "slug": _slug,
}


def _example(method: str, path: str) -> Any:
    op = document()["paths"].get(path, {}).get(method.lower(), {})
    content = op.get("requestBody", {}).get("content", {})
    return content.get("application/json", {}).get("example")


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    return out.getvalue()


Special = Callable[[World, Account | None, str], Awaitable[Call]]


async def _verify(w: World, me: Account | None, path: str) -> Call:
    email, code = await w.registered()
    return Call(path, json={"email": email, "code": code, "password": PASSWORD})


async def _resend(w: World, me: Account | None, path: str) -> Call:
    email, _ = await w.registered()
    return Call(path, json={"email": email})


async def _register(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"email": w.email("new"), "password": PASSWORD})


async def _login(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"grant_type": "password", "email": (await w.owner()).email,
                            "password": PASSWORD})


async def _legacy_login(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"email": (await w.owner()).email, "password": PASSWORD})


async def _legacy_refresh(w: World, me: Account | None, path: str) -> Call:
    r = await w.client.post("/auth/login/", json={"email": (await w.owner()).email,
                                                  "password": PASSWORD})
    return Call(path, json={"refresh": (await r.json())["refresh"]})


async def _reset(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"email": (await w.owner()).email})


async def _reset_confirm(w: World, me: Account | None, path: str) -> Call:
    email = (await w.owner()).email
    r = await w.client.post("/v1/auth/password-reset", json={"email": email})
    assert r.status == 202
    code = w.env.api.mailer.last_code(email)
    return Call(path, json={"email": email, "code": code, "new_password": "new horse battery"})


async def _password(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"current_password": PASSWORD, "new_password": "new horse battery"})


async def _delete_me(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"password": PASSWORD})


async def _profile(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"bio": "Film student"})


async def _avatar(w: World, me: Account | None, path: str) -> Call:
    return Call(path, data=_jpeg(), headers={"Content-Type": "image/jpeg"})


async def _upload_video(w: World, me: Account | None, path: str) -> Call:
    return Call(path, data=w.form())


async def _media(w: World, me: Account | None, path: str) -> Call:
    return Call(await w.media_path())


async def _part(w: World, me: Account | None, path: str) -> Call:
    upload = await w.upload()
    return Call(f"/v1/uploads/{upload}/parts/1", data=w.clips["silent"].read_bytes(),
                headers={"Content-Type": "application/octet-stream"})


async def _complete(w: World, me: Account | None, path: str) -> Call:
    upload, owner = await w.upload(), await w.owner()
    r = await w.client.put(f"/v1/uploads/{upload}/parts/1", headers={
        **owner.auth, "Content-Type": "application/octet-stream"},
        data=w.clips["silent"].read_bytes())
    assert r.status == 200, await r.text()
    return Call(f"/v1/uploads/{upload}/complete")


async def _me(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"nickname": f"nick{w.n}", "bio": "Film student"})


async def _search(w: World, me: Account | None, path: str) -> Call:
    return Call(f"{path}?q=a")


async def _new_upload(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"size_bytes": len(w.clips["silent"].read_bytes()),
                            "content_type": "video/mp4", "visibility": "public"})


async def _friend_request(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"user_id": (await w.owner()).id})


async def _asked_me(w: World, me: Account | None, path: str) -> Call:
    """Accept or decline: the owner asked the caller (who may be the owner: no request)."""
    owner = await w.owner()
    if me is not None and me.id != owner.id:
        await w.post(owner, "/v1/friend-requests", 201, json={"user_id": me.id})
    return Call(path.replace("{user_id}", str(owner.id)))


async def _i_asked(w: World, me: Account | None, path: str) -> Call:
    """Cancel my request to the owner."""
    owner = await w.owner()
    if me is not None and me.id != owner.id:
        await w.post(me, "/v1/friend-requests", 201, json={"user_id": owner.id})
    return Call(path.replace("{user_id}", str(owner.id)))


async def _friends(w: World, me: Account | None, path: str) -> Call:
    """Unfriend: the caller and the owner are friends."""
    owner = await w.owner()
    if me is not None and me.id != owner.id:
        await w.post(owner, "/v1/friend-requests", 201, json={"user_id": me.id})
        await w.post(me, f"/v1/friend-requests/{owner.id}/accept", 204)
    return Call(path.replace("{user_id}", str(owner.id)))


async def _blocked(w: World, me: Account | None, path: str) -> Call:
    """Unblock: the caller blocked the owner."""
    owner = await w.owner()
    if me is not None and me.id != owner.id:
        r = await w.client.put(f"/v1/blocks/{owner.id}", headers=me.auth)
        assert r.status == 204, await r.text()
    return Call(path.replace("{user_id}", str(owner.id)))


async def _reaction_set(w: World, me: Account | None, path: str) -> Call:
    """Remove a reaction: the caller reacted first."""
    video = await w.video()
    if me is not None:
        r = await w.client.put(f"/v1/videos/{video}/reaction", json={"kind": "heart"},
                               headers=me.auth)
        assert r.status == 200, await r.text()
    return Call(path.replace("{video_id}", str(video)))


async def _report(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"target_type": "video", "target_id": await w.video(),
                            "reason": "spam", "note": "Same clip ten times."})


async def _appeal(w: World, me: Account | None, path: str) -> Call:
    return Call(path, json={"case_id": await w.decided_case(), "body": "I was nice"})


async def _resolve(w: World, me: Account | None, path: str) -> Call:
    return Call(path.replace("{case_id}", str(await w.case())),
                json={"action": "warn", "reason": "Be nice"})


async def _banned(w: World, me: Account | None, path: str) -> Call:
    """Unban: a moderator who is none of the callers banned the owner first."""
    owner, judge = await w.owner(), await w.account("judge", Role.MODERATOR)
    await w.post(judge, f"/v1/mod/users/{owner.id}/ban", 200, json={"reason": "Spam"})
    return Call(path.replace("{user_id}", str(owner.id)))


async def _enrol(w: World, me: Account) -> str:
    """Start two-factor enrolment for ``me``: the secret."""
    return str((await w.post(me, "/v1/me/2fa", 201))["secret"])


async def _two_factor_on(w: World, me: Account) -> list[str]:
    """Turn two-factor authentication on for ``me``: the recovery codes."""
    secret = await _enrol(w, me)
    made = await w.post(me, "/v1/me/2fa/confirm", 200, json={"code": pyotp.TOTP(secret).now()})
    return list(made["recovery_codes"])


async def _mfa_confirm(w: World, me: Account | None, path: str) -> Call:
    code = "123456" if me is None else pyotp.TOTP(await _enrol(w, me)).now()
    return Call(path, json={"code": code})


async def _mfa_disable(w: World, me: Account | None, path: str) -> Call:
    code = "123456" if me is None else (await _two_factor_on(w, me))[0]
    return Call(path, json={"password": PASSWORD, "code": code})


async def _mfa_sign_in(w: World, me: Account | None, path: str) -> Call:
    """The second step of the owner's sign-in (anyone may make it: no token is read)."""
    owner = await w.owner()
    codes = await _two_factor_on(w, owner)
    r = await w.client.post("/v1/auth/token", json={
        "grant_type": "password", "email": owner.email, "password": PASSWORD})
    assert r.status == 403, await r.text()
    return Call(path, json={"mfa_token": (await r.json())["mfa_token"], "code": codes[0]})


async def _email_confirm(w: World, me: Account | None, path: str) -> Call:
    """The code of my email change, mailed to the new address."""
    email = w.email("moved")
    if me is None:
        return Call(path, json={"email": email, "code": "123456"})
    await w.post(me, "/v1/me/email", 202, json={"email": email, "password": PASSWORD})
    return Call(path, json={"email": email, "code": w.env.api.mailer.last_code(email)})


async def _social(w: World, me: Account | None, path: str) -> Call:
    return Call(path.replace("{provider}", "apple"), json={"id_token": "not.a.token"})


SPECIAL: dict[tuple[str, str], Special] = {
    ("POST", "/v1/auth/register"): _register,
    ("POST", "/auth/register/"): _register,
    ("POST", "/v1/auth/verify"): _verify,
    ("POST", "/auth/verify-code/"): _verify,
    ("POST", "/v1/auth/resend-code"): _resend,
    ("POST", "/auth/resend-verify-code/"): _resend,
    ("POST", "/v1/auth/token"): _login,
    ("POST", "/auth/login/"): _legacy_login,
    ("POST", "/auth/refresh/"): _legacy_refresh,
    ("POST", "/v1/auth/social/{provider}"): _social,
    ("POST", "/v1/auth/password-reset"): _reset,
    ("POST", "/v1/auth/password-reset/confirm"): _reset_confirm,
    ("POST", "/v1/me/password"): _password,
    ("DELETE", "/v1/me"): _delete_me,
    ("PATCH", "/user/profile/"): _profile,
    ("PATCH", "/v1/me"): _me,
    ("GET", "/v1/users/search"): _search,
    ("GET", "/v1/search"): _search,
    ("POST", "/v1/uploads"): _new_upload,
    ("PUT", "/v1/me/avatar"): _avatar,
    ("PATCH", "/user/avatar/"): _avatar,
    ("POST", "/v1/videos"): _upload_video,
    ("POST", "/videos"): _upload_video,
    ("GET", "/media/{key}"): _media,
    ("PUT", "/v1/uploads/{upload_id}/parts/{part}"): _part,
    ("POST", "/v1/uploads/{upload_id}/complete"): _complete,
    ("POST", "/v1/friend-requests"): _friend_request,
    ("POST", "/v1/friend-requests/{user_id}/accept"): _asked_me,
    ("POST", "/v1/friend-requests/{user_id}/decline"): _asked_me,
    ("DELETE", "/v1/friend-requests/{user_id}"): _i_asked,
    ("DELETE", "/v1/friends/{user_id}"): _friends,
    ("DELETE", "/v1/blocks/{user_id}"): _blocked,
    ("DELETE", "/v1/videos/{video_id}/reaction"): _reaction_set,
    ("DELETE", "/videos/{video_id}/reactions"): _reaction_set,
    ("DELETE", "/videos/{video_id}/reactions/"): _reaction_set,
    ("POST", "/v1/reports"): _report,
    ("POST", "/v1/appeals"): _appeal,
    ("POST", "/v1/mod/cases/{case_id}/resolve"): _resolve,
    ("POST", "/v1/mod/users/{user_id}/unban"): _banned,
    ("POST", "/v1/me/2fa/confirm"): _mfa_confirm,
    ("DELETE", "/v1/me/2fa"): _mfa_disable,
    ("POST", "/v1/auth/2fa"): _mfa_sign_in,
    ("POST", "/v1/me/email/confirm"): _email_confirm,
}


async def _default(w: World, me: Account | None, method: str, path: str) -> Call:
    async def value(match: re.Match[str]) -> str:
        return str(await PATH_VALUES[match[1]](w))

    filled = path
    for match in re.finditer(r"\{(\w+)\}", path):
        filled = filled.replace(match[0], await value(match))
    return Call(filled, json=_example(method, path))


async def status_of(
    w: World, method: str, path: str, specials: Mapping[tuple[str, str], Special] = SPECIAL
) -> int:
    """The status of one valid-looking call of ``method path`` as ``w.caller()``."""
    status, _ = await answer_of(w, method, path, specials)
    return status


async def answer_of(
    w: World, method: str, path: str, specials: Mapping[tuple[str, str], Special] = SPECIAL
) -> tuple[int, Any]:
    """The status and body (JSON, else None) of one valid-looking call of ``method path``
    as ``w.caller()``."""
    me = await w.caller()
    # a legacy route's twin spelling is called as its path is
    special = specials.get((method, path)) or specials.get((method, slash_twin(path)))
    call = await (special(w, me, path) if special else _default(w, me, method, path))
    headers = {**(me.auth if me else {}), **call.headers}
    kw: dict[str, Any] = {"headers": headers}
    if call.json is not None:
        kw["json"] = call.json
    elif call.data is not None:
        kw["data"] = call.data
    r = await w.client.request(method, call.path, **kw)
    await r.read()
    body = await r.json() if r.content_type.endswith("json") else None
    return int(r.status), body
