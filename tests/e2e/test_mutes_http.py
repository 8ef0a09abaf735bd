"""Mutes over HTTP (issue 21 item 2): POST /v1/users/{id}/mute hides that user from my
feeds (friends, global, For-You), my notifications and my live events; DELETE undoes it;
GET /v1/me/mutes pages them newest first. They are not told: nothing in their views
changes, and a muted friend stays a friend."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from aiohttp import WSMsgType
from engagement_support import befriend, ready_video, user

RECEIVE = 10.0  # hang guard for one frame, not a timing assertion


async def _ids(r: Any) -> list[int]:
    assert r.status == 200, await r.text()
    return [item["video"]["id"] for item in (await r.json())["items"]]


async def _feeds(env: Any, who: Any) -> dict[str, list[int]]:
    c = env.client
    return {name: await _ids(await c.get(f"/v1/feed/{name}", headers=who.auth))
            for name in ("friends", "global", "for-you")}


async def _notifications(env: Any, who: Any) -> list[tuple[str, int | None]]:
    r = await env.client.get("/v1/notifications", headers=who.auth)
    assert r.status == 200
    return [(n["kind"], (n["actor"] or {}).get("id")) for n in (await r.json())["items"]]


async def _frame(ws: Any) -> dict[str, Any]:
    msg = await ws.receive(timeout=RECEIVE)
    assert msg.type is WSMsgType.TEXT, (msg.type, msg.data)
    return dict(json.loads(msg.data))


async def _heard_until_pong(ws: Any) -> list[dict[str, Any]]:
    await ws.send_json({"op": "ping"})
    heard = []
    while (frame := await _frame(ws))["type"] != "pong":
        heard.append(frame)
    return heard


async def test_a_muted_friend_leaves_my_feeds_and_stays_a_friend(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_video_env(rate_limit_multiplier=1000, bereal_lock=False)
    c = env.client
    me, sam, kim = [await user(env, n) for n in ("ann", "sam", "kim")]
    await befriend(env, me, sam)
    theirs = await ready_video(env, sam, sample_clips["silent"], "public")
    other = await ready_video(env, kim, sample_clips["silent"], "public")
    before = await _feeds(env, me)
    assert before["friends"] == [theirs]
    assert sorted(before["global"]) == sorted([theirs, other])
    assert theirs in before["for-you"]

    r = await c.post(f"/v1/users/{sam.id}/mute", headers=me.auth)
    assert r.status == 204, await r.text()
    r = await c.post(f"/v1/users/{sam.id}/mute", headers=me.auth)
    assert r.status == 204, "idempotent"
    after = await _feeds(env, me)
    assert after["friends"] == [] and after["global"] == [other]
    assert theirs not in after["for-you"]
    # Still friends, both ways; their profile and video stay readable by their routes.
    for a, b in ((me, sam), (sam, me)):
        r = await c.get(f"/v1/users/{b.id}", headers=a.auth)
        assert (await r.json())["relation"] == "friends"
    assert (await c.get(f"/v1/videos/{theirs}", headers=me.auth)).status == 200
    # Nothing changes for them.
    assert me.id not in [u["user"]["id"] for u in (await (await c.get(
        "/v1/me/mutes", headers=sam.auth)).json())["items"]]
    assert (await _feeds(env, sam))["global"] == (await _feeds(env, kim))["global"]

    r = await c.delete(f"/v1/users/{sam.id}/mute", headers=me.auth)
    assert r.status == 204
    r = await c.delete(f"/v1/users/{sam.id}/mute", headers=me.auth)
    assert r.status == 204, "idempotent"
    assert (await _feeds(env, me))["friends"] == [theirs]


async def test_no_notifications_from_whom_i_muted_and_they_are_not_told(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_video_env(rate_limit_multiplier=1000, bereal_lock=False)
    c = env.client
    me, sam, kim = [await user(env, n) for n in ("ann", "sam", "kim")]
    mine = await ready_video(env, me, sample_clips["silent"], "public")
    r = await c.post(f"/v1/users/{sam.id}/mute", headers=me.auth)
    assert r.status == 204
    assert await _notifications(env, sam) == [], "no word of it"
    for who in (sam, kim):
        r = await c.put(f"/v1/videos/{mine}/reaction", json={"kind": "heart"},
                        headers=who.auth)
        assert r.status == 200, await r.text()
        r = await c.post(f"/v1/videos/{mine}/comments",
                         json={"body": f"hi from {who.nickname}"}, headers=who.auth)
        assert r.status == 201
    r = await c.post("/v1/friend-requests", json={"user_id": me.id}, headers=sam.auth)
    assert r.status == 201, "their request still arrives"
    r = await c.get("/v1/friend-requests", headers=me.auth)
    assert [u["user"]["id"] for u in (await r.json())["items"]] == [sam.id]
    assert sorted(n for n in await _notifications(env, me) if n[0] != "video_ready") == [
        ("comment", kim.id), ("reaction", kim.id)]
    # Their own side works as ever: their comment counted, their reaction shown.
    r = await c.get(f"/v1/videos/{mine}", headers=sam.auth)
    body = await r.json()
    assert body["comment_count"] == 2 and body["my_reaction"] == "heart"


async def test_live_events_of_whom_i_muted_are_dropped(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_video_env(rate_limit_multiplier=1000, bereal_lock=False)
    c = env.client
    me, sam, kim = [await user(env, n) for n in ("ann", "sam", "kim")]
    video = await ready_video(env, kim, sample_clips["silent"], "public")
    ws = await c.ws_connect("/v1/ws", headers=me.auth)
    assert (await _frame(ws))["type"] == "hello"
    await ws.send_json({"op": "subscribe", "channel": f"video:{video}"})
    assert (await _frame(ws))["type"] == "subscribed"
    r = await c.post(f"/v1/users/{sam.id}/mute", headers=me.auth)  # while connected
    assert r.status == 204
    heard = await _heard_until_pong(ws)
    assert not any(f.get("event") == "relation.changed" for f in heard), "never forwarded"
    for who in (sam, kim):
        r = await c.post(f"/v1/videos/{video}/comments", json={"body": f"by {who.nickname}"},
                         headers=who.auth)
        assert r.status == 201
    comments = [f["data"]["body"] for f in await _heard_until_pong(ws)
                if f.get("event") == "comment.created"]
    assert comments == ["by kim"]
    r = await c.delete(f"/v1/users/{sam.id}/mute", headers=me.auth)
    assert r.status == 204
    await _heard_until_pong(ws)
    r = await c.post(f"/v1/videos/{video}/comments", json={"body": "sam again"},
                     headers=sam.auth)
    assert r.status == 201
    while (frame := await _frame(ws)).get("event") != "comment.created":
        pass
    assert frame["data"]["body"] == "sam again"
    await ws.close()


async def test_my_mutes_are_a_keyset_page_and_refusals(video_env: Any) -> None:
    env = video_env
    c = env.client
    me = await user(env, "ann")
    others = [await user(env, f"user{n}") for n in range(3)]
    for other in others:
        r = await c.post(f"/v1/users/{other.id}/mute", headers=me.auth)
        assert r.status == 204
    r = await c.get("/v1/me/mutes?limit=2", headers=me.auth)
    page = await r.json()
    assert [i["user"]["id"] for i in page["items"]] == [others[2].id, others[1].id]
    r = await c.get(f"/v1/me/mutes?limit=2&cursor={page['next_cursor']}", headers=me.auth)
    rest = await r.json()
    assert [i["user"]["id"] for i in rest["items"]] == [others[0].id]
    assert rest["next_cursor"] is None
    r = await c.get("/v1/me/mutes?cursor=nonsense", headers=me.auth)
    assert (r.status, (await r.json())["code"]) == (422, "invalid_cursor")
    r = await c.post(f"/v1/users/{me.id}/mute", headers=me.auth)
    assert (r.status, (await r.json())["code"]) == (422, "cannot_target_self")
    r = await c.post("/v1/users/999999999/mute", headers=me.auth)
    assert (r.status, (await r.json())["code"]) == (404, "user_not_found")
    assert (await c.post(f"/v1/users/{others[0].id}/mute")).status == 401
