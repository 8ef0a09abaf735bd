"""The daily moment, leaderboards, user and admin statistics, rating weights and the admin
dashboard over HTTP (in-memory backend, with a hand-moved clock where time matters)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import attrs
from engagement_support import PASSWORD, User, befriend, login, moderator, ready_video, user

from adapters.container import resolve
from adapters.http import keys, paging
from adapters.http.ranking.routes import dashboard_csp
from adapters.memory.clock import ManualClock
from momentic_core.model.accounts import Role
from momentic_core.model.ranking import RankingWeights
from momentic_core.policies.moments import moment_of

# A Tuesday, at noon UTC: the day board starts at midnight, the week board on Monday.
NOON = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
LONG_TOKENS = {"access_token_ttl_seconds": 7 * 86400}


async def _json(response: Any, status: int) -> Any:
    assert response.status == status, (response.status, await response.text())
    return await response.json()


async def _problem(response: Any, status: int, code: str) -> dict[str, Any]:
    body: dict[str, Any] = await _json(response, status)
    assert response.headers["Content-Type"].startswith("application/problem+json")
    assert body["code"] == code, body
    return body


def _set_clock(clock: ManualClock, at: datetime) -> None:
    clock.advance(at - clock.now())


async def _env(make_video_env: Any, at: datetime) -> tuple[Any, ManualClock]:
    clock = ManualClock(at)
    env = await make_video_env(overrides={"clock": clock}, **LONG_TOKENS)
    return env, clock


async def _admin(env: Any, nickname: str = "root") -> User:
    svc = env.client.app[keys.SERVICES]
    made = await svc.accounts.create_user(f"{nickname}@bsu.by", PASSWORD, Role.ADMIN)
    tokens = await login(env, f"{nickname}@bsu.by")
    return User(env.api.auth(tokens), made.id, made.nickname, tokens)


async def _points(env: Any, who: User, points: int, at: datetime | None) -> None:
    """Rating points as the scorer records them: dated (a reaction, a comment, an on-time
    post, counted by the period boards) or not (the streak term, all time only)."""
    storage = await resolve(env.backend.container.storage())
    async with storage.uow() as tx:
        await tx.ranking.add_points(who.id, points, at)


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value is not None else None


# ---------------------------------------------------------------- the daily moment


async def test_the_moment_is_secret_until_it_comes_then_open_then_closed_and_videos_say_if_on_time(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    # 03:30 in Minsk (UTC+3): before any moment of the day (they fall from 09:00 to 21:00).
    env, clock = await _env(make_video_env, datetime(2026, 3, 10, 0, 30, tzinfo=UTC))
    c = env.client
    ann = await user(env, "ann")
    r = await c.patch("/v1/me", json={"time_zone": "Europe/Minsk"}, headers=ann.auth)
    await _json(r, 200)
    rules = c.app[keys.SERVICES].ranking.moment_rules
    today = moment_of(rules, date(2026, 3, 10), "Europe/Minsk")
    yesterday = moment_of(rules, date(2026, 3, 9), "Europe/Minsk")

    moment = await _json(await c.get("/v1/moments/today", headers=ann.auth), 200)
    assert moment == {
        "day": "2026-03-10", "time_zone": "Europe/Minsk", "status": "upcoming",
        "moment_at": None, "window_ends_at": None, "window_seconds": 120,
    }, "the time stays secret until it comes"

    # A post before today's moment answers yesterday's, and is late by the time since.
    early = await ready_video(env, ann, sample_clips["silent"])
    video = await _json(await c.get(f"/v1/videos/{early}", headers=ann.auth), 200)
    assert _at(video["moment_at"]) == yesterday.at
    assert video["on_time"] is False
    assert video["late_by_seconds"] == int((clock.now() - yesterday.at).total_seconds())

    _set_clock(clock, today.at + timedelta(seconds=30))
    moment = await _json(await c.get("/v1/moments/today", headers=ann.auth), 200)
    assert moment["status"] == "open"
    assert _at(moment["moment_at"]) == today.at
    assert _at(moment["window_ends_at"]) == today.at + timedelta(seconds=120)
    on_time = await ready_video(env, ann, sample_clips["silent"])
    video = await _json(await c.get(f"/v1/videos/{on_time}", headers=ann.auth), 200)
    assert (_at(video["moment_at"]), video["on_time"], video["late_by_seconds"]) == (
        today.at, True, None)

    _set_clock(clock, today.at + timedelta(minutes=12))
    moment = await _json(await c.get("/v1/moments/today", headers=ann.auth), 200)
    assert moment["status"] == "closed" and _at(moment["moment_at"]) == today.at
    late = await ready_video(env, ann, sample_clips["silent"])
    video = await _json(await c.get(f"/v1/videos/{late}", headers=ann.auth), 200)
    assert (_at(video["moment_at"]), video["on_time"], video["late_by_seconds"]) == (
        today.at, False, 12 * 60)

    # Lists and feed items carry the same fields.
    page = await _json(await c.get(f"/v1/users/{ann.id}/videos", headers=ann.auth), 200)
    assert [(v["id"], v["on_time"], v["late_by_seconds"]) for v in page["items"]] == [
        (late, False, 720), (on_time, True, None),
        (early, False, int((datetime(2026, 3, 10, 0, 30, tzinfo=UTC)
                            - yesterday.at).total_seconds())),
    ]
    feed = await _json(await c.get("/v1/feed/global", headers=ann.auth), 200)
    assert [(i["video"]["id"], i["video"]["on_time"]) for i in feed["items"]] == [
        (late, False), (on_time, True), (early, False)]

    stats = await _json(await c.get(f"/v1/users/{ann.id}/stats", headers=ann.auth), 200)
    assert (stats["videos"], stats["on_time_posts"]) == (3, 1)
    assert stats["current_streak"] == 1, "three posts on one local day"


async def test_the_moment_needs_a_token(client: Any) -> None:
    await _problem(await client.get("/v1/moments/today"), 401, "missing_token")


# ---------------------------------------------------------------- leaderboards


async def _cast(env: Any) -> dict[str, User]:
    """ann .. gus and hal (banned), with points yesterday, today and undated (streaks);
    the moderator who banned hal has none."""
    people = {n: await user(env, n) for n in ("ann", "bob", "cat", "dan", "eve", "fay", "gus",
                                               "hal")}
    yesterday, today = NOON - timedelta(days=1), NOON - timedelta(hours=2)
    await _points(env, people["ann"], 30, yesterday)
    await _points(env, people["ann"], 5, today)
    await _points(env, people["bob"], 50, yesterday)
    await _points(env, people["cat"], 35, today)
    await _points(env, people["fay"], 10, today)
    await _points(env, people["gus"], 20, None)
    await _points(env, people["hal"], 100, today)
    mod = await moderator(env)
    r = await env.client.post(f"/v1/mod/users/{people['hal'].id}/ban", json={"reason": "spam"},
                              headers=mod.auth)
    await _json(r, 200)
    people["mod"] = mod
    return people


def _standings(items: list[dict[str, Any]]) -> list[tuple[int, str, int]]:
    return [(s["rank"], s["user"]["nickname"], s["points"]) for s in items]


async def test_global_board_of_all_time_pages_through_everyone_once(make_video_env: Any) -> None:
    env, _ = await _env(make_video_env, NOON)
    c, people = env.client, await _cast(env)
    ann = people["ann"]

    seen: list[tuple[int, str, int]] = []
    url: str | None = "/v1/ranking?limit=3"
    pages = 0
    while url:
        board = await _json(await c.get(url, headers=ann.auth), 200)
        assert (board["scope"], board["period"], board["since"]) == ("global", "all", None)
        seen += _standings(board["items"])
        pages += 1
        url = f"/v1/ranking?limit=3&cursor={board['next_cursor']}" if board["next_cursor"] else None
    # Most points first, ties by the older account; the banned hal is left out, and users
    # with no points (the page boundary falls among them) are ranked all the same.
    assert seen == [(1, "bob", 50), (2, "ann", 35), (3, "cat", 35), (4, "gus", 20),
                    (5, "fay", 10), (6, "dan", 0), (7, "eve", 0), (8, people["mod"].nickname, 0)]
    assert pages == 3

    board = await _json(await c.get("/v1/ranking", headers=ann.auth), 200)
    assert _standings([board["me"]]) == [(2, "ann", 35)]
    assert _standings(board["neighbours"]) == [(1, "bob", 50), (3, "cat", 35), (4, "gus", 20)]
    assert board["next_cursor"] is None and len(board["items"]) == 8
    assert set(board["me"]["user"]) == {"id", "nickname", "name", "surname", "avatar_url"}


async def test_friends_board_and_the_periods(make_video_env: Any) -> None:
    env, _ = await _env(make_video_env, NOON)
    c, people = env.client, await _cast(env)
    ann, bob = people["ann"], people["bob"]
    await befriend(env, ann, people["cat"])
    await befriend(env, ann, people["dan"])

    board = await _json(await c.get("/v1/ranking?scope=friends", headers=ann.auth), 200)
    assert board["scope"] == "friends"
    assert _standings(board["items"]) == [(1, "ann", 35), (2, "cat", 35), (3, "dan", 0)]
    assert _standings([board["me"]]) == [(1, "ann", 35)]
    assert _standings(board["neighbours"]) == [(2, "cat", 35), (3, "dan", 0)]

    # A period ranks the points dated in it (UTC days), only of users who have some.
    board = await _json(await c.get("/v1/ranking?period=day", headers=ann.auth), 200)
    assert (board["period"], _at(board["since"])) == ("day", datetime(2026, 3, 10, tzinfo=UTC))
    assert _standings(board["items"]) == [(1, "cat", 35), (2, "fay", 10), (3, "ann", 5)]
    assert _standings([board["me"]]) == [(3, "ann", 5)]
    assert _standings(board["neighbours"]) == [(1, "cat", 35), (2, "fay", 10)]

    board = await _json(await c.get("/v1/ranking?period=day", headers=bob.auth), 200)
    assert board["me"] is None and board["neighbours"] == [], "bob has no points today"

    board = await _json(await c.get("/v1/ranking?period=week", headers=ann.auth), 200)
    assert _at(board["since"]) == datetime(2026, 3, 9, tzinfo=UTC), "Monday"
    assert _standings(board["items"]) == [(1, "bob", 50), (2, "ann", 35), (3, "cat", 35),
                                          (4, "fay", 10)]
    board = await _json(await c.get("/v1/ranking?period=month", headers=ann.auth), 200)
    assert _at(board["since"]) == datetime(2026, 3, 1, tzinfo=UTC)

    board = await _json(
        await c.get("/v1/ranking?scope=friends&period=day&limit=1", headers=ann.auth), 200)
    assert _standings(board["items"]) == [(1, "cat", 35)]
    board = await _json(await c.get(
        f"/v1/ranking?scope=friends&period=day&limit=1&cursor={board['next_cursor']}",
        headers=ann.auth), 200)
    assert _standings(board["items"]) == [(2, "ann", 5)] and board["next_cursor"] is None


async def test_board_refusals(make_video_env: Any) -> None:
    env, _ = await _env(make_video_env, NOON)
    c = env.client
    ann = await user(env, "ann")
    for query, field in (("scope=everyone", "scope"), ("period=year", "period"),
                         ("scope=", "scope"), ("limit=0", "limit"), ("limit=ten", "limit")):
        body = await _problem(await c.get(f"/v1/ranking?{query}", headers=ann.auth), 422,
                              "invalid_query")
        assert body["field"] == field, (query, body)
    first = await _json(await c.get("/v1/ranking?limit=1", headers=ann.auth), 200)
    assert first["next_cursor"] is None, "ann alone"
    for cursor in ("garbage", paging.encode("board:friends:all", 0, 1),
                   paging.encode("board:global:all", "x", 1),
                   paging.encode("board:global:all", 0, 0),
                   paging.encode("board:global:all", 2**63, 1),
                   paging.encode("older", "2026-03-10T12:00:00+00:00", 1)):
        await _problem(await c.get(f"/v1/ranking?cursor={cursor}", headers=ann.auth), 422,
                       "invalid_cursor")
    # A board's own cursor is fine, negative points included (a rating can dip below zero
    # until a recompute).
    r = await c.get(f"/v1/ranking?cursor={paging.encode('board:global:all', -5, 1)}",
                    headers=ann.auth)
    assert (await _json(r, 200))["items"] == []
    await _problem(await c.get("/v1/ranking"), 401, "missing_token")


# ---------------------------------------------------------------- user statistics


async def test_user_stats_of_me_others_and_the_hidden(make_video_env: Any) -> None:
    env, _ = await _env(make_video_env, NOON)
    c, people = env.client, await _cast(env)
    ann, bob, eve, hal, mod = (people[n] for n in ("ann", "bob", "eve", "hal", "mod"))

    mine = await _json(await c.get(f"/v1/users/{ann.id}/stats", headers=ann.auth), 200)
    assert mine == {
        "user_id": ann.id, "videos": 0,
        "reactions": {"heart": 0, "flame": 0, "funny": 0, "angry": 0}, "comments": 0,
        "on_time_posts": 0, "current_streak": 0, "max_streak": 0, "max_reactions": 0,
        "rating": 35, "rank": 2, "views": 0, "watched_seconds": 0.0, "completion_rate": None,
    }
    theirs = await _json(await c.get(f"/v1/users/{bob.id}/stats", headers=ann.auth), 200)
    assert (theirs["user_id"], theirs["rating"], theirs["rank"]) == (bob.id, 50, 1)

    # Banned: hidden from users; staff still see the numbers, without a rank.
    await _problem(await c.get(f"/v1/users/{hal.id}/stats", headers=ann.auth), 404,
                   "user_not_found")
    staff = await _json(await c.get(f"/v1/users/{hal.id}/stats", headers=mod.auth), 200)
    assert (staff["rating"], staff["rank"]) == (100, None)

    # A block hides each from the other.
    r = await c.put(f"/v1/blocks/{eve.id}", headers=ann.auth)
    assert r.status == 204, await r.text()
    await _problem(await c.get(f"/v1/users/{eve.id}/stats", headers=ann.auth), 404,
                   "user_not_found")
    await _problem(await c.get(f"/v1/users/{ann.id}/stats", headers=eve.auth), 404,
                   "user_not_found")
    await _json(await c.get(f"/v1/users/{eve.id}/stats", headers=bob.auth), 200)

    await _problem(await c.get("/v1/users/99999/stats", headers=ann.auth), 404,
                   "user_not_found")
    await _problem(await c.get("/v1/users/abc/stats", headers=ann.auth), 422, "invalid_id")
    await _problem(await c.get(f"/v1/users/{ann.id}/stats"), 401, "missing_token")


# ---------------------------------------------------------------- admin statistics


async def test_admin_stats_series(make_video_env: Any) -> None:
    env, _ = await _env(make_video_env, NOON)
    c = env.client
    ann, root = await user(env, "ann"), await _admin(env)

    series = await _json(await c.get("/v1/admin/stats", headers=root.auth), 200)
    assert series["interval"] == "day" and len(series["points"]) == 30
    first, last = series["points"][0], series["points"][-1]
    assert (first["start"], last["start"]) == ("2026-02-09", "2026-03-10")
    assert set(last) == {"start", "new_users", "dau", "wau", "mau", "uploads", "reactions",
                         "comments"}
    assert last["new_users"] == 2, "ann and the admin joined today"
    assert last["dau"] >= 1 and first["new_users"] == 0

    series = await _json(
        await c.get("/v1/admin/stats?from=2026-03-01&to=2026-03-10", headers=root.auth), 200)
    assert [p["start"] for p in series["points"]] == [f"2026-03-{d:02}" for d in range(1, 11)]
    series = await _json(await c.get(
        "/v1/admin/stats?from=2026-02-10&to=2026-03-10&interval=week", headers=root.auth), 200)
    assert series["interval"] == "week"
    assert [p["start"] for p in series["points"]] == [
        "2026-02-10", "2026-02-17", "2026-02-24", "2026-03-03", "2026-03-10"]
    assert series["points"][-1]["new_users"] == 2

    await _problem(await c.get("/v1/admin/stats", headers=ann.auth), 403, "insufficient_role")
    await _problem(await c.get("/v1/admin/stats"), 401, "missing_token")
    for query, field in (
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=20260301", "from"),  # ISO basic format: not YYYY-MM-DD
        ("from=2026-W10-2", "from"),
        ("from=2026-03-10&to=2026-03-01", "from"),  # after to
        ("from=2020-01-01&to=2026-03-10", "from"),  # more than 400 points
        ("to=0001-01-05", "from"),  # 30 days before it is not a date
        ("from=9999-12-01&to=9999-12-31&interval=week", "from"),
        ("interval=month", "interval"),
    ):
        body = await _problem(await c.get(f"/v1/admin/stats?{query}", headers=root.auth), 422,
                              "invalid_query")
        assert body["field"] == field, (query, body)


# ---------------------------------------------------------------- weights


async def test_weights_are_for_admins_and_checked(make_video_env: Any) -> None:
    env, _ = await _env(make_video_env, NOON)
    c = env.client
    ann, root = await user(env, "ann"), await _admin(env)
    url = "/v1/admin/ranking/weights"
    defaults = attrs.asdict(RankingWeights())

    await _problem(await c.get(url, headers=ann.auth), 403, "insufficient_role")
    await _problem(await c.patch(url, json={"heart": 3}, headers=ann.auth), 403,
                   "insufficient_role")
    await _problem(await c.get(url), 401, "missing_token")
    assert await _json(await c.get(url, headers=root.auth), 200) == defaults

    for body in ({}, [], {"heart": -1}, {"heart": 1001}, {"heart": 1.5}, {"heart": True},
                 {"heart": "3"}, {"heart": None}, {"sparkle": 1}, {"heart": 3, "sparkle": 1}):
        await _problem(await c.patch(url, json=body, headers=root.auth), 422,
                       "invalid_weights")
    await _problem(await c.patch(url, data="{", headers=root.auth), 400, "malformed_json")
    assert await _json(await c.get(url, headers=root.auth), 200) == defaults, "nothing changed"
    assert await env.run_jobs() == 0, "and no recompute was queued"


async def test_changed_weights_queue_a_recompute_that_ratings_follow(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    # 00:30 UTC: long after yesterday's moment window, so the post is late (no on-time
    # points) and earns its author one streak day.
    env, _ = await _env(make_video_env, datetime(2026, 3, 10, 0, 30, tzinfo=UTC))
    c = env.client
    ann, bob, cat = await user(env, "ann"), await user(env, "bob"), await user(env, "cat")
    root = await _admin(env)
    video = await ready_video(env, ann, sample_clips["silent"])
    r = await c.put(f"/v1/videos/{video}/reaction", json={"kind": "heart"}, headers=bob.auth)
    await _json(r, 200)
    r = await c.post(f"/v1/videos/{video}/comments", json={"body": "nice"}, headers=cat.auth)
    await _json(r, 201)
    await env.run_jobs()

    w = RankingWeights()
    stats = await _json(await c.get(f"/v1/users/{ann.id}/stats", headers=ann.auth), 200)
    assert (stats["reactions"]["heart"], stats["comments"], stats["current_streak"]) == (1, 1, 1)
    assert stats["rating"] == w.heart + w.comment + w.streak_day

    url = "/v1/admin/ranking/weights"
    changed = await _json(await c.patch(url, json={"heart": 10, "comment": 0},
                                        headers=root.auth), 200)
    assert changed == dict(attrs.asdict(w), heart=10, comment=0)
    # 1.0 is the integer 1 in JSON (and in JSON Schema).
    changed = await _json(await c.patch(url, json={"streak_day": 1.0}, headers=root.auth), 200)
    assert changed == dict(attrs.asdict(w), heart=10, comment=0, streak_day=1)
    assert await _json(await c.get(url, headers=root.auth), 200) == changed

    stats = await _json(await c.get(f"/v1/users/{ann.id}/stats", headers=ann.auth), 200)
    assert stats["rating"] == w.heart + w.comment + w.streak_day, "until the job runs"
    assert await env.run_jobs() == 1, "one recompute for both changes"
    stats = await _json(await c.get(f"/v1/users/{ann.id}/stats", headers=ann.auth), 200)
    assert stats["rating"] == 10 + 0 + 1
    board = await _json(await c.get("/v1/ranking", headers=bob.auth), 200)
    assert _standings(board["items"][:1]) == [(1, "ann", 11)]
    board = await _json(await c.get("/v1/ranking?period=day", headers=bob.auth), 200)
    assert _standings(board["items"]) == [(1, "ann", 10)], "streak points count for all time"


# ---------------------------------------------------------------- the dashboard


async def test_the_dashboard_and_its_assets(client: Any) -> None:
    r = await client.get("/admin")
    assert r.status == 200 and r.content_type == "text/html"
    csp = r.headers["Content-Security-Policy"]
    assert csp == dashboard_csp(client.app[keys.SERVICES].media_url.origins())
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    page = await r.text()
    assert '<script type="module" src="/admin/admin.js"></script>' in page
    assert "http" not in page, "no CDN or other origin"
    for name, content_type, marker in (("stats.js", "text/javascript", "/v1/admin/stats"),
                                       ("admin.css", "text/css", "{")):
        r = await client.get(f"/admin/{name}")
        assert r.status == 200 and r.content_type == content_type, (name, r.content_type)
        assert r.charset == "utf-8"
        assert r.headers["Content-Security-Policy"] == csp
        assert marker in await r.text()
    for missing in ("/admin/admin.txt", "/admin/index.html", "/admin/other.js",
                    "/admin/admin.js.map", "/admin/"):
        await _problem(await client.get(missing), 404, "route_not_found")
