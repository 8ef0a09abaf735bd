"""Uploads that are not what they claim, and paths that try to leave the store, against
create_app() on each blob store the app can use: in memory and on the local disk (both
served by the app's own /media route) and S3 (moto's server; media goes out as presigned
URLs, which the test follows).

- A polyglot (an MP4 ftyp box, then an HTML page with a script) is stored and served as
  video/mp4, whatever the file name and part type claimed; an HTML page named .mp4 and
  sent as video/mp4 is refused (415 problem+json) and nothing is stored; an SVG, an HTML
  page or a page sent as image/jpeg is no avatar (415); a JPEG with a script appended is
  re-encoded, so the stored avatar holds no script. Nothing is ever served as text/html,
  and what the app serves itself carries X-Content-Type-Options: nosniff.
- Keys are server-made (``videos/<32 hex>/source``, ``avatars/<32 hex>/avatar.jpg``): no
  part of a client's file name (``../../etc/passwd``, ``..%2f..%2f``, an absolute path, a
  NUL byte) reaches them; ids in upload paths are integers or 422; the media route
  refuses traversal, encoded or not, and even a correctly signed traversal key, and never
  answers with a file outside the store (a sentinel beside the store stays unread).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import io
import json
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
from clip_support import unique
from PIL import Image
from signup_support import FAST_HASH, Api

from adapters.config import Settings
from adapters.container import Composition, resolve
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from adapters.memory.mail import InMemoryMailer

SECRET = "uploads-test-secret-0123456789abcdef"
S3_CREDENTIALS = {"s3_region": "us-east-1", "s3_access_key_id": "testing",
                  "s3_secret_access_key": "testing"}  # as tests/conftest.py gives moto
SENTINEL = b"SENTINEL-outside-the-media-store"

VIDEO_KEY = re.compile(r"^videos/[0-9a-f]{32}/source$")
AVATAR_KEY = re.compile(r"^avatars/[0-9a-f]{32}/avatar\.jpg$")
MP4_HEAD = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2mp41"
SCRIPT = b"<html><body><script>alert(1)</script></body></html>"
POLYGLOT = MP4_HEAD + b"\x00" * 64 + SCRIPT * 20
HTML = b"<!DOCTYPE html>\n<html><script>alert(document.cookie)</script></html>\n"
SVG = (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="8" height="8">'
       b"<script>alert(1)</script></svg>")
HOSTILE_NAMES = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "/etc/passwd",
                 "C:\\Windows\\win.ini", "clip\x00.html", "..\\..\\clip.mp4"]


class Env(Api):
    def __init__(self, client: Any, mailer: InMemoryMailer, backend: Composition, store: str,
                 outside: Path | None) -> None:
        super().__init__(client, mailer)
        self.backend = backend
        self.store = store
        self.outside = outside  # a file beside the local store, never to be served

    async def blobs(self) -> dict[str, str]:
        """Every stored key and its content type (stat: S3 lists keys without types)."""
        store = await resolve(self.backend.container.blobs())
        keys = [info.key async for info in store.list_blobs("")]
        return {key: (await store.stat(key)).content_type for key in keys}

    async def media_url(self, key: str) -> str:
        services = await resolve(self.backend.container.services())
        return str(services.media_url(key))

    async def fetch(self, url: str) -> tuple[int, dict[str, str], bytes]:
        """Follow a media URL as a client would: the app's own route through the test
        client, a presigned S3 URL straight to the S3 endpoint."""
        if self.store == "s3":
            async with aiohttp.ClientSession() as http, http.get(url) as r:
                return r.status, dict(r.headers), await r.read()
        parts = urlsplit(url)
        r = await self.client.get(f"{parts.path}?{parts.query}")
        return r.status, dict(r.headers), await r.read()

    async def raw_get(self, target: str) -> tuple[int, dict[str, str], bytes]:
        """GET with the request target sent byte for byte (no client-side normalisation of
        ``..`` or percent-escapes)."""
        reader, writer = await asyncio.open_connection(self.client.host, self.client.port)
        writer.write(f"GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        data = await reader.read()
        writer.close()
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        return int(lines[0].split()[1]), headers, body


@pytest.fixture(params=["memory", "local", "s3"])
async def env(request: pytest.FixtureRequest, aiohttp_client: Any, tmp_path: Path) -> Env:
    store: str = request.param
    outside = None
    settings: dict[str, Any] = {"memory": True, "storage": store, "secret": SECRET,
                                "max_video_bytes": 2_000_000, **FAST_HASH}
    if store == "local":
        settings["data_dir"] = str(tmp_path / "data")
        outside = tmp_path / "data" / "secret.txt"
        outside.parent.mkdir(parents=True)
        outside.write_bytes(SENTINEL)
        (tmp_path / "passwd").write_bytes(SENTINEL)
    if store == "s3":
        settings.update(
            s3_bucket=request.getfixturevalue("s3_bucket"),
            s3_endpoint_url=request.getfixturevalue("s3_server"),
            **S3_CREDENTIALS,
        )
    mailer = InMemoryMailer()
    backend = Composition(Settings(**settings), mailer=mailer)
    client = await aiohttp_client(create_app(backend, HttpOptions(max_body_bytes=64 * 1024)))
    return Env(client, mailer, backend, store, outside)


async def _problem(r: Any, statuses: set[int]) -> dict[str, Any]:
    text = await r.text()
    assert r.status in statuses, (r.status, text)
    assert r.headers["Content-Type"].startswith("application/problem+json"), text
    return dict(json.loads(text))


BOUNDARY = "upload-test-boundary"
FORM = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}


def _form(data: bytes, filename: str, content_type: str) -> bytes:
    """A multipart body written by hand: clients refuse to send some of these names (a NUL
    byte in a header), an attacker's does not."""
    disposition = f'form-data; name="video_file"; filename="{filename}"'.encode()
    return (
        f"--{BOUNDARY}\r\n".encode() + b"Content-Disposition: " + disposition + b"\r\n"
        + f"Content-Type: {content_type}\r\n\r\n".encode() + data + b"\r\n"
        + f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="visibility"\r\n\r\n'
          f"public\r\n--{BOUNDARY}--\r\n".encode()
    )


async def _served_safely(env: Env, key: str, expected_type: str) -> bytes:
    """The media URL the app gives for ``key`` serves it with the stored (sniffed) type,
    never as HTML, and with nosniff where the app serves it."""
    status, headers, body = await env.fetch(await env.media_url(key))
    assert status == 200, (status, body[:200])
    content_type = headers["Content-Type"].split(";")[0].strip().lower()
    assert content_type == expected_type, headers
    assert "html" not in content_type and "xml" not in content_type
    if env.store != "s3":  # our server: nosniff and a CSP that runs nothing
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "default-src 'none'" in headers["Content-Security-Policy"]
        assert "attachment" in headers.get("Content-Disposition", "attachment")
    return body


# ---------------------------------------------------------------- content types


async def test_a_polyglot_is_stored_and_served_as_video_mp4(env: Env) -> None:
    auth = await env.signup_auth()
    for name, declared in (("page.html", "text/html"), ("clip.mp4", "video/mp4"),
                           ("clip.svg", "image/svg+xml")):
        before = set(await env.blobs())
        data = unique(POLYGLOT)  # a new file each time (the same one again is a duplicate)
        r = await env.client.post("/v1/videos", data=_form(data, name, declared),
                                  headers={**auth, **FORM})
        assert r.status == 201, await r.text()
        (key,) = set(await env.blobs()) - before
        assert VIDEO_KEY.match(key), key
        assert (await env.blobs())[key] == "video/mp4"  # sniffed, not declared
        body = await _served_safely(env, key, "video/mp4")
        assert body == data
    # The video itself never became playable, so the API hands out no URL for it.
    video = await r.json()
    r = await env.client.get(f"/v1/videos/{video['id']}", headers=auth)
    assert (await r.json())["status"] != "ready"


async def test_an_html_page_named_mp4_is_refused_and_not_stored(env: Env) -> None:
    auth = await env.signup_auth()
    before = await env.blobs()
    for data in (HTML, SVG, b"<script>alert(1)</script>" + MP4_HEAD):
        r = await env.client.post("/v1/videos", data=_form(data, "clip.mp4", "video/mp4"),
                                  headers={**auth, **FORM})
        body = await _problem(r, {415})
        assert body["code"] == "unsupported_media_type"
    assert await env.blobs() == before


async def test_a_resumable_upload_of_html_is_refused_and_of_a_polyglot_is_video(
    env: Env,
) -> None:
    auth = await env.signup_auth()
    before = set(await env.blobs())
    # The type declared when the upload begins is the stored blob's: it must be what the
    # bytes are (an MP4 declared as WebM would be served as video/webm).
    cases = (
        (HTML, "video/mp4", False),
        (POLYGLOT, "video/webm", False),
        (POLYGLOT, "video/quicktime", False),
        (POLYGLOT, "video/mp4", True),
    )
    for data, declared, ok in cases:
        r = await env.client.post("/v1/uploads", headers=auth,
                                  json={"size_bytes": len(data), "content_type": declared})
        assert r.status == 201, await r.text()
        upload = await r.json()
        (part,) = upload["parts"]
        if part["url"].startswith("/"):
            r = await env.client.put(part["url"], data=data, headers={
                **auth, "Content-Type": "text/html"})
            assert r.status == 200, await r.text()
        else:  # a presigned S3 part URL
            async with aiohttp.ClientSession() as http, http.put(part["url"], data=data) as s3:
                assert s3.status == 200, await s3.text()
        r = await env.client.post(f"/v1/uploads/{upload['id']}/complete", headers=auth)
        if not ok:
            assert (await _problem(r, {415}))["code"] == "unsupported_media_type"
            assert set(await env.blobs()) == before
            r = await env.client.get(f"/v1/uploads/{upload['id']}", headers=auth)
            assert r.status == 404  # the upload is dropped, not left half-done
            continue
        assert r.status == 200, await r.text()
        (key,) = set(await env.blobs()) - before
        assert VIDEO_KEY.match(key), key
        await _served_safely(env, key, "video/mp4")


async def test_scripts_are_no_avatar_and_a_jpeg_with_a_script_is_re_encoded(env: Env) -> None:
    auth = await env.signup_auth()
    before = await env.blobs()
    for data, declared in ((SVG, "image/svg+xml"), (SVG, "image/png"), (HTML, "image/jpeg"),
                           (HTML, "text/html"), (POLYGLOT, "image/webp")):
        r = await env.client.put("/v1/me/avatar", data=data,
                                 headers={**auth, "Content-Type": declared})
        await _problem(r, {415, 422})
    assert await env.blobs() == before

    picture = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(picture, "JPEG")
    scripted = picture.getvalue() + SCRIPT
    r = await env.client.put("/v1/me/avatar", data=scripted,
                             headers={**auth, "Content-Type": "image/jpeg"})
    assert r.status == 200, await r.text()
    (key,) = set(await env.blobs()) - set(before)
    assert AVATAR_KEY.match(key), key
    body = await _served_safely(env, key, "image/jpeg")
    assert body.startswith(b"\xff\xd8") and b"<script" not in body and body != scripted
    # the URL the API gives is the same thing
    status, _, served = await env.fetch((await r.json())["avatar_url"])
    assert status == 200 and served == body


# ---------------------------------------------------------------- keys and paths


async def test_client_file_names_never_reach_a_key(env: Env) -> None:
    auth = await env.signup_auth()
    for name in HOSTILE_NAMES:
        before = set(await env.blobs())
        r = await env.client.post("/v1/videos", data=_form(unique(POLYGLOT), name, "video/mp4"),
                                  headers={**auth, **FORM})
        if "\x00" in name:  # a NUL in a part header: the form is refused, nothing kept
            assert (await _problem(r, {422}))["code"] == "malformed_multipart"
            assert set(await env.blobs()) == before
            continue
        assert r.status == 201, (name, await r.text())
        (key,) = set(await env.blobs()) - before
        assert VIDEO_KEY.match(key), (name, key)
        text = json.dumps(await r.json())
        assert "passwd" not in text and "win.ini" not in text and ".html" not in text
    if env.outside is not None:  # the local store wrote nothing outside its root
        data = env.outside.parent
        assert env.outside.read_bytes() == SENTINEL
        assert (data.parent / "passwd").read_bytes() == SENTINEL
        stray = [p for p in data.rglob("*") if p.is_file()
                 and not p.is_relative_to(data / "media") and p != env.outside]
        assert stray == [], stray


@pytest.mark.parametrize("path", [
    "/v1/uploads/..%2f..%2fetc%2fpasswd",
    "/v1/uploads/%2e%2e/parts/1",
    "/v1/uploads/1%00/complete",
    "/v1/uploads/%2fetc%2fpasswd/parts/1",
    "/v1/uploads/1/parts/..%2f1",
])
async def test_upload_ids_are_integers(env: Env, path: str) -> None:
    auth = await env.signup_auth()
    for method in ("GET", "PUT", "POST"):
        r = await env.client.request(method, path, headers=auth, data=b"x")
        if r.status in (404, 405) and "application/problem+json" in r.headers["Content-Type"]:
            continue
        assert r.status in (400, 404, 405, 422), (method, path, r.status, await r.text())
        assert SENTINEL not in await r.read()


def _forged_media_url(key: str, exp: int) -> str:
    """The signature the server's secret gives ``key``: what a leaked secret (or a bug in
    signing) would allow."""
    message = b"momentic media url v1\n" + key.encode() + b"\n" + str(exp).encode()
    sig = base64.urlsafe_b64encode(
        hmac.new(SECRET.encode(), message, hashlib.sha256).digest()).rstrip(b"=").decode()
    return f"/media/{quote(key, safe='/')}?exp={exp}&sig={sig}"


TRAVERSALS = [
    "../secret.txt", "../../passwd", "/etc/passwd", "..%2fsecret.txt", "%2e%2e/secret.txt",
    "%2e%2e%2fsecret.txt", "videos/../../secret.txt", ".multipart/x/upload", "a\x00b",
    "..\\secret.txt", "//etc/passwd",
]


async def test_the_media_route_refuses_traversal(env: Env) -> None:
    auth = await env.signup_auth()
    r = await env.client.post("/v1/videos", data=_form(POLYGLOT, "c.mp4", "video/mp4"),
                              headers={**auth, **FORM})
    assert r.status == 201
    good = await env.media_url(next(iter(await env.blobs())))
    exp = int(time.time()) + 3600
    query = urlsplit(good).query
    for key in TRAVERSALS:
        raw = key.replace("\x00", "%00").replace("\\", "%5C")
        # unsigned, with another key's signature, and signed with the server's own secret
        for target in (f"/media/{raw}?exp={exp}&sig=x", f"/media/{raw}?{query}",
                       _forged_media_url(key, exp), f"/media/x/{raw}?{query}"):
            status, headers, body = await env.raw_get(target)
            # a key holding a NUL character is refused as any text holding one is
            expected = (422,) if "\x00" in key and "%00" in target else (400, 404)
            assert status in expected, (target, status, body[:200])
            assert SENTINEL not in body and b"root:" not in body, target
            if status in (404, 422):
                assert headers["Content-Type"].startswith("application/problem+json")
    # the control: the genuine URL is served; its signature opens no other key
    status, _, _ = await env.fetch(good)
    assert status == 200
    if env.store != "s3":
        parts = urlsplit(good)
        other = parts.path.replace("/source", "/thumb.jpg")
        status, _, _ = await env.raw_get(f"{other}?{parts.query}")
        assert status == 404
