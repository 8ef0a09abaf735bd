"""Reactions, comments, likes, notifications, bans and the legacy comment and reaction
routes over HTTP (in-memory backend)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engagement_support import befriend, moderator, ready_video, user

NO_REACTIONS = {"heart": 0, "flame": 0, "funny": 0, "angry": 0}


async def _json(response: Any, status: int) -> Any:
    assert response.status == status, (response.status, await response.text())
    return await response.json()


async def _problem(response: Any, status: int, code: str) -> None:
    body = await _json(response, status)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert body["code"] == code, body


# ---------------------------------------------------------------- reactions


async def test_reactions_set_replace_remove_and_list(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env, c = video_env, video_env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    video = await ready_video(env, ann, sample_clips["silent"])
    url = f"/v1/videos/{video}/reaction"

    body = await _json(await c.put(url, json={"kind": "heart"}, headers=bob.auth), 200)
    assert body == {"video_id": video, "reactions": dict(NO_REACTIONS, heart=1),
                    "my_reaction": "heart"}
    again = await _json(await c.put(url, json={"kind": "heart"}, headers=bob.auth), 200)
    assert again == body, "setting the same reaction again changes nothing"
    body = await _json(await c.put(url, json={"kind": "flame"}, headers=bob.auth), 200)
    assert body["reactions"] == dict(NO_REACTIONS, flame=1), "a new kind replaces the old"
    await _json(await c.put(url, json={"kind": "funny"}, headers=cat.auth), 200)

    seen = await _json(await c.get(f"/v1/videos/{video}", headers=bob.auth), 200)
    assert seen["reactions"] == dict(NO_REACTIONS, flame=1, funny=1)
    assert seen["my_reaction"] == "flame" and seen["comment_count"] == 0
    feed = await _json(await c.get("/v1/feed/global", headers=cat.auth), 200)
    assert feed["items"][0]["my_reaction"] == "funny"
    assert feed["items"][0]["video"]["my_reaction"] == "funny"
    assert feed["items"][0]["video"]["reactions"] == dict(NO_REACTIONS, flame=1, funny=1)
    mine = await _json(await c.get(f"/v1/users/{ann.id}/videos", headers=bob.auth), 200)
    assert [(v["id"], v["my_reaction"]) for v in mine["items"]] == [(video, "flame")]

    page = await _json(await c.get(f"/v1/videos/{video}/reactions?limit=1",
                                   headers=ann.auth), 200)
    assert [(i["user"]["nickname"], i["kind"]) for i in page["items"]] == [("cat", "funny")]
    assert "avatar_key" not in page["items"][0]["user"]
    rest = await _json(await c.get(
        f"/v1/videos/{video}/reactions?limit=1&cursor={page['next_cursor']}",
        headers=ann.auth), 200)
    assert [(i["user"]["nickname"], i["kind"]) for i in rest["items"]] == [("bob", "flame")]
    assert rest["next_cursor"] is None

    body = await _json(await c.delete(url, headers=bob.auth), 200)
    assert body == {"video_id": video, "reactions": dict(NO_REACTIONS, funny=1),
                    "my_reaction": None}
    assert (await _json(await c.delete(url, headers=bob.auth), 200)) == body, "idempotent"
    seen = await _json(await c.get(f"/v1/videos/{video}", headers=bob.auth), 200)
    assert seen["my_reaction"] is None and seen["reactions"] == dict(NO_REACTIONS, funny=1)


async def test_reaction_refusals(video_env: Any, sample_clips: dict[str, Path]) -> None:
    env, c = video_env, video_env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    public = await ready_video(env, ann, sample_clips["silent"])
    private = await ready_video(env, ann, sample_clips["silent"], "friends")
    await _problem(await c.put(f"/v1/videos/{public}/reaction", json={"kind": "love"},
                               headers=bob.auth), 422, "invalid_reaction")
    await _problem(await c.put(f"/v1/videos/{public}/reaction", json={"kind": 1},
                               headers=bob.auth), 422, "validation_failed")
    for method in ("put", "delete"):
        r = await c.request(method, f"/v1/videos/{private}/reaction", json={"kind": "heart"},
                            headers=bob.auth)
        await _problem(r, 404, "video_not_found")
    await _problem(await c.get(f"/v1/videos/{private}/reactions", headers=bob.auth), 404,
                   "video_not_found")
    await _problem(await c.put("/v1/videos/999/reaction", json={"kind": "heart"},
                               headers=bob.auth), 404, "video_not_found")
    await _problem(await c.get(f"/v1/videos/{public}/reactions?cursor=nope",
                               headers=bob.auth), 422, "invalid_cursor")
    await _problem(await c.put(f"/v1/videos/{public}/reaction", json={"kind": "heart"}),
                   401, "missing_token")


# ---------------------------------------------------------------- comments


async def test_comments_replies_edit_and_pages(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env, c = video_env, video_env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    video = await ready_video(env, ann, sample_clips["silent"])
    comments = f"/v1/videos/{video}/comments"

    r = await c.post(comments, json={"body": "  What a sunset!\r\nWow  "}, headers=bob.auth)
    first = await _json(r, 201)
    assert r.headers["Location"] == f"/v1/comments/{first['id']}"
    assert first["body"] == "What a sunset!\nWow", "trimmed; line breaks kept"
    assert first["author"]["nickname"] == "bob" and "avatar_key" not in first["author"]
    assert first["parent_id"] is None and first["edited_at"] is None
    assert (first["like_count"], first["reply_count"], first["liked_by_me"]) == (0, 0, False)

    reply = await _json(await c.post(comments, json={"body": "Thanks!",
                                                     "parent_id": first["id"]},
                                     headers=ann.auth), 201)
    assert reply["parent_id"] == first["id"]
    await _problem(await c.post(comments, json={"body": "Deeper", "parent_id": reply["id"]},
                                headers=cat.auth), 422, "reply_depth")
    for body, code in (("   ", "comment_empty"), ("x" * 501, "comment_too_long"),
                       ("bad\u202eone", "control_characters"), ("nul\x00", "nul_character")):
        await _problem(await c.post(comments, json={"body": body}, headers=bob.auth), 422, code)
    for n in range(3):
        await _json(await c.post(comments, json={"body": f"more {n}"}, headers=cat.auth), 201)

    video_json = await _json(await c.get(f"/v1/videos/{video}", headers=cat.auth), 200)
    assert video_json["comment_count"] == 5, "comments and replies"

    page = await _json(await c.get(f"{comments}?limit=2", headers=cat.auth), 200)
    assert [i["body"] for i in page["items"]] == ["What a sunset!\nWow", "more 0"]
    assert page["items"][0]["reply_count"] == 1
    rest = await _json(await c.get(f"{comments}?limit=2&cursor={page['next_cursor']}",
                                   headers=cat.auth), 200)
    assert [i["body"] for i in rest["items"]] == ["more 1", "more 2"]
    last = await _json(await c.get(f"{comments}?limit=2&cursor={rest['next_cursor']}",
                                   headers=cat.auth), 200) if rest["next_cursor"] else None
    assert last is None or last["items"] == []
    replies = await _json(await c.get(f"/v1/comments/{first['id']}/replies",
                                      headers=cat.auth), 200)
    assert [i["body"] for i in replies["items"]] == ["Thanks!"]
    assert replies["next_cursor"] is None
    one = await _json(await c.get(f"/v1/comments/{reply['id']}", headers=cat.auth), 200)
    assert one["body"] == "Thanks!"

    edited = await _json(await c.patch(f"/v1/comments/{first['id']}",
                                       json={"body": "What a sunset, edited"},
                                       headers=bob.auth), 200)
    assert edited["body"] == "What a sunset, edited" and edited["edited_at"] is not None
    assert edited["created_at"] == first["created_at"]
    for who in (ann, cat):  # not even the video's author edits someone's comment
        await _problem(await c.patch(f"/v1/comments/{first['id']}", json={"body": "mine now"},
                                     headers=who.auth), 403, "not_author")
    await _problem(await c.get("/v1/comments/99999", headers=cat.auth), 404,
                   "comment_not_found")


async def test_who_deletes_a_comment(video_env: Any, sample_clips: dict[str, Path]) -> None:
    env, c = video_env, video_env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    eve, mod = await user(env, "eve"), await moderator(env)
    await befriend(env, ann, bob)
    await befriend(env, ann, cat)
    # A friends-only video: bob and cat see it, eve does not. No BeReal lock on it for
    # the author's friends once they posted today.
    video = await ready_video(env, ann, sample_clips["silent"], "friends")
    for who in (bob, cat):
        await ready_video(env, who, sample_clips["silent"])
    comments = f"/v1/videos/{video}/comments"

    async def comment(who: Any, body: str) -> int:
        return int((await _json(await c.post(comments, json={"body": body},
                                             headers=who.auth), 201))["id"])

    by_bob = await comment(bob, "bob's")
    await _problem(await c.delete(f"/v1/comments/{by_bob}", headers=cat.auth), 403,
                   "not_author")
    await _problem(await c.delete(f"/v1/comments/{by_bob}", headers=eve.auth), 404,
                   "comment_not_found")
    await _problem(await c.post(comments, json={"body": "let me in"}, headers=eve.auth), 404,
                   "video_not_found")
    await _problem(await c.get(comments, headers=eve.auth), 404, "video_not_found")
    assert (await c.delete(f"/v1/comments/{by_bob}", headers=bob.auth)).status == 204

    by_cat = await comment(cat, "cat's")
    reply = int((await _json(await c.post(comments, json={"body": "re", "parent_id": by_cat},
                                          headers=bob.auth), 201))["id"])
    assert (await c.delete(f"/v1/comments/{by_cat}", headers=ann.auth)).status == 204, \
        "the video's author deletes any comment on it"
    await _problem(await c.get(f"/v1/comments/{reply}", headers=bob.auth), 404,
                   "comment_not_found")
    by_cat = await comment(cat, "cat again")
    # Staff remove someone else's comment through a case (audited, notified, appealable).
    await _problem(await c.delete(f"/v1/comments/{by_cat}", headers=mod.auth), 403,
                   "moderation_required")
    assert (await c.delete(f"/v1/comments/{by_cat}", headers=cat.auth)).status == 204
    await _problem(await c.delete(f"/v1/comments/{by_cat}", headers=mod.auth), 404,
                   "comment_not_found")
    video_json = await _json(await c.get(f"/v1/videos/{video}", headers=ann.auth), 200)
    assert video_json["comment_count"] == 0


async def test_comment_likes(video_env: Any, sample_clips: dict[str, Path]) -> None:
    env, c = video_env, video_env.client
    ann, bob, eve = await user(env, "ann"), await user(env, "bob"), await user(env, "eve")
    video = await ready_video(env, ann, sample_clips["silent"])
    comment = await _json(await c.post(f"/v1/videos/{video}/comments", json={"body": "hi"},
                                       headers=bob.auth), 201)
    like = f"/v1/comments/{comment['id']}/like"
    assert await _json(await c.put(like, headers=ann.auth), 200) == {
        "comment_id": comment["id"], "like_count": 1, "liked_by_me": True}
    assert (await _json(await c.put(like, headers=ann.auth), 200))["like_count"] == 1
    assert (await _json(await c.put(like, headers=eve.auth), 200))["like_count"] == 2
    mine = await _json(await c.get(f"/v1/comments/{comment['id']}", headers=ann.auth), 200)
    theirs = await _json(await c.get(f"/v1/comments/{comment['id']}", headers=bob.auth), 200)
    assert (mine["like_count"], mine["liked_by_me"]) == (2, True)
    assert (theirs["like_count"], theirs["liked_by_me"]) == (2, False)
    assert await _json(await c.delete(like, headers=ann.auth), 200) == {
        "comment_id": comment["id"], "like_count": 1, "liked_by_me": False}
    assert (await _json(await c.delete(like, headers=ann.auth), 200))["like_count"] == 1
    await _problem(await c.put("/v1/comments/99999/like", headers=ann.auth), 404,
                   "comment_not_found")


# ---------------------------------------------------------------- notifications


async def test_notifications(video_env: Any, sample_clips: dict[str, Path]) -> None:
    env, c = video_env, video_env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    await befriend(env, ann, bob)  # a request to bob, then an acceptance to ann
    video = await ready_video(env, ann, sample_clips["silent"])  # video_ready to ann
    await c.put(f"/v1/videos/{video}/reaction", json={"kind": "heart"}, headers=bob.auth)
    await c.delete(f"/v1/videos/{video}/reaction", headers=bob.auth)
    await c.put(f"/v1/videos/{video}/reaction", json={"kind": "flame"}, headers=bob.auth)
    await c.put(f"/v1/videos/{video}/reaction", json={"kind": "heart"}, headers=ann.auth)
    top = await _json(await c.post(f"/v1/videos/{video}/comments", json={"body": "Nice one"},
                                   headers=bob.auth), 201)
    await c.post(f"/v1/videos/{video}/comments", json={"body": "my own"}, headers=ann.auth)
    await c.post(f"/v1/videos/{video}/comments", json={"body": "Thank you",
                                                       "parent_id": top["id"]},
                 headers=ann.auth)

    mine = await _json(await c.get("/v1/notifications", headers=ann.auth), 200)
    kinds = [n["kind"] for n in mine["items"]]
    assert kinds == ["comment", "reaction", "video_ready", "friend_accepted"], \
        "newest first; one reaction per user and video; nothing about myself"
    assert mine["unread_count"] == 4
    comment, reaction = mine["items"][0], mine["items"][1]
    assert comment["actor"]["nickname"] == "bob" and "avatar_key" not in comment["actor"]
    assert (comment["video_id"], comment["comment_id"], comment["text"]) == (
        video, top["id"], "Nice one")
    assert reaction["text"] == "heart" and reaction["read_at"] is None
    assert mine["items"][2]["actor"] is None and mine["items"][2]["video_id"] == video
    theirs = await _json(await c.get("/v1/notifications", headers=bob.auth), 200)
    assert [n["kind"] for n in theirs["items"]] == ["reply", "friend_request"]
    assert theirs["items"][0]["text"] == "Thank you"

    page = await _json(await c.get("/v1/notifications?limit=3", headers=ann.auth), 200)
    assert [n["kind"] for n in page["items"]] == kinds[:3]
    rest = await _json(await c.get(f"/v1/notifications?limit=3&cursor={page['next_cursor']}",
                                   headers=ann.auth), 200)
    assert [n["kind"] for n in rest["items"]] == kinds[3:] and rest["next_cursor"] is None

    assert (await c.post(f"/v1/notifications/{comment['id']}/read",
                         headers=ann.auth)).status == 204
    assert (await c.post(f"/v1/notifications/{comment['id']}/read",
                         headers=ann.auth)).status == 204, "idempotent"
    await _problem(await c.post(f"/v1/notifications/{comment['id']}/read", headers=bob.auth),
                   404, "notification_not_found")
    mine = await _json(await c.get("/v1/notifications", headers=ann.auth), 200)
    assert mine["unread_count"] == 3 and mine["items"][0]["read_at"] is not None
    assert await _json(await c.post("/v1/notifications/read-all", headers=ann.auth), 200) == {
        "marked_read": 3}
    mine = await _json(await c.get("/v1/notifications", headers=ann.auth), 200)
    assert mine["unread_count"] == 0


# ---------------------------------------------------------------- moderation


async def test_ban_suspend_unban(video_env: Any) -> None:
    env, c = video_env, video_env.client
    ann, bob, mod = await user(env, "ann"), await user(env, "bob"), await moderator(env)
    await _problem(await c.post(f"/v1/mod/users/{bob.id}/ban", json={"reason": "spam"},
                                headers=ann.auth), 403, "insufficient_role")
    await _problem(await c.post(f"/v1/mod/users/{bob.id}/ban", json={"reason": "  "},
                                headers=mod.auth), 422, "reason_required")
    await _problem(await c.post(f"/v1/mod/users/{mod.id}/ban", json={"reason": "me"},
                                headers=mod.auth), 422, "cannot_target_self")
    await _problem(await c.post("/v1/mod/users/99999/ban", json={"reason": "who"},
                                headers=mod.auth), 404, "user_not_found")

    banned = await _json(await c.post(f"/v1/mod/users/{bob.id}/ban", json={"reason": "spam"},
                                      headers=mod.auth), 200)
    assert banned == {"user_id": bob.id, "status": "banned", "suspended_until": None}
    await _problem(await c.get("/v1/me", headers=bob.auth), 401, "token_revoked")
    r = await c.post("/v1/auth/token", json={"grant_type": "password",
                                             "email": "bob@bsu.by",
                                             "password": "correct horse battery"})
    assert r.status == 403 and (await r.json())["code"] == "account_banned"

    restored = await _json(await c.post(f"/v1/mod/users/{bob.id}/unban", headers=mod.auth), 200)
    assert restored["status"] == "active"
    await _problem(await c.post(f"/v1/mod/users/{bob.id}/unban", headers=mod.auth), 409,
                   "not_banned")

    for seconds in (59, 366 * 86400, 10**30):
        await _problem(await c.post(f"/v1/mod/users/{ann.id}/suspend",
                                    json={"reason": "cool off", "duration_seconds": seconds},
                                    headers=mod.auth), 422, "invalid_duration")
    suspended = await _json(await c.post(f"/v1/mod/users/{ann.id}/suspend",
                                         json={"reason": "cool off",
                                               "duration_seconds": 3600},
                                         headers=mod.auth), 200)
    assert suspended["status"] == "suspended" and suspended["suspended_until"] is not None


# ---------------------------------------------------------------- legacy routes


async def test_legacy_comments_and_reactions(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env, c = video_env, video_env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    video = await ready_video(env, ann, sample_clips["silent"])
    private = await ready_video(env, ann, sample_clips["silent"], "friends")

    r = await c.post(f"/videos/{video}/comments/", headers=bob.auth, json={
        "author": "someone else", "text": " Hello from iOS ", "avatarURL": None,
        "createdAt": "2025-12-24T02:56:54.432+03:00"})
    message = await _json(r, 201)
    assert set(message) == {"id", "author", "text", "avatar_url", "created_at", "like_count",
                            "liked_by_me"}
    assert isinstance(message["id"], str) and message["author"] == "bob", \
        "identity comes from the token, never from the body"
    assert message["text"] == "Hello from iOS" and message["liked_by_me"] is False
    await c.post(f"/videos/{video}/comments", headers=ann.auth, json={"text": "no slash"})

    rows = await _json(await c.get(f"/videos/{video}/comments/", headers=ann.auth), 200)
    assert [(r["nickname"], r["content"]) for r in rows] == [
        ("bob", "Hello from iOS"), ("ann", "no slash")]
    assert set(rows[0]) == {"comment_id", "video_id", "user_id", "nickname", "avatarURL",
                            "content", "created_at"}
    assert rows[0]["comment_id"] == int(message["id"]) and rows[0]["user_id"] == bob.id
    assert rows == await _json(await c.get(f"/videos/{video}/comments", headers=ann.auth), 200)

    r = await c.post(f"/videos/{video}/comments/", json={"text": "anonymous"})
    assert r.status == 401 and (await r.json())["code"] == "missing_token"
    r = await c.get(f"/videos/{video}/comments/")
    assert r.status == 401
    await _problem(await c.post(f"/videos/{private}/comments/", headers=bob.auth,
                                json={"text": "hi"}), 404, "video_not_found")
    await _problem(await c.post(f"/videos/{video}/comments/", headers=bob.auth,
                                json={"text": ""}), 422, "comment_empty")

    reacted = await _json(await c.post(f"/videos/{video}/reactions", headers=bob.auth,
                                       json={"reaction_kind": "heart"}), 200)
    assert reacted["reactions"] == dict(NO_REACTIONS, heart=1)
    reacted = await _json(await c.post(f"/videos/{video}/reactions/", headers=bob.auth,
                                       json={"reaction_kind": "angry"}), 200)
    assert reacted["reactions"] == dict(NO_REACTIONS, angry=1), "a new one replaces the old"
    await c.post(f"/videos/{video}/reactions", headers=ann.auth, json={"reaction_kind": "funny"})
    listed = await _json(await c.get(f"/videos/{video}/reactions", headers=bob.auth), 200)
    assert sorted(listed, key=lambda r: r["user_id"]) == [
        {"user_id": ann.id, "nickname": "ann", "reaction_kind": "funny"},
        {"user_id": bob.id, "nickname": "bob", "reaction_kind": "angry"}]
    await _problem(await c.post(f"/videos/{video}/reactions", headers=bob.auth,
                                json={"reaction_kind": "love"}), 422, "invalid_reaction")
    assert (await c.delete(f"/videos/{video}/reactions", headers=bob.auth)).status == 204
    assert (await c.delete(f"/videos/{video}/reactions/", headers=bob.auth)).status == 204
    listed = await _json(await c.get(f"/videos/{video}/reactions/", headers=bob.auth), 200)
    assert [r["nickname"] for r in listed] == ["ann"]
    r = await c.post(f"/videos/{video}/reactions", json={"reaction_kind": "heart"})
    assert r.status == 401
