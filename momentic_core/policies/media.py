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
