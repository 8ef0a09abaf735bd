"""Friends, blocks, search and the three feeds over HTTP (in-memory backend)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import aiohttp
from clip_support import unique


async def _user(env: Any, email: str, nickname: str) -> tuple[dict[str, str], int]:
    auth = env.api.auth(await env.api.signup(email))
    me = await (await env.client.patch("/v1/me", json={"nickname": nickname},
                                       headers=auth)).json()
    return auth, me["id"]


async def _post(env: Any, auth: dict[str, str], clip: Path, visibility: str) -> int:
    form = aiohttp.FormData()
    form.add_field("video_file", io.BytesIO(unique(clip)), filename="c.mp4",
                   content_type="video/mp4")
    form.add_field("visibility", visibility)
    r = await env.client.post("/v1/videos", data=form, headers=auth)
    assert r.status == 201, await r.text()
    return int((await r.json())["id"])


async def _befriend(env: Any, a: tuple[dict[str, str], int], b: tuple[dict[str, str], int]):
    r = await env.client.post("/v1/friend-requests", json={"user_id": b[1]}, headers=a[0])
    assert (await r.json())["relation"] == "request_sent"
    r = await env.client.post(f"/v1/friend-requests/{a[1]}/accept", headers=b[0])
    assert r.status == 204


async def test_friend_requests_lists_and_profiles(video_env: Any) -> None:
    env = video_env
    ann = await _user(env, "ann@bsu.by", "ann")
    bob = await _user(env, "bob@bsu.by", "bob")
    cat = await _user(env, "cat@bsu.by", "cat")
    r = await env.client.post("/v1/friend-requests", json={"nickname": "BOB"}, headers=ann[0])
    assert r.status == 201 and (await r.json())["relation"] == "request_sent"
    r = await env.client.post("/v1/friend-requests", json={"user_id": bob[1]}, headers=ann[0])
    assert r.status == 409
    incoming = await (await env.client.get("/v1/friend-requests?direction=incoming",
                                           headers=bob[0])).json()
    assert [c["user"]["nickname"] for c in incoming["items"]] == ["ann"]
    profile = await (await env.client.get(f"/v1/users/{ann[1]}", headers=bob[0])).json()
    assert profile["relation"] == "request_received"
    assert (await env.client.post(f"/v1/friend-requests/{ann[1]}/accept",
                                  headers=bob[0])).status == 204
    friends = await (await env.client.get("/v1/friends", headers=ann[0])).json()
    assert [c["user"]["id"] for c in friends["items"]] == [bob[1]]
    profile = await (await env.client.get(f"/v1/users/{bob[1]}", headers=ann[0])).json()
    assert profile["relation"] == "friends" and profile["friend_count"] == 1

    # A request to someone who already asked me makes us friends at once.
    await env.client.post("/v1/friend-requests", json={"user_id": ann[1]}, headers=cat[0])
    r = await env.client.post("/v1/friend-requests", json={"user_id": cat[1]}, headers=ann[0])
    assert (await r.json())["relation"] == "friends"
    await env.client.post("/v1/friend-requests", json={"user_id": cat[1]}, headers=bob[0])
    assert (await env.client.delete(f"/v1/friend-requests/{cat[1]}",
                                    headers=bob[0])).status == 204
    assert (await env.client.post(f"/v1/friend-requests/{bob[1]}/decline",
                                  headers=cat[0])).status == 404
    assert (await env.client.delete(f"/v1/friends/{cat[1]}", headers=ann[0])).status == 204
    assert (await env.client.delete(f"/v1/friends/{cat[1]}", headers=ann[0])).status == 404
    r = await env.client.post("/v1/friend-requests", json={"user_id": ann[1]}, headers=ann[0])
    assert r.status == 422


async def test_block_hides_both_ways(video_env: Any, sample_clips: dict[str, Path]) -> None:
    env = video_env
    ann = await _user(env, "ann@bsu.by", "ann")
    bob = await _user(env, "bob@bsu.by", "bob")
    await _befriend(env, ann, bob)
    video = await _post(env, bob[0], sample_clips["silent"], "public")
    await env.run_jobs()
    assert (await env.client.put(f"/v1/blocks/{bob[1]}", headers=ann[0])).status == 204
    friends = await (await env.client.get("/v1/friends", headers=ann[0])).json()
    assert friends["items"] == [], "a block ends the friendship"
    mine = await (await env.client.get(f"/v1/users/{bob[1]}", headers=ann[0])).json()
    assert mine["relation"] == "blocked", "the blocker still sees whom they blocked"
    assert (await env.client.get(f"/v1/users/{ann[1]}", headers=bob[0])).status == 404
    assert (await env.client.get(f"/v1/videos/{video}", headers=ann[0])).status == 404
    feed = await (await env.client.get("/v1/feed/global", headers=ann[0])).json()
    assert feed["items"] == []
    found = await (await env.client.get("/v1/users/search?q=an", headers=bob[0])).json()
    assert found["items"] == []
    r = await env.client.post("/v1/friend-requests", json={"user_id": ann[1]}, headers=bob[0])
    assert r.status == 404, "the blocked user cannot tell they were blocked"
    blocks = await (await env.client.get("/v1/blocks", headers=ann[0])).json()
    assert [c["user"]["id"] for c in blocks["items"]] == [bob[1]]
    assert (await env.client.delete(f"/v1/blocks/{bob[1]}", headers=ann[0])).status == 204
    feed = await (await env.client.get("/v1/feed/global", headers=ann[0])).json()
    assert [i["video"]["id"] for i in feed["items"]] == [video]


async def test_search(video_env: Any) -> None:
    env = video_env
    me = await _user(env, "me@bsu.by", "zed")
    for i, nick in enumerate(["sam", "sam_1", "samuel", "sandra"]):
        await _user(env, f"u{i}@bsu.by", nick)
    page = await (await env.client.get("/v1/users/search?q=Sam&limit=2",
                                       headers=me[0])).json()
    assert [u["nickname"] for u in page["items"]] == ["sam", "sam_1"]
    rest = await (await env.client.get(
        f"/v1/users/search?q=sam&limit=2&cursor={page['next_cursor']}", headers=me[0])).json()
    assert [u["nickname"] for u in rest["items"]] == ["samuel"] and rest["next_cursor"] is None
    r = await env.client.get("/v1/users/search?q=", headers=me[0])
    assert r.status == 422


async def test_friends_feed_with_bereal_lock(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    ann = await _user(env, "ann@bsu.by", "ann")
    bob = await _user(env, "bob@bsu.by", "bob")
    eve = await _user(env, "eve@bsu.by", "eve")
    await _befriend(env, ann, bob)
    friends_only = await _post(env, bob[0], sample_clips["silent"], "friends")
    await _post(env, eve[0], sample_clips["silent"], "public")
    await env.run_jobs()

    feed = await (await env.client.get("/v1/feed/friends", headers=ann[0])).json()
    assert [i["video"]["id"] for i in feed["items"]] == [friends_only]
    item = feed["items"][0]
    assert feed["locked"] is True and item["locked"] is True
    assert item["video"]["playback_url"] is None and item["video"]["thumbnail_url"] is None
    assert item["reactions"] == {"heart": 0, "flame": 0, "funny": 0, "angry": 0}

    # No other route lifts the lock.
    direct = await (await env.client.get(f"/v1/videos/{friends_only}", headers=ann[0])).json()
    assert direct["locked"] is True and direct["playback_url"] is None
    listed = await (await env.client.get(f"/v1/users/{bob[1]}/videos", headers=ann[0])).json()
    assert [(v["id"], v["locked"], v["playback_url"]) for v in listed["items"]] == [
        (friends_only, True, None)
    ]
    legacy = await (await env.client.get(f"/users/{ann[1]}/friends/videos",
                                         headers=ann[0])).json()
    assert legacy[0]["locked"] is True and legacy[0]["filepath"] is None

    await _post(env, ann[0], sample_clips["silent"], "friends")
    feed = await (await env.client.get("/v1/feed/friends", headers=ann[0])).json()
    assert feed["locked"] is True, "still processing: a junk upload must not unlock"
    await env.run_jobs()  # my moment is ready: unlocked
    feed = await (await env.client.get("/v1/feed/friends", headers=ann[0])).json()
    assert feed["locked"] is False and feed["items"][0]["video"]["playback_url"]
    direct = await (await env.client.get(f"/v1/videos/{friends_only}", headers=ann[0])).json()
    assert direct["locked"] is False and direct["playback_url"]

    assert (await env.client.get(f"/v1/videos/{friends_only}", headers=eve[0])).status == 404
    past = await (await env.client.get("/v1/feed/friends?day=2020-01-01",
                                       headers=ann[0])).json()
    assert past["items"] == [] and past["day"] == "2020-01-01"
    r = await env.client.get("/v1/feed/friends?day=yesterday", headers=ann[0])
    assert r.status == 422

    legacy = await (await env.client.get(f"/users/{ann[1]}/friends/videos",
                                         headers=ann[0])).json()
    assert [v["video_id"] for v in legacy] == [friends_only] and legacy[0]["filepath"]
    r = await env.client.get(f"/users/{bob[1]}/friends/videos", headers=ann[0])
    assert r.status == 403


async def test_global_feed_cursors_both_ways(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    ann = await _user(env, "ann@bsu.by", "ann")
    ids = [await _post(env, ann[0], sample_clips["silent"], "public") for _ in range(5)]
    await env.run_jobs()
    first = await (await env.client.get("/v1/feed/global?limit=2", headers=ann[0])).json()
    assert [i["video"]["id"] for i in first["items"]] == [ids[4], ids[3]]
    newer = await _post(env, ann[0], sample_clips["silent"], "public")
    await env.run_jobs()
    second = await (await env.client.get(
        f"/v1/feed/global?limit=2&cursor={first['next_cursor']}", headers=ann[0])).json()
    assert [i["video"]["id"] for i in second["items"]] == [ids[2], ids[1]], "no duplicates"
    fresh = await (await env.client.get(
        f"/v1/feed/global?limit=2&cursor={first['prev_cursor']}", headers=ann[0])).json()
    assert [i["video"]["id"] for i in fresh["items"]] == [newer]
    r = await env.client.get("/v1/feed/global?cursor=garbage", headers=ann[0])
    assert r.status == 422 and (await r.json())["code"] == "invalid_cursor"


async def test_for_you_skips_seen_and_pins_the_ranking(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    ann = await _user(env, "ann@bsu.by", "ann")
    bob = await _user(env, "bob@bsu.by", "bob")
    ids = [await _post(env, bob[0], sample_clips["silent"], "public") for _ in range(4)]
    await env.run_jobs()
    for counted in (True, False):  # once a day; seen for For-You either way
        r = await env.client.post(f"/v1/videos/{ids[0]}/view", headers=ann[0],
                                  json={"watched_seconds": 0.25})
        assert r.status == 200 and (await r.json())["counted"] is counted
    page = await (await env.client.get("/v1/feed/for-you?limit=2", headers=ann[0])).json()
    first = [i["video"]["id"] for i in page["items"]]
    assert ids[0] not in first and len(first) == 2
    await _post(env, bob[0], sample_clips["silent"], "public")
    await env.run_jobs()
    rest = await (await env.client.get(
        f"/v1/feed/for-you?limit=2&cursor={page['next_cursor']}", headers=ann[0])).json()
    second = [i["video"]["id"] for i in rest["items"]]
    assert set(first) | set(second) == set(ids[1:]) and not set(first) & set(second)
    theirs = await env.client.get(f"/v1/feed/for-you?cursor={page['next_cursor']}",
                                  headers=bob[0])
    assert theirs.status == 404 and (await theirs.json())["code"] == "snapshot_expired"
