"""HTTP tests against create_app() on the in-memory backend, over a real loopback socket."""

from __future__ import annotations

from typing import Any

import pytest
from signup_support import FAST_HASH, Api

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from adapters.http.live.routes import LiveOptions
from adapters.memory.mail import InMemoryMailer


@pytest.fixture
def fast_settings() -> Settings:
    """The in-memory backend with a cheap password hash."""
    return Settings(memory=True, **FAST_HASH)


@pytest.fixture
def mailer() -> InMemoryMailer:
    return InMemoryMailer()


@pytest.fixture
async def client(aiohttp_client: Any, mailer: InMemoryMailer) -> Any:
    settings = Settings(memory=True, **FAST_HASH)
    app = create_app(Composition(settings, mailer=mailer), HttpOptions(max_body_bytes=64 * 1024))
    return await aiohttp_client(app)


@pytest.fixture
def api(client: Any, mailer: InMemoryMailer) -> Api:
    return Api(client, mailer)


class VideoEnv:
    """The in-memory app plus its backend, to run queued jobs by hand."""

    def __init__(self, client: Any, backend: Composition, api: Api) -> None:
        self.client = client
        self.backend = backend
        self.api = api

    async def run_jobs(self) -> int:
        worker = await self.backend.worker()
        ran = 0
        while await worker.run_once() is not None:
            ran += 1
        return ran

    async def blob_keys(self) -> list[str]:
        blobs = await self.backend.container.blobs()
        return [info.key async for info in blobs.list_blobs("")]


@pytest.fixture
def make_video_env(aiohttp_client: Any, mailer: InMemoryMailer) -> Any:
    """``await make_video_env(live=LiveOptions(...), overrides={...}, **settings)``: a
    VideoEnv with other settings (e.g. a short access token TTL), live hub options, or
    providers replaced (``overrides={"clock": ManualClock(...)}``, see Composition)."""

    async def make(
        live: LiveOptions | None = None, overrides: dict[str, Any] | None = None, **settings: Any
    ) -> VideoEnv:
        config = Settings(memory=True, **{"max_video_bytes": 2_000_000, **FAST_HASH, **settings})
        backend = Composition(config, mailer=mailer, **(overrides or {}))
        app = create_app(backend, HttpOptions(max_body_bytes=64 * 1024), live)
        client = await aiohttp_client(app)
        return VideoEnv(client, backend, Api(client, mailer))

    return make


@pytest.fixture
async def video_env(make_video_env: Any) -> VideoEnv:
    return await make_video_env()  # type: ignore[no-any-return]
