"""Feed items rendered once per process (adapters/http/items.py, issue 19 item 3) never
show stale: two app instances on one database (test_live_postgres's cluster), each
page read on both, so both keep the item rendered; every change is made on A (or behind
both instances' backs, in SQL) and the next page on B, and on A, shows it.

Each change: a caption, reaction counts (and each viewer sees their own reaction on the
same kept item), the author's nickname and avatar, a visibility change, a removal by
the author, a moderator's removal (SQL), and a ban.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
from test_live_postgres import Cluster, Instance, User, jpeg, settings

from adapters.container import Composition
from adapters.http.app import create_app
from adapters.http.items import ITEMS
from adapters.memory.mail import InMemoryMailer


@pytest.fixture
def make_cluster(
    aiohttp_client: Any, database_url: str, clean_pg_pool: asyncpg.Pool, tmp_path: Path
) -> Callable[..., Any]:
    async def make() -> Cluster:
        mailer = InMemoryMailer()
        instances = []
        for name in ("A", "B"):  # one after the other: A makes the signing key, B reads it
            backend = Composition(settings(database_url, tmp_path), mailer=mailer)
            instances.append(Instance(name, await aiohttp_client(create_app(backend)), backend))
        return Cluster(instances[0], instances[1], mailer, clean_pg_pool)

    return make


async def item(on: Instance, who: User, video: int) -> dict[str, Any] | None:
    """``video``'s item on the global feed's first page as ``who`` sees it on ``on``."""
    r = await on.client.get("/v1/feed/global?limit=50", headers=who.auth)
    assert r.status == 200, await r.text()
    found = [i for i in (await r.json())["items"] if i["video"]["id"] == video]
    return found[0] if found else None


async def seen(env: Cluster, who: User, video: int) -> dict[str, Any] | None:
    """The item as B shows it, after checking A shows the very same."""
    on_b, on_a = await item(env.b, who, video), await item(env.a, who, video)
    if on_b is not None and on_a is not None:  # (URLs are per answer; the rest is equal)
        assert {**on_a, "video": {**on_a["video"], "author": {}}} == {
            **on_b, "video": {**on_b["video"], "author": {}}}
        assert on_a["video"]["author"]["nickname"] == on_b["video"]["author"]["nickname"]
    else:
        assert on_a is None and on_b is None
    return on_b


async def test_every_change_shows_on_the_next_page_of_either_instance(
    make_cluster: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_cluster()
    ann, bob, cat = await env.signup("ann"), await env.signup("bob"), await env.signup("cat")
    dan, mod = await env.signup("dan"), await env.moderator()
    video = await env.ready_video(ann, sample_clips["silent"])
    other = await env.ready_video(dan, sample_clips["silent"])

    first = await seen(env, bob, video)
    assert first is not None and first["video"]["description"] == ""
    assert first["my_reaction"] is None and first["video"]["author"]["avatar_url"] is None
    assert await seen(env, bob, other) is not None
    kept = len(env.b.client.app[ITEMS])
    assert kept >= 2
    hits = env.b.client.app[ITEMS].hits
    assert (await seen(env, bob, video)) == first  # (URLs reused for a while: equal)
    assert env.b.client.app[ITEMS].hits > hits, "the second page came from the kept items"

    # A caption.
    r = await env.a.client.patch(f"/v1/videos/{video}", json={"description": "take two"},
                                 headers=ann.auth)
    assert r.status == 200, await r.text()
    assert (await seen(env, bob, video) or {})["video"]["description"] == "take two"

    # Reaction counts, and each viewer's own reaction on the same kept item.
    r = await env.a.client.put(f"/v1/videos/{video}/reaction", json={"kind": "flame"},
                               headers=cat.auth)
    assert r.status == 200, await r.text()
    for_bob = await seen(env, bob, video) or {}
    assert for_bob["reactions"]["flame"] == 1 and for_bob["video"]["reactions"]["flame"] == 1
    assert for_bob["my_reaction"] is None and for_bob["video"]["my_reaction"] is None
    for_cat = await seen(env, cat, video) or {}
    assert for_cat["my_reaction"] == "flame" and for_cat["video"]["my_reaction"] == "flame"
    r = await env.a.client.put(f"/v1/videos/{video}/reaction", json={"kind": "heart"},
                               headers=bob.auth)
    assert r.status == 200, await r.text()
    for_bob = await seen(env, bob, video) or {}
    assert (for_bob["reactions"]["heart"], for_bob["reactions"]["flame"]) == (1, 1)
    assert for_bob["my_reaction"] == "heart"
    assert (await seen(env, cat, video) or {})["my_reaction"] == "flame"

    # The author's nickname and avatar.
    r = await env.a.client.patch("/v1/me", json={"nickname": "ann_renamed"}, headers=ann.auth)
    assert r.status == 200, await r.text()
    assert (await seen(env, bob, video) or {})["video"]["author"]["nickname"] == "ann_renamed"
    r = await env.a.client.put("/v1/me/avatar", data=jpeg(), headers=ann.auth)
    assert r.status == 200, await r.text()
    avatar = (await seen(env, bob, video) or {})["video"]["author"]["avatar_url"]
    url = urlsplit(avatar or "")
    assert (await env.b.client.get(f"{url.path}?{url.query}")).status == 200

    # Visibility: friends-only leaves the global feed, public brings it back.
    r = await env.a.client.patch(f"/v1/videos/{video}", json={"visibility": "friends"},
                                 headers=ann.auth)
    assert r.status == 200, await r.text()
    assert await seen(env, bob, video) is None
    r = await env.a.client.patch(f"/v1/videos/{video}", json={"visibility": "public"},
                                 headers=ann.auth)
    assert r.status == 200, await r.text()
    back = await seen(env, bob, video) or {}
    assert back["video"]["visibility"] == "public" and back["video"]["share_url"]

    # A moderator's removal, made behind both instances' backs: no event reaches them.
    await env.pool.execute("UPDATE videos SET status = 'removed' WHERE id = $1", video)
    assert await seen(env, bob, video) is None
    await env.pool.execute("UPDATE videos SET status = 'ready' WHERE id = $1", video)
    assert await seen(env, bob, video) is not None

    # A removal by the author.
    r = await env.a.client.delete(f"/v1/videos/{video}", headers=ann.auth)
    assert r.status == 204, await r.text()
    assert await seen(env, bob, video) is None

    # A ban.
    r = await env.a.client.post(f"/v1/mod/users/{dan.id}/ban", json={"reason": "spam"},
                                headers=mod.auth)
    assert r.status == 200, await r.text()
    assert await seen(env, bob, other) is None
