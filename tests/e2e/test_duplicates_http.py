"""Duplicates by content over HTTP (issue 20 item 3), on the in-memory backend with real
clips: the same bytes from the same author are answered with the video they already have
(200 instead of 201, nothing new stored), on the v1 upload, the resumable upload and the
legacy app's POST /videos; other authors, deleted and rejected videos are apart; content a
moderator removed is refused to its author."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from clip_support import unique
from engagement_support import User, moderator, user


@pytest.fixture
async def env(make_video_env: Any) -> Any:
    return await make_video_env(rate_limit_multiplier=1000)


def _form(data: bytes, description: str = "Sunset", visibility: str = "public") -> Any:
    form = aiohttp.FormData()
    form.add_field("description", description)
    form.add_field("visibility", visibility)
    form.add_field("video_file", io.BytesIO(data), filename="c.mp4", content_type="video/mp4")
    return form


async def _post(env: Any, who: User, data: bytes, status: int, **kw: Any) -> dict[str, Any]:
    r = await env.client.post("/v1/videos", data=_form(data, **kw), headers=who.auth)
    assert r.status == status, await r.text()
    return dict(await r.json())


async def _resumable(env: Any, who: User, data: bytes) -> tuple[int, Any]:
    """Begin, send and complete a one-part upload: (the upload's id, the complete answer)."""
    r = await env.client.post("/v1/uploads", json={
        "size_bytes": len(data), "content_type": "video/mp4", "visibility": "public",
        "description": "Resumed"}, headers=who.auth)
    assert r.status == 201, await r.text()
    upload = await r.json()
    r = await env.client.put(upload["parts"][0]["url"], data=data, headers=who.auth)
    assert r.status == 200, await r.text()
    return upload["id"], await env.client.post(
        f"/v1/uploads/{upload['id']}/complete", headers=who.auth)


async def _mine(env: Any, who: User) -> list[int]:
    r = await env.client.get(f"/v1/users/{who.id}/videos", headers=who.auth)
    assert r.status == 200, await r.text()
    return [v["id"] for v in (await r.json())["items"]]


async def test_the_same_file_again_is_the_same_video(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    ann = await user(env, "ann")
    data = unique(sample_clips["silent"])
    first = await _post(env, ann, data, 201)
    blobs = await env.blob_keys()
    r = await env.client.post("/v1/videos", data=_form(data, "Another take", "friends"),
                              headers=ann.auth)
    assert r.status == 200, await r.text()
    again = await r.json()
    assert r.headers["Location"] == f"/v1/videos/{first['id']}"
    # the video as it was: what the second request sent is not applied
    assert again["id"] == first["id"]
    assert (again["description"], again["visibility"]) == ("Sunset", "public")
    assert await env.blob_keys() == blobs, "the second copy was deleted"
    assert await env.run_jobs() == 1, "one video to process"
    ready = await _post(env, ann, data, 200)  # once ready, too
    assert ready["id"] == first["id"] and ready["status"] == "ready"
    assert await _mine(env, ann) == [first["id"]]
    # a byte more is another file
    other = await _post(env, ann, unique(data), 201)
    assert other["id"] != first["id"]


async def test_a_resumable_upload_of_a_file_i_have_is_that_video(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    ann = await user(env, "ann")
    data = unique(sample_clips["silent"])
    video = await ready_video_of(env, ann, data)
    blobs = await env.blob_keys()
    upload_id, r = await _resumable(env, ann, data)
    assert r.status == 200, await r.text()
    assert (await r.json())["id"] == video
    assert await env.blob_keys() == blobs, "the joined copy was deleted"
    again = await env.client.post(f"/v1/uploads/{upload_id}/complete", headers=ann.auth)
    assert (await again.json())["id"] == video, "complete stays idempotent"
    state = await (await env.client.get(f"/v1/uploads/{upload_id}", headers=ann.auth)).json()
    assert (state["status"], state["video_id"]) == ("complete", video)
    # and the simple upload of what a resumable one brought
    fresh = unique(data)
    _, r = await _resumable(env, ann, fresh)
    resumed = (await r.json())["id"]
    assert resumed != video
    assert (await _post(env, ann, fresh, 200))["id"] == resumed
    assert await env.run_jobs() == 1
    assert sorted(await _mine(env, ann)) == sorted([video, resumed])


async def ready_video_of(env: Any, who: User, data: bytes) -> int:
    made = await _post(env, who, data, 201)
    await env.run_jobs()
    return int(made["id"])


async def test_the_legacy_app_gets_a_2xx_with_the_video_it_has(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    ann = await user(env, "ann")
    data = unique(sample_clips["silent"])

    async def legacy() -> Any:
        form = aiohttp.FormData()
        form.add_field("video_file", io.BytesIO(data), filename="a.mp4",
                       content_type="video/mp4")
        form.add_field("description", "From the app")
        return await env.client.post("/videos/", data=form, headers=ann.auth)

    r = await legacy()
    assert r.status == 201, await r.text()
    first = await r.json()
    r = await legacy()
    assert r.status == 200, await r.text()
    assert await r.json() == {"video_id": first["video_id"], "filepath": first["filepath"],
                              "message": "Video already uploaded."}
    assert (await _post(env, ann, data, 200))["id"] == first["video_id"]


async def test_another_author_a_deleted_or_a_rejected_video_are_apart(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    ann, bob = await user(env, "ann"), await user(env, "bob")
    data = unique(sample_clips["silent"])
    mine = await _post(env, ann, data, 201)
    theirs = await _post(env, bob, data, 201)  # per author: nothing is shared
    assert theirs["id"] != mine["id"]
    await env.run_jobs()
    r = await env.client.delete(f"/v1/videos/{mine['id']}", headers=ann.auth)
    assert r.status == 204
    again = await _post(env, ann, data, 201)  # deleted: a new video
    assert again["id"] != mine["id"]
    await env.run_jobs()
    assert (await _post(env, bob, data, 200))["id"] == theirs["id"]

    long = unique(sample_clips["long"])  # rejected as too long: it holds nothing
    rejected = await _post(env, ann, long, 201)
    await env.run_jobs()
    r = await env.client.get(f"/v1/videos/{rejected['id']}", headers=ann.auth)
    assert (await r.json())["status"] == "rejected"
    retried = await _post(env, ann, long, 201)
    assert retried["id"] != rejected["id"]


async def test_content_a_moderator_removed_is_refused_to_its_author(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob, mod = await user(env, "ann"), await user(env, "bob"), await moderator(env)
    data = unique(sample_clips["silent"])
    video = await ready_video_of(env, ann, data)
    r = await c.post("/v1/reports", json={"target_type": "video", "target_id": video,
                                          "reason": "spam"}, headers=mod.auth)
    assert r.status == 201, await r.text()
    case = (await r.json())["case_id"]
    r = await c.post(f"/v1/mod/cases/{case}/resolve",
                     json={"action": "remove", "reason": "Spam"}, headers=mod.auth)
    assert r.status == 200, await r.text()

    async def refused() -> None:
        blobs = await env.blob_keys()
        r = await c.post("/v1/videos", data=_form(data), headers=ann.auth)
        assert r.status == 409 and (await r.json())["code"] == "content_removed"
        r = await c.post("/videos", data=_form(data), headers=ann.auth)
        assert r.status == 409 and (await r.json())["code"] == "content_removed"
        upload_id, r = await _resumable(env, ann, data)
        assert r.status == 409 and (await r.json())["code"] == "content_removed"
        r = await c.get(f"/v1/uploads/{upload_id}", headers=ann.auth)
        assert r.status == 404, "the upload is dropped"
        assert await env.blob_keys() == blobs, "nothing is kept"

    await refused()
    r = await c.delete(f"/v1/videos/{video}", headers=ann.auth)  # deleting it...
    assert r.status == 204
    await refused()  # ... does not make it welcome again
    assert await _mine(env, ann) == []
    await _post(env, bob, data, 201)  # another author's upload is theirs to judge


async def test_two_identical_uploads_at_once_make_one_video(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    ann = await user(env, "ann")
    data = unique(sample_clips["silent"])
    answers = await asyncio.gather(
        *(env.client.post("/v1/videos", data=_form(data), headers=ann.auth) for _ in range(3))
    )
    assert sorted(r.status for r in answers) == [200, 200, 201]
    assert len({(await r.json())["id"] for r in answers}) == 1
    assert len([k for k in await env.blob_keys() if k.endswith("/source")]) == 1
    assert await env.run_jobs() == 1
