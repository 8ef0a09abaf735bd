"""/readyz: the database and the media storage answer, and it turns 503 as soon as the
server starts shutting down (issue 18 item 5)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.container import _ready
from momentic_core.errors import Unavailable


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
