"""Media privacy behind a CDN (issue 20 item 2), on the in-memory backend with
MOMENTIC_MEDIA_BASE_URL set and the app's own /media route standing in for the edge (the
same token check as docs/cdn/media-worker.mjs, which runs here under node on the same
URLs): a friend's friends-only video, once its BeReal lock is open, is at expiring token
URLs only (its MP4, thumbnail and every HLS file); they stop working after their lifetime;
after an unfriend the ex-friend gets no new ones, and those already issued expire within
the lifetime. A public video's URLs are tokens too, of the long public lifetime."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from engagement_support import befriend, ready_video, user
from hls_support import play
from worker_support import verify

from adapters.media_urls import MediaTokens
from adapters.memory.clock import ManualClock

EDGE_KEY = "an edge key shared with the worker, 40+ chars"
BASE = "https://cdn.test/media"
PRIVATE_TTL = 120
tokens = MediaTokens(EDGE_KEY.encode())


async def _env(make_video_env: Any) -> tuple[Any, ManualClock]:
    clock = ManualClock(datetime.now(UTC).replace(microsecond=0))
    env = await make_video_env(
        overrides={"clock": clock}, media_base_url=BASE, media_edge_key=EDGE_KEY,
        media_private_url_ttl_seconds=PRIVATE_TTL, rate_limit_multiplier=1000,
    )
    return env, clock


def _path(url: str) -> str:
    assert url.startswith(f"{BASE}/s/"), url  # a token path, never base + key
    return urlsplit(url).path


async def _status(env: Any, url: str) -> int:
    return int((await env.client.get(_path(url))).status)


def _edge(clock: ManualClock, urls: list[str]) -> list[tuple[str, int] | None]:
    """What the worker says of each URL (as Cloudflare hands it the path, decoded)."""
    paths = [unquote(_path(u).removeprefix("/media/")) for u in urls]
    found = verify(EDGE_KEY, clock.now().timestamp(), paths)
    assert found == [tokens.parse(p, clock.now()) for p in paths]  # and the app agrees
    return found


async def _video(env: Any, who: Any, video: int) -> Any:
    r = await env.client.get(f"/v1/videos/{video}", headers=who.auth)
    return r.status, (await r.json())


async def test_a_friends_only_video_expires_and_stops_after_an_unfriend(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env, clock = await _env(make_video_env)
    ann, bob = await user(env, "ann"), await user(env, "bob")
    await befriend(env, ann, bob)
    video = await ready_video(env, ann, sample_clips["silent"], "friends")

    # Behind the BeReal lock: who and when, no URL at all.
    status, body = await _video(env, bob, video)
    assert status == 200 and body["locked"] is True
    assert body["playback_url"] is body["hls_url"] is body["thumbnail_url"] is None
    await ready_video(env, bob, sample_clips["silent"], "friends")  # bob posts his moment

    status, body = await _video(env, bob, video)
    assert status == 200 and body["locked"] is False
    mp4, hls, thumb = body["playback_url"], body["hls_url"], body["thumbnail_url"]
    r = await env.client.get(_path(mp4))
    assert r.status == 200 and r.headers["Content-Type"] == "video/mp4"
    age = int(r.headers["Cache-Control"].split("max-age=")[1].split(",")[0])
    assert r.headers["Cache-Control"].startswith("private, ") and 0 < age <= PRIVATE_TTL
    assert await _status(env, thumb) == 200

    async def fetch(url: str) -> tuple[int, Any, bytes]:
        r = await env.client.get(_path(url))
        return r.status, r.headers, await r.read()

    renditions = await play(fetch, hls)  # every playlist and segment, through the token
    every = [mp4, thumb, hls, *(u for r in renditions for u in r.urls)]
    assert len(every) > 6 and None not in _edge(clock, every)
    # The same object by plain key: refused (the worker refuses any video key so).
    plain = urlsplit(mp4).path.split("/", 5)[5]
    r = await env.client.get(f"/media/{plain}")
    assert plain.startswith("videos/") and r.status == 404

    # After the lifetime: every URL is refused, by the app and by the worker.
    clock.advance(timedelta(seconds=PRIVATE_TTL))
    assert {await _status(env, u) for u in every} == {404}
    assert _edge(clock, every) == [None] * len(every)
    # A friend asks again and gets URLs that work.
    _, body = await _video(env, bob, video)
    fresh = body["playback_url"]
    assert fresh != mp4 and await _status(env, fresh) == 200

    # Unfriended: no new URL for bob; the one issued just before lasts its lifetime.
    r = await env.client.delete(f"/v1/friends/{ann.id}", headers=bob.auth)
    assert r.status == 204
    status, body = await _video(env, bob, video)
    assert status == 404 and body["code"] == "video_not_found"
    r = await env.client.get(f"/v1/users/{ann.id}/videos", headers=bob.auth)
    assert video not in [v["id"] for v in (await r.json())["items"]]
    assert await _status(env, fresh) == 200
    clock.advance(timedelta(seconds=PRIVATE_TTL))
    assert await _status(env, fresh) == 404 and _edge(clock, [fresh]) == [None]


async def test_a_public_video_lasts_the_public_lifetime_and_follows_a_switch(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env, clock = await _env(make_video_env)
    ann, kim = await user(env, "ann"), await user(env, "kim")
    video = await ready_video(env, ann, sample_clips["silent"], "public")
    _, body = await _video(env, kim, video)
    urls = [body["playback_url"], body["hls_url"], body["thumbnail_url"]]
    now = clock.now().timestamp()
    for found in _edge(clock, urls):
        assert found is not None and PRIVATE_TTL < found[1] - now <= 3600
    assert {await _status(env, u) for u in urls} == {200}

    r = await env.client.patch(f"/v1/videos/{video}", json={"visibility": "friends"},
                               headers=ann.auth)
    assert r.status == 200
    assert (await _video(env, kim, video))[0] == 404
    _, mine = await _video(env, ann, video)  # the author's own, now of the short lifetime
    found = _edge(clock, [mine["playback_url"]])[0]
    assert found is not None and found[1] - now <= PRIVATE_TTL
    clock.advance(timedelta(seconds=3600))
    assert {await _status(env, u) for u in urls} == {404}
