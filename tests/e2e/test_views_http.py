"""Views over HTTP (issue 20 item 4): POST /v1/videos/{id}/view with the seconds watched
counts once per viewer and UTC day, never the author's; every video payload shows
view_count (the video, the feeds, the user's list); the author's stats show the watch
time and completion rate, and nobody else's; refusals are problem+json."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engagement_support import befriend, ready_video, user


async def _view(env: Any, who: Any, video: int, seconds: Any) -> Any:
    return await env.client.post(f"/v1/videos/{video}/view", headers=who.auth,
                                 json={"watched_seconds": seconds})


async def test_views_count_once_a_day_and_show_everywhere(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    await befriend(env, ann, bob)
    video = await ready_video(env, ann, sample_clips["playable"])  # 1 s, public
    duration = (await (await env.client.get(f"/v1/videos/{video}",
                                            headers=ann.auth)).json())["duration_seconds"]

    r = await _view(env, ann, video, duration)  # the author's own: never counted
    assert r.status == 200
    assert await r.json() == {"video_id": video, "counted": False, "watched_seconds": None,
                              "completed": False, "view_count": 0}
    first = await (await _view(env, bob, video, 0.3)).json()
    assert (first["counted"], first["watched_seconds"], first["completed"],
            first["view_count"]) == (True, 0.3, False, 1)
    again = await (await _view(env, bob, video, duration)).json()  # the most, completed
    assert (again["counted"], again["completed"], again["view_count"]) == (False, True, 1)
    lower = await (await _view(env, bob, video, 0)).json()
    assert (lower["watched_seconds"], lower["completed"]) == (again["watched_seconds"], True)
    assert (await (await _view(env, cat, video, 0.5)).json())["view_count"] == 2

    shown = await (await env.client.get(f"/v1/videos/{video}", headers=cat.auth)).json()
    assert shown["view_count"] == 2
    feed = await (await env.client.get("/v1/feed/global", headers=cat.auth)).json()
    assert [(i["video"]["id"], i["video"]["view_count"]) for i in feed["items"]] == [(video, 2)]
    friends = await (await env.client.get("/v1/feed/friends", headers=bob.auth)).json()
    assert [i["video"]["view_count"] for i in friends["items"]] == [2]
    mine = await (await env.client.get(f"/v1/users/{ann.id}/videos", headers=ann.auth)).json()
    assert [v["view_count"] for v in mine["items"]] == [2]

    # The author's stats: watch time and completion rate (bob's view completed, cat's not).
    stats = await (await env.client.get(f"/v1/users/{ann.id}/stats", headers=ann.auth)).json()
    assert (stats["views"], stats["completion_rate"]) == (2, 0.5)
    assert stats["watched_seconds"] == again["watched_seconds"] + 0.5
    theirs = await (await env.client.get(f"/v1/users/{ann.id}/stats",
                                         headers=bob.auth)).json()
    assert (theirs["views"], theirs["watched_seconds"], theirs["completion_rate"]) == (
        None, None, None)
    none = await (await env.client.get(f"/v1/users/{cat.id}/stats", headers=cat.auth)).json()
    assert (none["views"], none["watched_seconds"], none["completion_rate"]) == (0, 0, None)


async def test_refusals(video_env: Any, sample_clips: dict[str, Path]) -> None:
    env = video_env
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    await befriend(env, ann, bob)
    private = await ready_video(env, ann, sample_clips["playable"], visibility="friends")
    r = await _view(env, bob, private, 0.5)  # ann's moment of today, before bob posts his
    assert r.status == 403 and (await r.json())["code"] == "moment_locked"
    await ready_video(env, bob, sample_clips["silent"])
    for bad in (-1, 5.0, "1", None, True):
        r = await _view(env, bob, private, bad)
        assert r.status == 422, (bad, await r.text())
        assert r.content_type == "application/problem+json"
    r = await _view(env, bob, private, 5.0)
    assert (await r.json())["code"] == "invalid_watched_seconds"
    r = await env.client.post(f"/v1/videos/{private}/view", headers=bob.auth)
    assert r.status in (400, 422)  # no body
    r = await _view(env, cat, private, 0.5)  # friends-only, not a friend: no such video
    assert r.status == 404 and (await r.json())["code"] == "video_not_found"
    r = await _view(env, cat, 999_999, 0.5)
    assert r.status == 404
    r = await env.client.post(f"/v1/videos/{private}/view", json={"watched_seconds": 0.5})
    assert r.status == 401
    shown = await (await env.client.get(f"/v1/videos/{private}", headers=ann.auth)).json()
    assert shown["view_count"] == 0
