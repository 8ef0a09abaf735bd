"""BlobStore contract: in-memory, local files and S3 (moto's server) behave alike.

``blobs`` switches the implementation. S3 runs the real protocol against moto's server
(``s3_server``), in a fresh bucket per test (``s3_bucket``), with 5 MiB parts so that an
11 MiB stream is a three-part multipart upload.
"""

from __future__ import annotations

import asyncio
import io
import random
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import aiohttp
import attrs
import botocore.exceptions
import pytest

from adapters.local import LocalBlobStore
from adapters.memory.blobs import InMemoryBlobStore
from adapters.s3 import MIN_PART_SIZE, S3BlobStore
from momentic_core.errors import Invalid, NotFound, TooLarge, Unavailable, UnsupportedMedia
from momentic_core.model.videos import PartInfo
from momentic_core.policies.media import CACHE_CONTROL, cache_control
from momentic_core.ports import BlobStore

KiB = 1024
MiB = 1024 * KiB
BASE_URL = "http://media.test"
SECRET = b"test-secret-of-the-media-urls"
MOTO_KEYS = ("testing", "testing")  # moto takes any credentials


def payload(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


async def chunked(data: bytes, size: int = 64 * KiB) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), size):
        yield data[offset : offset + size]


async def failing(data: bytes, after: int, error: Exception) -> AsyncIterator[bytes]:
    """Yields ``data`` in 64 KiB chunks and raises ``error`` once ``after`` bytes went."""
    sent = 0
    async for chunk in chunked(data):
        if sent >= after:
            raise error
        yield chunk
        sent += len(chunk)
    raise error


async def read_all(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    return b"".join([chunk async for chunk in store.read(key, start, end)])


@attrs.frozen
class Blobs:
    name: str
    store: Any  # the adapter itself, to reach its extra methods
    open_uploads: Callable[[], Awaitable[int]]
    leftovers: Callable[[], list[str]]  # files a failed write must not leave

    @property
    def port(self) -> BlobStore:
        return self.store


def s3_store(endpoint: str, bucket: str, **options: Any) -> S3BlobStore:
    options = {"part_size": MIN_PART_SIZE, "connect_timeout": 2.0, **options}
    return S3BlobStore(bucket, endpoint, "us-east-1", *MOTO_KEYS, **options)


@pytest.fixture(params=["memory", "local", "s3"])
async def blobs(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Blobs]:
    if request.param == "memory":
        memory = InMemoryBlobStore(BASE_URL, SECRET)

        async def memory_uploads() -> int:
            return memory.open_uploads

        yield Blobs("memory", memory, memory_uploads, list)
        return
    if request.param == "local":
        root = tmp_path / "media"
        local = LocalBlobStore(root, BASE_URL, SECRET)

        async def local_uploads() -> int:
            multipart = root / ".multipart"
            return len(list(multipart.iterdir())) if multipart.exists() else 0

        def local_leftovers() -> list[str]:
            return [str(p) for p in root.rglob(".tmp-*")]

        yield Blobs("local", local, local_uploads, local_leftovers)
        return
    endpoint: str = request.getfixturevalue("s3_server")
    bucket: str = request.getfixturevalue("s3_bucket")
    admin: Any = request.getfixturevalue("s3_admin")

    async def s3_uploads() -> int:
        return len(admin.list_multipart_uploads(Bucket=bucket).get("Uploads", []))

    async with s3_store(endpoint, bucket) as s3:
        yield Blobs("s3", s3, s3_uploads, list)


async def send_part(blobs: Blobs, key: str, upload_id: str, number: int, data: bytes) -> PartInfo:
    """Upload one part the way a client would: to ``part_url`` with a plain PUT (no
    credentials of ours), or through the app (``put_part``) when there is no URL."""
    url = blobs.port.part_url(key, upload_id, number, timedelta(hours=1))
    if blobs.name == "s3":
        assert url is not None
        async with aiohttp.ClientSession() as http, http.put(url, data=io.BytesIO(data)) as resp:
            assert resp.status == 200, await resp.text()
            return PartInfo(number=number, size=len(data), etag=resp.headers["ETag"])
    assert url is None
    return await blobs.port.put_part(key, upload_id, number, chunked(data))


# ---------------------------------------------------------------------- whole blobs


@pytest.mark.parametrize("size", [0, 1, 300 * KiB, 11 * MiB], ids=["empty", "1B", "300K", "11M"])
async def test_put_stream_round_trip(blobs: Blobs, size: int) -> None:
    data = payload(size)
    key = "videos/k1/source"
    assert await blobs.port.put_stream(key, chunked(data), "video/mp4") == size
    assert await read_all(blobs.port, key) == data
    info = await blobs.port.stat(key)
    assert info is not None
    assert (info.key, info.size, info.content_type) == (key, size, "video/mp4")
    assert info.etag.startswith('"') and info.etag.endswith('"') and len(info.etag) > 2
    assert info.modified.tzinfo is not None
    assert await blobs.open_uploads() == 0


async def test_put_stream_replaces_a_blob_and_its_etag(blobs: Blobs) -> None:
    key = "avatars/u1/avatar"
    await blobs.port.put_stream(key, chunked(b"first"), "image/jpeg")
    first = await blobs.port.stat(key)
    await blobs.port.put_stream(key, chunked(b"the second one"), "image/png")
    second = await blobs.port.stat(key)
    assert first is not None and second is not None
    assert await read_all(blobs.port, key) == b"the second one"
    assert (second.size, second.content_type) == (14, "image/png")
    assert second.etag != first.etag


async def test_read_ranges(blobs: Blobs) -> None:
    data = payload(200 * KiB + 7)
    key = "videos/k2/source"
    await blobs.port.put_stream(key, chunked(data), "video/mp4")
    n = len(data)
    for start, end in [
        (0, None),
        (0, 1),
        (10, 20),
        (0, 12),
        (100_000, 150_000),
        (n - 1, None),
        (n - 5, n + 100),  # past the end: what there is
        (5, 5),
        (n, None),
        (n + 10, None),
    ]:
        got = await read_all(blobs.port, key, start, end)
        assert got == data[start:end], (start, end)


async def test_reading_a_missing_blob_is_not_found(blobs: Blobs, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as caught:
        await read_all(blobs.port, "videos/none/source")
    assert caught.value.code == "blob_not_found"
    with pytest.raises(NotFound):
        await read_all(blobs.port, "videos/none/source", 3, 3)
    target = tmp_path / "out.bin"
    with pytest.raises(NotFound) as caught:
        await blobs.port.download("videos/none/source", target)
    assert caught.value.code == "blob_not_found"
    assert not target.exists()
    assert await blobs.port.stat("videos/none/source") is None


async def test_delete_is_idempotent(blobs: Blobs) -> None:
    key = "videos/k3/thumb"
    await blobs.port.put_stream(key, chunked(b"jpeg"), "image/jpeg")
    await blobs.port.delete(key)
    assert await blobs.port.stat(key) is None
    await blobs.port.delete(key)
    await blobs.port.delete("videos/never/was")
    assert [b async for b in blobs.port.list_blobs("")] == []


async def test_list_blobs_by_prefix(blobs: Blobs) -> None:
    keys = ["videos/a1/source", "videos/a1/thumb", "videos/b2/source", "avatars/c3/avatar"]
    for n, key in enumerate(keys):
        await blobs.port.put_stream(key, chunked(b"x" * (n + 1)), "application/octet-stream")
    await blobs.port.put_stream("videosx/d4/source", chunked(b"other"), "video/mp4")

    async def listed(prefix: str) -> dict[str, int]:
        return {info.key: info.size async for info in blobs.port.list_blobs(prefix)}

    assert await listed("videos/") == {keys[0]: 1, keys[1]: 2, keys[2]: 3}
    assert await listed("videos/a1/") == {keys[0]: 1, keys[1]: 2}
    assert await listed("videos/a") == {keys[0]: 1, keys[1]: 2}
    assert await listed("avatars/") == {keys[3]: 4}
    assert await listed("nothing/") == {}
    assert len(await listed("")) == 5
    info = await blobs.port.stat(keys[1])
    listing = [i async for i in blobs.port.list_blobs("videos/a1/thumb")]
    assert info is not None and [(i.key, i.etag) for i in listing] == [(keys[1], info.etag)]
    assert listing[0].modified == info.modified


@pytest.mark.parametrize("after", [128 * KiB, 8 * MiB], ids=["in-first-part", "after-a-part"])
@pytest.mark.parametrize("error", [TooLarge("too big"), UnsupportedMedia("not a video")])
async def test_a_failing_stream_keeps_nothing(blobs: Blobs, after: int, error: Exception) -> None:
    key = "videos/k4/source"
    with pytest.raises(type(error)) as caught:
        await blobs.port.put_stream(key, failing(payload(11 * MiB), after, error), "video/mp4")
    assert caught.value is error  # the chunks' own error, unchanged
    assert await blobs.port.stat(key) is None
    assert [b async for b in blobs.port.list_blobs("videos/")] == []
    assert await blobs.open_uploads() == 0
    assert blobs.leftovers() == []


async def test_a_failing_stream_leaves_the_old_blob(blobs: Blobs) -> None:
    key = "videos/k5/source"
    await blobs.port.put_stream(key, chunked(b"old bytes"), "video/mp4")
    with pytest.raises(TooLarge):
        await blobs.port.put_stream(
            key, failing(payload(MiB), 64 * KiB, TooLarge("x")), "video/mp4"
        )
    assert await read_all(blobs.port, key) == b"old bytes"
    assert blobs.leftovers() == []


async def test_put_file_and_download(blobs: Blobs, tmp_path: Path) -> None:
    data = payload(6 * MiB + 3, seed=7)  # two parts on S3
    source = tmp_path / "in.mp4"
    source.write_bytes(data)
    key = "videos/k6/playback"
    assert await blobs.port.put_file(key, source, "video/mp4") == len(data)
    info = await blobs.port.stat(key)
    assert info is not None and (info.size, info.content_type) == (len(data), "video/mp4")
    target = tmp_path / "out" / "copy.mp4"
    target.parent.mkdir()
    await blobs.port.download(key, target)
    assert target.read_bytes() == data
    assert [p.name for p in target.parent.iterdir()] == ["copy.mp4"]  # no temporary left


async def test_every_object_is_stored_with_its_cache_control(
    blobs: Blobs, tmp_path: Path
) -> None:
    """One object, a streamed multipart one, a file and a completed multipart upload:
    each keeps ``policies.media.cache_control`` of its key, and S3 says so to a GET."""
    source = tmp_path / "seg.m4s"
    source.write_bytes(payload(10 * KiB))
    await blobs.port.put_stream("videos/cc/source", chunked(payload(100 * KiB)), "video/mp4")
    await blobs.port.put_stream("videos/cc/big", chunked(payload(11 * MiB)), "video/mp4")
    await blobs.port.put_file("videos/cc/hls/hi/000.m4s", source, "video/iso.segment")
    upload_id = await blobs.port.start_multipart("videos/cc/parts", "video/mp4")
    part = await send_part(blobs, "videos/cc/parts", upload_id, 1, payload(KiB))
    await blobs.port.complete_multipart("videos/cc/parts", upload_id, [part])
    for key in ("videos/cc/source", "videos/cc/big", "videos/cc/hls/hi/000.m4s",
                "videos/cc/parts"):
        info = await blobs.port.stat(key)
        assert info is not None and info.cache_control == cache_control(key) == CACHE_CONTROL
    if blobs.name == "s3":
        url = blobs.port.signed_url("videos/cc/hls/hi/000.m4s", timedelta(minutes=5))
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            assert resp.headers["Cache-Control"] == CACHE_CONTROL
            assert resp.headers["Content-Type"] == "video/iso.segment"


# ---------------------------------------------------------------------- multipart


async def test_multipart_upload(blobs: Blobs) -> None:
    key = "videos/k7/source"
    first, second = payload(MIN_PART_SIZE, seed=2), payload(300 * KiB, seed=3)
    upload_id = await blobs.port.start_multipart(key, "video/webm")
    assert await blobs.port.list_parts(key, upload_id) == []
    # Out of order, and part 2 sent twice: the last one counts.
    await send_part(blobs, key, upload_id, 2, b"replaced")
    part2 = await send_part(blobs, key, upload_id, 2, second)
    part1 = await send_part(blobs, key, upload_id, 1, first)
    parts = await blobs.port.list_parts(key, upload_id)
    assert parts == [part1, part2]
    assert [(p.number, p.size) for p in parts] == [(1, len(first)), (2, len(second))]
    assert await blobs.port.stat(key) is None  # nothing visible before completion

    await blobs.port.complete_multipart(key, upload_id, parts)
    assert await read_all(blobs.port, key) == first + second
    info = await blobs.port.stat(key)
    assert info is not None and (info.size, info.content_type) == (
        len(first) + len(second),
        "video/webm",
    )
    assert await blobs.open_uploads() == 0
    with pytest.raises(NotFound) as caught:
        await blobs.port.list_parts(key, upload_id)
    assert caught.value.code == "upload_not_found"


async def test_parts_through_the_app(blobs: Blobs) -> None:
    key = "videos/k13/source"
    first, second = payload(MIN_PART_SIZE, seed=4), payload(10 * KiB, seed=5)
    upload_id = await blobs.port.start_multipart(key, "video/mp4")
    part1 = await blobs.port.put_part(key, upload_id, 1, chunked(first))
    part2 = await blobs.port.put_part(key, upload_id, 2, chunked(second))
    assert (part1.number, part1.size, part2.number, part2.size) == (1, len(first), 2, len(second))
    assert await blobs.port.list_parts(key, upload_id) == [part1, part2]
    await blobs.port.complete_multipart(key, upload_id, [part1, part2])
    assert await read_all(blobs.port, key) == first + second


async def test_a_failing_part_stream_stores_no_part(blobs: Blobs) -> None:
    key = "videos/k14/source"
    upload_id = await blobs.port.start_multipart(key, "video/mp4")
    error = TooLarge("part too big")
    with pytest.raises(TooLarge) as caught:
        await blobs.port.put_part(key, upload_id, 1, failing(payload(MiB), 128 * KiB, error))
    assert caught.value is error
    assert await blobs.port.list_parts(key, upload_id) == []
    assert blobs.leftovers() == []
    await blobs.port.abort_multipart(key, upload_id)


async def test_abort_multipart_drops_the_parts(blobs: Blobs) -> None:
    key = "videos/k8/source"
    upload_id = await blobs.port.start_multipart(key, "video/mp4")
    await send_part(blobs, key, upload_id, 1, payload(64 * KiB))
    assert await blobs.open_uploads() == 1
    await blobs.port.abort_multipart(key, upload_id)
    assert await blobs.open_uploads() == 0
    with pytest.raises(NotFound) as caught:
        await blobs.port.list_parts(key, upload_id)
    assert caught.value.code == "upload_not_found"
    await blobs.port.abort_multipart(key, upload_id)  # idempotent
    assert await blobs.port.stat(key) is None
    assert blobs.leftovers() == []


async def test_list_multipart_lists_open_uploads_only(blobs: Blobs) -> None:
    """What the janitor needs to find uploads no row knows of (issue 9)."""
    before = datetime.now(UTC) - timedelta(minutes=5)
    open_one = await blobs.port.start_multipart("videos/k20/source", "video/mp4")
    other = await blobs.port.start_multipart("avatars/k20/a.jpg", "image/jpeg")
    done = await blobs.port.start_multipart("videos/k21/source", "video/mp4")
    part = await send_part(blobs, "videos/k21/source", done, 1, payload(KiB))
    await blobs.port.complete_multipart("videos/k21/source", done, [part])
    gone = await blobs.port.start_multipart("videos/k22/source", "video/mp4")
    await blobs.port.abort_multipart("videos/k22/source", gone)
    found = [p async for p in blobs.port.list_multipart("videos/")]
    assert [(p.key, p.upload_id) for p in found] == [("videos/k20/source", open_one)]
    assert found[0].active.tzinfo is not None
    if blobs.name != "s3":  # moto stamps every upload with one fixed date in 2010
        assert found[0].active >= before
    await send_part(blobs, "videos/k20/source", open_one, 1, payload(KiB))
    [latest] = [p async for p in blobs.port.list_multipart("videos/")]
    assert latest.active >= before  # a part received just now (on S3 too)
    everything = [p.upload_id async for p in blobs.port.list_multipart("")]
    assert sorted(everything) == sorted([open_one, other])
    await blobs.port.abort_multipart("videos/k20/source", open_one)
    await blobs.port.abort_multipart("avatars/k20/a.jpg", other)
    assert [p async for p in blobs.port.list_multipart("")] == []
    await blobs.port.delete("videos/k21/source")


async def test_unknown_uploads_are_not_found(blobs: Blobs) -> None:
    key = "videos/k9/source"
    upload_id = await blobs.port.start_multipart(key, "video/mp4")
    strangers = [(key, "0" * 32), (key, "not-an-upload")]
    if blobs.name != "s3":  # moto does not tie an upload id to its key (AWS does)
        strangers.append(("videos/k9/other", upload_id))
    for other_key, other_id in strangers:
        with pytest.raises(NotFound) as caught:
            await blobs.port.list_parts(other_key, other_id)
        assert caught.value.code == "upload_not_found"
        await blobs.port.abort_multipart(other_key, other_id)
    assert await blobs.port.list_parts(key, upload_id) == []  # untouched by those aborts
    if blobs.name != "s3":  # S3 answers a bogus upload id on UploadPart itself
        with pytest.raises(NotFound):
            await blobs.port.put_part(key, "0" * 32, 1, chunked(b"x"))
    await blobs.port.abort_multipart(key, upload_id)


async def test_completing_with_a_wrong_part_is_refused(blobs: Blobs) -> None:
    key = "videos/k10/source"
    upload_id = await blobs.port.start_multipart(key, "video/mp4")
    part = await send_part(blobs, key, upload_id, 1, payload(KiB))
    with pytest.raises(Invalid) as caught:
        await blobs.port.complete_multipart(
            key, upload_id, [attrs.evolve(part, etag='"0123456789abcdef0123456789abcdef"')]
        )
    assert caught.value.code == "invalid_parts"
    assert await blobs.port.stat(key) is None
    await blobs.port.abort_multipart(key, upload_id)


# ---------------------------------------------------------------------- URLs


async def test_signed_url(blobs: Blobs) -> None:
    key = "videos/k11/playback"
    data = payload(100 * KiB)
    await blobs.port.put_stream(key, chunked(data), "video/mp4")
    url = blobs.port.signed_url(key, timedelta(minutes=5))
    if blobs.name == "s3":
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            assert resp.status == 200
            assert await resp.read() == data
        return
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == BASE_URL
    assert parts.path.startswith("/media/")
    assert unquote(parts.path.removeprefix("/media/")) == key
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    exp, sig = query["exp"], query["sig"]
    now = time.time()
    assert now + 290 < int(exp) <= now + 301
    verify = blobs.store.verify_signature
    assert verify(key, exp, sig, now) is True
    assert verify(key, int(exp), sig, now) is True
    assert verify(key, exp, sig, int(exp)) is False  # expired
    assert verify(key, exp, sig, int(exp) + 3600) is False
    assert verify("videos/k11/source", exp, sig, now) is False  # another key
    assert verify(key, str(int(exp) + 3600), sig, now) is False  # a longer life
    tampered = ("A" if sig[0] != "A" else "B") + sig[1:]
    assert verify(key, exp, tampered, now) is False
    assert verify(key, exp, "", now) is False
    assert verify(key, "soon", sig, now) is False
    assert verify(key, exp, "é" + sig[1:], now) is False
    assert verify("../etc/passwd", exp, sig, now) is False
    other = type(blobs.store)(*_other_store_args(blobs))
    assert other.verify_signature(key, exp, sig, now) is False  # another secret


def _other_store_args(blobs: Blobs) -> tuple[Any, ...]:
    if blobs.name == "local":
        return (blobs.store.root, BASE_URL, b"another secret")
    return (BASE_URL, b"another secret")


async def test_urls_are_made_without_network(blobs: Blobs, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("a URL was made with network I/O")

    key = "videos/k12/source"
    upload_id = await blobs.port.start_multipart(key, "video/mp4")
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket.socket, "connect_ex", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    assert blobs.port.signed_url(key, timedelta(hours=1))
    part = blobs.port.part_url(key, upload_id, 3, timedelta(hours=1))
    if blobs.name == "s3":
        assert part is not None
        query = parse_qs(urlsplit(part).query)
        assert query["partNumber"] == ["3"] and query["uploadId"] == [upload_id]
    else:
        assert part is None
    monkeypatch.undo()
    await blobs.port.abort_multipart(key, upload_id)


# ---------------------------------------------------------------------- local files


@pytest.mark.parametrize(
    "key",
    [
        "../x",
        "/etc/passwd",
        "a//b",
        "a/./b",
        "a/../../x",
        "..",
        ".",
        "",
        "a/",
        "a\\..\\b",
        "a\x00b",
        "a\nb",
        ".meta/x",
        ".multipart/x",
        "videos/.tmp-1",
        "x" * 1025,
    ],
)
async def test_local_keys_cannot_leave_the_root(tmp_path: Path, key: str) -> None:
    root = tmp_path / "media"
    store = LocalBlobStore(root, BASE_URL, SECRET)
    with pytest.raises(Invalid) as caught:
        store.path_for(key)
    assert caught.value.code == "invalid_key"
    with pytest.raises(Invalid):
        await store.put_stream(key, chunked(b"evil"), "text/plain")
    with pytest.raises(Invalid):
        await store.put_file(key, Path(__file__), "text/plain")
    with pytest.raises(Invalid):
        await read_all(store, key)
    with pytest.raises(Invalid):
        await store.delete(key)
    with pytest.raises(Invalid):
        await store.start_multipart(key, "video/mp4")
    with pytest.raises(Invalid):
        store.signed_url(key, timedelta(minutes=1))
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == []


async def test_local_symlinks_cannot_lead_out(tmp_path: Path) -> None:
    root = tmp_path / "media"
    outside = tmp_path / "outside"
    outside.mkdir()
    root.mkdir()
    (root / "link").symlink_to(outside, target_is_directory=True)
    store = LocalBlobStore(root, BASE_URL, SECRET)
    with pytest.raises(Invalid):
        await store.put_stream("link/x", chunked(b"evil"), "text/plain")
    assert list(outside.iterdir()) == []


async def test_local_path_for_and_etag_match_what_is_served(tmp_path: Path) -> None:
    root = tmp_path / "media"
    store = LocalBlobStore(root, BASE_URL, SECRET)
    await store.put_stream("videos/a/source", chunked(b"12345"), "video/mp4")
    path = store.path_for("videos/a/source")
    assert path == (root / "videos" / "a" / "source").resolve()
    st = path.stat()
    info = await store.stat("videos/a/source")
    # aiohttp's FileResponse sends this very ETag for the file.
    assert info is not None and info.etag == f'"{st.st_mtime_ns:x}-{st.st_size:x}"'
    await store.delete("videos/a/source")
    assert not (root / "videos").exists()  # emptied directories go too


# ---------------------------------------------------------------------- S3 only


async def test_s3_check_bucket(s3_server: str, s3_bucket: str) -> None:
    async with s3_store(s3_server, s3_bucket) as store:
        await store.check_bucket()
    async with s3_store(s3_server, "momentic-no-such-bucket") as store:
        with pytest.raises(Unavailable) as caught:
            await store.check_bucket()
    assert "momentic-no-such-bucket" in caught.value.detail
    assert "does not exist" in caught.value.detail


async def test_s3_down_is_unavailable(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = s3_store(f"http://127.0.0.1:{port}", "momentic-media", connect_timeout=0.5)
    # A hang guard, not a speed claim: without it a missing timeout would stall the run.
    async with asyncio.timeout(60), store:  # opening sends nothing
        assert store.signed_url("videos/a/source", timedelta(minutes=1))
        with pytest.raises(Unavailable) as caught:
            await store.check_bucket()
        assert "momentic-media" in caught.value.detail
        calls: list[Callable[[], Awaitable[object]]] = [
            lambda: store.stat("videos/a/source"),
            lambda: store.put_stream("videos/a/source", chunked(b"abc"), "video/mp4"),
            lambda: read_all(store, "videos/a/source"),
            lambda: store.delete("videos/a/source"),
            lambda: store.start_multipart("videos/a/source", "video/mp4"),
            lambda: store.download("videos/a/source", tmp_path / "x"),
        ]
        for call in calls:
            with pytest.raises(Unavailable):
                await call()


async def test_s3_failure_mid_upload_aborts_it(
    s3_server: str, s3_bucket: str, s3_admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with s3_store(s3_server, s3_bucket) as store:
        real = store._client.upload_part
        sent: list[int] = []

        async def flaky(**params: Any) -> Any:
            if sent:
                raise botocore.exceptions.EndpointConnectionError(endpoint_url=s3_server)
            sent.append(params["PartNumber"])
            return await real(**params)

        monkeypatch.setattr(store._client, "upload_part", flaky)
        with pytest.raises(Unavailable):
            await store.put_stream("videos/a/source", chunked(payload(11 * MiB)), "video/mp4")
        assert sent == [1]
        assert await store.stat("videos/a/source") is None
    assert s3_admin.list_multipart_uploads(Bucket=s3_bucket).get("Uploads", []) == []


async def test_s3_store_must_be_opened() -> None:
    store = s3_store("http://127.0.0.1:9", "momentic-media")
    with pytest.raises(RuntimeError):
        await store.stat("videos/a/source")
    with pytest.raises(ValueError):
        S3BlobStore("momentic-media", part_size=MIN_PART_SIZE - 1)


def test_the_adapters_satisfy_the_port(tmp_path: Path) -> None:
    # mypy checks these assignments against the BlobStore protocol.
    stores: list[BlobStore] = [
        InMemoryBlobStore(BASE_URL, SECRET),
        LocalBlobStore(tmp_path / "media", BASE_URL, SECRET),
        s3_store("http://127.0.0.1:9", "momentic-media"),
    ]
    assert len(stores) == 3


async def test_s3_signing_follows_expiring_credentials(
    s3_server: str, s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the default chain's expiring credentials (here the container provider), the
    presigner picks up each refresh."""
    from aiohttp import web

    import adapters.s3.blob_store as s3_module

    served: list[str] = []

    async def credentials(request: web.Request) -> web.Response:
        served.append(f"AKIDTEST{len(served) + 1}")
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 300))
        return web.json_response(
            {
                "AccessKeyId": served[-1],
                "SecretAccessKey": "secret",
                "Token": "token",
                "Expiration": expires,  # within botocore's mandatory refresh window
            }
        )

    app = web.Application()
    app.router.add_get("/creds", credentials)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_PROFILE",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", f"http://127.0.0.1:{port}/creds")
    monkeypatch.setattr(s3_module, "CREDENTIAL_REFRESH_SECONDS", 0.02)
    try:
        store = S3BlobStore(s3_bucket, s3_server, "us-east-1", part_size=MIN_PART_SIZE)

        def signing_key() -> str:
            url = store.signed_url("videos/a/source", timedelta(minutes=1))
            return parse_qs(urlsplit(url).query)["X-Amz-Credential"][0].split("/")[0]

        async with store:
            first = signing_key()
            assert first.startswith("AKIDTEST")
            deadline = time.monotonic() + 3
            while signing_key() == first:
                assert time.monotonic() < deadline, "the signer never saw fresh credentials"
                await asyncio.sleep(0.02)
            assert signing_key() in served
            await store.check_bucket()  # the client itself works on these credentials
    finally:
        await runner.cleanup()
