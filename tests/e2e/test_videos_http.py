"""Videos over HTTP on the in-memory backend, with real clips and the real media adapter."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from clip_support import unique
from PIL import Image

from momentic_core.model.videos import MediaLimits


def _form(data: bytes, *, description: str | None = "Sunset", visibility: str | None = None,
          file_first: bool = False, filename: str = "clip.mp4") -> aiohttp.FormData:
    form = aiohttp.FormData()
    fields = []
    if description is not None:
        fields.append(("description", description))
    if visibility is not None:
        fields.append(("visibility", visibility))
    if not file_first:
        for name, value in fields:
            form.add_field(name, value)
    form.add_field("video_file", io.BytesIO(data), filename=filename, content_type="video/mp4")
    if file_first:
        for name, value in fields:
            form.add_field(name, value)
    return form


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


async def _upload(env: Any, auth: dict[str, str], clip: Path | bytes, **kw: Any) -> Any:
    """Upload these bytes, or a copy of its own of a clip (clip_support.unique)."""
    data = clip if isinstance(clip, bytes) else unique(clip)
    return await env.client.post("/v1/videos", data=_form(data, **kw), headers=auth)


async def test_upload_process_and_play(video_env: Any, sample_clips: dict[str, Path]) -> None:
    env = video_env
    auth = env.api.auth(await env.api.signup())
    data = sample_clips["playable"].read_bytes()
    r = await _upload(env, auth, data, visibility="public", file_first=True)
    assert r.status == 201, await r.text()
    video = await r.json()
    assert video["status"] == "processing" and video["playback_url"] is None
    assert video["description"] == "Sunset" and video["visibility"] == "public"
    assert r.headers["Location"] == f"/v1/videos/{video['id']}"

    assert await env.run_jobs() == 1
    r = await env.client.get(f"/v1/videos/{video['id']}", headers=auth)
    ready = await r.json()
    assert ready["status"] == "ready"
    assert (ready["width"], ready["height"]) == (320, 240)
    assert abs(ready["duration_seconds"] - 1.0) < 0.1
    assert ready["thumbnail_url"] and ready["playback_url"]

    r = await env.client.get(_path(ready["playback_url"]))
    body = await r.read()
    assert r.status == 200 and body == data
    assert "immutable" in r.headers["Cache-Control"] and r.headers["ETag"]
    r = await env.client.get(_path(ready["playback_url"]), headers={"Range": "bytes=4-11"})
    assert r.status == 206 and await r.read() == data[4:12]
    assert r.headers["Content-Range"].startswith("bytes 4-11/")
    r2 = await env.client.get(_path(ready["playback_url"]),
                              headers={"If-None-Match": r.headers["ETag"]})
    assert r2.status == 304

    r = await env.client.get(_path(ready["thumbnail_url"]))
    thumb = Image.open(io.BytesIO(await r.read()))
    assert thumb.format == "JPEG" and thumb.size[0] <= 720

    tampered = _path(ready["playback_url"]).replace("sig=", "sig=x")
    r = await env.client.get(tampered)
    assert r.status == 404 and (await r.json())["code"] == "media_not_found"


async def test_not_playable_is_transcoded_and_too_long_is_rejected(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    auth = env.api.auth(await env.api.signup())
    webm = await (await _upload(env, auth, sample_clips["not_playable"])).json()
    long = await (await _upload(env, auth, sample_clips["long"])).json()
    assert await env.run_jobs() == 2
    done = await (await env.client.get(f"/v1/videos/{webm['id']}", headers=auth)).json()
    assert done["status"] == "ready" and "playback.mp4" in done["playback_url"]
    rejected = await (await env.client.get(f"/v1/videos/{long['id']}", headers=auth)).json()
    assert rejected["status"] == "rejected" and rejected["status_reason"] == "too_long"
    assert rejected["playback_url"] is None


async def test_sniffing_size_and_form_errors_keep_nothing(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    auth = env.api.auth(await env.api.signup())
    r = await _upload(env, auth, sample_clips["html"])
    assert r.status == 415 and (await r.json())["code"] == "unsupported_media_type"
    big = sample_clips["playable"].read_bytes() * 200  # over the 2 MB test limit
    r = await env.client.post("/v1/videos", data=_form(big), headers=auth)
    assert r.status == 413 and (await r.json())["code"] == "video_too_large"
    r = await _upload(env, auth, sample_clips["playable"], description="x" * 71, file_first=True)
    assert r.status == 422 and (await r.json())["code"] == "description_too_long"
    r = await _upload(env, auth, sample_clips["playable"], visibility="everyone")
    assert r.status == 422 and (await r.json())["code"] == "invalid_visibility"
    r = await env.client.post("/v1/videos", json={"video_file": "x"}, headers=auth)
    assert r.status == 415 and (await r.json())["code"] == "multipart_required"
    form = aiohttp.FormData()
    form.add_field("description", "no file")
    form.add_field("other", b"zzz", filename="a.bin")
    r = await env.client.post("/v1/videos", data=form, headers=auth)
    assert r.status == 422
    assert await env.blob_keys() == []
    me = await (await env.client.get("/v1/me", headers=auth)).json()
    page = await (await env.client.get(f"/v1/users/{me['id']}/videos", headers=auth)).json()
    assert page["items"] == []


async def test_resumable_upload(video_env: Any, sample_clips: dict[str, Path]) -> None:
    env = video_env
    auth = env.api.auth(await env.api.signup())
    data = sample_clips["playable"].read_bytes()
    r = await env.client.post("/v1/uploads", json={
        "size_bytes": len(data), "content_type": "video/mp4", "visibility": "public"},
        headers=auth)
    assert r.status == 201, await r.text()
    upload = await r.json()
    assert upload["status"] == "open" and len(upload["parts"]) == 1
    part = upload["parts"][0]
    assert part["received"] is False and part["size_bytes"] == len(data)

    r = await env.client.put(part["url"], data=data[:10] + b"!", headers=auth)
    assert r.status in (413, 422)
    r = await env.client.put(part["url"], data=data, headers=auth)
    assert r.status == 200, await r.text()
    status = await (await env.client.get(f"/v1/uploads/{upload['id']}", headers=auth)).json()
    assert status["parts"][0]["received"] is True

    stranger = env.api.auth(await env.api.signup("eve@bsu.by"))
    r = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=stranger)
    assert r.status == 404

    r = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    assert r.status == 200, await r.text()
    video = await r.json()
    again = await (await env.client.post(f"/v1/uploads/{upload['id']}/complete",
                                         headers=auth)).json()
    assert again["id"] == video["id"], "complete is idempotent"
    assert await env.run_jobs() == 1
    ready = await (await env.client.get(f"/v1/videos/{video['id']}", headers=auth)).json()
    assert ready["status"] == "ready"


async def test_incomplete_and_bad_uploads(video_env: Any) -> None:
    env = video_env
    auth = env.api.auth(await env.api.signup())
    r = await env.client.post("/v1/uploads", json={
        "size_bytes": 10_000_000, "content_type": "video/mp4"}, headers=auth)
    assert r.status == 413
    r = await env.client.post("/v1/uploads", json={
        "size_bytes": 1000, "content_type": "text/html"}, headers=auth)
    assert r.status == 415
    upload = await (await env.client.post("/v1/uploads", json={
        "size_bytes": 1000, "content_type": "video/mp4"}, headers=auth)).json()
    r = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    body = await r.json()
    assert r.status == 422 and body["code"] == "upload_incomplete"
    assert body["missing_parts"] == [1]
    await env.client.put(upload["parts"][0]["url"], data=b"<html>" + b" " * 994, headers=auth)
    r = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
    assert r.status == 415
    assert await env.blob_keys() == []


async def test_visibility_edit_delete_and_listing(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    owner_tokens = await env.api.signup()
    owner = env.api.auth(owner_tokens)
    stranger = env.api.auth(await env.api.signup("eve@bsu.by"))
    clip = sample_clips["silent"]
    public = await (await _upload(env, owner, clip, visibility="public")).json()
    r = await env.client.get(f"/v1/videos/{public['id']}", headers=stranger)
    assert r.status == 404, "not ready: only the author sees it"
    friends = await (await _upload(env, owner, clip, visibility="friends")).json()
    third = await (await _upload(env, owner, clip, visibility="public")).json()
    await env.run_jobs()
    assert (await env.client.get(f"/v1/videos/{public['id']}", headers=stranger)).status == 200
    assert (await env.client.get(f"/v1/videos/{friends['id']}", headers=stranger)).status == 404

    me = await (await env.client.get("/v1/me", headers=owner)).json()
    mine = await (await env.client.get(f"/v1/users/{me['id']}/videos?limit=2",
                                       headers=owner)).json()
    assert [v["id"] for v in mine["items"]] == [third["id"], friends["id"]]
    rest = await (await env.client.get(
        f"/v1/users/{me['id']}/videos?limit=2&cursor={mine['next_cursor']}", headers=owner
    )).json()
    assert [v["id"] for v in rest["items"]] == [public["id"]] and rest["next_cursor"] is None
    theirs = await (await env.client.get(f"/v1/users/{me['id']}/videos",
                                         headers=stranger)).json()
    assert [v["id"] for v in theirs["items"]] == [third["id"], public["id"]]
    r = await env.client.get(f"/v1/users/{me['id']}/videos?cursor=!!", headers=owner)
    assert r.status == 422 and (await r.json())["code"] == "invalid_cursor"

    r = await env.client.patch(f"/v1/videos/{public['id']}", json={"description": "mine"},
                               headers=stranger)
    assert r.status == 403
    r = await env.client.patch(f"/v1/videos/{friends['id']}", json={"description": "x"},
                               headers=stranger)
    assert r.status == 404, "a video you cannot see does not exist for you"
    r = await env.client.patch(f"/v1/videos/{public['id']}", json={"description": "Edited"},
                               headers=owner)
    assert (await r.json())["description"] == "Edited"

    assert (await env.client.delete(f"/v1/videos/{public['id']}", headers=stranger)).status == 403
    before = set(await env.blob_keys())
    assert (await env.client.delete(f"/v1/videos/{public['id']}", headers=owner)).status == 204
    gone = before - set(await env.blob_keys())
    assert any(k.endswith("thumb.jpg") for k in gone) and any(k.endswith("source") for k in gone)
    assert (await env.client.get(f"/v1/videos/{public['id']}", headers=owner)).status == 404


async def test_an_avatar_of_too_many_pixels_is_422_whatever_its_file_size(
    video_env: Any,
) -> None:
    env = video_env
    auth = env.api.auth(await env.api.signup())
    buf = io.BytesIO()
    Image.new("L", (4000, 4000)).save(buf, "PNG")  # ~50 KB of blank pixels
    r = await env.client.put("/v1/me/avatar", data=buf.getvalue(), headers=auth)
    assert r.status == 422, await r.text()
    assert r.headers["Content-Type"].startswith("application/problem+json")
    body = await r.json()
    assert (body["code"], body["limit"]) == ("image_too_large", MediaLimits().avatar_max_pixels)
    assert [k for k in await env.blob_keys() if k.startswith("avatars/")] == []


async def test_avatar(video_env: Any) -> None:
    env = video_env
    auth = env.api.auth(await env.api.signup())
    buf = io.BytesIO()
    Image.new("RGBA", (800, 600), (255, 0, 0, 128)).save(buf, "PNG")
    r = await env.client.put("/v1/me/avatar", data=buf.getvalue(), headers=auth)
    assert r.status == 200, await r.text()
    first = (await r.json())["avatar_url"]
    img = Image.open(io.BytesIO(await (await env.client.get(_path(first))).read()))
    assert img.format == "JPEG" and img.size == (512, 512)
    me = await (await env.client.get("/v1/me", headers=auth)).json()
    assert me["avatar_url"] and urlsplit(me["avatar_url"]).path == urlsplit(first).path

    r = await env.client.put("/v1/me/avatar", data=b"<html>hi</html>", headers=auth)
    assert r.status == 415
    jpeg = io.BytesIO()
    Image.new("RGB", (64, 64), "blue").save(jpeg, "JPEG")
    r = await env.client.patch("/user/avatar/", data=jpeg.getvalue(),
                               headers={**auth, "Content-Type": "image/jpeg"})
    assert r.status == 200
    keys = await env.blob_keys()
    assert len([k for k in keys if k.startswith("avatars/")]) == 1, "the old avatar is removed"
    r = await env.client.put("/v1/me/avatar", data=io.BytesIO(b"x" * 5_000_001), headers=auth)
    assert r.status == 413


async def test_legacy_video_routes(video_env: Any, sample_clips: dict[str, Path]) -> None:
    env = video_env
    auth = env.api.auth(await env.api.signup())
    form = aiohttp.FormData()
    form.add_field("video_file", unique(sample_clips["playable"]), filename="a.mp4",
                   content_type="video/mp4")
    form.add_field("description", "From the app")
    r = await env.client.post("/videos", data=form, headers=auth)
    assert r.status == 201, await r.text()
    body = await r.json()
    assert set(body) == {"video_id", "filepath", "message"}
    # filepath (the app decodes a string) is the video's path on this API, never the
    # storage key of its upload (issue 15): nothing in the answer names a blob.
    assert body["filepath"] == f"/v1/videos/{body['video_id']}"
    stored = await env.blob_keys()
    text = await r.text()
    assert stored and not any(key in text for key in stored)
    r = await env.client.get(body["filepath"], headers=auth)
    assert r.status == 200 and (await r.json())["id"] == body["video_id"]
    r = await env.client.patch(f"/videos/{body['video_id']}", json={"description": "New"},
                               headers=auth)
    assert r.status == 204
    r = await env.client.delete(f"/videos/{body['video_id']}", headers=auth)
    assert r.status == 204
    r = await env.client.post("/videos", data=aiohttp.FormData({"description": "x"}))
    assert r.status == 401


async def test_config(video_env: Any) -> None:
    r = await video_env.client.get("/v1/config")
    body = await r.json()
    assert body["max_video_bytes"] == 2_000_000 and body["description_max_length"] == 70
    assert "video/mp4" in body["accepted_video_types"]
