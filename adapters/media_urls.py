"""Expiring HMAC-signed media URLs for the stores the app serves itself (local, memory):
``{base_url}/media/{key}?exp=<unix seconds>&sig=<HMAC-SHA256>``; and ``RecentUrls``, which
reuses any store's signed URL of a key for a while."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable
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


class RecentUrls:
    """A key's signed URL, made once and handed out again for ``reuse`` seconds: a feed
    page names ~60 media objects, and presigning each on every request is most of its
    cost. The same URL across requests also lets clients and caches keep one copy. Each
    URL handed out is still valid for at least its lifetime minus ``reuse``. At most
    ``size`` keys are remembered (the oldest go first)."""

    def __init__(
        self,
        sign: Callable[[str], str],
        reuse: float,
        size: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sign = sign
        self._reuse = reuse
        self._size = size
        self._clock = clock
        self._urls: dict[str, tuple[str, float]] = {}

    def __call__(self, key: str) -> str:
        now = self._clock()
        known = self._urls.pop(key, None)
        if known is not None and now - known[1] < self._reuse:
            self._urls[key] = known  # to the newest end
            return known[0]
        url = self._sign(key)
        if len(self._urls) >= self._size:
            del self._urls[next(iter(self._urls))]
        self._urls[key] = (url, now)
        return url
