"""Media URLs. ``MediaUrlSigner``: expiring HMAC-signed URLs for the stores the app serves
itself (local, memory), ``{base_url}/media/{key}?exp=<unix seconds>&sig=<HMAC-SHA256>``;
``MediaTokens``: expiring tokens in the path that cover a whole folder (a video's files,
its HLS presentation included, whose playlists name their files by relative URIs, which
carry a path but never a query), verified by the app's /media route and by a CDN's edge
(docs/cdn); ``RecentUrls``, which reuses any store's signed URL of a key for a while; and
``MediaUrls``, which picks the URL of each key (plain, token or signed, and its lifetime)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time
from collections.abc import Callable
from datetime import datetime
from urllib.parse import quote, urlsplit

from momentic_core.errors import Invalid
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.policies.media import AVATARS, check_blob_key

_CONTEXT = b"momentic media url v1\n"
# A key to sign once, to learn the origin of the store's signed URLs (never fetched).
_PROBE_KEY = f"{AVATARS}/origin-probe/avatar.jpg"


def origin_of(url: str) -> str:
    """scheme://host[:port] of an absolute http(s) URL. Raises ValueError for anything
    else (it goes into a Content-Security-Policy, where a space or ';' would add a rule)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an absolute http(s) URL: {url!r}")
    origin = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()
    if any(c in origin for c in " ;,'\"\\") or any(ord(c) < 0x21 for c in origin):
        raise ValueError(f"not a URL origin: {url!r}")
    return origin


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


_TOKEN_CONTEXT = b"momentic media token v1\n"
TOKEN_PREFIX = "s"  # a token path: s/<exp>/<sig>/<key>; no stored key starts with "s/"


def token_scope(key: str) -> str:
    """What a token covers: the key's first two segments (``videos/<random>/``: one
    video's folder, with its HLS files; ``avatars/<random>/``)."""
    parts = key.split("/")
    if len(parts) < 3:
        raise Invalid("This blob key is not allowed.", code="invalid_key")
    return f"{parts[0]}/{parts[1]}/"


class MediaTokens:
    """``s/<exp>/<sig>/<key>``: ``sig`` is the unpadded base64url HMAC-SHA256, under
    ``secret``, of ``"<exp>\\n<scope>"`` (``token_scope``); it admits every key of the scope
    until ``exp`` (unix seconds). What an edge (a Cloudflare Worker: README) verifies
    with nothing but the secret, and the app's /media route too."""

    def __init__(self, secret: bytes) -> None:
        if not secret:
            raise ValueError("a signing secret is required")
        self._secret = secret

    def _sign(self, scope: str, exp: int) -> str:
        message = str(exp).encode() + b"\n" + scope.encode()
        digest = hmac.new(self._secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()

    def path(self, key: str, exp: int) -> str:
        """The token path of ``key`` until ``exp`` (appended to a media base URL)."""
        check_blob_key(key)
        scope = token_scope(key)
        return f"{TOKEN_PREFIX}/{exp}/{self._sign(scope, exp)}/{quote(key, safe='/')}"

    def parse(self, path: str, now: datetime | float) -> tuple[str, int] | None:
        """The key and expiry of a token path (``s/<exp>/<sig>/<key>``) that is signed
        and not expired at ``now``; None otherwise. Constant-time; never raises."""
        parts = path.split("/", 3)
        if len(parts) != 4 or parts[0] != TOKEN_PREFIX:
            return None
        _, exp_text, sig, key = parts
        try:
            if not (exp_text.isascii() and exp_text.isdigit()) or len(exp_text) > 19:
                return None
            exp = int(exp_text)
            check_blob_key(key)
            expected = self._sign(token_scope(key), exp).encode()
            given = sig.encode("utf-8")
            current = now.timestamp() if isinstance(now, datetime) else float(now)
        except (Invalid, TypeError, ValueError, AttributeError, UnicodeError):
            return None
        if hmac.compare_digest(expected, given) and current < exp:
            return key, exp
        return None


def served_cache_control(stored: str | None, seconds_left: float) -> str:
    """The Cache-Control of a blob served at an expiring URL: kept by the one client
    (``private``: no shared cache keeps what the URL stops giving), at most as long as
    the URL lasts, ``immutable`` if the stored object is."""
    age = max(0, int(seconds_left))
    immutable = ", immutable" if stored and "immutable" in stored else ""
    return f"private, max-age={age}{immutable}"


# Keys the edge serves at plain URLs (base + key), to anyone: avatars, which every author
# card shows. Everything else (every file of every video) is served only at token paths.
PLAIN_PREFIXES = (f"{AVATARS}/",)  # docs/cdn/media-worker.mjs lists the same


def plain_key(key: str) -> bool:
    """Whether ``key`` may be served at a plain, never-expiring URL (``PLAIN_PREFIXES``)."""
    return key.startswith(PLAIN_PREFIXES)


def expiry(now: float, ttl: float) -> int:
    """The ``exp`` of a URL made at ``now`` to last ``ttl`` seconds: rounded down to a step of
    a quarter of ``ttl`` (at most 5 minutes), so every instance hands out the same URL of a
    key for a step (clients and caches keep one copy) and each lasts more than three
    quarters of ``ttl`` and at most ``ttl``."""
    step = max(1, int(min(300.0, ttl / 4)))
    return int((now + ttl) // step * step)


def _signed_for(signed: Callable[[str, float], str], ttl: float, key: str) -> str:
    return signed(key, ttl)


class MediaUrls:
    """``Services.media_url``: the URL clients fetch a stored key at.

    Two lifetimes: ``public_ttl`` for the files of public ready videos and for avatars,
    ``private_ttl`` (short) for the files of every other video (friends-only, a private
    account's, a BeReal moment once open) and for any video key asked for without its
    video (``__call__``).

    - Behind a CDN (``cdn_base``): avatars at plain URLs (base + key, stored immutable);
      every file of every video at a token path ``{cdn_base}/s/<exp>/<sig>/<key>``
      (``MediaTokens``) that the edge verifies and strips (docs/cdn/media-worker.mjs)
      and that covers the video's folder, so the HLS playlists' relative URIs carry it.
      The edge refuses any other key without a token, so a video's files are never
      served by plain key, whatever its visibility was or becomes.
    - Otherwise: the store's expiring signed URL (reused for a while, ``RecentUrls``),
      and HLS playlists at a token path on the app's own /media route (``hls_base``),
      which serves the playlists and the files they name (or sends the client to the
      store's signed URL of each)."""

    def __init__(
        self,
        signed: Callable[[str, float], str] | None,
        *,
        tokens: MediaTokens,
        hls_base: str,
        cdn_base: str | None,
        public_ttl: float,
        private_ttl: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._tokens = tokens
        self._cdn = cdn_base.rstrip("/") if cdn_base else None
        self._token_base = self._cdn or hls_base.rstrip("/")
        self._public_ttl = public_ttl
        self._private_ttl = private_ttl
        self._clock = clock
        self._signed: dict[float, RecentUrls] = {}
        self._sign = signed
        self._origins: tuple[str, ...] | None = None
        if self._cdn is None:
            if signed is None:
                raise ValueError("a store's signed URLs are required without a CDN")
            for ttl in {public_ttl, private_ttl}:
                self._signed[ttl] = RecentUrls(
                    functools.partial(_signed_for, signed, ttl), reuse=min(300.0, ttl / 4)
                )

    def origins(self) -> tuple[str, ...]:
        """The origins every URL it hands out is at, for a Content-Security-Policy: the
        CDN's; else the store's signed URLs' (the S3 endpoint clients reach, AWS's bucket
        host, or the app's public URL for the local and memory stores) and the app's
        /media route (HLS). Learnt once, by signing a probe key (nothing is fetched)."""
        if self._origins is None:
            found = [self._token_base] if self._cdn else [
                self._signed_probe(), self._token_base]
            self._origins = tuple(dict.fromkeys(origin_of(url) for url in found))
        return self._origins

    def _signed_probe(self) -> str:
        assert self._sign is not None
        return self._sign(_PROBE_KEY, self._public_ttl)

    def token_url(self, key: str, ttl: float) -> str:
        return f"{self._token_base}/{self._tokens.path(key, expiry(self._clock(), ttl))}"

    def _url(self, key: str, ttl: float) -> str:
        if self._cdn is None:
            return self._signed[ttl](key)
        if plain_key(key):
            return f"{self._cdn}/{quote(key, safe='/')}"
        return self.token_url(key, ttl)

    def _ttl(self, video: Video) -> float:
        # The visibility in force: the stores keep a private account's videos at friends.
        public = video.visibility is Visibility.PUBLIC and video.status is VideoStatus.READY
        return self._public_ttl if public else self._private_ttl

    def __call__(self, key: str, /) -> str:
        return self._url(key, self._public_ttl if plain_key(key) else self._private_ttl)

    def of_video(self, key: str, video: Video) -> str:
        return self._url(key, self._ttl(video))

    def hls(self, video: Video) -> str | None:
        if video.hls_key is None:
            return None
        return self.token_url(video.hls_key, self._ttl(video))
