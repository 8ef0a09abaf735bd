"""A resumable upload's parts, refused and accepted, on the in-memory backend and on
PostgreSQL with the local blob store (where the upload's row and its parts live):
``GET /v1/uploads/{id}`` reports as received only a part that was accepted; a refused
part (422 of the wrong size, 413 too large) is not kept, and does not replace one that
was accepted before."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from signup_support import new_user_auth

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.memory.mail import InMemoryMailer

SIZE = 5000
MP4 = b"\0\0\0\x18ftypmp42" + bytes(SIZE - 12)


@pytest.fixture(params=["memory", "postgres"])
async def client(request: pytest.FixtureRequest, aiohttp_client: Any, tmp_path: Path) -> Any:
    common: dict[str, Any] = {
        "secret": "upload-secret", "rate_limit_multiplier": 1000, "argon2_time_cost": 1,
        "argon2_memory_kib": 1024, "argon2_parallelism": 1, "max_video_bytes": 2_000_000,
    }
    if request.param == "memory":
        settings = Settings(memory=True, **common)
    else:
        settings = Settings(database_url=request.getfixturevalue("database_url"),
                            storage="local", data_dir=str(tmp_path), db_pool_min=1,
                            db_pool_max=4, **common)
    return await aiohttp_client(create_app(Composition(settings, mailer=InMemoryMailer())))


async def _chunked(data: bytes) -> AsyncIterator[bytes]:
    """A body without Content-Length: the server learns its size only as it reads."""
    for i in range(0, len(data), 1000):
        yield data[i:i + 1000]


async def test_a_refused_part_is_not_received(client: Any) -> None:
    auth = await new_user_auth(client)
    r = await client.post("/v1/uploads", headers=auth, json={
        "size_bytes": SIZE, "content_type": "video/mp4", "visibility": "public"})
    assert r.status == 201, await r.text()
    upload = await r.json()
    part = f"/v1/uploads/{upload['id']}/parts/1"

    async def received() -> list[bool]:
        r = await client.get(f"/v1/uploads/{upload['id']}", headers=auth)
        assert r.status == 200, await r.text()
        return [p["received"] for p in (await r.json())["parts"]]

    assert await received() == [False]
    r = await client.put(part, headers=auth, data=MP4[:-1])  # one byte short
    assert (r.status, (await r.json())["code"]) == (422, "invalid_part_size")
    assert await received() == [False]
    r = await client.put(part, headers=auth, data=_chunked(MP4 + b"x"))  # one byte over
    assert (r.status, (await r.json())["code"]) == (413, "part_too_large")
    assert await received() == [False]

    r = await client.put(part, headers=auth, data=MP4)
    assert r.status == 200, await r.text()
    assert await received() == [True]
    # a refused retry of an accepted part leaves the accepted one in place
    r = await client.put(part, headers=auth, data=_chunked(MP4[:100]))
    assert (r.status, (await r.json())["code"]) == (422, "invalid_part_size")
    r = await client.put(part, headers=auth, data=_chunked(MP4 * 2))
    assert (r.status, (await r.json())["code"]) == (413, "part_too_large")
    assert await received() == [True]
    r = await client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    assert r.status == 200, await r.text()
    assert (await r.json())["id"] > 0
