"""Object access (BOLA): every route that takes an object id is called, on an object that
is someone else's, as a stranger, a friend, the owner, a moderator and an admin, and
answers exactly the status of the table below.

The routes are enumerated from the app's router (tests/permissions_support.py, the
machinery of tests/e2e/test_permissions.py, which covers guests and plain users of every
route): a route with an ``{..._id}`` in its path and no row here fails
``test_every_id_route_has_rows``, and a row without such a route fails too.

The people: the owner of the object (the video's or comment's author, the user themself,
the holder of the upload, session, push device or notification, the subject of the case
or appeal), a stranger (no relation to the owner), a friend of the owner, a moderator and
an admin. The objects, one row each:

- ``public``: the owner's public video (a comment: the owner's, on it); for ``{user_id}``
  the owner's account; for the rest the owner's upload, session, notification, case, appeal.
- ``friends-only``: the owner's friends-only video (a comment: the owner's, on it).
- ``friend's comment``: the friend's comment on the owner's friends-only video; the
  "owner" column is then the video's author, the "friend" column the comment's author.
- ``blocked``: as ``public``, but the owner has blocked the caller first (a friend so
  blocked is a friend no more). Staff are not hidden from by a block.

Bodies are the OpenAPI examples; a call never sets up a relation of the caller's own (no
"I asked them first"): only the object's owner and the world above exist. The BeReal lock
is off here (it is tests/e2e's): this table is about whose object it is, not about today.
Every call runs in a fresh world, so one cell's delete or ban never changes the next."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from clip_support import unique
from permissions_support import (
    SPECIAL,
    Account,
    World,
    app_routes,
    legacy_routes,
    status_of,
    with_slash_twins,
)

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from adapters.memory.mail import InMemoryMailer
from momentic_core.model.accounts import Role

CALLERS = ("stranger", "friend", "owner", "moderator", "admin")
FAST_HASH: dict[str, Any] = {
    "argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
# the objects (rows) of a route, as the module docstring says
PUB, FO, FC, BLK, BAN = "public", "friends-only", "friend's comment", "blocked", "author banned"

# ---------------------------------------------------------------- the table
# fmt: off
EXPECTED: dict[tuple[str, str, str], tuple[int, ...]] = {
    # method, path, object                                           str  frd  own  mod  adm
    # videos ({video_id}: the owner's video; staff see what a block or friends-only hides;
    # staff remove others' videos and comments through a case, never by DELETE:
    # moderation_required)
    ("DELETE", "/v1/videos/{video_id}", PUB):                       (403, 403, 204, 403, 403),
    ("DELETE", "/v1/videos/{video_id}", FO):                        (404, 403, 204, 403, 403),
    ("DELETE", "/v1/videos/{video_id}", BLK):                       (404, 404, 204, 403, 403),
    ("DELETE", "/v1/videos/{video_id}", BAN):                       (404, 404, 401, 403, 403),
    ("GET", "/v1/videos/{video_id}", PUB):                          (200, 200, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}", FO):                           (404, 200, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}", BLK):                          (404, 404, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}", BAN):                          (404, 404, 401, 200, 200),
    ("PATCH", "/v1/videos/{video_id}", PUB):                        (403, 403, 200, 403, 403),
    ("PATCH", "/v1/videos/{video_id}", FO):                         (404, 403, 200, 403, 403),
    ("PATCH", "/v1/videos/{video_id}", BLK):                        (404, 404, 200, 403, 403),
    ("PATCH", "/v1/videos/{video_id}", BAN):                        (404, 404, 401, 403, 403),
    ("GET", "/v1/videos/{video_id}/comments", PUB):                 (200, 200, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}/comments", FO):                  (404, 200, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}/comments", BLK):                 (404, 404, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}/comments", BAN):                 (404, 404, 401, 200, 200),
    ("POST", "/v1/videos/{video_id}/comments", PUB):                (201, 201, 201, 201, 201),
    ("POST", "/v1/videos/{video_id}/comments", FO):                 (404, 201, 201, 201, 201),
    ("POST", "/v1/videos/{video_id}/comments", BLK):                (404, 404, 201, 201, 201),
    ("POST", "/v1/videos/{video_id}/comments", BAN):                (404, 404, 401, 201, 201),
    ("DELETE", "/v1/videos/{video_id}/reaction", PUB):              (200, 200, 200, 200, 200),
    ("DELETE", "/v1/videos/{video_id}/reaction", FO):               (404, 200, 200, 200, 200),
    ("DELETE", "/v1/videos/{video_id}/reaction", BLK):              (404, 404, 200, 200, 200),
    ("DELETE", "/v1/videos/{video_id}/reaction", BAN):              (404, 404, 401, 200, 200),
    ("PUT", "/v1/videos/{video_id}/reaction", PUB):                 (200, 200, 200, 200, 200),
    ("PUT", "/v1/videos/{video_id}/reaction", FO):                  (404, 200, 200, 200, 200),
    ("PUT", "/v1/videos/{video_id}/reaction", BLK):                 (404, 404, 200, 200, 200),
    ("PUT", "/v1/videos/{video_id}/reaction", BAN):                 (404, 404, 401, 200, 200),
    ("GET", "/v1/videos/{video_id}/reactions", PUB):                (200, 200, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}/reactions", FO):                 (404, 200, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}/reactions", BLK):                (404, 404, 200, 200, 200),
    ("GET", "/v1/videos/{video_id}/reactions", BAN):                (404, 404, 401, 200, 200),
    # (a view is counted for whoever may watch the video: services.visibility's rule, so
    # staff too; BAN was 204 for stranger and friend once: an oracle for hidden videos)
    ("POST", "/v1/videos/{video_id}/view", PUB):                    (200, 200, 200, 200, 200),
    ("POST", "/v1/videos/{video_id}/view", FO):                     (404, 200, 200, 200, 200),
    ("POST", "/v1/videos/{video_id}/view", BLK):                    (404, 404, 200, 200, 200),
    ("POST", "/v1/videos/{video_id}/view", BAN):                    (404, 404, 401, 200, 200),
    ("DELETE", "/videos/{video_id}", PUB):                          (403, 403, 204, 403, 403),
    ("DELETE", "/videos/{video_id}", FO):                           (404, 403, 204, 403, 403),
    ("DELETE", "/videos/{video_id}", BLK):                          (404, 404, 204, 403, 403),
    ("DELETE", "/videos/{video_id}", BAN):                          (404, 404, 401, 403, 403),
    ("PATCH", "/videos/{video_id}", PUB):                           (403, 403, 204, 403, 403),
    ("PATCH", "/videos/{video_id}", FO):                            (404, 403, 204, 403, 403),
    ("PATCH", "/videos/{video_id}", BLK):                           (404, 404, 204, 403, 403),
    ("PATCH", "/videos/{video_id}", BAN):                           (404, 404, 401, 403, 403),
    ("GET", "/videos/{video_id}/comments", PUB):                    (200, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/comments", FO):                     (404, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/comments", BLK):                    (404, 404, 200, 200, 200),
    ("GET", "/videos/{video_id}/comments", BAN):                    (404, 404, 401, 200, 200),
    ("POST", "/videos/{video_id}/comments", PUB):                   (201, 201, 201, 201, 201),
    ("POST", "/videos/{video_id}/comments", FO):                    (404, 201, 201, 201, 201),
    ("POST", "/videos/{video_id}/comments", BLK):                   (404, 404, 201, 201, 201),
    ("POST", "/videos/{video_id}/comments", BAN):                   (404, 404, 401, 201, 201),
    ("GET", "/videos/{video_id}/comments/", PUB):                   (200, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/comments/", FO):                    (404, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/comments/", BLK):                   (404, 404, 200, 200, 200),
    ("GET", "/videos/{video_id}/comments/", BAN):                   (404, 404, 401, 200, 200),
    ("POST", "/videos/{video_id}/comments/", PUB):                  (201, 201, 201, 201, 201),
    ("POST", "/videos/{video_id}/comments/", FO):                   (404, 201, 201, 201, 201),
    ("POST", "/videos/{video_id}/comments/", BLK):                  (404, 404, 201, 201, 201),
    ("POST", "/videos/{video_id}/comments/", BAN):                  (404, 404, 401, 201, 201),
    ("DELETE", "/videos/{video_id}/reactions", PUB):                (204, 204, 204, 204, 204),
    ("DELETE", "/videos/{video_id}/reactions", FO):                 (404, 204, 204, 204, 204),
    ("DELETE", "/videos/{video_id}/reactions", BLK):                (404, 404, 204, 204, 204),
    ("DELETE", "/videos/{video_id}/reactions", BAN):                (404, 404, 401, 204, 204),
    ("GET", "/videos/{video_id}/reactions", PUB):                   (200, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/reactions", FO):                    (404, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/reactions", BLK):                   (404, 404, 200, 200, 200),
    ("GET", "/videos/{video_id}/reactions", BAN):                   (404, 404, 401, 200, 200),
    ("POST", "/videos/{video_id}/reactions", PUB):                  (200, 200, 200, 200, 200),
    ("POST", "/videos/{video_id}/reactions", FO):                   (404, 200, 200, 200, 200),
    ("POST", "/videos/{video_id}/reactions", BLK):                  (404, 404, 200, 200, 200),
    ("POST", "/videos/{video_id}/reactions", BAN):                  (404, 404, 401, 200, 200),
    ("DELETE", "/videos/{video_id}/reactions/", PUB):               (204, 204, 204, 204, 204),
    ("DELETE", "/videos/{video_id}/reactions/", FO):                (404, 204, 204, 204, 204),
    ("DELETE", "/videos/{video_id}/reactions/", BLK):               (404, 404, 204, 204, 204),
    ("DELETE", "/videos/{video_id}/reactions/", BAN):               (404, 404, 401, 204, 204),
    ("GET", "/videos/{video_id}/reactions/", PUB):                  (200, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/reactions/", FO):                   (404, 200, 200, 200, 200),
    ("GET", "/videos/{video_id}/reactions/", BLK):                  (404, 404, 200, 200, 200),
    ("GET", "/videos/{video_id}/reactions/", BAN):                  (404, 404, 401, 200, 200),
    ("POST", "/videos/{video_id}/reactions/", PUB):                 (200, 200, 200, 200, 200),
    ("POST", "/videos/{video_id}/reactions/", FO):                  (404, 200, 200, 200, 200),
    ("POST", "/videos/{video_id}/reactions/", BLK):                 (404, 404, 200, 200, 200),
    ("POST", "/videos/{video_id}/reactions/", BAN):                 (404, 404, 401, 200, 200),
    # comments ({comment_id}: the owner's comment on their video, or the friend's on it)
    ("DELETE", "/v1/comments/{comment_id}", PUB):                   (403, 403, 204, 403, 403),
    ("DELETE", "/v1/comments/{comment_id}", FO):                    (404, 403, 204, 403, 403),
    ("DELETE", "/v1/comments/{comment_id}", FC):                    (404, 204, 204, 403, 403),
    ("DELETE", "/v1/comments/{comment_id}", BLK):                   (404, 404, 204, 403, 403),
    ("GET", "/v1/comments/{comment_id}", PUB):                      (200, 200, 200, 200, 200),
    ("GET", "/v1/comments/{comment_id}", FO):                       (404, 200, 200, 200, 200),
    ("GET", "/v1/comments/{comment_id}", FC):                       (404, 200, 200, 200, 200),
    ("GET", "/v1/comments/{comment_id}", BLK):                      (404, 404, 200, 200, 200),
    ("PATCH", "/v1/comments/{comment_id}", PUB):                    (403, 403, 200, 403, 403),
    ("PATCH", "/v1/comments/{comment_id}", FO):                     (404, 403, 200, 403, 403),
    ("PATCH", "/v1/comments/{comment_id}", FC):                     (404, 200, 403, 403, 403),
    ("PATCH", "/v1/comments/{comment_id}", BLK):                    (404, 404, 200, 403, 403),
    ("DELETE", "/v1/comments/{comment_id}/like", PUB):              (200, 200, 200, 200, 200),
    ("DELETE", "/v1/comments/{comment_id}/like", FO):               (404, 200, 200, 200, 200),
    ("DELETE", "/v1/comments/{comment_id}/like", FC):               (404, 200, 200, 200, 200),
    ("DELETE", "/v1/comments/{comment_id}/like", BLK):              (404, 404, 200, 200, 200),
    ("PUT", "/v1/comments/{comment_id}/like", PUB):                 (200, 200, 200, 200, 200),
    ("PUT", "/v1/comments/{comment_id}/like", FO):                  (404, 200, 200, 200, 200),
    ("PUT", "/v1/comments/{comment_id}/like", FC):                  (404, 200, 200, 200, 200),
    ("PUT", "/v1/comments/{comment_id}/like", BLK):                 (404, 404, 200, 200, 200),
    ("GET", "/v1/comments/{comment_id}/replies", PUB):              (200, 200, 200, 200, 200),
    ("GET", "/v1/comments/{comment_id}/replies", FO):               (404, 200, 200, 200, 200),
    ("GET", "/v1/comments/{comment_id}/replies", FC):               (404, 200, 200, 200, 200),
    ("GET", "/v1/comments/{comment_id}/replies", BLK):              (404, 404, 200, 200, 200),
    # users, friends and blocks ({user_id}: the owner; nobody has a pending request)
    ("GET", "/users/{user_id}/friends/videos", PUB):                (403, 403, 200, 403, 403),
    ("GET", "/users/{user_id}/friends/videos", BLK):                (403, 403, 200, 403, 403),
    ("DELETE", "/v1/blocks/{user_id}", PUB):                        (404, 404, 404, 404, 404),
    ("DELETE", "/v1/blocks/{user_id}", BLK):                        (404, 404, 404, 404, 404),
    ("PUT", "/v1/blocks/{user_id}", PUB):                           (204, 204, 422, 204, 204),
    ("PUT", "/v1/blocks/{user_id}", BLK):                           (204, 204, 422, 204, 204),
    # (a mute is mine alone: whoever the owner blocked, muting or unmuting them is mine)
    ("POST", "/v1/users/{user_id}/mute", PUB):                      (204, 204, 422, 204, 204),
    ("POST", "/v1/users/{user_id}/mute", BLK):                      (204, 204, 422, 204, 204),
    ("DELETE", "/v1/users/{user_id}/mute", PUB):                    (204, 204, 204, 204, 204),
    ("DELETE", "/v1/users/{user_id}/mute", BLK):                    (204, 204, 204, 204, 204),
    ("DELETE", "/v1/friend-requests/{user_id}", PUB):               (404, 404, 404, 404, 404),
    ("DELETE", "/v1/friend-requests/{user_id}", BLK):               (404, 404, 404, 404, 404),
    ("POST", "/v1/friend-requests/{user_id}/accept", PUB):          (404, 404, 404, 404, 404),
    ("POST", "/v1/friend-requests/{user_id}/accept", BLK):          (404, 404, 404, 404, 404),
    ("POST", "/v1/friend-requests/{user_id}/decline", PUB):         (404, 404, 404, 404, 404),
    ("POST", "/v1/friend-requests/{user_id}/decline", BLK):         (404, 404, 404, 404, 404),
    ("DELETE", "/v1/friends/{user_id}", PUB):                       (404, 204, 404, 404, 404),
    ("DELETE", "/v1/friends/{user_id}", BLK):                       (404, 404, 404, 404, 404),
    ("GET", "/v1/users/{user_id}", PUB):                            (200, 200, 200, 200, 200),
    # (a profile hides from staff the owner blocked, though their videos and stats do not)
    ("GET", "/v1/users/{user_id}", BLK):                            (404, 404, 200, 404, 404),
    ("GET", "/v1/users/{user_id}/stats", PUB):                      (200, 200, 200, 200, 200),
    ("GET", "/v1/users/{user_id}/stats", BLK):                      (404, 404, 200, 200, 200),
    ("GET", "/v1/users/{user_id}/videos", PUB):                     (200, 200, 200, 200, 200),
    ("GET", "/v1/users/{user_id}/videos", BLK):                     (404, 404, 200, 200, 200),
    # the owner's own things: nobody else's, staff included (404, not 403: no oracle)
    ("DELETE", "/v1/me/sessions/{session_id}", PUB):                (404, 404, 204, 404, 404),
    ("DELETE", "/v1/me/devices/{device_id}", PUB):                  (404, 404, 204, 404, 404),
    ("POST", "/v1/notifications/{notification_id}/read", PUB):      (404, 404, 204, 404, 404),
    ("GET", "/v1/uploads/{upload_id}", PUB):                        (404, 404, 200, 404, 404),
    ("POST", "/v1/uploads/{upload_id}/complete", PUB):              (404, 404, 200, 404, 404),
    ("PUT", "/v1/uploads/{upload_id}/parts/{part}", PUB):           (404, 404, 200, 404, 404),
    # moderation ({case_id}: a report about the owner; {appeal_id}: the owner's appeal;
    # {user_id}: the owner, who cannot moderate themself; a banned owner's token is refused)
    ("PUT", "/v1/admin/users/{user_id}/role", PUB):                 (403, 403, 403, 403, 200),
    ("POST", "/v1/mod/appeals/{appeal_id}/decide", PUB):            (403, 403, 403, 200, 200),
    ("GET", "/v1/mod/cases/{case_id}", PUB):                        (403, 403, 403, 200, 200),
    ("POST", "/v1/mod/cases/{case_id}/assign", PUB):                (403, 403, 403, 200, 200),
    ("POST", "/v1/mod/cases/{case_id}/resolve", PUB):               (403, 403, 403, 200, 200),
    ("POST", "/v1/mod/users/{user_id}/ban", PUB):                   (403, 403, 403, 200, 200),
    ("POST", "/v1/mod/users/{user_id}/suspend", PUB):               (403, 403, 403, 200, 200),
    ("POST", "/v1/mod/users/{user_id}/unban", PUB):                 (403, 403, 401, 200, 200),
}
# fmt: on

ID_PARAM = re.compile(r"\{\w+_id\}")
_APP = create_app(Composition(Settings(memory=True)))
ID_ROUTES = [route for route in app_routes(_APP) if ID_PARAM.search(route[1])]
# A legacy route's rows hold for it with and without the trailing slash.
EXPECTED = with_slash_twins(EXPECTED, legacy_routes(_APP))
# Requests whose setup concerns the object, not the caller (a part to send, the ban an
# unban lifts, a resolution's body); the others use the default: real ids and examples.
SPECIALS = {key: SPECIAL[key] for key in [
    ("PUT", "/v1/uploads/{upload_id}/parts/{part}"),
    ("POST", "/v1/uploads/{upload_id}/complete"),
    ("POST", "/v1/mod/cases/{case_id}/resolve"),
    ("POST", "/v1/mod/users/{user_id}/unban"),
]}


def objects_of(path: str) -> tuple[str, ...]:
    """The rows a route gets: by the object its path names."""
    if "{comment_id}" in path:
        return (PUB, FO, FC, BLK)
    if "{video_id}" in path:
        return (PUB, FO, BLK, BAN)
    if "{user_id}" in path and "/mod/" not in path and "/admin/" not in path:
        return (PUB, BLK)
    return (PUB,)


ROWS = [(m, p, obj) for m, p in ID_ROUTES for obj in objects_of(p)]


def test_every_id_route_has_rows() -> None:
    assert ID_ROUTES, "no route with an object id found: is the router enumerated?"
    assert set(ROWS) - set(EXPECTED) == set(), "id routes and objects without a row"
    assert set(EXPECTED) - set(ROWS) == set(), "rows with no such id route or object"
    for row in EXPECTED.values():
        assert len(row) == len(CALLERS)


# ---------------------------------------------------------------- the world


class BolaWorld(World):
    """A World with a friend of the owner, friends-only videos and blocks."""

    def __init__(self, env: Any, role: str, clips: dict[str, Path], obj: str) -> None:
        super().__init__(env, role, clips)
        self.obj = obj

    async def friend(self) -> Account:
        async def make() -> Account:
            owner, friend = await self.owner(), await self.account("friend")
            await self.post(owner, "/v1/friend-requests", 201, json={"user_id": friend.id})
            await self.post(friend, f"/v1/friend-requests/{owner.id}/accept", 204)
            return friend
        return await self._once("friend", make)

    async def caller(self) -> Account | None:
        me: Account | None
        if self.role == "stranger":
            me = await self.account("stranger")
        elif self.role == "friend":
            me = await self.friend()
        else:
            me = await super().caller()
        owner = await self.owner()
        if self.obj == BLK and me is not None and me.id != owner.id:
            r = await self.client.put(f"/v1/blocks/{me.id}", headers=owner.auth)
            assert r.status == 204, await r.text()
        return me

    async def video(self) -> int:
        """The owner's ready video: public, or friends-only for those rows."""
        async def make() -> int:
            form = aiohttp.FormData()
            form.add_field("video_file", io.BytesIO(unique(self.clips["silent"])),
                           filename="c.mp4", content_type="video/mp4")
            form.add_field("visibility",
                           "friends" if self.obj in (FO, FC) else "public")
            owner = await self.owner()
            made = await self.post(owner, "/v1/videos", 201, data=form)
            await self.env.run_jobs()
            if self.obj == BAN:
                judge = await self.account("judge", Role.MODERATOR)
                await self.post(judge, f"/v1/mod/users/{owner.id}/ban", 200,
                                json={"reason": "Spam"})
            return int(made["id"])
        return await self._once("video", make)

    async def comment(self) -> int:
        if self.obj != FC:
            return await super().comment()

        async def make() -> int:
            video, friend = await self.video(), await self.friend()
            made = await self.post(friend, f"/v1/videos/{video}/comments", 201,
                                   json={"body": "Nice"})
            return int(made["id"])
        return await self._once("comment", make)


class Env:
    """What a World needs of its app: the client, the mailer, the job runner."""

    def __init__(self, client: Any, backend: Composition, mailer: InMemoryMailer) -> None:
        self.client = client
        self.backend = backend
        self.api = self  # (World reads the mailer as env.api.mailer)
        self.mailer = mailer

    async def run_jobs(self) -> None:
        worker = await self.backend.worker()
        while await worker.run_once() is not None:
            pass


@pytest.fixture
async def env(aiohttp_client: Any) -> Env:
    mailer = InMemoryMailer()
    backend = Composition(Settings(memory=True, max_video_bytes=2_000_000, bereal_lock=False,
                               rate_limit_multiplier=1000, **FAST_HASH), mailer=mailer)
    client = await aiohttp_client(create_app(backend, HttpOptions(max_body_bytes=64 * 1024)))
    return Env(client, backend, mailer)


# ---------------------------------------------------------------- the calls

@pytest.mark.parametrize("row", ROWS, ids=lambda r: f"{r[0]} {r[1]} [{r[2]}]")
async def test_each_caller_gets_exactly_its_status(
    row: tuple[str, str, str], env: Env, sample_clips: dict[str, Path]
) -> None:
    assert row in EXPECTED, f"{row} has no row in EXPECTED: decide who may touch it"
    method, path, obj = row
    got = tuple([
        await status_of(BolaWorld(env, role, sample_clips, obj), method, path, SPECIALS)
        for role in CALLERS
    ])
    assert got == EXPECTED[row], dict(zip(CALLERS, got, strict=True))
