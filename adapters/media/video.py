"""Video probing, thumbnails and transcoding with PyAV (the FFmpeg its wheel ships).

Every entry point runs in a worker thread (``asyncio.to_thread``); the event loop never
waits on FFmpeg. A cancelled call asks its thread to stop at the next packet.

``hls`` packages a playable MP4 as HLS: the MP4's own streams copied into fMP4 segments
(the high rendition), a low rendition encoded from it with key frames at the same
instants (so both cut at the same points), a media playlist for each and a master
playlist naming both with BANDWIDTH, RESOLUTION and CODECS.

Only MP4/MOV (ISO BMFF) and WebM/Matroska files are opened: the family is recognised
from the first bytes and its demuxer named explicitly, with file access only. FFmpeg's
other demuxers (playlists that fetch URLs or read local files, image sequences, ...)
never see a user's file.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import threading
import uuid
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple, TypeVar

import av
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.frame import PictureType, VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from momentic_core.errors import Invalid
from momentic_core.model.videos import MediaInfo
from momentic_core.policies.media import HLS_MASTER

T = TypeVar("T")

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
# Top-level boxes an ISO BMFF / QuickTime file may start with.
_BMFF_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"})
_PLAYABLE_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})  # 8-bit 4:2:0
# What every iPhone and Android decodes in hardware. Not High 10, High 4:2:2 or High
# 4:4:4 (Predictive): a lossless x264 file is High 4:4:4 Predictive even in 8-bit 4:2:0.
_PLAYABLE_H264_PROFILES = frozenset({"Baseline", "Constrained Baseline", "Main", "High"})
_PLAYABLE_AAC_PROFILES = frozenset({"LC"})
# A source whose key frames are further apart is transcoded: its HLS segments (cut at
# key frames) would be too long, and seeking in it slow.
_MAX_KEY_FRAME_GAP = 5.0
_MAX_PACKETS_BEFORE_FRAME = 600
_MAX_BAD_PACKETS = 200
_AUDIO_RATE = 48_000
_AAC_FRAME_SIZE = 1024


class _Stopped(Exception):
    """The awaiting coroutine was cancelled; the thread gives up."""


def _undecodable(detail: str) -> Invalid:
    return Invalid(f"The file is not a decodable video: {detail}.", code="undecodable")


class PyAvMediaProcessor:
    """``MediaProcessor`` on local files with PyAV.

    ``max_pixels`` bounds the frame size a file may declare (a guard against absurd
    inputs); ``max_side`` and ``thumbnail_side`` bound the long side of transcoded video
    and thumbnails; ``crf`` and ``preset`` are libx264's quality and speed knobs.
    ``low_side`` bounds the short side of the low HLS rendition, ``low_bit_rate`` caps
    its video bit rate (libx264's crf + 3 under a VBV cap; ``low_audio_bit_rate`` is its
    sound's); ``segment_seconds`` is the HLS
    segment duration aimed at (segments are cut at key frames, every 2 s in what we
    encode)."""

    def __init__(
        self,
        *,
        max_pixels: int = 8192 * 8192,
        max_side: int = 1080,
        thumbnail_side: int = 720,
        thumbnail_at: float = 0.5,
        crf: int = 23,
        preset: str = "veryfast",
        audio_bit_rate: int = 128_000,
        low_side: int = 480,
        low_bit_rate: int = 1_000_000,
        low_audio_bit_rate: int = 96_000,
        segment_seconds: int = 4,
    ) -> None:
        self.max_pixels = max_pixels
        self.max_side = max_side
        self.thumbnail_side = thumbnail_side
        self.thumbnail_at = thumbnail_at
        self.crf = crf
        self.preset = preset
        self.audio_bit_rate = audio_bit_rate
        self.low_side = low_side
        self.low_bit_rate = low_bit_rate
        self.low_audio_bit_rate = low_audio_bit_rate
        self.segment_seconds = segment_seconds

    async def probe(self, path: Path) -> MediaInfo:
        """Container, duration, display size and codecs; a video frame is decoded to be
        sure. Raises Invalid(code="undecodable"), Invalid(code="resolution_too_large")."""
        return await _in_thread(lambda stop: self._probe(path, stop))

    async def thumbnail(self, source: Path, target: Path) -> None:
        """Write a JPEG of an early frame (``thumbnail_at`` seconds in, or the first frame
        of a clip shorter than a second), upright, within ``thumbnail_side`` pixels."""
        await _in_thread(lambda stop: self._thumbnail(source, target, stop))

    async def transcode(self, source: Path, target: Path) -> None:
        """Write H.264 (yuv420p, long side at most ``max_side``) + AAC (48 kHz stereo, when
        the source has sound) MP4 with the index at the front; ``target`` appears whole or
        not at all."""
        await _in_thread(lambda stop: self._transcode(source, target, stop))

    async def hls(self, playback: Path, target: Path) -> list[str]:
        """Package ``playback`` (a playable MP4: the source, or what ``transcode`` wrote)
        as HLS under the directory ``target``: ``master.m3u8``, and for each rendition
        (``hi``: the MP4's streams copied; ``lo``: about 480p at about 1 Mbps, H.264 Main
        + AAC-LC) ``<name>/index.m3u8``, ``<name>/init.mp4`` and ``<name>/NNN.m4s``.
        URIs in the playlists are relative. Returns the paths written, relative to
        ``target``, the master first."""
        return await _in_thread(lambda stop: self._hls(playback, target, stop))

    # ------------------------------------------------------------------ probe

    def _probe(self, path: Path, stop: threading.Event) -> MediaInfo:
        demuxer, head = _sniff(path)
        with _open(path, demuxer) as container:
            video = _video_stream(container)
            self._check_size(video.codec_context.width, video.codec_context.height)
            audio = _audio_stream(container)
            frame = _frame_at(container, video, None, stop)
            self._check_size(frame.width, frame.height)
            duration = _duration(container, video, stop)
            width, height = _display_size(frame.width, frame.height, video.sample_aspect_ratio)
            if _quarter_turns(frame.rotation) % 2:
                width, height = height, width
            video_codec = _codec_name(video) or "unknown"
            audio_codec = (_codec_name(audio) or "unknown") if audio is not None else None
            playable = (
                demuxer == "mov"
                and video_codec == "h264"
                and video.codec_context.profile in _PLAYABLE_H264_PROFILES
                and frame.format.name in _PLAYABLE_PIXEL_FORMATS
                and (
                    audio is None
                    or (
                        audio_codec == "aac"
                        and audio.codec_context.profile in _PLAYABLE_AAC_PROFILES
                    )
                )
                and _key_frame_gap(container, video, stop) <= _MAX_KEY_FRAME_GAP
            )
            return MediaInfo(
                container=_container_name(demuxer, head),
                duration_seconds=duration,
                width=width,
                height=height,
                video_codec=video_codec,
                audio_codec=audio_codec,
                playable=playable,
            )

    def _check_size(self, width: int, height: int) -> None:
        if width <= 0 or height <= 0:
            raise _undecodable("the video stream has no frame size")
        if width * height > self.max_pixels:
            raise Invalid(
                f"The video's frames ({width}x{height}) are too large.",
                code="resolution_too_large",
            )

    # ------------------------------------------------------------------ thumbnail

    def _thumbnail(self, source: Path, target: Path, stop: threading.Event) -> None:
        demuxer, _ = _sniff(source)
        with _open(source, demuxer) as container:
            video = _video_stream(container)
            self._check_size(video.codec_context.width, video.codec_context.height)
            duration = container.duration / av.time_base if container.duration else None
            at = None
            if duration is not None and duration >= 1.0:
                tb = video.time_base
                start = video.start_time * tb if video.start_time and tb else 0
                at = float(start) + self.thumbnail_at
            frame = _frame_at(container, video, at, stop)
            self._check_size(frame.width, frame.height)
            display = _display_size(frame.width, frame.height, video.sample_aspect_ratio)
            width, height = _fit(*display, self.thumbnail_side)
            # Scaled while converted to RGB: a full-size RGB copy of a big frame is never made.
            scaled = frame.reformat(
                width=width, height=height, format="rgb24", interpolation="LANCZOS"
            )
            image = _rotate(scaled.to_image(), frame.rotation)  # type: ignore[no-untyped-call]
        _atomic_write(target, lambda tmp: image.save(tmp, "JPEG", quality=85, optimize=True))

    # ------------------------------------------------------------------ transcode

    def _transcode(self, source: Path, target: Path, stop: threading.Event) -> None:
        demuxer, _ = _sniff(source)
        # A first pass learns the frame size and rotation, which the output's header needs
        # before any packet (audio may come first) is written.
        with _open(source, demuxer) as container:
            video = _video_stream(container)
            self._check_size(video.codec_context.width, video.codec_context.height)
            first = _frame_at(container, video, None, stop)
            self._check_size(first.width, first.height)

        def write(tmp: Path) -> None:
            with (
                _open(source, demuxer) as inp,
                av.open(
                    str(tmp),
                    mode="w",
                    format="mp4",
                    container_options={"movflags": "+faststart"},
                ) as out,
            ):
                self._convert(inp, out, first, self._playback_encoding(), stop)

        _atomic_write(target, write)

    def _playback_encoding(self) -> _Encoding:
        return _Encoding(
            fit=lambda width, height: _fit(width, height, self.max_side, even=True),
            options={"crf": str(self.crf), "preset": self.preset, "profile": "high"},
            audio_bit_rate=self.audio_bit_rate,
        )

    def _low_encoding(self) -> _Encoding:
        def fit(width: int, height: int) -> tuple[int, int]:
            # The short side at most low_side, the long side at most max_side.
            scale = min(1.0, self.low_side / min(width, height), self.max_side / max(width, height))
            return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))

        rate = self.low_bit_rate
        return _Encoding(
            fit=fit,
            # Capped quality: simple pictures cost less than the cap, none more.
            options={
                "crf": str(self.crf + 3),
                "preset": self.preset,
                "profile": "main",
                "maxrate": str(rate),
                "bufsize": str(rate * 2),
                # Key frames only where the high rendition has them (forced, as IDR), so
                # both renditions are cut at the same instants.
                "forced-idr": "1",
                "x264-params": "scenecut=0",
            },
            audio_bit_rate=self.low_audio_bit_rate,
            follow_key_frames=True,
        )

    # ------------------------------------------------------------------ HLS

    def _hls(self, playback: Path, target: Path, stop: threading.Event) -> list[str]:
        demuxer, _ = _sniff(playback)
        with _open(playback, demuxer) as container:
            video = _video_stream(container)
            first = _frame_at(container, video, None, stop)
        display = _display_size(first.width, first.height, video.sample_aspect_ratio)
        turned = _quarter_turns(first.rotation) % 2 == 1
        written: list[str] = []
        variants: list[str] = []
        for name in ("hi", "lo"):
            folder = target / name
            folder.mkdir(parents=True, exist_ok=True)
            with (
                _open(playback, demuxer) as inp,
                av.open(
                    str(folder / "index.m3u8"),
                    mode="w",
                    format="hls",
                    options={
                        "hls_time": str(self.segment_seconds),
                        "hls_playlist_type": "vod",
                        "hls_segment_type": "fmp4",
                        "hls_fmp4_init_filename": "init.mp4",
                        "hls_segment_filename": str(folder / "%03d.m4s"),
                        "hls_flags": "independent_segments",
                    },
                ) as out,
            ):
                if name == "hi":
                    size = display
                    _copy(inp, out, stop)
                else:
                    encoding = self._low_encoding()
                    size = encoding.fit(*display)
                    self._convert(inp, out, first, encoding, stop)
            files, bandwidth, average = _media_playlist(folder)
            codecs = _codecs(folder / files[1], folder / files[2])
            written += [f"{name}/{f}" for f in files]
            width, height = (size[1], size[0]) if turned else size
            variants.append(
                f"#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},AVERAGE-BANDWIDTH={average},"
                f'RESOLUTION={width}x{height},CODECS="{",".join(codecs)}"\n'
                f"{name}/index.m3u8\n"
            )
        master = "#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-INDEPENDENT-SEGMENTS\n" + "".join(variants)
        (target / HLS_MASTER).write_text(master, encoding="ascii")
        return [HLS_MASTER, *written]

    def _convert(
        self,
        inp: InputContainer,
        out: OutputContainer,
        first: VideoFrame,
        encoding: _Encoding,
        stop: threading.Event,
    ) -> None:
        in_video = _video_stream(inp)
        in_video.thread_type = "AUTO"
        in_audio = _audio_stream(inp)
        if in_audio is not None and in_audio.codec_context is None:
            in_audio = None  # no decoder for it: the copy is silent rather than failed
        display = _display_size(first.width, first.height, in_video.sample_aspect_ratio)
        width, height = encoding.fit(*display)

        rate = in_video.average_rate or in_video.guessed_rate
        if rate is None or not 0 < rate <= 240:
            rate = Fraction(30)
        video_tb = in_video.time_base or Fraction(1, 90_000)
        out_video = out.add_stream("libx264", rate=rate, options=dict(encoding.options))
        out_video.width = width
        out_video.height = height
        out_video.pix_fmt = "yuv420p"
        out_video.codec_context.time_base = video_tb
        if encoding.follow_key_frames:
            # Only the forced ones (and one after 10 s without, which a playable input
            # never lacks for so long).
            out_video.codec_context.gop_size = max(1, round(10 * rate))
        else:
            out_video.codec_context.gop_size = max(1, round(2 * rate))  # a key frame every ~2 s
        if _quarter_turns(first.rotation):
            out_video.set_display_rotation(first.rotation)

        out_audio: AudioStream | None = None
        resampler: AudioResampler | None = None
        if in_audio is not None:
            out_audio = out.add_stream("aac", rate=_AUDIO_RATE)
            out_audio.layout = "stereo"
            out_audio.bit_rate = encoding.audio_bit_rate
            resampler = AudioResampler(
                format="fltp", layout="stereo", rate=_AUDIO_RATE, frame_size=_AAC_FRAME_SIZE
            )

        start = inp.start_time / av.time_base if inp.start_time is not None else 0.0
        video_offset = round(start / video_tb)
        step = max(1, round(1 / (rate * video_tb)))
        last_pts = -1
        audio_next: int | None = None
        audio_tb = Fraction(1, _AUDIO_RATE)
        bad_packets = 0

        def encode_audio(frames: list[AudioFrame]) -> None:
            nonlocal audio_next
            assert out_audio is not None
            for piece in frames:
                assert audio_next is not None
                # Contiguous timestamps counted in samples: never a gap nor an overlap.
                piece.pts = audio_next
                piece.time_base = audio_tb
                audio_next += piece.samples
                out.mux(out_audio.encode(piece))

        streams = (in_video,) if in_audio is None else (in_video, in_audio)
        for packet in inp.demux(*streams):
            if stop.is_set():
                raise _Stopped
            try:
                frames = packet.decode()
            except av.InvalidDataError:
                bad_packets += 1  # a damaged packet is skipped, as ffmpeg does
                if bad_packets > _MAX_BAD_PACKETS:
                    raise _undecodable("too many damaged packets") from None
                continue
            for frame in frames:
                if isinstance(frame, VideoFrame):
                    pts = last_pts + step if frame.pts is None else frame.pts - video_offset
                    last_pts = pts = max(pts, last_pts + 1)
                    scaled = frame.reformat(width=width, height=height, format="yuv420p")
                    scaled.pts = pts
                    scaled.time_base = video_tb
                    if encoding.follow_key_frames and frame.key_frame:
                        scaled.pict_type = PictureType.I
                    out.mux(out_video.encode(scaled))
                elif isinstance(frame, AudioFrame) and resampler is not None:
                    if audio_next is None:
                        at = (frame.time or start) - start
                        audio_next = max(0, round(at * _AUDIO_RATE))
                    encode_audio(resampler.resample(frame))
        if last_pts < 0:
            raise _undecodable("no video frame could be decoded")
        if resampler is not None and out_audio is not None and audio_next is not None:
            encode_audio(resampler.resample(None))
            out.mux(out_audio.encode(None))
        out.mux(out_video.encode(None))


# ---------------------------------------------------------------------- helpers


class _Encoding(NamedTuple):
    """How ``_convert`` encodes: the output size from the display size, libx264's
    options, the sound's bit rate, and whether key frames are put only where the input
    has them."""

    fit: Callable[[int, int], tuple[int, int]]
    options: dict[str, str]
    audio_bit_rate: int
    follow_key_frames: bool = False


def _copy(inp: InputContainer, out: OutputContainer, stop: threading.Event) -> None:
    """Copy the first video and audio streams' packets."""
    video = _video_stream(inp)
    audio = _audio_stream(inp)
    streams = [s for s in (video, audio) if s is not None]
    outs = {s.index: out.add_stream_from_template(s) for s in streams}
    for packet in inp.demux(*streams):
        if stop.is_set():
            raise _Stopped
        if packet.dts is None:
            continue  # the demuxer's flush packet
        packet.stream = outs[packet.stream.index]
        out.mux(packet)


def _codecs(init: Path, segment: Path) -> list[str]:
    """The RFC 6381 codec names (CODECS) of a rendition, read back from what was written:
    ``avc1.PPCCLL`` from the avcC record (profile, constraint flags, level), and
    ``mp4a.40.2`` (AAC-LC, the only sound written) when there is sound."""
    data = init.read_bytes() + segment.read_bytes()
    with av.open(io.BytesIO(data), mode="r", format="mp4") as written:
        extradata = written.streams.video[0].codec_context.extradata
        sound = bool(written.streams.audio)
    if not extradata or len(extradata) < 4 or extradata[0] != 1:
        raise _undecodable("the H.264 stream has no decoder configuration")
    codecs = [f"avc1.{extradata[1:4].hex().upper()}"]
    if sound:
        codecs.append("mp4a.40.2")
    return codecs


def _media_playlist(folder: Path) -> tuple[list[str], int, int]:
    """The files a media playlist and its segments make up (the playlist first), and
    the peak and average bit rates of its segments (what BANDWIDTH and
    AVERAGE-BANDWIDTH declare)."""
    files = ["index.m3u8"]
    peak, total_bits, total_seconds = 0.0, 0, 0.0
    duration: float | None = None
    for line in (folder / "index.m3u8").read_text(encoding="ascii").splitlines():
        if line.startswith("#EXT-X-MAP:URI="):
            files.append(line.split('"')[1])
        elif line.startswith("#EXTINF:"):
            duration = float(line[len("#EXTINF:") :].split(",")[0])
        elif line and not line.startswith("#"):
            bits = 8 * (folder / line).stat().st_size
            seconds = max(duration or 0.0, 0.001)
            peak = max(peak, bits / seconds)
            total_bits += bits
            total_seconds += seconds
            files.append(line)
            duration = None
    if total_seconds <= 0:
        raise _undecodable("no segment could be written")
    return files, math.ceil(peak), math.ceil(total_bits / total_seconds)


async def _in_thread(work: Callable[[threading.Event], T]) -> T:
    stop = threading.Event()
    try:
        return await asyncio.to_thread(work, stop)
    finally:
        stop.set()  # after a cancellation the thread stops at its next check


def _sniff(path: Path) -> tuple[str, bytes]:
    """The demuxer for the file's family, from its first bytes, and those bytes."""
    with path.open("rb") as file:
        head = file.read(64)
    if len(head) >= 8 and head[4:8] in _BMFF_FIRST_BOXES:
        return "mov", head
    if head[:4] == _EBML_MAGIC:
        return "matroska", head
    if not head:
        raise _undecodable("the file is empty")
    raise _undecodable("not an MP4, MOV, WebM or Matroska file")


def _container_name(demuxer: str, head: bytes) -> str:
    if demuxer == "matroska":
        return "webm" if _ebml_doctype(head) == b"webm" else "matroska"
    if head[4:8] != b"ftyp":
        return "mov"  # QuickTime without a file type box
    brand = head[8:12]
    if brand == b"qt  ":
        return "mov"
    if brand.startswith(b"3g2"):
        return "3g2"
    if brand.startswith(b"3g"):
        return "3gp"
    if brand in (b"M4A ", b"M4B "):
        return "m4a"
    return "mp4"


def _ebml_doctype(head: bytes) -> bytes | None:
    at = head.find(b"\x42\x82", 4)  # the DocType element in the EBML header
    if at < 0 or at + 3 > len(head):
        return None
    size = head[at + 2]
    if not size & 0x80:  # only one-byte sizes occur in practice
        return None
    return head[at + 3 : at + 3 + (size & 0x7F)]


def _open(path: Path, demuxer: str) -> InputContainer:
    try:
        return av.open(
            str(path),
            mode="r",
            format=demuxer,
            container_options={"protocol_whitelist": "file"},
            metadata_errors="replace",
        )
    except av.FFmpegError as exc:
        raise _undecodable("the container cannot be read") from exc


def _video_stream(container: InputContainer) -> VideoStream:
    if not container.streams.video:
        raise _undecodable("there is no video stream")
    return container.streams.video[0]


def _audio_stream(container: InputContainer) -> AudioStream | None:
    return container.streams.audio[0] if container.streams.audio else None


def _codec_name(stream: VideoStream | AudioStream) -> str | None:
    context = stream.codec_context
    if context is None:
        return None
    return context.codec.canonical_name


def _frame_at(
    container: InputContainer, video: VideoStream, at: float | None, stop: threading.Event
) -> VideoFrame:
    """The first frame at or after ``at`` seconds (the very first when None), or the last
    one when the stream ends sooner. Raises Invalid(code="undecodable")."""
    chosen: VideoFrame | None = None
    packets = 0
    try:
        for packet in container.demux(video):
            if stop.is_set():
                raise _Stopped
            packets += 1
            for frame in packet.decode():
                chosen = frame
                if at is None or frame.time is None or frame.time >= at:
                    return frame
            if chosen is None and packets > _MAX_PACKETS_BEFORE_FRAME:
                break
    except av.FFmpegError as exc:
        if chosen is None:
            raise _undecodable("the video stream cannot be decoded") from exc
    if chosen is None:
        raise _undecodable("no video frame could be decoded")
    return chosen


def _key_frame_gap(container: InputContainer, video: VideoStream, stop: threading.Event) -> float:
    """The longest time between two key frames of the video stream, or from the last one
    to the end (packets only: nothing is decoded)."""
    container.seek(0)
    tb = video.time_base or Fraction(1, 90_000)
    last_key: float | None = None
    end = 0.0
    gap = 0.0
    try:
        for packet in container.demux(video):
            if stop.is_set():
                raise _Stopped
            if packet.pts is None:
                continue
            at = float(packet.pts * tb)
            end = max(end, at + float((packet.duration or 0) * tb))
            if packet.is_keyframe:
                if last_key is not None:
                    gap = max(gap, at - last_key)
                last_key = at if last_key is None else max(last_key, at)
    except av.FFmpegError:
        pass  # a damaged tail: the decode further on decides
    if last_key is None:
        return math.inf
    return max(gap, end - last_key)


def _duration(container: InputContainer, video: VideoStream, stop: threading.Event) -> float:
    """From the container, else the video stream, else the packets' timestamps (files
    written without a seekable output, such as browser recordings, lack one)."""
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    if video.duration and video.time_base and video.duration > 0:
        return float(video.duration * video.time_base)
    start = container.start_time / av.time_base if container.start_time is not None else None
    end: float | None = None
    try:
        for packet in container.demux():
            if stop.is_set():
                raise _Stopped
            if packet.pts is None or packet.time_base is None:
                continue
            first = float(packet.pts * packet.time_base)
            last = float((packet.pts + (packet.duration or 0)) * packet.time_base)
            start = first if start is None else min(start, first)
            end = last if end is None else max(end, last)
    except av.FFmpegError:
        pass  # a damaged tail: what was read still tells the length
    if start is None or end is None or end <= start:
        raise _undecodable("its duration is unknown")
    return end - start


def _display_size(width: int, height: int, sar: Fraction | None) -> tuple[int, int]:
    """The size with square pixels (anamorphic video has a sample aspect ratio)."""
    if sar is None or sar <= 0 or sar == 1:
        return width, height
    if sar > 1:
        return max(1, round(width * sar)), height
    return width, max(1, round(height / sar))


def _fit(width: int, height: int, side: int, even: bool = False) -> tuple[int, int]:
    """Scale down (never up) so the long side is at most ``side``; keep the aspect."""
    scale = min(1.0, side / max(width, height))
    if even:
        return max(2, 2 * round(width * scale / 2)), max(2, 2 * round(height * scale / 2))
    return max(1, round(width * scale)), max(1, round(height * scale))


def _quarter_turns(rotation: float) -> int:
    """Counter-clockwise quarter turns of a display rotation; 0 for other angles."""
    turns = rotation / 90
    if not math.isfinite(turns) or turns != round(turns):
        return 0
    return round(turns) % 4


_TURNS = {
    1: Image.Transpose.ROTATE_90,
    2: Image.Transpose.ROTATE_180,
    3: Image.Transpose.ROTATE_270,
}


def _rotate(image: Image.Image, rotation: float) -> Image.Image:
    turns = _quarter_turns(rotation)
    return image.transpose(_TURNS[turns]) if turns else image


def _atomic_write(target: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary name beside ``target``, then rename it into place."""
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
    try:
        write(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
