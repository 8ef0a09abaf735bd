"""A moment behind the BeReal lock shows nothing of itself (issue 20 item 7): before I post
mine, a friend's friends-only moment of today gives who posted it and when, and nothing
else, in every answer of the app: its description, duration, size, frame, counts,
reactions, comments, thumbnail and media, in feeds (friends, For-You from a ranking made
while it was public, hashtags, search), the single video, profiles, notifications, live
events and the old app's routes.

The walk is routed: every GET route of the app's router is called as the locked viewer,
with the locked video's ids in its path, and no answer may carry any of its secrets (a
route added later is walked too). Then the routes that list the video are checked field
by field."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aiohttp import WSMsgType, WSServerHandshakeError
from engagement_support import befriend, ready_video, user
from permissions_support import app_routes

from adapters.http import keys

RECEIVE = 10.0  # hang guard for one frame, not a timing assertion
SECRET = "Zq7secret"  # in the description, the comments, the reply
TAG = "goldenhour"  # the moment's hashtag (a hashtag page echoes the tag asked)


async def _json(r: Any) -> Any:
    assert r.status == 200, (r.url, r.status, await r.text())
    return await r.json()


def _assert_sealed(video: dict[str, Any], video_id: int) -> None:
    assert video["id"] == video_id and video["locked"] is True, video
    assert video["description"] == ""
    for field in ("duration_seconds", "size_bytes", "width", "height", "playback_url",
                  "thumbnail_url", "status_reason", "my_reaction"):
        assert video.get(field) is None, (field, video)
    assert set(video["reactions"].values()) == {0}, video
    assert video["comment_count"] == 0
    assert video.get("view_count", 0) == 0
    assert video["created_at"] and video["author"]["id"]


async def test_every_route_as_a_locked_viewer(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_video_env(rate_limit_multiplier=1000)  # the BeReal lock is on
    c = env.client
    ann, bob, cat = [await user(env, n) for n in ("ann", "bob", "cat")]
    await befriend(env, ann, bob)
    moment = await ready_video(env, ann, sample_clips["silent"], "public")
    r = await c.patch(f"/v1/videos/{moment}", headers=ann.auth,
                      json={"description": f"{SECRET} sunset #{TAG}"})
    assert r.status == 200
    full = await r.json()
    assert full["duration_seconds"] and full["thumbnail_url"] and full["playback_url"]
    media = [re.sub(r"\?.*", "", full[k]).rsplit("/media/", 1)[-1]
             for k in ("thumbnail_url", "playback_url")]
    r = await c.post(f"/v1/videos/{moment}/comments", json={"body": f"{SECRET} by cat"},
                     headers=cat.auth)
    assert r.status == 201
    cats_comment = (await r.json())["id"]
    assert (await c.put(f"/v1/videos/{moment}/reaction", json={"kind": "heart"},
                        headers=cat.auth)).status == 200
    # While it was public, bob's For-You ranked it (the snapshot is reused for a while).
    ranked = await _json(await c.get("/v1/feed/for-you", headers=bob.auth))
    assert moment in [i["video"]["id"] for i in ranked["items"]]
    # Bob opens the moment with a post of his, comments, and his post goes: locked again.
    mine = await ready_video(env, bob, sample_clips["silent"], "friends")
    r = await c.patch(f"/v1/videos/{moment}", json={"visibility": "friends"}, headers=ann.auth)
    assert r.status == 200
    r = await c.post(f"/v1/videos/{moment}/comments", json={"body": "hello"}, headers=bob.auth)
    assert r.status == 201, await r.text()
    bobs_comment = (await r.json())["id"]
    assert (await c.delete(f"/v1/videos/{mine}", headers=bob.auth)).status == 204
    r = await c.get(f"/v1/videos/{moment}/comments", headers=bob.auth)
    assert (r.status, (await r.json())["code"]) == (403, "moment_locked")
    r = await c.post(f"/v1/videos/{moment}/comments", headers=ann.auth,
                     json={"body": f"{SECRET} reply", "parent_id": bobs_comment})
    assert r.status == 201, await r.text()

    # ---- the walk: every GET route, as bob
    svc = c.app[keys.SERVICES]
    values = {
        "video_id": moment, "user_id": ann.id, "comment_id": cats_comment,
        "tag": TAG, "slug": str(svc.share_url(moment)).rsplit("/", 1)[1],
        "key": media[0], "name": "admin.js", "provider": "apple",
    }
    secrets = [SECRET, SECRET.lower(), *media]
    assert (await c.get(f"/v1/hashtags/{TAG}/videos", headers=cat.auth)).status == 200
    walked = {}
    for method, path in app_routes(c.app):
        if method != "GET" or path in ("/v1/ws", "/ws/chat"):
            continue
        filled = path
        for name in re.findall(r"\{(\w+)(?::[^}]*)?\}", path):
            value = bob.id if path.startswith("/users/{user_id}/friends") else values.get(name, 1)
            filled = re.sub(r"\{" + name + r"(?::[^}]*)?\}", str(value), filled)
        if "search" in path:
            filled += "?q=sunset"
        r = await c.get(filled, headers=bob.auth)
        text = await r.text()
        for secret in secrets:
            assert secret not in text, (path, r.status, secret, text[:500])
        walked[path] = (r.status, text)
    assert len(walked) > 40, "the router's routes were walked"

    # ---- field by field where the moment is listed
    _assert_sealed(await _json(await c.get(f"/v1/videos/{moment}", headers=bob.auth)), moment)
    listed = await _json(await c.get(f"/v1/users/{ann.id}/videos", headers=bob.auth))
    [item] = [v for v in listed["items"] if v["id"] == moment]
    _assert_sealed(item, moment)
    for feed in ("friends", "for-you"):
        page = await _json(await c.get(f"/v1/feed/{feed}", headers=bob.auth))
        [entry] = [i for i in page["items"] if i["video"]["id"] == moment]
        _assert_sealed(entry["video"], moment)
        assert entry["locked"] is True and entry["my_reaction"] is None
        assert entry["comment_count"] == 0 and set(entry["reactions"].values()) == {0}
    for path in ("/users/{user_id}/friends/videos/", "/users/{user_id}/friends/videos"):
        assert walked[path][0] == 200, walked[path]
        [legacy] = [v for v in json.loads(walked[path][1]) if v["video_id"] == moment]
        assert legacy["locked"] is True and legacy["description"] == ""
        assert legacy["filepath"] is None and legacy["thumbnail_url"] is None
    notes = await _json(await c.get("/v1/notifications", headers=bob.auth))
    [reply] = [n for n in notes["items"] if n["kind"] == "reply"]
    assert reply["video_id"] == moment and reply["text"] is None, "no preview while locked"
    for search in (f"/v1/hashtags/{TAG}/videos", "/v1/search?q=sunset"):
        body = await _json(await c.get(search, headers=bob.auth))
        assert moment not in [i.get("video", i).get("id") for i in body.get("items", [])]
    # The author and a stranger's view of it are untouched; the walk saw no 5xx.
    assert (await _json(await c.get(f"/v1/videos/{moment}", headers=ann.auth)))[
        "description"].startswith(SECRET)
    assert all(status < 500 for status, _ in walked.values()), walked

    # ---- live: the locked moment's channel is refused, and says nothing
    ws = await c.ws_connect("/v1/ws", headers=bob.auth)
    msg = await ws.receive(timeout=RECEIVE)
    assert msg.type is WSMsgType.TEXT and json.loads(msg.data)["type"] == "hello"
    await ws.send_json({"op": "subscribe", "channel": f"video:{moment}"})
    frame = json.loads((await ws.receive(timeout=RECEIVE)).data)
    assert (frame["type"], frame["code"]) == ("error", "moment_locked")
    assert SECRET not in json.dumps(frame)
    await ws.close()
    with pytest.raises(WSServerHandshakeError) as refused:  # refused before the upgrade
        await c.ws_connect(f"/ws/chat?video_id={moment}", headers=bob.auth)
    assert refused.value.status == 403
