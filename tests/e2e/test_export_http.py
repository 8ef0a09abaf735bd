"""GET /v1/me/export over real HTTP (in-memory backend): a user who did one of everything
finds each item exactly once with its fields, and nothing of other people's private data;
a large account streams across pages; the export is rate limited; a failure mid-stream
cuts the download instead of ending a short document."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest
from clip_support import unique
from engagement_support import PASSWORD, User, befriend, moderator, ready_video, user
from yarl import URL

from adapters.http import keys
from adapters.http.openapi import document
from adapters.http.profile.views import EXPORT_HEAD
from adapters.memory.moderation import InMemoryAuditRepository
from momentic_core.errors import Unavailable
from momentic_core.services.profiles import EXPORT_SECTIONS


@pytest.fixture
async def env(make_video_env: Any) -> Any:
    return await make_video_env(rate_limit_multiplier=1000)


async def ok(response: Any, status: int = 200) -> Any:
    assert response.status == status, (response.status, await response.text())
    return await response.json() if response.status != 204 else None


async def export(env: Any, who: User) -> tuple[dict[str, Any], str]:
    """The parsed export (valid against the document's Export schema) and its raw text."""
    r = await env.client.get("/v1/me/export", headers=who.auth)
    assert r.status == 200, await r.text()
    assert r.headers["Content-Type"] == "application/json"
    assert r.headers["Content-Disposition"] == 'attachment; filename="momentic-export.json"'
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["Transfer-Encoding"] == "chunked"  # streamed: no length up front
    assert r.headers["X-Request-Id"] and r.headers["X-RateLimit-Limit"]
    text = await r.text()
    body = json.loads(text)
    jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/Export", "components": document()["components"]},
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
    ).validate(body)
    assert list(body) == [*EXPORT_HEAD, *EXPORT_SECTIONS], "in the written order"
    return body, text


def ids(items: list[dict[str, Any]], key: str = "id") -> list[Any]:
    found = [item[key] for item in items]
    assert len(found) == len(set(found)), f"an item twice: {found}"
    return found


async def test_one_of_everything_each_exactly_once_and_nothing_of_others(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob, cat, dan, eve, zed = [
        await user(env, name) for name in ("ann", "bob", "cat", "dan", "eve", "zed")
    ]
    mod = await moderator(env, "mod")
    await befriend(env, ann, bob)
    await ok(await c.post("/v1/friend-requests", json={"user_id": cat.id}, headers=ann.auth),
             201)
    await ok(await c.post("/v1/friend-requests", json={"user_id": ann.id}, headers=dan.auth),
             201)

    video = await ready_video(env, ann, sample_clips["silent"])
    warned = await ready_video(env, ann, sample_clips["silent"], visibility="friends")
    theirs = await ready_video(env, zed, sample_clips["silent"])
    eves = await ready_video(env, eve, sample_clips["silent"])

    mine = await ok(await c.post(f"/v1/videos/{theirs}/comments", json={"body": "hi zed"},
                                 headers=ann.auth), 201)
    bobs = await ok(await c.post(f"/v1/videos/{video}/comments", json={"body": "bob here"},
                                 headers=bob.auth), 201)
    reply = await ok(await c.post(f"/v1/videos/{video}/comments",
                                  json={"body": "thanks bob", "parent_id": bobs["id"]},
                                  headers=ann.auth), 201)
    await ok(await c.put(f"/v1/comments/{bobs['id']}/like", headers=ann.auth))
    await ok(await c.put(f"/v1/comments/{mine['id']}/like", headers=ann.auth))
    await ok(await c.put(f"/v1/videos/{theirs}/reaction", json={"kind": "heart"},
                         headers=ann.auth))
    await ok(await c.put(f"/v1/videos/{video}/reaction", json={"kind": "flame"},
                         headers=ann.auth))
    await ok(await c.put(f"/v1/videos/{video}/reaction", json={"kind": "funny"},
                         headers=bob.auth))
    # eve speaks on ann's video, then ann blocks her: eve's words are eve's, not ann's.
    await ok(await c.post(f"/v1/videos/{video}/comments", json={"body": "eve's secret"},
                          headers=eve.auth), 201)
    await ok(await c.put(f"/v1/blocks/{eve.id}", headers=ann.auth), 204)

    filed = await ok(await c.post("/v1/reports", json={
        "target_type": "video", "target_id": theirs, "reason": "spam", "note": "again"},
        headers=ann.auth), 201)
    # ann is moderated twice: her video warned (then appealed), her comment removed.
    on_video = await ok(await c.post("/v1/reports", json={
        "target_type": "video", "target_id": warned, "reason": "nudity"},
        headers=bob.auth), 201)
    on_comment = await ok(await c.post("/v1/reports", json={
        "target_type": "comment", "target_id": mine["id"], "reason": "harassment",
        "note": "zed's private note"}, headers=zed.auth), 201)
    await ok(await c.post(f"/v1/mod/cases/{on_video['case_id']}/resolve",
                          json={"action": "warn", "reason": "Cover up."}, headers=mod.auth))
    await ok(await c.post(f"/v1/mod/cases/{on_comment['case_id']}/resolve",
                          json={"action": "remove", "reason": "Rude."}, headers=mod.auth))
    appeal = await ok(await c.post("/v1/appeals", json={
        "case_id": on_video["case_id"], "body": "It was art."}, headers=ann.auth), 201)

    body, text = await export(env, ann)

    account = body["account"]
    assert (account["id"], account["email"], account["nickname"]) == (ann.id, "ann@bsu.by", "ann")

    videos = body["videos"]
    assert ids(videos) == [warned, video], "newest first"
    by_id = {v["id"]: v for v in videos}
    assert {v["author"]["id"] for v in videos} == {ann.id}
    assert by_id[video]["my_reaction"] == "flame" and by_id[warned]["my_reaction"] is None
    assert by_id[video]["reactions"] == {"heart": 0, "flame": 1, "funny": 1, "angry": 0}
    assert by_id[video]["comment_count"] == 3 and by_id[warned]["visibility"] == "friends"
    for v in videos:  # the media, at the app's own URLs
        assert v["status"] == "ready"
        for url in (v["playback_url"], v["thumbnail_url"]):
            assert (await c.get(URL(url).path_qs)).status == 200, url

    comments = body["comments"]
    assert ids(comments) == [mine["id"], reply["id"]]
    assert [(x["video_id"], x["parent_id"], x["body"], x["hidden"], x["liked_by_me"])
            for x in comments] == [
        (theirs, None, "hi zed", True, True), (video, bobs["id"], "thanks bob", False, False)
    ]
    assert {x["author"]["id"] for x in comments} == {ann.id}

    assert body["reactions"] == [
        {"video_id": v, "kind": k, "created_at": body["reactions"][n]["created_at"]}
        for n, (v, k) in enumerate(sorted([(video, "flame"), (theirs, "heart")]))
    ]
    assert sorted(ids(body["comment_likes"], "comment_id")) == sorted([bobs["id"], mine["id"]])
    assert {x["comment_id"]: x["video_id"] for x in body["comment_likes"]} == {
        bobs["id"]: video, mine["id"]: theirs}

    def people(section: str) -> list[int]:
        return ids([x["user"] for x in body[section]])

    assert people("friends") == [bob.id]
    assert people("friend_requests_sent") == [cat.id]
    assert people("friend_requests_received") == [dan.id]
    assert people("blocks") == [eve.id]

    assert [(r["id"], r["case_id"], r["reporter_id"], r["target_type"], r["target_id"],
             r["reason"], r["note"]) for r in body["reports"]] == [
        (filed["id"], filed["case_id"], ann.id, "video", theirs, "spam", "again")
    ]
    assert [(a["id"], a["case_id"], a["body"], a["status"]) for a in body["appeals"]] == [
        (appeal["id"], on_video["case_id"], "It was art.", "pending")
    ]

    notifications = body["notifications"]
    api = await ok(await c.get("/v1/notifications?limit=50", headers=ann.auth))
    assert ids(notifications) == [n["id"] for n in api["items"]], "as the app lists them"
    kinds = [n["kind"] for n in notifications]
    for kind in ("friend_accepted", "friend_request", "reaction", "comment", "video_ready",
                 "moderation"):
        assert kind in kinds, kind
    assert "report reviewed: action taken" not in text  # zed's outcome note, not ann's
    theirs_notes = await ok(await c.get("/v1/notifications?limit=50", headers=bob.auth))
    assert not set(ids(notifications)) & {n["id"] for n in theirs_notes["items"]}

    sessions = body["sessions"]
    assert [(s["id"], s["current"], s["revoked_at"]) for s in sessions] == [
        (ann.tokens["session_id"], True, None)
    ]
    assert body["linked_identities"] == []

    audit = body["audit"]
    assert [(e["action"], e["target_type"], e["target_id"]) for e in audit] == [
        ("case.resolve", "video", warned), ("case.resolve", "comment", mine["id"])
    ]
    assert {e["actor_id"] for e in audit} == {mod.id}

    # Nothing of anyone else's private data: no other email, no words of the user ann
    # blocked, nothing of her video, no one's private note on ann's content.
    for other in ("bob", "cat", "dan", "eve", "zed", "mod"):
        assert f"{other}@bsu.by" not in text
    assert "eve's secret" not in text
    assert f'"video_id":{eves}' not in text and f'"id":{eves},' not in text
    assert "zed's private note" not in text and "password" not in text

    # A moderator's export holds the staff actions they took.
    staff, _ = await export(env, mod)
    assert [(e["action"], e["actor_id"]) for e in staff["audit"]] == [
        ("case.resolve", mod.id), ("case.resolve", mod.id)
    ]
    assert staff["account"]["role"] == "moderator" and staff["videos"] == []


async def test_mutes_devices_views_and_account_settings_are_in_it(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    fresh, _ = await export(env, ann)
    assert fresh["two_factor"] == {"enabled": False, "pending": False,
                                   "recovery_codes_left": 0}
    assert fresh["email_change"] is None
    assert fresh["notification_settings"] == await ok(
        await c.get("/v1/me/notification-settings", headers=ann.auth))
    assert fresh["mutes"] == fresh["devices"] == fresh["views"] == []

    await ok(await c.post(f"/v1/users/{bob.id}/mute", headers=ann.auth), 204)
    await ok(await c.post(f"/v1/users/{cat.id}/mute", headers=ann.auth), 204)
    await ok(await c.post(f"/v1/users/{ann.id}/mute", headers=bob.auth), 204)  # not ann's
    await ok(await c.post("/v1/me/devices", headers=ann.auth, json={
        "platform": "ios", "token": "0f" * 32, "app_version": "1.4.0",
        "apns_environment": "production"}), 201)
    await ok(await c.post("/v1/me/devices", headers=bob.auth, json={
        "platform": "ios", "token": "1e" * 32,
        "apns_environment": "sandbox"}), 201)
    video = await ready_video(env, cat, sample_clips["silent"])
    await ok(await c.post(f"/v1/videos/{video}/view", json={"watched_seconds": 0.5},
                          headers=ann.auth))
    await ok(await c.post(f"/v1/videos/{video}/view", json={"watched_seconds": 0.2},
                          headers=bob.auth))
    enrolment = await ok(await c.post("/v1/me/2fa", headers=ann.auth), 201)
    await ok(await c.post("/v1/me/email", headers=ann.auth,
                          json={"email": "ann.new@bsu.by", "password": PASSWORD}), 202)
    settings = await ok(await c.patch("/v1/me/notification-settings", headers=ann.auth,
                                      json={"reactions": False}))

    body, text = await export(env, ann)

    assert [m["user"]["id"] for m in body["mutes"]] == [cat.id, bob.id]  # newest first
    assert body["devices"] == (await ok(await c.get("/v1/me/devices", headers=ann.auth)))[
        "items"]
    assert [(v["video_id"], v["watched_ms"]) for v in body["views"]] == [(video, 500)]
    assert body["two_factor"] == {"enabled": False, "pending": True,
                                  "recovery_codes_left": 0}
    assert enrolment["secret"] not in text  # the secret never leaves again
    pending = body["email_change"]
    assert pending is not None and pending["requested_at"] < pending["expires_at"]
    assert "ann.new" not in text  # not kept, so not exported
    assert body["notification_settings"] == settings and settings["reactions"] is False
    others, _ = await export(env, bob)
    assert [m["user"]["id"] for m in others["mutes"]] == [ann.id]
    assert others["email_change"] is None and len(others["devices"]) == 1


async def test_a_large_account_streams_every_item_across_pages(
    env: Any, sample_clips: dict[str, Path]
) -> None:
    c = env.client
    ann, bob = await user(env, "ann"), await user(env, "bob")
    env.client.app[keys.SERVICES].profiles.export_page = 2  # more items than a page, each
    made_videos = []
    for n in range(5):
        form = aiohttp.FormData()
        form.add_field("video_file", unique(sample_clips["silent"]), filename="c.mp4",
                       content_type="video/mp4")
        form.add_field("description", f"clip {n}")
        form.add_field("visibility", "public")
        r = await c.post("/v1/videos", data=form, headers=ann.auth)
        made_videos.append((await ok(r, 201))["id"])
    await env.run_jobs()
    made_comments = []
    for n in range(7):
        made = await ok(await c.post(f"/v1/videos/{made_videos[n % 5]}/comments",
                                     json={"body": f"note {n}"}, headers=ann.auth), 201)
        made_comments.append(made["id"])
        await ok(await c.post(f"/v1/videos/{made_videos[n % 5]}/comments",
                              json={"body": f"reply {n}", "parent_id": made["id"]},
                              headers=bob.auth), 201)  # a reply notification to ann
    for video in made_videos:
        await ok(await c.put(f"/v1/videos/{video}/reaction", json={"kind": "heart"},
                             headers=ann.auth))

    body, _ = await export(env, ann)

    assert ids(body["videos"]) == made_videos[::-1]
    assert [v["description"] for v in body["videos"]] == [f"clip {n}" for n in range(5)][::-1]
    assert ids(body["comments"]) == made_comments
    assert ids(body["reactions"], "video_id") == made_videos
    notes = await ok(await c.get("/v1/notifications?limit=50", headers=ann.auth))
    assert len(notes["items"]) >= 7
    assert ids(body["notifications"]) == [n["id"] for n in notes["items"]]


async def test_exports_are_rate_limited_as_problem_json(make_video_env: Any) -> None:
    env = await make_video_env()  # the limits as deployed: 3 an hour
    ann = await user(env, "ann")
    for _ in range(3):
        await export(env, ann)
    r = await env.client.get("/v1/me/export", headers=ann.auth)
    assert r.status == 429
    assert r.headers["Content-Type"].startswith("application/problem+json")
    assert (await r.json())["code"] == "rate_limited" and int(r.headers["Retry-After"]) > 0


async def test_a_failure_mid_stream_cuts_the_download(
    env: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    ann = await user(env, "ann")

    async def down(*args: object) -> None:
        raise Unavailable("The database does not answer.")

    monkeypatch.setattr(InMemoryAuditRepository, "about_user", down)  # the last section
    r = await env.client.get("/v1/me/export", headers=ann.auth)
    assert r.status == 200  # already sent when the failure came
    with pytest.raises(aiohttp.ClientPayloadError):
        await r.read()
