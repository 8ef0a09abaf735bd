"""PyAvMediaProcessor's HLS packaging and its idea of playable, on real files.

A lossless (High 4:4:4 Predictive) or 10-bit H.264 upload is not playable and is
transcoded to 8-bit 4:2:0 High; ``hls`` packages a playable MP4 as a master playlist of
two renditions, the low one at most 480 pixels on its short side, cut at the same
instants as the high one, every segment decoding on its own after its init segment."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import pytest
from av.video.frame import VideoFrame
from hls_support import play
from PIL import Image, ImageDraw

from adapters.media.video import PyAvMediaProcessor
from momentic_core.errors import Invalid

media = PyAvMediaProcessor()


def encode_h264(path: Path, *, pix_fmt: str, options: dict[str, str], seconds: float = 1.0,
                size: tuple[int, int] = (96, 64), fps: int = 12) -> Path:
    with av.open(str(path), mode="w", format="mp4") as out:
        stream = out.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], pix_fmt
        stream.options = options
        for i in range(round(seconds * fps)):
            image = Image.new("RGB", size, (200, 40, 40))
            ImageDraw.Draw(image).rectangle((i * 3, 2, i * 3 + 6, 8), fill=(255, 255, 255))
            frame = VideoFrame.from_image(image).reformat(format=pix_fmt)
            frame.pts, frame.time_base = i, Fraction(1, fps)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


@pytest.mark.parametrize(
    ("pix_fmt", "options", "profile"),
    [
        ("yuv420p", {"qp": "0"}, "High 4:4:4 Predictive"),  # lossless, 8-bit 4:2:0 even so
        ("yuv444p", {}, "High 4:4:4 Predictive"),
        ("yuv420p10le", {}, "High 10"),
    ],
)
async def test_h264_beyond_high_is_not_playable_and_is_transcoded_to_8_bit_high(
    tmp_path: Path, pix_fmt: str, options: dict[str, str], profile: str
) -> None:
    source = encode_h264(tmp_path / "source.mp4", pix_fmt=pix_fmt, options=options)
    with av.open(str(source)) as container:
        assert container.streams.video[0].codec_context.profile == profile
    info = await media.probe(source)
    assert info.video_codec == "h264" and not info.playable
    target = tmp_path / "playback.mp4"
    await media.transcode(source, target)
    assert (await media.probe(target)).playable
    with av.open(str(target)) as container:
        context = container.streams.video[0].codec_context
        assert (context.profile, context.pix_fmt) == ("High", "yuv420p")


async def test_main_and_high_with_aac_lc_are_playable_as_they_are(tmp_path: Path) -> None:
    main = encode_h264(tmp_path / "main.mp4", pix_fmt="yuv420p", options={"profile": "main"})
    assert (await media.probe(main)).playable


async def test_key_frames_far_apart_are_not_playable(tmp_path: Path) -> None:
    # 7 s at 2 fps, one key frame: HLS segments would be the whole video.
    sparse = encode_h264(tmp_path / "sparse.mp4", pix_fmt="yuv420p", options={"g": "100"},
                         seconds=7, fps=2)
    assert not (await media.probe(sparse)).playable
    dense = encode_h264(tmp_path / "dense.mp4", pix_fmt="yuv420p", options={"g": "4"},
                        seconds=7, fps=2)
    assert (await media.probe(dense)).playable


def _file_fetcher(root: Path) -> Callable[[str], object]:
    async def fetch(url: str) -> tuple[int, dict[str, str], bytes]:
        path = root / url.removeprefix("file:///")
        kind = "application/vnd.apple.mpegurl" if path.suffix == ".m3u8" else "video/mp4"
        if not path.is_file():
            return 404, {}, b""
        return 200, {"Content-Type": kind}, path.read_bytes()

    return fetch


async def test_hls_of_a_portrait_540p_clip(
    tmp_path: Path, clip_factory: Callable[..., Path]
) -> None:
    # Shown 540x960 (stored 960x540, rotated): the low rendition is 480 wide.
    source = clip_factory(tmp_path / "source.mp4", width=960, height=540, seconds=2.5, fps=8,
                          rotation=90)
    playback = tmp_path / "playback.mp4"
    await media.transcode(source, playback)  # key frames every 2 s
    packager = PyAvMediaProcessor(segment_seconds=1)
    files = await packager.hls(playback, tmp_path / "hls")
    assert files[0] == "master.m3u8"
    assert {f.split("/")[0] for f in files[1:]} == {"hi", "lo"}
    renditions = await play(_file_fetcher(tmp_path / "hls"), "file:///master.m3u8")
    hi, lo = renditions
    assert (hi.resolution, lo.resolution) == ((540, 960), (480, 854))
    assert hi.decoded == ((960, 540),) and lo.decoded == ((854, 480),)  # stored turned
    assert lo.codecs[0].startswith("avc1.4D") and lo.codecs[1:] == ("mp4a.40.2",)  # Main
    assert hi.codecs[0].startswith("avc1.64")  # High
    # Cut at the same instants (the low rendition's key frames are the high one's).
    assert len(hi.durations) == 2 and hi.durations == pytest.approx(lo.durations, abs=0.01)
    assert sum(hi.durations) == pytest.approx(2.5, abs=0.15)
    assert hi.frames == lo.frames == 20
    assert sorted(files) == sorted(
        ["master.m3u8"] + [u.removeprefix("file:///") for r in renditions for u in r.urls]
    )


async def test_hls_of_what_is_not_a_video_is_undecodable(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\0\0\0\x18ftypmp42" + bytes(100))
    with pytest.raises(Invalid) as caught:
        await media.hls(junk, tmp_path / "hls")
    assert caught.value.code == "undecodable"
