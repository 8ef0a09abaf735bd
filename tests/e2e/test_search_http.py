"""Hashtags and search over HTTP (issue 20 item 5): GET /v1/hashtags/{tag}/videos,
GET /v1/hashtags/trending and GET /v1/search?q=&type=videos|users, on the whole app.

A tag is found in any case and with its #, follows edits of the description and the
video's deletion; pages are keyset-paged with the feeds' cursors; a friend's moment
behind the BeReal lock is found neither by its tags nor by its words until I post mine;
a block hides both ways, a stranger never finds a friends-only video; search is
rate-limited per user."""

from __future__ import annotations

import io
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from clip_support import unique
from engagement_support import User, befriend, user

from adapters.http import keys, paging


async def _video(env: Any, who: User, clip: Path, description: str,
                 visibility: str = "public") -> int:
    form = aiohttp.FormData()
    form.add_field("video_file", io.BytesIO(unique(clip)), filename="c.mp4",
                   content_type="video/mp4")
    form.add_field("visibility", visibility)
    form.add_field("description", description)
    r = await env.client.post("/v1/videos", data=form, headers=who.auth)
    assert r.status == 201, await r.text()
    video_id = int((await r.json())["id"])
    await env.run_jobs()
    return video_id


async def _get(env: Any, who: User, path: str, status: int = 200) -> Any:
    r = await env.client.get(path, headers=who.auth)
    assert r.status == status, await r.text()
    return await r.json()


async def _tag_ids(env: Any, who: User, tag: str) -> list[int]:
    body = await _get(env, who, f"/v1/hashtags/{urllib.parse.quote(tag)}/videos")
    return [item["video"]["id"] for item in body["items"]]


async def _search_ids(env: Any, who: User, q: str) -> list[int]:
    body = await _get(env, who, "/v1/search?" + urllib.parse.urlencode({"q": q}))
    assert body["type"] == "videos" and body["users"] == []
    return [item["video"]["id"] for item in body["videos"]]


async def test_a_hashtag_is_found_in_any_case_and_follows_edits(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    alex, kim = await user(env, "alex"), await user(env, "kim")
    clip = sample_clips["silent"]
    first = await _video(env, alex, clip, "Sunset in #Минск")
    second = await _video(env, alex, clip, "#минск again, #travel")

    body = await _get(env, kim, "/v1/hashtags/%23%D0%9C%D0%98%D0%9D%D0%A1%D0%9A/videos")
    assert body["tag"] == "минск"
    assert [i["video"]["id"] for i in body["items"]] == [second, first], "newest first"
    assert body["items"][0]["video"]["description"] == "#минск again, #travel"

    page = await _get(env, kim, "/v1/hashtags/минск/videos?limit=1")
    assert [i["video"]["id"] for i in page["items"]] == [second]
    rest = await _get(env, kim, "/v1/hashtags/минск/videos?limit=1&cursor="
                      + page["next_cursor"])
    assert [i["video"]["id"] for i in rest["items"]] == [first]
    assert rest["next_cursor"] is None

    r = await env.client.patch(f"/v1/videos/{first}", json={"description": "Sunrise #dawn"},
                               headers=alex.auth)
    assert r.status == 200, await r.text()
    assert await _tag_ids(env, kim, "минск") == [second]
    assert await _tag_ids(env, kim, "Dawn") == [first]
    assert await _search_ids(env, kim, "sunrise") == [first]
    assert await _search_ids(env, kim, "sunset") == []

    trending = await _get(env, kim, "/v1/hashtags/trending")
    assert trending["window_hours"] == 24
    assert trending["items"] == [{"tag": "dawn", "video_count": 1},
                                 {"tag": "travel", "video_count": 1},
                                 {"tag": "минск", "video_count": 1}]

    r = await env.client.delete(f"/v1/videos/{second}", headers=alex.auth)
    assert r.status == 204
    assert await _tag_ids(env, kim, "минск") == []
    assert await _search_ids(env, kim, "again") == []


async def test_bad_tags_queries_and_cursors_are_422(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    alex = await user(env, "alex")
    for tag in ("123", "a-b", "x" * 51, "%23"):
        body = await _get(env, alex, f"/v1/hashtags/{tag}/videos", 422)
        assert body["code"] == "invalid_hashtag", tag
    for query in ("q=", "q=%20%20", "q=" + "a" * 101, "q=a&type=all"):
        body = await _get(env, alex, f"/v1/search?{query}", 422)
        assert body["code"] == "invalid_query", query
    body = await _get(env, alex, "/v1/search?q=a&type=users&cursor=bad", 422)
    assert body["code"] == "invalid_cursor"
    body = await _get(env, alex, "/v1/hashtags/ok/videos?cursor=bad", 422)
    assert body["code"] == "invalid_cursor"
    assert (await _get(env, alex, "/v1/search?q=%21%21%21"))["videos"] == [], "no word"
    r = await env.client.get("/v1/search?q=a")
    assert r.status == 401


async def test_a_locked_moment_is_not_found_until_i_post_mine(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    alex, sam, kim = [await user(env, n) for n in ("alex", "sam", "kim")]
    await befriend(env, alex, sam)
    clip = sample_clips["silent"]
    moment = await _video(env, sam, clip, "Breakfast #morning", "friends")
    assert await _tag_ids(env, sam, "morning") == [moment], "the author sees their own"
    assert await _tag_ids(env, alex, "morning") == [], "locked: I have not posted"
    assert await _search_ids(env, alex, "breakfast") == []
    assert await _tag_ids(env, kim, "morning") == [], "a stranger never"
    assert await _get(env, kim, "/v1/hashtags/trending") == {"window_hours": 24, "items": []}

    await _video(env, alex, clip, "mine", "friends")
    assert await _tag_ids(env, alex, "morning") == [moment]
    assert await _search_ids(env, alex, "break") == [moment]
    assert await _search_ids(env, kim, "breakfast") == []


async def test_no_cursor_names_a_locked_moment(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    alex, sam, kim = [await user(env, n) for n in ("alex", "sam", "kim")]
    await befriend(env, alex, sam)
    clip = sample_clips["silent"]
    older = await _video(env, kim, clip, "Old toast #toast")
    moments = [await _video(env, sam, clip, f"Toast {n} #toast", "friends") for n in range(3)]
    newest = await _video(env, kim, clip, "New toast #toast")
    for path in ("/v1/hashtags/toast/videos", "/v1/search?q=toast"):
        key = "videos" if "search" in path else "items"
        seen: list[int] = []
        cursors: list[str] = []
        page = await _get(env, alex, f"{path}{'&' if '?' in path else '?'}limit=1")
        while True:
            seen += [item["video"]["id"] for item in page[key]]
            cursors += [c for c in (page.get("next_cursor"), page.get("prev_cursor")) if c]
            if not page.get("next_cursor"):
                break
            page = await _get(env, alex, f"{path}{'&' if '?' in path else '?'}limit=1&"
                              f"cursor={page['next_cursor']}")
        assert seen == [newest, older], path
        back = await _get(env, alex, f"{path}{'&' if '?' in path else '?'}limit=1&"
                          f"cursor={cursors[-1]}")
        assert [item["video"]["id"] for item in back[key]] in ([], [newest], [older])
        cursors += [c for c in (back.get("next_cursor"), back.get("prev_cursor")) if c]
        named = {paging.decode(c, kind, 2)[1] for c in cursors
                 for kind in ("older", "newer") if _is(c, kind)}
        assert named <= {newest, older} and not named & set(moments), "a locked moment"


def _is(cursor: str, kind: str) -> bool:
    try:
        paging.decode(cursor, kind, 2)
    except Exception:
        return False
    return True


async def test_users_by_nickname_blocks_hide_both_ways(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    alex = await user(env, "alex")
    alexa, alexander, boris = [await user(env, n) for n in ("alexa", "alexander", "boris")]
    body = await _get(env, alex, "/v1/search?q=Alex&type=users")
    assert body["type"] == "users" and body["videos"] == []
    names = [m["user"]["nickname"] for m in body["users"]]
    assert names[:2] == ["alexa", "alexander"] and "boris" not in names
    assert "alex" not in names, "not me"
    assert all(0 <= m["score"] <= 1 for m in body["users"])

    page = await _get(env, alex, "/v1/search?q=alex&type=users&limit=1")
    assert [m["user"]["id"] for m in page["users"]] == [alexa.id]
    rest = await _get(env, alex, "/v1/search?q=alex&type=users&limit=1&cursor="
                      + urllib.parse.quote(page["next_cursor"]))
    assert [m["user"]["id"] for m in rest["users"]] == [alexander.id]

    video = await _video(env, boris, sample_clips["silent"], "#chess club")
    assert await _tag_ids(env, alex, "chess") == [video]
    r = await env.client.put(f"/v1/blocks/{alex.id}", headers=boris.auth)
    assert r.status == 204
    assert await _tag_ids(env, alex, "chess") == [], "blocked by the author"
    assert await _search_ids(env, alex, "chess") == []
    body = await _get(env, alex, "/v1/search?q=boris&type=users")
    assert body["users"] == []
    body = await _get(env, boris, "/v1/search?q=alex&type=users")
    assert alex.id not in [m["user"]["id"] for m in body["users"]], "and the other way"


@pytest.mark.parametrize("kind", ["videos", "users"])
async def test_search_is_rate_limited_per_user(
    make_video_env: Any, kind: str
) -> None:
    env = await make_video_env()
    alex = await user(env, "alex")
    throttle = env.client.app[keys.SERVICES].throttle
    allowed = (await throttle.limit("search:user")).count
    for _ in range(allowed):
        r = await env.client.get(f"/v1/search?q=a&type={kind}", headers=alex.auth)
        assert r.status == 200
    r = await env.client.get(f"/v1/search?q=a&type={kind}", headers=alex.auth)
    assert r.status == 429 and (await r.json())["code"] == "rate_limited"
    r = await env.client.get("/v1/hashtags/trending", headers=alex.auth)
    assert r.status == 200, "hashtag pages are not search"
