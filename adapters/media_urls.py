"""Expiring HMAC-signed media URLs for the stores the app serves itself (local, memory):
``{base_url}/media/{key}?exp=<unix seconds>&sig=<HMAC-SHA256>``."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import quote

from momentic_core.errors import Invalid
from momentic_core.policies.media import check_blob_key

_CONTEXT = b"momentic media url v1\n"


class MediaUrlSigner:
    def __init__(self, base_url: str, secret: bytes) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = secret

    def _sign(self, key: str, exp: int) -> str:
        message = _CONTEXT + key.encode() + b"\n" + str(exp).encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def url(self, key: str, exp: int) -> str:
        check_blob_key(key)
        return f"{self.base_url}/media/{quote(key, safe='/')}?exp={exp}&sig={self._sign(key, exp)}"

    def verify(self, key: str, exp: int | str, sig: str, now: datetime | float) -> bool:
        """Whether ``sig`` signs ``key`` and ``exp`` and ``now`` is before ``exp``.
        Constant-time; never raises for bad input."""
        try:
            if isinstance(exp, str):
                if not (exp.isascii() and exp.isdigit()):
                    return False
                exp = int(exp)
            check_blob_key(key)
            current = now.timestamp() if isinstance(now, datetime) else float(now)
            expected = self._sign(key, exp).encode()
            given = sig.encode("utf-8")
        except (Invalid, TypeError, ValueError, AttributeError, UnicodeError):
            return False
        return hmac.compare_digest(expected, given) and current < exp
