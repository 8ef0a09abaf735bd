"""The slug of a video's share link (``/v/{slug}``): its id, encrypted and authenticated
under a server key, so that a slug names one video, cannot be made up or walked
(``/v/1``, ``/v/2``, ...), and says nothing of the id, the count of videos or their order.

Nothing is stored: a slug is computed from the id whenever a view shows it, and read back
into the id when the page is opened. The construction is SIV-like (a deterministic
authenticated encryption of the 8-byte id): the tag is HMAC-SHA256(mac key, id) cut to 8
bytes, the id is XORed with HMAC-SHA256(encryption key, tag) cut to 8 bytes, and the slug
is base64url(tag + encrypted id) without padding: 22 characters. A slug that was not made
with the key decodes to nothing (one chance in 2**64 per try); one of the wrong shape
decodes to nothing without a hash computed. Another key (another ``MOMENTIC_SECRET``)
makes other slugs: the old links then open nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

SLUG_LENGTH = 22
_SHAPE = re.compile(r"[A-Za-z0-9_-]{22}")
_ID_MAX = 2**63 - 1


def _prf(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()[:8]


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b, strict=True))


class ShareSlugs:
    """Video id <-> slug under ``key`` (at least 16 bytes: a key derived from the server
    secret for this purpose alone)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("a share-link key has at least 16 bytes")
        self._mac = hmac.new(key, b"share slug mac", hashlib.sha256).digest()
        self._enc = hmac.new(key, b"share slug enc", hashlib.sha256).digest()

    def slug(self, video_id: int) -> str:
        if not 0 < video_id <= _ID_MAX:
            raise ValueError("a video id is 1 to 2**63 - 1")
        plain = video_id.to_bytes(8, "big")
        tag = _prf(self._mac, plain)
        sealed = tag + _xor(plain, _prf(self._enc, tag))
        return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()

    def video_id(self, slug: str) -> int | None:
        """The id ``slug`` was made from, or None for anything this key did not make
        (never raises)."""
        if not isinstance(slug, str) or not _SHAPE.fullmatch(slug):
            return None
        try:
            sealed = base64.urlsafe_b64decode(slug + "==")
        except (binascii.Error, ValueError):
            return None
        tag, hidden = sealed[:8], sealed[8:]
        plain = _xor(hidden, _prf(self._enc, tag))
        if not hmac.compare_digest(_prf(self._mac, plain), tag):
            return None
        video_id = int.from_bytes(plain, "big")
        # The last character carries 2 bits that decoding drops: only the one spelling
        # this module writes is the video's slug.
        if not 0 < video_id <= _ID_MAX or self.slug(video_id) != slug:
            return None
        return video_id
