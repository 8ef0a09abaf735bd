"""Media URLs as issued (adapters.media_urls.MediaUrls) and token paths as checked
(MediaTokens): behind a CDN avatars are plain and immutable, every file of every video is
at an expiring token path, short-lived unless the video is public and ready; any change
to a token path is refused; a token lasts until its expiry and not a second longer."""

from __future__ import annotations

from datetime import UTC, datetime

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.media_urls import MediaTokens, MediaUrls, expiry, origin_of
from momentic_core.model.videos import Video, VideoStatus, Visibility
from momentic_core.services.visibility import sealed

SECRET = b"e" * 32
tokens = MediaTokens(SECRET)
KEY = "videos/0123456789abcdef/playback.mp4"
NOW = 1_800_000_000.0


def _video(visibility: Visibility, status: VideoStatus = VideoStatus.READY) -> Video:
    at = datetime.fromtimestamp(NOW, UTC)
    return Video(id=7, author_id=1, description="", visibility=visibility, status=status,
                 created_at=at, updated_at=at, source_key="videos/0123456789abcdef/source",
                 playback_key=KEY, thumbnail_key="videos/0123456789abcdef/thumb.jpg",
                 hls_key="videos/0123456789abcdef/hls/master.m3u8")


def _cdn(now: list[float]) -> MediaUrls:
    return MediaUrls(None, tokens=tokens, hls_base="https://api.test/media",
                     cdn_base="https://cdn.test/", public_ttl=3600, private_ttl=120,
                     clock=lambda: now[0])


def _token_of(url: str, base: str = "https://cdn.test/") -> str:
    assert url.startswith(base + "s/"), url
    return url.removeprefix(base)


def test_behind_a_cdn_avatars_are_plain_and_video_files_expire() -> None:
    now = [NOW]
    urls = _cdn(now)
    assert urls("avatars/abc/avatar.jpg") == "https://cdn.test/avatars/abc/avatar.jpg"
    friends, public = _video(Visibility.FRIENDS), _video(Visibility.PUBLIC)
    for url, lifetime in [
        (urls.of_video(KEY, friends), 120), (urls.hls(friends) or "", 120),
        (urls.of_video(KEY, public), 3600), (urls.hls(public) or "", 3600),
        (urls(KEY), 120),  # a video's key without its video: the short lifetime
        (urls.of_video(KEY, _video(Visibility.PUBLIC, VideoStatus.PROCESSING)), 120),
    ]:
        found = tokens.parse(_token_of(url), NOW)
        assert found is not None
        assert lifetime * 3 / 4 < found[1] - NOW <= lifetime
        assert tokens.parse(_token_of(url), found[1]) is None
    # One token covers the folder: the MP4, the thumbnail, every HLS file.
    hls = _token_of(urls.hls(friends) or "")
    assert hls.endswith("/videos/0123456789abcdef/hls/master.m3u8")
    prefix = hls.removesuffix("videos/0123456789abcdef/hls/master.m3u8")
    assert tokens.parse(prefix + "videos/0123456789abcdef/hls/lo/000.m4s", NOW) is not None
    # Every instance hands out the same URL for a step (a quarter of the lifetime).
    assert _cdn([NOW + 1]).of_video(KEY, friends) == urls.of_video(KEY, friends)


def test_without_a_cdn_the_store_signs_with_the_lifetime_of_each() -> None:
    signed: list[tuple[str, float]] = []

    def sign(key: str, ttl: float) -> str:
        signed.append((key, ttl))
        return f"https://s3.test/{key}?ttl={ttl:g}"

    urls = MediaUrls(sign, tokens=tokens, hls_base="https://api.test/media/", cdn_base=None,
                     public_ttl=3600, private_ttl=120, clock=lambda: NOW)
    assert urls.of_video(KEY, _video(Visibility.FRIENDS)).endswith("?ttl=120")
    assert urls.of_video(KEY, _video(Visibility.PUBLIC)).endswith("?ttl=3600")
    assert urls("avatars/abc/avatar.jpg").endswith("?ttl=3600")
    hls = urls.hls(_video(Visibility.FRIENDS)) or ""
    found = tokens.parse(_token_of(hls, "https://api.test/media/"), NOW)
    assert found is not None and found[1] - NOW <= 120
    assert urls.hls(attrs.evolve(_video(Visibility.FRIENDS), hls_key=None)) is None
    with pytest.raises(ValueError):
        MediaUrls(None, tokens=tokens, hls_base="x", cdn_base=None, public_ttl=1, private_ttl=1)


@given(now=st.floats(0, 4e9), ttl=st.integers(1, 10**6))
def test_an_expiry_lasts_most_of_its_lifetime_and_never_more(now: float, ttl: int) -> None:
    exp = expiry(now, ttl)
    step = max(1, int(min(300.0, ttl / 4)))
    assert ttl - step < exp - now <= ttl and exp % step == 0


_SAFE = st.text(st.sampled_from("abcdef0123456789"), min_size=1, max_size=12)
_KEYS = st.builds(lambda a, b, c: f"videos/{a}/{b}/{c}", _SAFE, _SAFE, _SAFE)


@given(data=st.data(), key=_KEYS, exp=st.integers(int(NOW) + 1, 2**40))
def test_any_change_to_a_token_path_is_refused(data: st.DataObject, key: str, exp: int) -> None:
    path = tokens.path(key, exp)
    assert tokens.parse(path, NOW) == (key, exp)
    _, exp_text, sig, _ = path.split("/", 3)
    spots = [2 + i for i in range(len(exp_text))]
    spots += [3 + len(exp_text) + i for i in range(len(sig))]
    i = data.draw(st.sampled_from(spots))
    char = data.draw(st.characters(codec="utf-8", exclude_characters="/" + path[i]))
    assert tokens.parse(path[:i] + char + path[i + 1:], NOW) is None
    assert tokens.parse(path[:i] + path[i + 1:], NOW) is None  # one dropped
    # Another folder under the same token: refused; another file of the folder: admitted.
    other = key.replace("videos/", "videos/f", 1)
    assert tokens.parse(path.removesuffix(key) + other, NOW) is None
    assert tokens.parse(path.removesuffix(key) + key.rsplit("/", 1)[0] + "/x", NOW) == (
        key.rsplit("/", 1)[0] + "/x", exp)
    assert MediaTokens(SECRET + b"!").parse(path, NOW) is None


@given(key=_KEYS, exp=st.integers(1, 2**40))
def test_a_token_opens_until_its_expiry_and_not_after(key: str, exp: int) -> None:
    path = tokens.path(key, exp)
    assert tokens.parse(path, exp - 0.001) == (key, exp)
    assert tokens.parse(path, exp) is None and tokens.parse(path, exp + 10**6) is None


def test_a_sealed_moment_names_no_file_to_make_a_url_of() -> None:
    locked = sealed(_video(Visibility.FRIENDS))
    assert locked.blob_keys() == [] and _cdn([NOW]).hls(locked) is None


def test_the_origins_of_its_urls_are_the_cdns_or_the_stores_and_the_apps() -> None:
    assert _cdn([NOW]).origins() == ("https://cdn.test",)
    signed: list[str] = []

    def sign(key: str, ttl: float) -> str:
        signed.append(key)
        return f"https://Bucket.S3.us-east-1.amazonaws.com/{key}?X-Amz-Signature=x"

    urls = MediaUrls(sign, tokens=tokens, hls_base="http://127.0.0.1:8080/media",
                     cdn_base=None, public_ttl=3600, private_ttl=120, clock=lambda: NOW)
    assert urls.origins() == ("https://bucket.s3.us-east-1.amazonaws.com",
                              "http://127.0.0.1:8080")
    assert urls.origins() is urls.origins() and len(signed) == 1  # learnt once
    same = MediaUrls(lambda key, ttl: f"http://127.0.0.1:8080/media/{key}?sig=x",
                     tokens=tokens, hls_base="http://127.0.0.1:8080/media", cdn_base=None,
                     public_ttl=1, private_ttl=1)
    assert same.origins() == ("http://127.0.0.1:8080",)


@pytest.mark.parametrize("url, origin", [
    ("https://cdn.test/path?q=1", "https://cdn.test"),
    ("http://user:pw@[::1]:9000/x", "http://[::1]:9000"),
    ("HTTPS://Media.Example:8443", "https://media.example:8443"),
])
def test_an_origin_is_scheme_host_and_port(url: str, origin: str) -> None:
    assert origin_of(url) == origin


@pytest.mark.parametrize("url", [
    "data:image/png;base64,AA", "javascript:alert(1)", "/media/x", "ftp://host/x",
    "https://", "https://a;b.test/", "https://a'b.test/",
])
def test_anything_else_is_no_origin(url: str) -> None:
    with pytest.raises(ValueError):
        origin_of(url)
