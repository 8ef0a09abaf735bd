"""What a file is, from its first bytes; never from its name or declared type."""

from __future__ import annotations

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
