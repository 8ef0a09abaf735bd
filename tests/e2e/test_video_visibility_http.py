"""Changing a video's visibility after upload (issue 20 item 7): PATCH /v1/videos/{id}
{"visibility"} by the author; the video, the global feed, profiles and live
subscriptions follow at once; a private account's videos stay friends-only (public is
409 account_private); the legacy PATCH /videos/{id}/ keeps changing the description only."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType
from engagement_support import befriend, ready_video, user

RECEIVE = 10.0  # hang guard for one frame, not a timing assertion


async def _ids(r: Any) -> list[int]:
    assert r.status == 200, await r.text()
    return [item["video"]["id"] if "video" in item else item["id"]
            for item in (await r.json())["items"]]


async def _frame(ws: Any) -> dict[str, Any]:
    msg = await ws.receive(timeout=RECEIVE)
    assert msg.type is WSMsgType.TEXT, (msg.type, msg.data)
    return dict(json.loads(msg.data))


async def _patch(env: Any, who: Any, video: int, **body: Any) -> Any:
    return await env.client.patch(f"/v1/videos/{video}", json=body, headers=who.auth)


async def test_public_to_friends_and_back(make_video_env: Any,
                                          sample_clips: dict[str, Path]) -> None:
    env = await make_video_env(rate_limit_multiplier=1000, bereal_lock=False)
    c = env.client
    ann, friend, stranger = [await user(env, n) for n in ("ann", "bob", "kim")]
    await befriend(env, ann, friend)
    video = await ready_video(env, ann, sample_clips["silent"], "public")
    socks = {}
    for who in (friend, stranger):
        ws = await c.ws_connect("/v1/ws", headers=who.auth)
        assert (await _frame(ws))["type"] == "hello"
        await ws.send_json({"op": "subscribe", "channel": f"video:{video}"})
        assert (await _frame(ws))["type"] == "subscribed"
        socks[who.nickname] = ws

    r = await _patch(env, ann, video, visibility="friends")
    assert r.status == 200, await r.text()
    body = await r.json()
    assert body["visibility"] == "friends" and body["description"] == ""
    assert (await c.get(f"/v1/videos/{video}", headers=stranger.auth)).status == 404
    assert video not in await _ids(await c.get("/v1/feed/global", headers=stranger.auth))
    r = await c.get(f"/v1/users/{ann.id}/videos", headers=stranger.auth)
    assert video not in await _ids(r)
    r = await c.get(f"/v1/videos/{video}", headers=friend.auth)
    assert r.status == 200 and (await r.json())["visibility"] == "friends"
    # The stranger's live subscription is checked again and dropped; the friend's stays.
    while (frame := await _frame(socks["kim"]))["type"] != "unsubscribed":
        pass
    assert frame == {"type": "unsubscribed", "channel": f"video:{video}",
                     "reason": "access_changed"}
    frame = await _frame(socks["bob"])
    assert frame["event"] == "video.visibility_changed"
    assert frame["data"] == {"video_id": video, "visibility": "friends"}
    r = await c.post(f"/v1/videos/{video}/comments", json={"body": "friends only"},
                     headers=ann.auth)
    assert r.status == 201
    while (frame := await _frame(socks["bob"])).get("event") != "comment.created":
        pass
    await socks["kim"].send_json({"op": "ping"})
    assert (await _frame(socks["kim"]))["type"] == "pong", "no comment reached the stranger"

    r = await _patch(env, ann, video, visibility="public", description="open again")
    assert r.status == 200
    assert (await r.json())["visibility"] == "public"
    r = await c.get(f"/v1/videos/{video}", headers=stranger.auth)
    assert r.status == 200 and (await r.json())["description"] == "open again"
    assert video in await _ids(await c.get("/v1/feed/global", headers=stranger.auth))
    for ws in socks.values():
        await ws.close()


async def test_only_the_author_and_only_a_visibility(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    ann, friend, stranger = [await user(env, n) for n in ("ann", "bob", "kim")]
    await befriend(env, ann, friend)
    public = await ready_video(env, ann, sample_clips["silent"], "public")
    hidden = await ready_video(env, ann, sample_clips["silent"], "friends")
    r = await _patch(env, friend, public, visibility="friends")
    assert (r.status, (await r.json())["code"]) == (403, "not_author")
    r = await _patch(env, stranger, hidden, visibility="public")
    assert (r.status, (await r.json())["code"]) == (404, "video_not_found")
    r = await _patch(env, ann, public, visibility="secret")
    assert (r.status, (await r.json())["code"]) == (422, "invalid_visibility")
    r = await _patch(env, ann, public)  # nothing to change: the video as it is
    assert r.status == 200 and (await r.json())["visibility"] == "public"
    r = await _patch(env, ann, public, description=None, visibility=None)
    assert r.status == 200 and (await r.json())["visibility"] == "public"


async def test_a_private_account_keeps_friends_only(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    c = env.client
    ann, stranger = await user(env, "ann"), await user(env, "kim")
    uploaded_public = await ready_video(env, ann, sample_clips["silent"], "public")
    other = await ready_video(env, ann, sample_clips["silent"], "public")
    r = await c.patch("/v1/me", json={"private": True}, headers=ann.auth)
    assert r.status == 200

    r = await _patch(env, ann, other, visibility="public")
    assert (r.status, (await r.json())["code"]) == (409, "account_private")
    r = await _patch(env, ann, uploaded_public, visibility="friends")
    assert r.status == 200 and (await r.json())["visibility"] == "friends"

    r = await c.patch("/v1/me", json={"private": False}, headers=ann.auth)
    assert r.status == 200
    r = await c.get(f"/v1/videos/{uploaded_public}", headers=stranger.auth)
    assert r.status == 404, "chosen friends while private: still friends-only"
    r = await c.get(f"/v1/videos/{other}", headers=stranger.auth)
    assert r.status == 200 and (await r.json())["visibility"] == "public"


async def test_the_legacy_edit_changes_the_description_only(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    c = env.client
    ann, stranger = await user(env, "ann"), await user(env, "kim")
    video = await ready_video(env, ann, sample_clips["silent"], "public")
    for path in (f"/videos/{video}/", f"/videos/{video}"):
        r = await c.patch(path, json={"description": f"via {path}"}, headers=ann.auth)
        assert r.status == 204, await r.text()
        r = await c.get(f"/v1/videos/{video}", headers=stranger.auth)
        body = await r.json()
        assert (body["description"], body["visibility"]) == (f"via {path}", "public")
    r = await c.patch(f"/videos/{video}/", json={"visibility": "friends"}, headers=ann.auth)
    assert r.status == 422, "the legacy body is {description}"
