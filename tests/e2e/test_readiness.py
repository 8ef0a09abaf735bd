"""/readyz: the database, the media storage and (when the rate limits are kept there)
Redis answer, and it turns 503 as soon as the server starts shutting down (issue 18
item 5)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest

from adapters.config import Settings
from adapters.container import Composition, _ready
from adapters.http.app import create_app
from momentic_core.errors import Unavailable
from tests.signup_support import FAST_HASH


async def test_readyz_turns_503_once_shutdown_starts(client: Any) -> None:
    r = await client.get("/readyz")
    assert r.status == 200
    await client.app.shutdown()  # what SIGTERM runs first, while requests still finish
    r = await client.get("/readyz")
    assert r.status == 503
    body = await r.json()
    assert body["code"] == "not_ready" and body["detail"] == "The server is shutting down."
    assert (await client.get("/healthz")).status == 200  # alive while it drains


class _Storage:
    def __init__(self, down: bool) -> None:
        self.down = down

    async def ready(self) -> None:
        if self.down:
            raise Unavailable("The database does not answer.")


class _Bucket:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error
        self.checked = 0

    async def check_bucket(self) -> None:
        self.checked += 1
        if self.error is not None:
            raise self.error


async def test_ready_checks_the_bucket_after_the_database() -> None:
    bucket = _Bucket(None)
    await _ready(_Storage(down=False), bucket)  # type: ignore[arg-type]
    assert bucket.checked == 1

    gone = _Bucket(Unavailable("The S3 bucket 'media' does not exist."))
    with pytest.raises(Unavailable, match="bucket 'media' does not exist"):
        await _ready(_Storage(down=False), gone)  # type: ignore[arg-type]

    with pytest.raises(Unavailable, match="database"):
        await _ready(_Storage(down=True), gone)  # type: ignore[arg-type]
    assert gone.checked == 1  # the database first


async def test_a_store_with_nothing_to_reach_is_ready() -> None:
    await _ready(_Storage(down=False), object())  # type: ignore[arg-type]


async def test_readyz_names_what_is_not_ready(client: Any, monkeypatch: pytest.MonkeyPatch
                                               ) -> None:
    from adapters.http import keys

    blobs = client.app[keys.SERVICES].blobs

    async def bucket_gone() -> None:
        raise Unavailable("The S3 bucket 'media' does not exist.")

    # The memory store has nothing to reach; give it a bucket that is gone.
    monkeypatch.setattr(blobs, "check_bucket", bucket_gone, raising=False)
    r = await client.get("/readyz")
    assert r.status == 503
    assert (await r.json())["detail"] == "The S3 bucket 'media' does not exist."


class _Limiter:
    def __init__(self, down: bool) -> None:
        self.down = down
        self.checked = 0

    async def ready(self) -> None:
        self.checked += 1
        if self.down:
            raise Unavailable("The rate-limit store (Redis) does not answer.")


async def test_ready_checks_redis_after_the_database_and_the_bucket() -> None:
    up = _Limiter(down=False)
    await _ready(_Storage(down=False), _Bucket(None), up)  # type: ignore[arg-type]
    assert up.checked == 1

    down = _Limiter(down=True)
    with pytest.raises(Unavailable, match=r"rate-limit store \(Redis\)"):
        await _ready(_Storage(down=False), _Bucket(None), down)  # type: ignore[arg-type]
    with pytest.raises(Unavailable, match="bucket"):
        await _ready(_Storage(down=False), _Bucket(Unavailable("bucket gone")),  # type: ignore[arg-type]
                     down)
    assert down.checked == 1  # the storage first
    # Limits kept in PostgreSQL or in memory: the storage's check covers them.
    await _ready(_Storage(down=False), object(), object())  # type: ignore[arg-type]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _redis_client(aiohttp_client: Any, tmp_path: Path, url: str) -> Any:
    settings = Settings(memory=True, redis_url=url, data_dir=str(tmp_path),
                        db_timeout_seconds=1.0, **FAST_HASH)
    return await aiohttp_client(create_app(Composition(settings)))


async def test_readyz_is_200_while_the_configured_redis_answers(
    aiohttp_client: Any, tmp_path: Path, redis_url: str,
) -> None:
    client = await _redis_client(aiohttp_client, tmp_path, redis_url)
    r = await client.get("/readyz")
    assert r.status == 200, await r.text()


async def test_readyz_is_503_while_the_configured_redis_does_not_answer(
    aiohttp_client: Any, tmp_path: Path,
) -> None:
    client = await _redis_client(aiohttp_client, tmp_path,
                                 f"redis://127.0.0.1:{_closed_port()}/0")
    r = await client.get("/readyz")
    assert r.status == 503
    body = await r.json()
    assert body["code"] == "not_ready"
    assert body["detail"] == "The rate-limit store (Redis) does not answer."
    assert (await client.get("/healthz")).status == 200  # alive: only not ready
