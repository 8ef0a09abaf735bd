"""The media edge, docs/cdn/media-worker.mjs (a Cloudflare Worker), run under node: its
token check agrees with the app's (MediaTokens.parse) on every path, signed, tampered,
expired or malformed; its fetch handler serves a token's folder until the token expires,
avatars at plain URLs, and never a video's file by plain key."""

from __future__ import annotations

import json
import subprocess

from hypothesis import given, settings
from hypothesis import strategies as st
from worker_support import NODE, RUN_FOR, WORKER, Stored, fetch, verify

from adapters.media_urls import PLAIN_PREFIXES, MediaTokens, served_cache_control
from momentic_core.errors import Invalid

EDGE_KEY = "k" * 40
tokens = MediaTokens(EDGE_KEY.encode())
NOW = 1_800_000_000
FOLDER = "videos/0123456789abcdef"


def test_the_worker_serves_plain_urls_for_the_prefixes_the_app_makes_plain() -> None:
    """The Worker cannot import Python: its PLAIN_PREFIXES must equal the app's, or the
    edge refuses avatars (fewer) or serves some video's file by plain key (more)."""
    line = next(line for line in WORKER.read_text().splitlines()
                if line.startswith("const PLAIN_PREFIXES = "))
    assert tuple(json.loads(line.removeprefix("const PLAIN_PREFIXES = ").rstrip(";"))) \
        == PLAIN_PREFIXES


def test_the_worker_parses_as_a_module() -> None:
    done = subprocess.run([NODE, "--check", str(WORKER)], capture_output=True, text=True,
                          timeout=RUN_FOR, check=False)
    assert done.returncode == 0, done.stderr


_SEGMENT = st.one_of(
    st.text("abc019-_.", min_size=1, max_size=6),
    st.text(st.characters(codec="utf-8", exclude_characters="/"), max_size=6),
)
_KEYS = st.one_of(
    st.builds(lambda a, b: f"{FOLDER}/{a}/{b}", _SEGMENT, _SEGMENT),
    st.lists(_SEGMENT, max_size=5).map("/".join),
    st.sampled_from([f"{FOLDER}/hls/master.m3u8", f"{FOLDER}/../x", f"{FOLDER}/.x",
                     f"{FOLDER}//x", f"{FOLDER}\\x", f"{FOLDER}/\x7f", "/abs/x/y"]),
)


@st.composite
def _paths(draw: st.DrawFn) -> str:
    key = draw(_KEYS)
    exp = draw(st.integers(NOW - 20, NOW + 100))
    try:
        path = tokens.path(key, exp)  # percent-encoded: what a client sends
        _, exp_text, sig, _ = path.split("/", 3)
    except Invalid:  # an invalid key: no token of it can be made
        exp_text, sig = str(exp), "x" * 43
    kind = draw(st.sampled_from(
        ["good", "good", "good", "sig", "exp", "zero", "key", "junk", "prefix"]))
    if kind == "sig" and sig:
        i = draw(st.integers(0, len(sig) - 1))
        sig = sig[:i] + draw(st.sampled_from("AB-_x")) + sig[i + 1:]
    elif kind == "exp":
        exp_text = draw(st.sampled_from([str(exp + 1), "", "1e9", "9" * 20, f" {exp}"]))
    elif kind == "zero":
        exp_text = "0" + exp_text  # the same number: both admit it
    elif kind == "key":
        key = draw(_KEYS)
    elif kind == "junk":
        return draw(st.text(max_size=30))
    elif kind == "prefix":
        return f"t/{exp_text}/{sig}/{key}"
    return f"s/{exp_text}/{sig}/{key}"  # decoded, as the route and the worker read it


@settings(max_examples=8, deadline=None)
@given(paths=st.lists(_paths(), min_size=40, max_size=40))
def test_the_worker_and_the_app_agree_on_every_token_path(paths: list[str]) -> None:
    assert verify(EDGE_KEY, NOW, paths) == [tokens.parse(p, NOW) for p in paths]


def test_a_signed_path_passes_both_until_it_expires() -> None:
    paths = [tokens.path(f"{FOLDER}/hls/master.m3u8", NOW + 60),
             tokens.path(f"{FOLDER}/playback.mp4", NOW + 1)]
    expected = [(f"{FOLDER}/hls/master.m3u8", NOW + 60), (f"{FOLDER}/playback.mp4", NOW + 1)]
    assert verify(EDGE_KEY, NOW, paths) == expected == [tokens.parse(p, NOW) for p in paths]
    assert verify(EDGE_KEY, NOW + 1, paths) == [expected[0], None]
    assert verify(EDGE_KEY, NOW + 60, paths) == [None, None]
    assert verify("another key of forty characters........", NOW, paths) == [None, None]


def test_the_edge_serves_a_folder_with_a_token_avatars_plainly_and_nothing_else() -> None:
    objects = {
        f"{FOLDER}/playback.mp4": Stored(b"0123456789"),
        f"{FOLDER}/hls/lo/000.m4s": Stored(b"segment", "video/iso.segment"),
        "avatars/abc/avatar.jpg": Stored(b"jpeg", "image/jpeg"),
    }
    token = tokens.path(f"{FOLDER}/hls/master.m3u8", NOW + 120).removesuffix(
        f"{FOLDER}/hls/master.m3u8")
    other = tokens.path("videos/feedface/playback.mp4", NOW + 120).removesuffix(
        "videos/feedface/playback.mp4")
    base = "https://cdn.test/media/"
    stored = "public, max-age=31536000, immutable"
    answers = fetch(EDGE_KEY, NOW, objects, [
        ("GET", f"{base}{token}{FOLDER}/playback.mp4", {}),
        ("GET", f"{base}{token}{FOLDER}/hls/lo/000.m4s", {}),
        ("GET", f"{base}{token}{FOLDER}/playback.mp4", {"Range": "bytes=2-5"}),
        ("GET", f"{base}{token}{FOLDER}/playback.mp4", {"If-None-Match": '"e1"'}),
        ("HEAD", f"{base}{token}{FOLDER}/playback.mp4", {}),
        ("GET", f"{base}avatars/abc/avatar.jpg", {}),
        ("GET", f"{base}{FOLDER}/playback.mp4", {}),  # a video's file by plain key
        ("GET", f"{base}{other}{FOLDER}/playback.mp4", {}),  # another video's token
        ("GET", f"{base}{token}{FOLDER}/missing.mp4", {}),
        ("GET", f"https://cdn.test/{token}{FOLDER}/playback.mp4", {}),  # outside BASE_PATH
        ("POST", f"{base}{token}{FOLDER}/playback.mp4", {}),
    ], base_path="/media")
    whole, segment, part, same, head, avatar, plain, foreign, missing, outside, post = answers
    assert (whole.status, whole.body) == (200, b"0123456789")
    assert whole.headers["cache-control"] == served_cache_control(stored, 120)
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["etag"] == '"e1"'
    assert (segment.status, segment.body) == (200, b"segment")
    assert segment.headers["content-type"] == "video/iso.segment"
    assert (part.status, part.body, part.headers["content-range"]) == (
        206, b"2345", "bytes 2-5/10")
    assert (same.status, same.body) == (304, b"")
    assert (head.status, head.body) == (200, b"")
    assert (avatar.status, avatar.body, avatar.headers["cache-control"]) == (
        200, b"jpeg", stored)
    for refused in (plain, foreign, missing, outside):
        assert refused.status == 404
        assert json.loads(refused.body)["code"] == "media_not_found"
        assert refused.headers["content-type"] == "application/problem+json"
    assert post.status == 405

    later = fetch(EDGE_KEY, NOW + 120, objects, [
        ("GET", f"{base}{token}{FOLDER}/playback.mp4", {}),
        ("GET", f"{base}avatars/abc/avatar.jpg", {}),
    ], base_path="/media")
    assert [a.status for a in later] == [404, 200]  # the token expired; avatars stay


def test_a_failed_if_match_is_412_and_a_met_if_none_match_is_304() -> None:
    """RFC 9110 §13.1.1 and §13.2.2: If-Match (or, without it, If-Unmodified-Since) that
    fails is 412 Precondition Failed; 304 is only for If-None-Match / If-Modified-Since."""
    objects = {f"{FOLDER}/playback.mp4": Stored(b"0123456789", uploaded=1_700_000_000)}
    url = "https://cdn.test/" + tokens.path(f"{FOLDER}/playback.mp4", NOW + 120)
    before, after = "Tue, 14 Nov 2023 22:13:19 GMT", "Tue, 14 Nov 2023 22:13:21 GMT"
    answers = fetch(EDGE_KEY, NOW, objects, [
        ("GET", url, {"If-Match": '"other"'}),
        ("GET", url, {"If-Match": 'W/"e1"'}),  # If-Match compares strongly
        ("HEAD", url, {"If-Match": '"other"'}),
        ("GET", url, {"If-Match": '"other", "e1"'}),
        ("GET", url, {"If-Match": "*"}),
        ("GET", url, {"If-Unmodified-Since": before}),
        ("GET", url, {"If-Unmodified-Since": after}),
        ("GET", url, {"If-Match": '"e1"', "If-None-Match": '"e1"'}),
        ("GET", url, {"If-Match": '"other"', "If-None-Match": '"e1"'}),
    ])
    assert [a.status for a in answers] == [412, 412, 412, 200, 200, 412, 200, 304, 412]
    assert all(a.body == b"" for a in answers if a.status != 200)
    assert answers[3].body == answers[4].body == b"0123456789"
