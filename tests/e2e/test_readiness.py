"""/readyz: the database, the media storage and (when the rate limits are kept there)
Redis answer, and it turns 503 as soon as the server starts shutting down (issue 18
item 5)."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import attrs
import orjson
import pytest
from aiohttp.test_utils import make_mocked_request

from adapters import container
from adapters.config import Settings
from adapters.container import Composition, _ready
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions, ReplicaState
from adapters.http.system.routes import readyz
from momentic_core.errors import Unavailable
from tests.signup_support import FAST_HASH, PeerTransport


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


# /readyz is public: the replicas' names (host:port/database) go only to an operator, the
# caller /metrics answers (adapters/http/metrics.py is_operator); anyone else gets each
# replica's index, state and lag.
_STATES = [ReplicaState("replica-7.internal:5432/momentic", True, 0.25),
           ReplicaState("10.0.0.8:5433/momentic_ro", False, 0.0)]
_NAMED = [
    {"index": 1, "name": "replica-7.internal:5432/momentic", "state": "up", "lag_seconds": 0.25},
    {"index": 2, "name": "10.0.0.8:5433/momentic_ro", "state": "down", "lag_seconds": None},
]
_ANONYMOUS = [{**replica, "name": None} for replica in _NAMED]


@pytest.fixture
def replicated(aiohttp_client: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """An in-memory app whose storage reports two streaming replicas."""
    real = container._gauges

    def with_replicas(storage: Any) -> Any:
        return attrs.evolve(real(storage), replicas=lambda: list(_STATES))

    monkeypatch.setattr(container, "_gauges", with_replicas)

    async def make(metrics_token: str = "") -> Any:
        settings = Settings(memory=True, **FAST_HASH)
        return await aiohttp_client(create_app(
            Composition(settings), HttpOptions(metrics_token=metrics_token)))

    return make


def _no_replica_named(text: str) -> None:
    for part in ("replica-7", ".internal", "10.0.0.8", ":5432", ":5433", "momentic_ro"):
        assert part not in text, part


async def test_readyz_tells_a_remote_anonymous_caller_no_replica_name(replicated: Any) -> None:
    client = await replicated()
    # Through a proxy (a load balancer's probe, anyone on the internet): not an operator.
    for header in ("X-Forwarded-For", "Forwarded", "X-Real-IP"):
        r = await client.get("/readyz", headers={header: "203.0.113.9"})
        assert r.status == 200
        _no_replica_named(await r.text())
        assert (await r.json())["replicas"] == _ANONYMOUS, header
    # Connected straight from another host.
    remote = make_mocked_request("GET", "/readyz", app=client.app,
                                 transport=PeerTransport(("198.51.100.4", 40000)))
    answer = await readyz(remote)
    assert answer.status == 200 and isinstance(answer.body, bytes)
    _no_replica_named(answer.body.decode())
    assert orjson.loads(answer.body)["replicas"] == _ANONYMOUS
    # Straight from loopback, with no metrics token set: an operator, as for /metrics.
    assert (await (await client.get("/readyz")).json())["replicas"] == _NAMED


async def test_readyz_names_the_replicas_to_a_caller_bearing_the_metrics_token(
    replicated: Any,
) -> None:
    client = await replicated(metrics_token="s3cret-scrape")
    for headers in ({}, {"Authorization": "Bearer nope"}, {"X-Forwarded-For": "203.0.113.9"}):
        r = await client.get("/readyz", headers=headers)  # a token is set: loopback is not enough
        assert r.status == 200
        _no_replica_named(await r.text())
        assert (await r.json())["replicas"] == _ANONYMOUS, headers
    for headers in ({"Authorization": "Bearer s3cret-scrape"},
                    {"Authorization": "Bearer s3cret-scrape", "X-Forwarded-For": "203.0.113.9"}):
        r = await client.get("/readyz", headers=headers)
        assert r.status == 200
        assert (await r.json())["replicas"] == _NAMED, headers

