"""What a file is, from its first bytes; never from its name or declared type."""

from __future__ import annotations

from momentic_core.errors import Invalid

SNIFF_BYTES = 16
_EBML = b"\x1a\x45\xdf\xa3"
_MP4_BRANDS_QUICKTIME = (b"qt  ",)


def sniff_video(head: bytes) -> str | None:
    """``"mp4"``, ``"mov"`` or ``"webm"`` (WebM/Matroska) for accepted containers, else None.

    MP4/MOV start with a box whose type is ``ftyp``; WebM/Matroska with the EBML magic."""
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "mov" if head[8:12] in _MP4_BRANDS_QUICKTIME else "mp4"
    if head[:4] == _EBML:
        return "webm"
    return None


MAX_KEY_BYTES = 1024


def check_blob_key(key: str) -> None:
    """A storage key is relative, at most 1024 bytes, with no empty or dot segments, no
    backslash and no control characters: it can never name a path outside the store.

    Raises Invalid(code="invalid_key")."""
    bad = (
        not isinstance(key, str)
        or not key
        or len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES
        or key.startswith("/")
        or "\\" in key
        or any(ord(c) < 0x20 or c == "\x7f" for c in key)
        or any(not seg or seg.startswith(".") for seg in key.split("/"))
    )
    if bad:
        raise Invalid("This blob key is not allowed.", code="invalid_key")


# ------------------------------------------------------------------ stored media

# Every object is written once under a key made for it (a fresh random folder per video
# or avatar; a video's derived files under that folder) and never rewritten in place:
# browsers and CDNs may keep any of them for a year without asking again.
CACHE_CONTROL = "public, max-age=31536000, immutable"

# Where avatars are stored (one folder each); the only keys a CDN serves at plain URLs.
AVATARS = "avatars"

HLS_FOLDER = "hls"
HLS_MASTER = "master.m3u8"

_MEDIA_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".jpg": "image/jpeg",
}


def cache_control(key: str) -> str:
    """The ``Cache-Control`` an object is stored (and served) with."""
    return CACHE_CONTROL


def media_type(name: str) -> str:
    """The content type of a file the processing writes, from its name's suffix."""
    dot = name.rfind(".")
    return _MEDIA_TYPES.get(name[dot:] if dot >= 0 else "", "application/octet-stream")


def hls_master_key(folder: str) -> str:
    """The master playlist's key of the HLS presentation of the video stored under
    ``folder`` (``videos/<random>``); every file of it is under ``<folder>/hls/``."""
    return f"{folder}/{HLS_FOLDER}/{HLS_MASTER}"


def hls_master_of(key: str) -> str | None:
    """The master playlist's key of the HLS presentation ``key`` belongs to, or None
    when it belongs to none."""
    parts = key.split("/")
    if HLS_FOLDER not in parts[1:-1]:
        return None
    at = parts.index(HLS_FOLDER, 1)
    return hls_master_key("/".join(parts[:at]))
