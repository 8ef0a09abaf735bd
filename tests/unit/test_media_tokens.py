"""MediaTokens: a token path admits every key of its folder until it expires, and nothing
else; the key of an HLS file leads to its master playlist; Cache-Control as served."""

from __future__ import annotations

import pytest

from adapters.media_urls import MediaTokens, served_cache_control, token_scope
from momentic_core.errors import Invalid
from momentic_core.policies.media import hls_master_key, hls_master_of, media_type

tokens = MediaTokens(b"k" * 32)
KEY = "videos/abc/hls/master.m3u8"


def test_a_token_opens_its_folder_until_it_expires() -> None:
    path = tokens.path(KEY, 2_000)
    prefix = path.removesuffix(KEY)
    assert path.startswith("s/2000/") and tokens.parse(path, 1_999.5) == (KEY, 2_000)
    # A relative URI resolved against the playlist: same token, another file of the folder.
    assert tokens.parse(prefix + "videos/abc/hls/lo/000.m4s", 1_000) == (
        "videos/abc/hls/lo/000.m4s", 2_000)
    assert tokens.parse(prefix + "videos/abc/source", 1_000) is not None
    assert tokens.parse(path, 2_000) is None  # expired
    assert tokens.parse(prefix + "videos/abd/hls/master.m3u8", 1_000) is None  # another video
    assert tokens.parse(path.replace("s/2000/", "s/2001/"), 1_000) is None  # a longer life
    assert MediaTokens(b"other").parse(path, 1_000) is None
    sig = path.split("/")[2]
    tampered = path.replace(sig, ("A" if sig[0] != "A" else "B") + sig[1:])
    assert tokens.parse(tampered, 1_000) is None


@pytest.mark.parametrize("path", [
    "", "s", "s/1/x", "t/2000/sig/videos/abc/x", "s/soon/sig/videos/abc/x",
    "s/" + "9" * 30 + "/sig/videos/abc/x", "s/2000/sig/videos/../x", "s/2000/sig/videos/abc",
    "s/2000/é/videos/abc/x",
])
def test_malformed_token_paths_are_refused(path: str) -> None:
    assert tokens.parse(path, 1_000) is None


def test_the_signed_scope_is_the_first_two_segments() -> None:
    assert token_scope("videos/abc/hls/hi/000.m4s") == "videos/abc/"
    with pytest.raises(Invalid):
        token_scope("videos/abc")


def test_hls_files_lead_to_their_master_playlist() -> None:
    assert hls_master_key("videos/abc") == KEY
    assert hls_master_of("videos/abc/hls/hi/000.m4s") == KEY
    assert hls_master_of(KEY) == KEY
    assert hls_master_of("videos/abc/source") is None
    assert hls_master_of("hls/abc/x") is None
    assert hls_master_of("videos/abc/hls") is None
    assert (media_type("lo/index.m3u8"), media_type("hi/000.m4s"), media_type("init.mp4"),
            media_type("x")) == ("application/vnd.apple.mpegurl", "video/iso.segment",
                                 "video/mp4", "application/octet-stream")


def test_served_cache_control_is_private_and_lasts_as_long_as_the_url() -> None:
    stored = "public, max-age=31536000, immutable"
    assert served_cache_control(stored, 299.7) == "private, max-age=299, immutable"
    assert served_cache_control(None, -5) == "private, max-age=0"
