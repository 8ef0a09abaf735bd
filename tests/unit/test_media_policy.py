"""``policies.media``: what a file is from its first bytes (MP4, QuickTime, WebM), and
which storage keys may name a blob."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from momentic_core.errors import Invalid, UnsupportedMedia
from momentic_core.policies.media import MAX_KEY_BYTES, SNIFF_BYTES, check_blob_key, sniff_video

from .ranking_support import make_world


def box(brand: bytes, size: int = 0x20) -> bytes:
    """The first bytes of an ISO base media file: an ``ftyp`` box with ``brand``."""
    return size.to_bytes(4, "big") + b"ftyp" + brand + b"\x00\x00\x02\x00"


@pytest.mark.parametrize(
    ("head", "kind"),
    [
        (box(b"isom"), "mp4"),
        (box(b"mp42"), "mp4"),
        (box(b"M4V "), "mp4"),
        (box(b"qt  "), "mov"),  # QuickTime: the iPhone's camera
        (box(b"qt  ")[:12], "mov"),  # twelve bytes are enough
        (box(b"isom")[:12], "mp4"),
        (b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81", "webm"),
        (b"\x1a\x45\xdf\xa3", "webm"),
        (box(b"isom")[:11], None),  # too short to hold a brand
        (b"\x00\x00\x00\x20ftqp" + b"qt  " + b"\x00" * 4, None),
        (b"\x00\x00\x00\x20xftyp" + b"isom" + b"\x00" * 3, None),  # ftyp one byte late
        (b"\x00ftypisom" + b"\x00" * 7, None),  # one byte early
        (b"\x1a\x45\xdf" + b"\x00" * 13, None),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 8, None),
        (b"GIF89a" + b"\x00" * 10, None),
        (b"", None),
    ],
)
def test_sniff_video_knows_mp4_quicktime_and_webm_by_their_first_bytes(
    head: bytes, kind: str | None
) -> None:
    assert len(head) <= SNIFF_BYTES
    assert sniff_video(head) == kind


def test_a_quicktime_brand_anywhere_but_the_major_brand_is_mp4() -> None:
    # Only the major brand (bytes 8-12) decides; "qt  " among the compatible brands of
    # an MP4 does not make it a QuickTime file.
    assert sniff_video(box(b"isom")[:12] + b"qt  ") == "mp4"
    assert sniff_video(b"\x00\x00\x00\x20ftyp" + b"qt\x00\x00" + b"\x00" * 4) == "mp4"


@pytest.mark.parametrize(
    "key",
    [
        "videos/2026/abc.mp4",
        "a",
        "a/b.c/d..e",  # dots inside a segment are fine
        "with space/and-dash_under~tilde",
        "ünïcödé/視頻",
        "k" * MAX_KEY_BYTES,
        "é" * (MAX_KEY_BYTES // 2),  # 1024 bytes in UTF-8
    ],
)
def test_check_blob_key_accepts_relative_keys(key: str) -> None:
    check_blob_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "",
        "k" * (MAX_KEY_BYTES + 1),
        "é" * (MAX_KEY_BYTES // 2) + "k",  # 1025 bytes, 513 characters
        "/etc/passwd",
        "a\\b",
        "a\x00b",
        "a\x1fb",
        "a\nb",
        "a\x7fb",
        "a//b",
        "a/",
        "../secret",
        "a/../../secret",
        "a/./b",
        ".hidden",
        "a/.b",
    ],
)
def test_check_blob_key_refuses_keys_that_could_leave_the_store(key: str) -> None:
    with pytest.raises(Invalid) as refused:
        check_blob_key(key)
    assert refused.value.code == "invalid_key"


@pytest.mark.parametrize("key", [None, 7, b"videos/a.mp4"])
def test_check_blob_key_refuses_what_is_not_a_string(key: object) -> None:
    with pytest.raises(Invalid) as refused:
        check_blob_key(key)  # type: ignore[arg-type]
    assert refused.value.code == "invalid_key"


async def chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


@pytest.mark.parametrize(
    ("head", "container"),
    [(box(b"qt  "), "mov"), (box(b"isom"), "mp4"), (b"\x1a\x45\xdf\xa3" + b"\x00" * 12, "webm")],
)
async def test_an_upload_is_staged_as_what_its_first_bytes_say(
    head: bytes, container: str
) -> None:
    # The head arrives in pieces smaller than the sniffed bytes: they are joined first.
    world = make_world()
    ann = await world.add_user("ann")
    staged = await world.videos.stage(ann, chunks(head + b"\x00" * 1000, 3))
    assert (staged.container, staged.size) == (container, len(head) + 1000)


async def test_an_upload_that_is_no_video_is_refused_before_anything_is_stored() -> None:
    world = make_world()
    ann = await world.add_user("ann")
    with pytest.raises(UnsupportedMedia) as refused:
        await world.videos.stage(ann, chunks(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, 5))
    assert refused.value.code == "unsupported_media_type"
