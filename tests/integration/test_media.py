"""The media adapters on real files: clips encoded with PyAV, images made with Pillow.

PyAvMediaProcessor probes, thumbnails and transcodes; PillowImageProcessor makes avatars.
"""

from __future__ import annotations

import asyncio
import io
import struct
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

import av
import pytest
from PIL import Image, ImageCms, ImageFile

from adapters.config import Settings
from adapters.media.images import PillowImageProcessor
from adapters.media.video import PyAvMediaProcessor
from momentic_core.errors import Invalid, UnsupportedMedia
from momentic_core.model.videos import MediaInfo, MediaLimits

media = PyAvMediaProcessor()
images = PillowImageProcessor()
LIMITS = MediaLimits()

RED = (200, 40, 40)
BLUE = (30, 30, 200)


def near(pixel: object, colour: tuple[int, int, int], tolerance: int = 40) -> bool:
    assert isinstance(pixel, tuple)
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], colour, strict=True))


def top_level_boxes(path: Path) -> list[str]:
    """The types of an MP4 file's top-level boxes, in file order."""
    data = path.read_bytes()
    boxes: list[str] = []
    at = 0
    while at + 8 <= len(data):
        size, kind = struct.unpack(">I4s", data[at : at + 8])
        if size == 1:
            (size,) = struct.unpack(">Q", data[at + 8 : at + 16])
        boxes.append(kind.decode("latin-1"))
        if size < 8:
            break  # 0 means "to the end of the file"
        at += size
    return boxes


# ---------------------------------------------------------------------------- probe

PROBES = {
    "playable": MediaInfo("mp4", 1.0, 320, 240, "h264", "aac", playable=True),
    "silent": MediaInfo("mp4", 0.5, 320, 240, "h264", None, playable=True),
    "rotated": MediaInfo("mp4", 1.0, 240, 320, "h264", "aac", playable=True),
    "not_playable": MediaInfo("webm", 1.0, 320, 240, "vp8", "opus", playable=False),
    "mov_mpeg4": MediaInfo("mov", 1.0, 320, 240, "mpeg4", "aac", playable=False),
    # One key frame in 61 s (HLS would have one segment): transcoded, were it not too long.
    "long": MediaInfo("mp4", 61.0, 64, 48, "h264", None, playable=False),
}


@pytest.mark.parametrize("name", list(PROBES))
async def test_probe_reads_the_facts(name: str, sample_clips: dict[str, Path]) -> None:
    expected = PROBES[name]
    info = await media.probe(sample_clips[name])
    assert info.duration_seconds == pytest.approx(expected.duration_seconds, abs=0.1)
    assert (info.container, info.width, info.height) == (
        expected.container,
        expected.width,
        expected.height,
    )
    assert (info.video_codec, info.audio_codec, info.playable) == (
        expected.video_codec,
        expected.audio_codec,
        expected.playable,
    )


async def test_the_file_name_does_not_matter(sample_clips: dict[str, Path], tmp_path: Path) -> None:
    source = tmp_path / "source"  # what the processing job downloads to
    source.write_bytes(sample_clips["not_playable"].read_bytes())
    assert (await media.probe(source)).container == "webm"


async def test_the_long_clip_is_over_the_limit(sample_clips: dict[str, Path]) -> None:
    info = await media.probe(sample_clips["long"])
    assert info.duration_seconds > Settings().max_video_seconds


async def test_h264_outside_mp4_or_with_opus_is_not_playable(
    tmp_path: Path, clip_factory: Callable[..., Path]
) -> None:
    clip = clip_factory(tmp_path / "clip.mkv", container="mkv", seconds=0.5)
    info = await media.probe(clip)
    assert (info.container, info.video_codec, info.audio_codec) == ("matroska", "h264", "opus")
    assert not info.playable


async def test_a_recording_without_duration_is_measured_from_its_packets(
    tmp_path: Path, clip_factory: Callable[..., Path]
) -> None:
    class WriteOnly:
        def __init__(self, file: io.BufferedWriter) -> None:
            self.file = file

        def write(self, data: bytes) -> int:
            return self.file.write(data)

    path = tmp_path / "recording.webm"
    with path.open("wb") as file:
        clip_factory(WriteOnly(file), container="webm", codec="vp9", seconds=1.5)
    with av.open(str(path)) as container:
        assert container.duration is None  # what a browser's MediaRecorder writes
    info = await media.probe(path)
    assert info.duration_seconds == pytest.approx(1.5, abs=0.1)
    assert (info.container, info.video_codec) == ("webm", "vp9")


@pytest.mark.parametrize("name", ["html", "truncated", "empty", "audio_only"])
async def test_undecodable_files_are_invalid(name: str, sample_clips: dict[str, Path]) -> None:
    with pytest.raises(Invalid) as caught:
        await media.probe(sample_clips[name])
    assert caught.value.code == "undecodable"


async def test_an_mp4_header_over_garbage_is_undecodable(tmp_path: Path) -> None:
    path = tmp_path / "fake.mp4"
    path.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 8)
    with pytest.raises(Invalid) as caught:
        await media.probe(path)
    assert caught.value.code == "undecodable"


async def test_frames_over_the_pixel_guard_are_refused(sample_clips: dict[str, Path]) -> None:
    guarded = PyAvMediaProcessor(max_pixels=320 * 240 - 1)
    with pytest.raises(Invalid) as caught:
        await guarded.probe(sample_clips["playable"])
    assert caught.value.code == "resolution_too_large"


# ------------------------------------------------------------------------ thumbnail


async def test_thumbnail_is_an_upright_jpeg_of_the_clip(
    sample_clips: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "thumb.jpg"
    await media.thumbnail(sample_clips["playable"], target)
    with Image.open(target) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.size == (320, 240)  # small clips are not enlarged
        assert near(thumb.getpixel((20, 120)), RED)
        assert near(thumb.getpixel((300, 120)), BLUE)

    await media.thumbnail(sample_clips["rotated"], target)
    with Image.open(target) as thumb:
        assert thumb.size == (240, 320)
        # Turned a quarter counter-clockwise: the red left half is now at the bottom.
        assert near(thumb.getpixel((120, 300)), RED)
        assert near(thumb.getpixel((120, 20)), BLUE)
    assert [p.name for p in tmp_path.iterdir()] == ["thumb.jpg"]


async def test_thumbnail_fits_720_and_keeps_the_aspect(
    tmp_path: Path, clip_factory: Callable[..., Path]
) -> None:
    clip = clip_factory(tmp_path / "big.mp4", width=1280, height=960, seconds=0.6, audio=False)
    target = tmp_path / "thumb.jpg"
    await media.thumbnail(clip, target)
    with Image.open(target) as thumb:
        assert thumb.format == "JPEG"
        assert thumb.size == (720, 540)


@pytest.mark.parametrize("name", ["silent", "long", "not_playable"])
async def test_thumbnail_of_short_long_and_webm_clips(
    name: str, sample_clips: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "thumb.jpg"
    await media.thumbnail(sample_clips[name], target)
    with Image.open(target) as thumb:
        assert thumb.format == "JPEG"
        assert max(thumb.size) <= 720


async def test_no_thumbnail_of_what_is_not_a_video(
    sample_clips: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(Invalid):
        await media.thumbnail(sample_clips["html"], tmp_path / "thumb.jpg")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------------ transcode


@pytest.mark.parametrize("name", ["not_playable", "mov_mpeg4"])
async def test_transcode_makes_a_playable_faststart_mp4(
    name: str, sample_clips: dict[str, Path], tmp_path: Path
) -> None:
    source = await media.probe(sample_clips[name])
    target = tmp_path / "playback.mp4"
    await media.transcode(sample_clips[name], target)

    info = await media.probe(target)
    assert info.playable
    assert (info.container, info.video_codec, info.audio_codec) == ("mp4", "h264", "aac")
    assert (info.width, info.height) == (source.width, source.height)
    assert info.duration_seconds == pytest.approx(source.duration_seconds, abs=0.2)
    boxes = top_level_boxes(target)
    assert boxes.index("moov") < boxes.index("mdat")  # faststart: the index comes first
    with av.open(str(target)) as container:
        sound = container.streams.audio[0].codec_context
        assert (sound.sample_rate, sound.layout.name) == (48000, "stereo")
        assert container.streams.video[0].codec_context.pix_fmt == "yuv420p"
        assert container.streams.video[0].frames == 24
    assert [p.name for p in tmp_path.iterdir()] == ["playback.mp4"]  # no temporary left


async def test_transcode_of_a_silent_clip_has_no_audio(
    sample_clips: dict[str, Path], tmp_path: Path
) -> None:
    target = tmp_path / "playback.mp4"
    await media.transcode(sample_clips["silent"], target)
    info = await media.probe(target)
    assert info.playable and info.audio_codec is None
    assert info.duration_seconds == pytest.approx(0.5, abs=0.2)


async def test_transcode_keeps_the_rotation(sample_clips: dict[str, Path], tmp_path: Path) -> None:
    target = tmp_path / "playback.mp4"
    await media.transcode(sample_clips["rotated"], target)
    info = await media.probe(target)
    assert (info.width, info.height) == (240, 320)


async def test_transcode_scales_down_to_1080_with_even_sides(
    tmp_path: Path, clip_factory: Callable[..., Path]
) -> None:
    big = clip_factory(tmp_path / "big.mp4", width=1440, height=1080, seconds=0.25, audio=False)
    target = tmp_path / "big-playback.mp4"
    await media.transcode(big, target)
    info = await media.probe(target)
    assert (info.width, info.height) == (1080, 810)

    odd = clip_factory(
        tmp_path / "odd.webm", codec="vp9", container="webm", width=321, height=241, seconds=0.25
    )
    await media.transcode(odd, target)
    info = await media.probe(target)
    assert info.width % 2 == 0 and info.height % 2 == 0
    assert info.width / info.height == pytest.approx(321 / 241, rel=0.02)
    assert info.playable


async def test_transcode_of_garbage_writes_nothing(
    sample_clips: dict[str, Path], tmp_path: Path
) -> None:
    with pytest.raises(Invalid):
        await media.transcode(sample_clips["truncated"], tmp_path / "playback.mp4")
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------------------------- avatars


def halves(size: tuple[int, int], mode: str = "RGB") -> Image.Image:
    """Red on the left half, blue on the right."""
    image = Image.new(mode, size, RED if mode == "RGB" else (*RED, 255))
    image.paste(BLUE if mode == "RGB" else (*BLUE, 255), (size[0] // 2, 0, *size))
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def exif_with_gps(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 24.0), 3: "E", 4: (2.0, 21.0, 3.0)}  # GPS IFD
    return exif


def assert_clean_square_jpeg(data: bytes, size: int = LIMITS.avatar_size) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    assert image.format == "JPEG"
    assert image.size == (size, size)
    assert image.mode == "RGB"
    assert "exif" not in image.info and "icc_profile" not in image.info
    assert not image.getexif()
    assert b"Exif" not in data and b"ICC_PROFILE" not in data and b"SpyCam" not in data
    return image


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(
            encode(halves((800, 600)), "JPEG", exif=exif_with_gps(), quality=90), id="jpeg"
        ),
        pytest.param(encode(halves((300, 200)), "WEBP", exif=exif_with_gps()), id="webp"),
        pytest.param(encode(halves((640, 480)), "PNG", exif=exif_with_gps()), id="png"),
        pytest.param(encode(halves((120, 90)), "JPEG"), id="small-jpeg-enlarged"),
        pytest.param(encode(Image.new("CMYK", (64, 64), (0, 200, 200, 0)), "JPEG"), id="cmyk"),
        pytest.param(encode(Image.new("I;16", (64, 64), 40000), "PNG"), id="png-16-bit"),
        pytest.param(encode(Image.new("P", (64, 64), 3), "PNG"), id="png-palette"),
    ],
)
async def test_avatar_is_a_square_jpeg_without_metadata(data: bytes) -> None:
    assert_clean_square_jpeg(await images.avatar(data, 512, LIMITS.avatar_max_pixels))


async def test_avatar_keeps_the_centre_and_drops_the_icc_profile() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = encode(halves((800, 400)), "JPEG", icc_profile=srgb, quality=95)
    avatar = assert_clean_square_jpeg(await images.avatar(data, 512, LIMITS.avatar_max_pixels))
    assert near(avatar.getpixel((100, 256)), RED)
    assert near(avatar.getpixel((412, 256)), BLUE)


async def test_avatar_applies_the_exif_orientation() -> None:
    # Stored landscape; orientation 6 says "turn a quarter clockwise to show": the red left
    # half ends up on top.
    data = encode(halves((800, 400)), "JPEG", exif=exif_with_gps(orientation=6), quality=95)
    avatar = assert_clean_square_jpeg(await images.avatar(data, 512, LIMITS.avatar_max_pixels))
    assert near(avatar.getpixel((256, 60)), RED)
    assert near(avatar.getpixel((256, 450)), BLUE)


async def test_avatar_flattens_transparency_on_white() -> None:
    image = halves((400, 400), mode="RGBA")
    image.paste((0, 0, 0, 0), (0, 0, 400, 100))  # a transparent top band
    avatar = assert_clean_square_jpeg(
        await images.avatar(encode(image, "PNG"), 512, LIMITS.avatar_max_pixels)
    )
    assert near(avatar.getpixel((256, 40)), (255, 255, 255), tolerance=10)
    assert near(avatar.getpixel((100, 400)), RED)


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(encode(halves((64, 64)), "GIF"), id="gif"),
        pytest.param(encode(halves((64, 64)), "BMP"), id="bmp"),
        pytest.param(b"<!DOCTYPE html><html><body>hello</body></html>", id="html"),
        pytest.param(b"", id="empty"),
    ],
)
async def test_other_formats_are_unsupported(data: bytes) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        await images.avatar(data, 512, LIMITS.avatar_max_pixels)
    assert caught.value.code == "unsupported_image"


def noisy(size: tuple[int, int]) -> Image.Image:
    return Image.frombytes(
        "RGB", size, bytes((i * 7919) % 251 for i in range(3 * size[0] * size[1]))
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
async def test_truncated_images_are_unsupported(fmt: str) -> None:
    data = encode(noisy((160, 120)), fmt)
    with pytest.raises(UnsupportedMedia) as caught:
        await images.avatar(data[: len(data) // 2], 512, LIMITS.avatar_max_pixels)
    assert caught.value.code == "unsupported_image"


def png_header(width: int, height: int) -> bytes:
    """A tiny PNG that claims ``width``x``height`` pixels (its data would run out)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data))
        return struct.pack(">I", len(data)) + kind + data + crc

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 1024))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize(
    "width, height",
    [
        pytest.param(8000, 8000, id="over-max-pixels"),
        pytest.param(10_000, 10_000, id="over-pillow-warning-limit"),
        pytest.param(30_000, 30_000, id="over-pillow-error-limit"),
    ],
)
async def test_pixel_floods_are_refused_before_decoding(
    width: int, height: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    data = png_header(width, height)
    assert len(data) < 200
    with pytest.raises(Invalid) as caught:
        await images.avatar(data, 512, LIMITS.avatar_max_pixels)
    assert caught.value.code == "image_too_large"


async def test_a_small_png_of_many_pixels_is_refused_before_decoding(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A real, valid PNG of 4000x4000 blank pixels is a few dozen KB: what it costs is
    what it decodes to, so the cap is on pixels, checked from the header."""
    def no_decoding(self: ImageFile.ImageFile) -> None:
        raise AssertionError("the image was decoded")

    data = encode(Image.new("L", (4000, 4000)), "PNG")
    assert len(data) < 100_000
    monkeypatch.setattr(ImageFile.ImageFile, "load", no_decoding)
    with pytest.raises(Invalid) as caught:
        await images.avatar(data, 512, LIMITS.avatar_max_pixels)
    assert caught.value.code == "image_too_large"


async def test_a_large_photo_is_decoded_at_a_reduced_scale(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A phone's JPEG of 12 MP (over the cap as declared) decodes at 1/4 scale: the cap is
    on what is decoded, and that is 0.76 MP."""
    decoded: list[tuple[int, int]] = []
    load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> object:
        decoded.append(self.size)
        return load(self)

    data = encode(halves((4032, 3024)), "JPEG", quality=80)
    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    avatar = assert_clean_square_jpeg(await images.avatar(data, 512, 4032 * 3024 - 1))
    assert decoded and max(w * h for w, h in decoded) <= 1008 * 756, decoded
    assert near(avatar.getpixel((100, 256)), RED)


async def test_avatars_decode_on_a_small_pool_of_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """At most ``workers`` decodes at once, on threads of their own (not the default pool
    that video processing uses): concurrent uploads wait instead of decoding at once."""
    import adapters.media.images as module

    running, peak, names = 0, 0, set()
    guard = threading.Lock()

    def slow(data: bytes, size: int, max_pixels: int) -> bytes:
        nonlocal running, peak
        with guard:
            running += 1
            peak = max(peak, running)
            names.add(threading.current_thread().name)
        time.sleep(0.05)
        with guard:
            running -= 1
        return b"jpeg"

    monkeypatch.setattr(module, "_avatar", slow)
    processor = PillowImageProcessor()
    assert await asyncio.gather(*(processor.avatar(b"", 512, 1) for _ in range(12))) == [
        b"jpeg"] * 12
    assert peak == processor.workers == module.AVATAR_WORKERS, peak
    assert names and all(name.startswith("avatar") for name in names), names


async def test_a_real_image_over_max_pixels_is_refused() -> None:
    data = encode(halves((300, 200)), "PNG")
    with pytest.raises(Invalid) as caught:
        await images.avatar(data, 512, max_pixels=300 * 200 - 1)
    assert caught.value.code == "image_too_large"
    await images.avatar(data, 512, max_pixels=300 * 200)
