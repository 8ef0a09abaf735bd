"""Playing an HLS presentation through, as a player would: the master playlist, each
rendition's media playlist, its initialization segment and every segment, each decoded
with PyAV. ``fetch(url) -> (status, headers, body)`` reaches whatever serves the URLs
(the app, a CDN, S3)."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urljoin

import attrs
import av

Fetch = Callable[[str], Awaitable[tuple[int, Any, bytes]]]


@attrs.frozen
class Rendition:
    uri: str
    bandwidth: int
    resolution: tuple[int, int]
    codecs: tuple[str, ...]
    durations: tuple[float, ...]  # EXTINF of each segment
    frames: int  # video frames decoded from all its segments
    decoded: tuple[tuple[int, int], ...]  # (width, height) of the decoded frames, distinct
    audio: bool
    urls: tuple[str, ...]  # every URL fetched for it: playlist, init, segments


def attributes(line: str) -> dict[str, str]:
    """``#EXT-X-STREAM-INF:A=1,B="x,y"`` -> {"A": "1", "B": "x,y"}."""
    out: dict[str, str] = {}
    rest = line.split(":", 1)[1]
    while rest:
        name, _, rest = rest.partition("=")
        if rest.startswith('"'):
            value, _, rest = rest[1:].partition('"')
            rest = rest.removeprefix(",")
        else:
            value, _, rest = rest.partition(",")
        out[name] = value
    return out


async def play(fetch: Fetch, master_url: str) -> list[Rendition]:
    status, headers, body = await fetch(master_url)
    assert status == 200, (master_url, status, body[:200])
    assert headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    lines = body.decode("ascii").splitlines()
    assert lines[0] == "#EXTM3U"
    renditions = []
    for at, line in enumerate(lines):
        if line.startswith("#EXT-X-STREAM-INF:"):
            attrs_ = attributes(line)
            uri = lines[at + 1]
            width, height = (int(x) for x in attrs_["RESOLUTION"].split("x"))
            renditions.append(await _rendition(
                fetch, urljoin(master_url, uri), int(attrs_["BANDWIDTH"]), (width, height),
                tuple(attrs_["CODECS"].split(",")),
            ))
    return renditions


async def _rendition(
    fetch: Fetch, url: str, bandwidth: int, resolution: tuple[int, int], codecs: tuple[str, ...]
) -> Rendition:
    status, headers, body = await fetch(url)
    assert status == 200, (url, status, body[:200])
    assert headers["Content-Type"].startswith("application/vnd.apple.mpegurl")
    lines = body.decode("ascii").splitlines()
    assert "#EXT-X-ENDLIST" in lines and "#EXT-X-PLAYLIST-TYPE:VOD" in lines
    init = b""
    urls = [url]
    durations: list[float] = []
    frames = 0
    sizes: set[tuple[int, int]] = set()
    audio = False
    pending: float | None = None
    for line in lines:
        if line.startswith("#EXT-X-MAP:"):
            init_url = urljoin(url, attributes(line)["URI"])
            status, _, init = await fetch(init_url)
            assert status == 200, (init_url, status)
            urls.append(init_url)
        elif line.startswith("#EXTINF:"):
            pending = float(line.split(":", 1)[1].split(",")[0])
        elif line and not line.startswith("#"):
            assert pending is not None and init, "a segment without EXTINF or EXT-X-MAP"
            segment_url = urljoin(url, line)
            status, _, segment = await fetch(segment_url)
            assert status == 200, (segment_url, status)
            urls.append(segment_url)
            durations.append(pending)
            pending = None
            # What a player does: the initialization segment, then the media segment.
            with av.open(io.BytesIO(init + segment), format="mp4") as container:
                audio = audio or bool(container.streams.audio)
                for frame in container.decode(video=0):
                    frames += 1
                    sizes.add((frame.width, frame.height))
    return Rendition(url, bandwidth, resolution, codecs, tuple(durations), frames,
                     tuple(sorted(sizes)), audio, tuple(urls))
