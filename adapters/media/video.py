"""Video probing, thumbnails and transcoding with PyAV (the FFmpeg its wheel ships).

Every entry point runs in a worker thread (``asyncio.to_thread``); the event loop never
waits on FFmpeg. A cancelled call asks its thread to stop at the next packet.

Only MP4/MOV (ISO BMFF) and WebM/Matroska files are opened: the family is recognised
from the first bytes and its demuxer named explicitly, with file access only. FFmpeg's
other demuxers (playlists that fetch URLs or read local files, image sequences, ...)
never see a user's file.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import uuid
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import TypeVar

import av
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.video.frame import VideoFrame
from av.video.stream import VideoStream
from PIL import Image

from momentic_core.errors import Invalid
from momentic_core.model.videos import MediaInfo

T = TypeVar("T")

_EBML_MAGIC = b"\x1a\x45\xdf\xa3"
# Top-level boxes an ISO BMFF / QuickTime file may start with.
_BMFF_FIRST_BOXES = frozenset({b"ftyp", b"moov", b"mdat", b"wide", b"free", b"skip"})
_PLAYABLE_PIXEL_FORMATS = frozenset({"yuv420p", "yuvj420p"})  # 8-bit 4:2:0
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
    and thumbnails; ``crf`` and ``preset`` are libx264's quality and speed knobs."""

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
    ) -> None:
        self.max_pixels = max_pixels
        self.max_side = max_side
        self.thumbnail_side = thumbnail_side
        self.thumbnail_at = thumbnail_at
        self.crf = crf
        self.preset = preset
        self.audio_bit_rate = audio_bit_rate

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
                and frame.format.name in _PLAYABLE_PIXEL_FORMATS
                and audio_codec in (None, "aac")
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
                self._convert(inp, out, first, stop)

        _atomic_write(target, write)

    def _convert(
        self,
        inp: InputContainer,
        out: OutputContainer,
        first: VideoFrame,
        stop: threading.Event,
    ) -> None:
        in_video = _video_stream(inp)
        in_video.thread_type = "AUTO"
        in_audio = _audio_stream(inp)
        if in_audio is not None and in_audio.codec_context is None:
            in_audio = None  # no decoder for it: the copy is silent rather than failed
        display = _display_size(first.width, first.height, in_video.sample_aspect_ratio)
        width, height = _fit(*display, self.max_side, even=True)

        rate = in_video.average_rate or in_video.guessed_rate
        if rate is None or not 0 < rate <= 240:
            rate = Fraction(30)
        video_tb = in_video.time_base or Fraction(1, 90_000)
        out_video = out.add_stream(
            "libx264",
            rate=rate,
            options={"crf": str(self.crf), "preset": self.preset, "profile": "high"},
        )
        out_video.width = width
        out_video.height = height
        out_video.pix_fmt = "yuv420p"
        out_video.codec_context.time_base = video_tb
        out_video.codec_context.gop_size = max(1, round(2 * rate))  # a key frame every ~2 s
        if _quarter_turns(first.rotation):
            out_video.set_display_rotation(first.rotation)

        out_audio: AudioStream | None = None
        resampler: AudioResampler | None = None
        if in_audio is not None:
            out_audio = out.add_stream("aac", rate=_AUDIO_RATE)
            out_audio.layout = "stereo"
            out_audio.bit_rate = self.audio_bit_rate
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
