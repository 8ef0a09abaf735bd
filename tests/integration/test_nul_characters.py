"""NUL characters (U+0000) on real PostgreSQL, whose text and jsonb cannot hold them: every
way text comes in (a JSON body's fields, a query parameter, a path, a form field, a
cursor) answers 422 before anything reaches the database, never a 500.

A body, query, path or form field is refused with ``nul_character`` (naming the field); a
cursor, which only the server writes, is ``invalid_cursor`` like any other forged one.
"""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from signup_support import PASSWORD, new_user_auth

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.memory.mail import InMemoryMailer

NUL = "a\u0000b"


def _cursor(*values: Any) -> str:
    raw = json.dumps(list(values)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.fixture
async def pg(aiohttp_client: Any, database_url: str, clean_pg_pool: Any, tmp_path: Path) -> Any:
    settings = Settings(
        database_url=database_url, storage="local", data_dir=str(tmp_path),
        secret="nul-secret", rate_limit_multiplier=1000, db_pool_min=1, db_pool_max=4,
        argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1,
    )
    return await aiohttp_client(create_app(Composition(settings, mailer=InMemoryMailer())))


def _form() -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("video_file", io.BytesIO(b"\0\0\0\x18ftypmp42" + bytes(500)),
                   filename="c.mp4", content_type="video/mp4")
    form.add_field("description", NUL)
    return form


async def test_nul_characters_are_422_on_every_way_in(pg: Any) -> None:
    auth = await new_user_auth(pg)
    bodies: list[tuple[str, str, Any, str]] = [
        ("POST", "/v1/friend-requests", {"nickname": NUL}, "nickname"),
        ("POST", "/v1/auth/register", {"email": f"{NUL}@bsu.by", "password": PASSWORD}, "email"),
        ("POST", "/v1/auth/token", {"grant_type": "password", "email": "x@bsu.by",
                                    "password": f"{PASSWORD}{NUL}"}, "password"),
        ("POST", "/v1/auth/token", {"grant_type": "refresh_token", "refresh_token": NUL},
         "refresh_token"),
        ("POST", "/v1/auth/password-reset", {"email": NUL}, "email"),
        ("PATCH", "/v1/me", {"nickname": NUL}, "nickname"),
        ("POST", "/v1/reports", {"target_type": "video", "target_id": 1, "reason": "spam",
                                 "note": NUL}, "note"),
        ("POST", "/auth/login/", {"email": NUL, "password": PASSWORD}, "email"),
    ]
    for method, path, body, field in bodies:
        r = await pg.request(method, path, json=body, headers=auth)
        problem = await r.json()
        assert (r.status, problem["code"]) == (422, "nul_character"), (path, problem)
        assert problem["field"] == field, (path, problem)
    queries = [
        ("/v1/users/search?q=a%00b", "q"),
        ("/v1/ranking?scope=global&period=%00", "period"),
        ("/v1/feed/friends?day=2026-12-07%00", "day"),
    ]
    for path, field in queries:
        r = await pg.get(path, headers=auth)
        problem = await r.json()
        assert (r.status, problem["code"], problem["field"]) == (422, "nul_character", field), (
            path, problem)
    r = await pg.post("/v1/auth/social/app%00le", json={"id_token": "x"}, headers=auth)
    assert (r.status, (await r.json())["code"]) == (422, "nul_character")
    r = await pg.post("/v1/videos", data=_form(), headers=auth)
    problem = await r.json()
    assert (r.status, problem["code"], problem["field"]) == (422, "nul_character",
                                                            "description"), problem
    for path in (
        f"/v1/users/search?q=a&cursor={_cursor('nick', NUL)}",
        f"/v1/friends?cursor={_cursor('older', NUL, 1)}",
        f"/v1/users/search?q=a&cursor={_cursor('nick', 'a' + chr(0xD800))}",
    ):
        r = await pg.get(path, headers=auth)
        problem = await r.json()
        assert (r.status, problem["code"]) == (422, "invalid_cursor"), (path, problem)
    # a key or value the body's class does not take is ignored, as any unknown field
    r = await pg.patch("/v1/me", json={"bio": "hi", NUL: 1, "extra": {"x": NUL}}, headers=auth)
    assert r.status == 200, await r.text()
    # and the same routes still answer ordinary text
    r = await pg.get(f"/v1/users/search?q=a&cursor={_cursor('nick', 'ab')}", headers=auth)
    assert r.status == 200, await r.text()
    r = await pg.post("/v1/friend-requests", json={"nickname": "nobody-here"}, headers=auth)
    assert r.status == 404, await r.text()
