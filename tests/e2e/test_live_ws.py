"""The live WebSocket (GET /v1/ws) and the legacy chat socket (GET /ws/chat), against
create_app() on the in-memory backend over a real loopback socket.

No test measures time: waits have a hang guard only (``RECEIVE``)."""

from __future__ import annotations

import asyncio
import json
import struct
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import WSMsgType
from engagement_support import befriend, login, moderator, ready_video, user
from ws_support import HANDSHAKE, frames, masked, stalled_subscriber

from adapters.http import keys
from adapters.http.live.routes import HUB, LiveOptions

RECEIVE = 10.0  # hang guard for one frame, not a timing assertion


@pytest.fixture
async def env(make_video_env: Any) -> Any:
    return await make_video_env(rate_limit_multiplier=1000)


async def _connect(env: Any, who: Any, path: str = "/v1/ws", **kw: Any) -> Any:
    ws = await env.client.ws_connect(path, headers=who.auth, **kw)
    if path == "/v1/ws":
        hello = await _frame(ws)
        assert hello["type"] == "hello" and hello["user_id"] == who.id
        assert hello["channels"] == [f"user:{who.id}"]
    return ws


async def _frame(ws: Any) -> dict[str, Any]:
    msg = await ws.receive(timeout=RECEIVE)
    assert msg.type is WSMsgType.TEXT, (msg.type, msg.data, msg.extra)
    return dict(json.loads(msg.data))


async def _event(ws: Any, name: str) -> dict[str, Any]:
    """The next event frame called ``name``, skipping other events."""
    while True:
        frame = await _frame(ws)
        if frame["type"] == "event" and frame["event"] == name:
            return frame


async def _closed(ws: Any) -> tuple[int | None, str]:
    """Read until the server closes; its close code and reason."""
    while True:
        msg = await ws.receive(timeout=RECEIVE)
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING):
            return ws.close_code, msg.extra or ""


async def _send(ws: Any, **frame: Any) -> dict[str, Any]:
    await ws.send_json(frame)
    return await _frame(ws)


# ---------------------------------------------------------------- the handshake


async def test_refused_before_the_upgrade(env: Any) -> None:
    c = env.client
    ann = await user(env, "ann")
    for headers, code in (
        ({}, "missing_token"),
        ({"Authorization": "Bearer not-a-token"}, "invalid_token"),
        ({"Authorization": "Basic Zm9vOmJhcg=="}, "missing_token"),
        ({"Sec-WebSocket-Protocol": "bearer, not-a-token"}, "invalid_token"),
    ):
        r = await c.get("/v1/ws", headers={**HANDSHAKE, **headers})
        assert r.status == 401, (headers, r.status)
        assert r.headers["Content-Type"].startswith("application/problem+json")
        assert (await r.json())["code"] == code
        assert "Sec-WebSocket-Accept" not in r.headers
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await c.ws_connect("/v1/ws", headers=headers)
        assert refused.value.status == 401
    r = await c.get("/v1/ws", headers=ann.auth)
    assert r.status == 426 and (await r.json())["code"] == "upgrade_required"
    assert r.headers["Upgrade"] == "websocket"


async def test_browser_token_in_the_subprotocol(env: Any) -> None:
    ann = await user(env, "ann")
    ws = await env.client.ws_connect("/v1/ws", protocols=("bearer", ann.token))
    assert ws.protocol == "bearer", "the chosen subprotocol is echoed, never the token"
    hello = await _frame(ws)
    assert hello["user_id"] == ann.id
    await ws.close()


# ---------------------------------------------------------------- frames and events


async def test_subscribe_and_hear_comments_reactions_and_notifications(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    video = await ready_video(env, ann, sample_clips["silent"])
    svc = c.app[keys.SERVICES]
    avatar = await svc.videos.set_avatar(await svc.accounts.authenticate(bob.token),
                                         _jpeg(sample_clips))
    assert avatar.avatar_key

    watcher = await _connect(env, ann)
    assert await _send(watcher, op="ping") == {"type": "pong"}
    assert await _send(watcher, op="subscribe", channel=f"video:{video}") == {
        "type": "subscribed", "channel": f"video:{video}"}
    assert await _send(watcher, op="subscribe", channel=f"video:{video}") == {
        "type": "subscribed", "channel": f"video:{video}"}, "idempotent"

    r = await c.post(f"/v1/videos/{video}/comments", json={"body": "live!"}, headers=bob.auth)
    assert r.status == 201
    comment = await r.json()
    frame = await _event(watcher, "comment.created")
    assert frame["channel"] == f"video:{video}"
    data = frame["data"]
    assert (data["id"], data["body"], data["comment_count"]) == (comment["id"], "live!", 1)
    assert data["author"]["nickname"] == "bob"
    assert "avatar_key" not in data["author"] and data["author"]["avatar_url"]
    assert avatar.avatar_key not in json.dumps(frame).replace(
        data["author"]["avatar_url"], ""), "no storage key outside the signed URL"
    # ann is the video's author: the notification arrives on her own channel.
    note = await _event(watcher, "notification.created")
    assert note["channel"] == f"user:{ann.id}"
    assert note["data"]["kind"] == "comment" and "avatar_key" not in note["data"]["actor"]

    await c.put(f"/v1/videos/{video}/reaction", json={"kind": "flame"}, headers=bob.auth)
    counts = await _event(watcher, "reactions.changed")
    assert counts["data"] == {"video_id": video,
                              "reactions": {"heart": 0, "flame": 1, "funny": 0, "angry": 0}}
    await c.put(f"/v1/comments/{comment['id']}/like", headers=ann.auth)
    liked = await _event(watcher, "comment.liked")
    assert liked["data"]["like_count"] == 1

    assert await _send(watcher, op="unsubscribe", channel=f"video:{video}") == {
        "type": "unsubscribed", "channel": f"video:{video}"}
    await c.post(f"/v1/videos/{video}/comments", json={"body": "unheard"}, headers=bob.auth)
    # The comment's notification still comes on the user channel; the video event does not.
    assert (await _frame(watcher))["event"] == "notification.created"
    assert await _send(watcher, op="ping") == {"type": "pong"}
    await watcher.close()


async def test_event_frames_carry_what_rest_answers(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    """One shape per payload: a frame's data is rendered by the view class REST answers
    with (live.views.FRAMES): the new comment as POST answered it, less the caller's own
    liked_by_me (a frame goes to every listener alike), with the video's comment count;
    the notification as GET /v1/notifications lists it; the edit as PATCH answered it."""
    c = env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    video = await ready_video(env, ann, sample_clips["silent"])
    svc = c.app[keys.SERVICES]
    await svc.videos.set_avatar(await svc.accounts.authenticate(bob.token), _jpeg(sample_clips))
    watcher = await _connect(env, ann)
    await _send(watcher, op="subscribe", channel=f"video:{video}")

    r = await c.post(f"/v1/videos/{video}/comments", json={"body": "same"}, headers=bob.auth)
    answered = await r.json()
    created = (await _event(watcher, "comment.created"))["data"]
    shared = {k: v for k, v in answered.items() if k != "liked_by_me"}
    assert created == {**shared, "comment_count": 1}
    note = (await _event(watcher, "notification.created"))["data"]
    listed = (await (await c.get("/v1/notifications", headers=ann.auth)).json())["items"]
    assert note == next(n for n in listed if n["id"] == note["id"])

    r = await c.patch(f"/v1/comments/{answered['id']}", json={"body": "edited"},
                      headers=bob.auth)
    edited = await r.json()
    frame = (await _event(watcher, "comment.edited"))["data"]
    assert frame == {k: v for k, v in edited.items() if k != "liked_by_me"}
    await watcher.close()


def _jpeg(sample_clips: dict[str, Path]) -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "JPEG")
    return out.getvalue()


async def test_channels_that_are_not_mine_and_bad_frames(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    ann, bob = await user(env, "ann"), await user(env, "bob")
    private = await ready_video(env, ann, sample_clips["silent"], "friends")
    ws = await _connect(env, bob)
    for frame, code in (
        ({"op": "subscribe", "channel": f"user:{ann.id}"}, "channel_forbidden"),
        ({"op": "subscribe", "channel": f"video:{private}"}, "video_not_found"),
        ({"op": "subscribe", "channel": "video:99999"}, "video_not_found"),
        ({"op": "subscribe", "channel": "room:1"}, "invalid_channel"),
        ({"op": "subscribe", "channel": 7}, "invalid_channel"),
        ({"op": "dance"}, "unknown_op"),
        ({"channel": "video:1"}, "invalid_frame"),
    ):
        answer = await _send(ws, **frame)
        assert answer["type"] == "error" and answer["code"] == code, (frame, answer)
        assert answer["detail"]
    await ws.send_str("not json")
    assert (await _frame(ws))["code"] == "invalid_frame"
    await ws.send_bytes(b"\x00\x01")
    assert (await _frame(ws))["code"] == "invalid_frame"
    assert await _send(ws, op="ping") == {"type": "pong"}, "errors leave the socket open"
    await ws.send_str(json.dumps({"op": "ping", "pad": "x" * 5000}))
    assert (await _closed(ws))[0] == 1009, "frames over 4 KiB close the socket"


async def test_subscription_cap_and_frame_rate(make_video_env: Any,
                                               sample_clips: dict[str, Path]) -> None:
    env = await make_video_env(LiveOptions(max_subscriptions=2, frame_burst=5,
                                           frames_per_second=0.001))
    ann = await user(env, "ann")
    video = await ready_video(env, ann, sample_clips["silent"])
    other = await ready_video(env, ann, sample_clips["silent"])
    ws = await _connect(env, ann)
    assert (await _send(ws, op="subscribe", channel=f"video:{video}"))["type"] == "subscribed"
    answer = await _send(ws, op="subscribe", channel=f"video:{other}")
    assert (answer["code"], answer["channel"]) == ("too_many_subscriptions", f"video:{other}")
    for _ in range(3):  # a burst of 5 frames, then (almost) nothing
        assert (await _send(ws, op="ping"))["type"] == "pong"
    assert (await _send(ws, op="ping"))["code"] == "rate_limited"
    await ws.close()


# ---------------------------------------------------------------- access checked again


async def _until_unsubscribed(ws: Any) -> dict[str, Any]:
    """The next ``unsubscribed`` frame, skipping events; ``comment.created`` must not come."""
    while True:
        frame = await _frame(ws)
        assert frame.get("event") != "comment.created", frame
        if frame["type"] == "unsubscribed":
            return frame


async def _heard_until_pong(ws: Any) -> list[dict[str, Any]]:
    """Every frame before the answer to a ping: what reached the socket so far."""
    await ws.send_json({"op": "ping"})
    frames = []
    while (frame := await _frame(ws))["type"] != "pong":
        frames.append(frame)
    return frames


async def test_a_block_drops_the_subscription_and_its_comments(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    video = await ready_video(env, ann, sample_clips["silent"])
    bobs = await _connect(env, bob)
    assert (await _send(bobs, op="subscribe", channel=f"video:{video}"))["type"] == "subscribed"
    r = await c.put(f"/v1/blocks/{bob.id}", headers=ann.auth)
    assert r.status in (200, 204), await r.text()
    assert await _until_unsubscribed(bobs) == {
        "type": "unsubscribed", "channel": f"video:{video}", "reason": "access_changed"}
    r = await c.post(f"/v1/videos/{video}/comments", json={"body": "after"}, headers=cat.auth)
    assert r.status == 201
    heard = await _heard_until_pong(bobs)
    assert [f for f in heard if f.get("channel") == f"video:{video}"] == []
    assert not any(f.get("event") == "relation.changed" for f in heard), "never forwarded"
    answer = await _send(bobs, op="subscribe", channel=f"video:{video}")
    assert answer["code"] == "video_not_found"
    await bobs.close()


async def test_an_unfriend_drops_a_friends_only_subscription(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_video_env(rate_limit_multiplier=1000, bereal_lock=False)
    c = env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    await befriend(env, ann, bob)
    public = await ready_video(env, ann, sample_clips["silent"])
    private = await ready_video(env, ann, sample_clips["silent"], "friends")
    bobs = await _connect(env, bob)
    for video in (public, private):
        answer = await _send(bobs, op="subscribe", channel=f"video:{video}")
        assert answer["type"] == "subscribed", answer
    r = await c.delete(f"/v1/friends/{bob.id}", headers=ann.auth)
    assert r.status == 204, await r.text()
    assert (await _until_unsubscribed(bobs))["channel"] == f"video:{private}"
    r = await c.post(f"/v1/videos/{public}/comments", json={"body": "still"}, headers=ann.auth)
    assert (await _event(bobs, "comment.created"))["data"]["body"] == "still"
    await bobs.close()


async def test_deleting_my_moment_relocks_a_friends_moment_on_my_socket(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    """The BeReal lock closes again when my post of today goes (I delete it, or a case
    holds it): REST answers moment_locked, and my socket's subscription to the friend's
    moment is dropped (access_changed) before any of its new comments reaches me."""
    env = await make_video_env(rate_limit_multiplier=1000, report_threshold=1)
    c = env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    await befriend(env, ann, bob)
    moment = await ready_video(env, ann, sample_clips["silent"], "friends")
    channel = f"video:{moment}"
    for undo in ("delete", "hold"):
        mine = await ready_video(env, bob, sample_clips["silent"])
        bobs = await _connect(env, bob)
        assert (await _send(bobs, op="subscribe", channel=channel))["type"] == "subscribed"
        if undo == "delete":
            r = await c.delete(f"/v1/videos/{mine}", headers=bob.auth)
            assert r.status == 204, await r.text()
        else:
            r = await c.post("/v1/reports", json={"target_type": "video", "target_id": mine,
                                                  "reason": "spam"}, headers=cat.auth)
            assert r.status == 201, await r.text()
        assert await _until_unsubscribed(bobs) == {
            "type": "unsubscribed", "channel": channel, "reason": "access_changed"}
        r = await c.get(f"/v1/videos/{moment}/comments", headers=bob.auth)
        assert (r.status, (await r.json())["code"]) == (403, "moment_locked")
        r = await c.post(f"/v1/videos/{moment}/comments", json={"body": "unseen"},
                         headers=ann.auth)
        assert r.status == 201, await r.text()
        heard = await _heard_until_pong(bobs)
        assert [f for f in heard if f.get("channel") == channel] == [], heard
        assert not any(f.get("event") == "access.changed" for f in heard), "never forwarded"
        answer = await _send(bobs, op="subscribe", channel=channel)
        assert answer["code"] == "moment_locked", answer
        await bobs.close()


async def _checked(env: Any, who: Any) -> None:
    """Wait for the access checks of ``who``'s sockets to finish."""
    hub = env.client.app[HUB]
    for sock in list(hub._users.get(who.id, ())):
        if sock.checker is not None:
            await asyncio.wait_for(asyncio.shield(sock.checker), RECEIVE)


async def test_comments_of_users_blocked_either_way_are_not_delivered(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    cat, dan = await user(env, "cat"), await user(env, "dan")
    video = await ready_video(env, ann, sample_clips["silent"])
    r = await c.put(f"/v1/blocks/{cat.id}", headers=bob.auth)
    assert r.status in (200, 204), await r.text()
    bobs = await _connect(env, bob)  # the blocked set is loaded at connect
    assert (await _send(bobs, op="subscribe", channel=f"video:{video}"))["type"] == "subscribed"
    # A block made while connected, by the other side, reloads it.
    r = await c.put(f"/v1/blocks/{bob.id}", headers=dan.auth)
    assert r.status in (200, 204), await r.text()
    await _checked(env, bob)
    for who, body in ((cat, "from cat"), (dan, "from dan"), (ann, "from ann")):
        r = await c.post(f"/v1/videos/{video}/comments", json={"body": body}, headers=who.auth)
        assert r.status == 201
    assert (await _event(bobs, "comment.created"))["data"]["body"] == "from ann"
    # Reaction counts have no actor: they are delivered whoever reacted.
    await c.put(f"/v1/videos/{video}/reaction", json={"kind": "heart"}, headers=cat.auth)
    assert (await _event(bobs, "reactions.changed"))["data"]["reactions"]["heart"] == 1
    await bobs.close()


async def test_a_held_video_drops_strangers_but_not_its_author(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_video_env(rate_limit_multiplier=1000, report_threshold=1)
    c = env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    video = await ready_video(env, ann, sample_clips["silent"])
    r = await c.post(f"/v1/videos/{video}/comments", json={"body": "rude"}, headers=cat.auth)
    comment = (await r.json())["id"]
    anns, bobs = await _connect(env, ann), await _connect(env, bob)
    for ws in (anns, bobs):
        assert (await _send(ws, op="subscribe", channel=f"video:{video}"))["type"] == "subscribed"
    chat = await c.ws_connect(f"/ws/chat?video_id={video}", headers=bob.auth)

    r = await c.post("/v1/reports", json={"target_type": "comment", "target_id": comment,
                                          "reason": "spam"}, headers=bob.auth)
    assert r.status == 201, await r.text()
    for ws in (anns, bobs):
        hidden = await _event(ws, "comment.hidden")
        assert hidden["data"] == {"id": comment, "video_id": video, "parent_id": None,
                                   "comment_count": 0}

    r = await c.post("/v1/reports", json={"target_type": "video", "target_id": video,
                                          "reason": "spam"}, headers=bob.auth)
    assert r.status == 201, await r.text()
    assert await _until_unsubscribed(bobs) == {
        "type": "unsubscribed", "channel": f"video:{video}", "reason": "access_changed"}
    msg = await chat.receive(timeout=RECEIVE)
    assert msg.type is WSMsgType.CLOSE, "the chat heard no comment.hidden, then closed"
    assert (chat.close_code, msg.extra) == (4404, "video_not_found")
    assert (await _event(anns, "video.hidden"))["data"] == {"video_id": video}
    await _checked(env, ann)
    assert f"video:{video}" in next(iter(env.client.app[HUB]._users[ann.id])).channels
    heard = await _heard_until_pong(anns)
    assert not any(f["type"] == "unsubscribed" for f in heard), "the author keeps it"
    for ws in (anns, bobs):
        await ws.close()


# ---------------------------------------------------------------- closing with 4401


async def test_a_ban_closes_the_banned_users_sockets(env: Any) -> None:
    ann, bob, mod = await user(env, "ann"), await user(env, "bob"), await moderator(env)
    bobs = [await _connect(env, bob), await _connect(env, bob)]
    anns = await _connect(env, ann)
    r = await env.client.post(f"/v1/mod/users/{bob.id}/ban", json={"reason": "spam"},
                              headers=mod.auth)
    assert r.status == 200
    for ws in bobs:
        assert await _closed(ws) == (4401, "account_banned")
    assert await _send(anns, op="ping") == {"type": "pong"}, "others stay connected"
    r = await env.client.get("/v1/ws", headers={**HANDSHAKE, **bob.auth})
    assert r.status == 401
    await anns.close()


async def test_deleting_the_account_closes_its_sockets(env: Any) -> None:
    ann = await user(env, "ann")
    ws = await _connect(env, ann)
    r = await env.client.delete("/v1/me", json={"password": "correct horse battery"},
                                headers=ann.auth)
    assert r.status == 204, await r.text()
    assert await _closed(ws) == (4401, "account_deleted")


async def test_logout_closes_that_sessions_sockets_only(env: Any) -> None:
    ann = await user(env, "ann")
    phone = await _connect(env, ann)
    laptop_tokens = await login(env, "ann@bsu.by")
    laptop = await env.client.ws_connect("/v1/ws", headers=env.api.auth(laptop_tokens))
    assert (await _frame(laptop))["type"] == "hello"
    r = await env.client.post("/v1/auth/logout", headers=ann.auth)
    assert r.status == 204
    assert await _closed(phone) == (4401, "session_revoked")
    assert await _send(laptop, op="ping") == {"type": "pong"}

    r = await env.client.delete("/v1/me/sessions?keep_current=true",
                                headers=env.api.auth(laptop_tokens))
    assert r.status == 204
    assert await _send(laptop, op="ping") == {"type": "pong"}, "keep_current keeps it"
    r = await env.client.delete("/v1/me/sessions", headers=env.api.auth(laptop_tokens))
    assert await _closed(laptop) == (4401, "session_revoked")


async def test_the_socket_closes_when_the_access_token_expires(make_video_env: Any) -> None:
    env = await make_video_env(access_token_ttl_seconds=2)
    ann = await user(env, "ann")
    ws = await env.client.ws_connect("/v1/ws", headers=ann.auth)
    hello = await _frame(ws)
    assert hello["expires_at"]
    assert await _closed(ws) == (4401, "token_expired")


# ---------------------------------------------------------------- slow consumers


async def test_a_slow_consumer_is_dropped_and_others_keep_up(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_video_env(LiveOptions(queue_size=8, send_buffer_bytes=8192),
                               rate_limit_multiplier=1000)
    ann, slow, fast = await user(env, "ann"), await user(env, "slow"), await user(env, "fast")
    video = await ready_video(env, ann, sample_clips["silent"])
    hub = env.client.app[HUB]
    loop = asyncio.get_running_loop()

    # The slow client: a raw socket with a tiny receive buffer that stops reading after
    # the handshake, so the server's writes back up and its queue fills.
    raw, backlog = await stalled_subscriber(env.client.host, env.client.port, slow.auth,
                                            f"video:{video}", RECEIVE)
    # From here on the slow client reads nothing.

    quick = await _connect(env, fast)
    assert (await _send(quick, op="subscribe", channel=f"video:{video}"))["type"] == "subscribed"
    heard: list[str] = []

    async def listen() -> None:
        while True:
            frame = await _frame(quick)
            if frame.get("event") == "comment.created":
                heard.append(frame["data"]["body"])
                if frame["data"]["body"] == "last":
                    return

    listener = asyncio.create_task(listen())
    posted = []
    for n in range(5000):
        body = f"{n:05d} " + "x" * 480
        r = await env.client.post(f"/v1/videos/{video}/comments", json={"body": body},
                                  headers=ann.auth)
        assert r.status == 201
        posted.append(body)
        if hub.sockets_of(slow.id) == 0:
            break
    assert hub.sockets_of(slow.id) == 0, "the slow socket was never dropped"
    await env.client.post(f"/v1/videos/{video}/comments", json={"body": "last"},
                          headers=ann.auth)
    await asyncio.wait_for(listener, RECEIVE * 3)
    assert heard == [*posted, "last"], "the other socket heard everything, in order"

    # The slow client reads its backlog at last: a part of the events, then the close.
    closing = None
    while closing is None:
        chunk = await asyncio.wait_for(loop.sock_recv(raw, 65536), RECEIVE)
        assert chunk, "the connection ended without a close frame"
        backlog += chunk
        closing = next((p for op, p in frames(backlog) if op == 0x8), None)
    events = [json.loads(p) for op, p in frames(backlog) if op == 0x1]
    comments = [e["data"]["body"] for e in events if e.get("event") == "comment.created"]
    assert comments == posted[:len(comments)] and len(comments) < len(posted)
    assert struct.unpack("!H", closing[:2])[0] == 4408 and closing[2:] == b"too_slow"
    await loop.sock_sendall(raw, masked(closing[:2], opcode=0x8))
    raw.close()
    await quick.close()


# ---------------------------------------------------------------- the legacy chat


async def test_legacy_chat_socket(env: Any, sample_clips: dict[str, Path]) -> None:
    c = env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    video = await ready_video(env, ann, sample_clips["silent"])
    other = await ready_video(env, ann, sample_clips["silent"])
    private = await ready_video(env, ann, sample_clips["silent"], "friends")

    r = await c.get(f"/ws/chat?video_id={video}", headers=HANDSHAKE)
    assert r.status == 401 and (await r.json())["code"] == "missing_token"
    r = await c.get(f"/ws/chat/?video_id={private}", headers={**HANDSHAKE, **bob.auth})
    assert r.status == 404 and (await r.json())["code"] == "video_not_found"
    r = await c.get("/ws/chat?video_id=abc", headers={**HANDSHAKE, **bob.auth})
    assert r.status == 422 and (await r.json())["code"] == "invalid_query"

    chat = await c.ws_connect(f"/ws/chat?video_id={video}", headers=bob.auth)
    await c.post(f"/videos/{video}/comments/", json={"text": "hello chat"}, headers=ann.auth)
    top = await _frame(chat)
    assert set(top) == {"id", "author", "text", "avatar_url", "created_at", "like_count",
                        "liked_by_me"}
    assert (top["author"], top["text"], top["like_count"], top["liked_by_me"]) == (
        "ann", "hello chat", 0, False)
    assert isinstance(top["id"], str)
    # A reply (the app knows none) and other videos' comments do not reach the chat.
    await c.post(f"/v1/videos/{video}/comments", json={"body": "a reply",
                                                       "parent_id": int(top["id"])},
                 headers=bob.auth)
    await c.post(f"/v1/videos/{other}/comments", json={"body": "elsewhere"}, headers=bob.auth)
    await c.post(f"/v1/videos/{video}/comments", json={"body": "second"}, headers=bob.auth)
    assert (await _frame(chat))["text"] == "second"

    await chat.send_json({"video_id": other})
    for _ in range(100):  # the move is silent: post until a message of the new video comes
        await c.post(f"/v1/videos/{other}/comments", json={"body": "moved"}, headers=ann.auth)
        msg = await _frame(chat)
        if msg["text"] == "moved":
            break
    await c.post(f"/v1/videos/{video}/comments", json={"body": "old video"}, headers=ann.auth)
    await c.post(f"/v1/videos/{other}/comments", json={"body": "new video"}, headers=ann.auth)
    while (msg := await _frame(chat))["text"] == "moved":
        pass
    assert msg["text"] == "new video"

    await chat.send_json({"video_id": private})
    assert (await _closed(chat))[0] == 4404

    bare = await c.ws_connect("/ws/chat/", headers=bob.auth)
    await bare.send_str("hello?")
    assert (await _closed(bare))[0] == 1008


async def test_shutdown_closes_every_socket(env: Any) -> None:
    ann = await user(env, "ann")
    sockets = [await _connect(env, ann),
               await env.client.ws_connect("/ws/chat", headers=ann.auth)]
    # What SIGTERM does (on_shutdown, then cleanup), while the clients read.
    stopping = asyncio.create_task(env.client.server.close())
    for ws in sockets:
        assert await _closed(ws) == (1001, "server_shutdown")
    await asyncio.wait_for(stopping, RECEIVE)
