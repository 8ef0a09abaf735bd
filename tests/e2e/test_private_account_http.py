"""A private account over HTTP (issue 21 item 2): PATCH /v1/me {"private": true} makes
every video of mine friends-only, whatever each upload said, on every reader (the video,
the global feed, my profile's videos); false restores each upload's choice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from engagement_support import befriend, ready_video, user


async def _ids(r: Any) -> list[int]:
    assert r.status == 200, await r.text()
    return [item["video"]["id"] if "video" in item else item["id"]
            for item in (await r.json())["items"]]


async def test_private_account_shows_my_videos_to_friends_only(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    alex, friend, stranger = [await user(env, n) for n in ("alex", "sam", "kim")]
    await befriend(env, alex, friend)
    video = await ready_video(env, alex, sample_clips["silent"], "public")
    assert (await env.client.get(f"/v1/videos/{video}", headers=stranger.auth)).status == 200

    r = await env.client.patch("/v1/me", json={"private": True}, headers=alex.auth)
    assert r.status == 200 and (await r.json())["private"] is True
    r = await env.client.get(f"/v1/videos/{video}", headers=stranger.auth)
    assert r.status == 404, "a stranger no longer sees it"
    assert video not in await _ids(await env.client.get("/v1/feed/global",
                                                        headers=stranger.auth))
    r = await env.client.get(f"/v1/users/{alex.id}/videos", headers=stranger.auth)
    assert video not in await _ids(r)
    r = await env.client.get(f"/v1/videos/{video}", headers=friend.auth)
    assert r.status == 200 and (await r.json())["visibility"] == "friends"
    later = await ready_video(env, alex, sample_clips["silent"], "public")
    assert (await env.client.get(f"/v1/videos/{later}", headers=stranger.auth)).status == 404

    r = await env.client.patch("/v1/me", json={"private": False}, headers=alex.auth)
    assert (await r.json())["private"] is False
    for v in (video, later):
        r = await env.client.get(f"/v1/videos/{v}", headers=stranger.auth)
        assert r.status == 200 and (await r.json())["visibility"] == "public", v
    r = await env.client.patch("/v1/me", json={"private": "yes"}, headers=alex.auth)
    assert r.status == 422
