"""Unique copies of the test clips.

The server recognises a file its author uploaded before (by its content hash) and answers
with the video it already has, so every upload a test means as a new video sends bytes of
its own: the clip with a few random bytes after its last top-level element (an MP4/MOV
``free`` box, an EBML ``Void`` element for WebM/Matroska), which every demuxer skips.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

_EBML = b"\x1a\x45\xdf\xa3"


def unique(clip: Path | bytes) -> bytes:
    """The clip's bytes (a file, or bytes already read) made unlike any other copy."""
    data = clip if isinstance(clip, bytes) else clip.read_bytes()
    salt = os.urandom(16)
    if data[4:8] == b"ftyp":
        return data + struct.pack(">I", 8 + len(salt)) + b"free" + salt
    if data[:4] == _EBML:
        return data + b"\xec" + bytes([0x80 | len(salt)]) + salt
    return data + salt  # not a video at all: any bytes will do
