"""HLS over HTTP on the in-memory backend, with real clips and the real media adapter: a
ready video's ``hls_url`` opens a master playlist of two renditions whose every segment
is served and decodes, the durations adding up to the video's; the token in the path
opens that video's files only; deleting the video removes every object of it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import attrs
import pytest
from clip_support import unique
from hls_support import play

from adapters.container import resolve
from momentic_core.model.videos import Backfill
from momentic_core.policies.media import CACHE_CONTROL


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def _upload(env: Any, auth: dict[str, str], clip: Path, visibility: str) -> Any:
    form = aiohttp.FormData()
    form.add_field("visibility", visibility)
    form.add_field("video_file", io.BytesIO(unique(clip)), filename="clip",
                   content_type="video/mp4")
    r = await env.client.post("/v1/videos", data=form, headers=auth)
    assert r.status == 201, await r.text()
    return await r.json()


def _fetcher(env: Any, seen: list[Any]) -> Any:
    async def fetch(url: str) -> tuple[int, Any, bytes]:
        r = await env.client.get(_path(url))
        seen.append(r.headers)
        return r.status, r.headers, await r.read()

    return fetch


@pytest.mark.parametrize(("codec", "container"), [("h264", "mp4"), ("vp8", "webm")])
async def test_the_playlist_plays_through(
    video_env: Any, clip_factory: Any, tmp_path: Path, codec: str, container: str
) -> None:
    env = video_env
    clip = clip_factory(tmp_path / f"clip.{container}", seconds=2.0, codec=codec,
                        container=container, width=160, height=120, fps=12)
    auth = env.api.auth(await env.api.signup())
    video = await _upload(env, auth, clip, "public")
    assert video["hls_url"] is None  # not ready yet
    assert await env.run_jobs() == 1
    ready = await (await env.client.get(f"/v1/videos/{video['id']}", headers=auth)).json()
    assert ready["status"] == "ready" and ready["hls_url"] and ready["playback_url"]
    assert "/media/s/" in ready["hls_url"] and ready["hls_url"].endswith("/hls/master.m3u8")

    seen: list[Any] = []
    renditions = await play(_fetcher(env, seen), ready["hls_url"])
    assert [urlsplit(r.uri).path.rsplit("/", 2)[1] for r in renditions] == ["hi", "lo"]
    for rendition in renditions:
        assert rendition.frames >= 20  # 2 s at 12 fps, every frame there
        assert sum(rendition.durations) == pytest.approx(ready["duration_seconds"], abs=0.15)
        assert rendition.decoded == ((160, 120),) and rendition.resolution == (160, 120)
        assert rendition.codecs[0].startswith("avc1.") and rendition.codecs[1:] == ("mp4a.40.2",)
        assert rendition.audio and rendition.bandwidth > 0
    # Served for the one client, as long as the URL lasts; stored immutable.
    for headers in seen:
        assert headers["Cache-Control"].startswith("private, max-age=")
        assert headers["Cache-Control"].endswith(", immutable")
    blobs = await env.backend.container.blobs()
    folder = ready["hls_url"].split("/media/s/", 1)[1].split("/", 2)[2].rsplit("/", 1)[0]
    stored = [info async for info in blobs.list_blobs(folder + "/")]
    assert len(stored) == 1 + sum(len(r.urls) for r in renditions)
    assert {info.cache_control for info in stored} == {CACHE_CONTROL}
    assert {info.content_type for info in stored} == {
        "application/vnd.apple.mpegurl", "video/mp4", "video/iso.segment"
    }


async def test_a_token_opens_its_own_video_only_and_deleting_removes_every_object(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    auth = env.api.auth(await env.api.signup())
    first = await _upload(env, auth, sample_clips["silent"], "friends")
    second = await _upload(env, auth, sample_clips["silent"], "friends")
    await env.run_jobs()
    a, b = [
        (await (await env.client.get(f"/v1/videos/{v['id']}", headers=auth)).json())["hls_url"]
        for v in (first, second)
    ]
    assert (await env.client.get(_path(a))).status == 200
    token_a, key_a = _path(a).split("/videos/", 1)
    _, key_b = _path(b).split("/videos/", 1)
    r = await env.client.get(f"{token_a}/videos/{key_b}")
    assert r.status == 404 and (await r.json())["code"] == "media_not_found"
    tampered = token_a[:-2] + ("A" if token_a[-2] != "A" else "B") + token_a[-1]
    assert (await env.client.get(f"{tampered}/videos/{key_a}")).status == 404

    folder = "videos/" + key_a.split("/", 1)[0] + "/"
    mine = [k for k in await env.blob_keys() if k.startswith(folder)]
    assert any("/hls/lo/" in k for k in mine) and any("/hls/hi/" in k for k in mine)
    assert (await env.client.delete(f"/v1/videos/{first['id']}", headers=auth)).status == 204
    assert [k for k in await env.blob_keys() if k.startswith(folder)] == []
    assert (await env.client.get(_path(a))).status == 404
    assert (await env.client.get(_path(b))).status == 200


async def test_a_video_from_before_hls_gets_it_from_the_backfill(
    video_env: Any, clip_factory: Any, tmp_path: Path
) -> None:
    """momentic backfill hls queues a package_hls job; the worker packages the MP4 with
    the real media adapter, and the playlist plays through as a new video's does."""
    env = video_env
    clip = clip_factory(tmp_path / "clip.mp4", seconds=2.0, width=160, height=120, fps=12)
    auth = env.api.auth(await env.api.signup())
    video = await _upload(env, auth, clip, "public")
    assert await env.run_jobs() == 1
    # As migration 75 left a video processed before it: an MP4, no presentation.
    storage = await resolve(env.backend.container.storage())
    blobs = await env.backend.container.blobs()
    async with storage.uow() as tx:
        stored = await tx.videos.get_for_update(video["id"])
        await tx.videos.update(attrs.evolve(stored, hls_key=None))
    assert stored.hls_key is not None
    folder = stored.hls_key.rsplit("/", 1)[0]
    for info in [i async for i in blobs.list_blobs(folder + "/")]:
        await blobs.delete(info.key)
    shown = await (await env.client.get(f"/v1/videos/{video['id']}", headers=auth)).json()
    assert shown["hls_url"] is None

    backfills = await env.backend.backfills()
    report = await backfills.run(Backfill.HLS)
    assert (report.seen, report.done) == (1, 1)
    assert await env.run_jobs() == 1
    ready = await (await env.client.get(f"/v1/videos/{video['id']}", headers=auth)).json()
    assert ready["hls_url"] and ready["hls_url"].endswith("/hls/master.m3u8")
    assert (ready["status"], ready["playback_url"]) == ("ready", shown["playback_url"])
    renditions = await play(_fetcher(env, []), ready["hls_url"])
    assert len(renditions) == 2
    for rendition in renditions:
        assert sum(rendition.durations) == pytest.approx(ready["duration_seconds"], abs=0.15)
    again = await backfills.run(Backfill.HLS)  # nothing left to do
    assert (again.seen, again.done) == (0, 0)
