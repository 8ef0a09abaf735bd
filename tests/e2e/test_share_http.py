"""Share links over HTTP (issue 20 item 6): a public video's ``share_url`` opens its page
(GET /v/{slug}) for anyone, with the player, the author, the description and the link
preview tags, every media URL in it fetchable by a guest. Every other video (friends-only,
a locked moment, processing, held, removed, deleted, of a banned, suspended or private
author) and every slug no video has answer one and the same sign-in prompt."""

from __future__ import annotations

import html.parser
import secrets
import urllib.parse
from pathlib import Path
from typing import Any

import attrs
from clip_support import unique
from engagement_support import User, befriend, moderator, ready_video, user

from adapters.container import resolve
from adapters.http import keys

SLUG = "/v/"


class _Page(html.parser.HTMLParser):
    """The tags of a page that the tests read: meta properties, sources, images."""

    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.tags.append((tag, values))
        if tag == "meta" and (values.get("property") or values.get("name")):
            self.meta[str(values.get("property") or values.get("name"))] = str(values["content"])

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(text: str) -> _Page:
    page = _Page()
    page.feed(text)
    return page


def _path(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


async def _video(env: Any, who: User, video_id: int) -> dict[str, Any]:
    r = await env.client.get(f"/v1/videos/{video_id}", headers=who.auth)
    assert r.status == 200, await r.text()
    return dict(await r.json())


async def _open(env: Any, url: str, **kw: Any) -> Any:
    r = await env.client.get(_path(url), **kw)
    return r, await r.read()


async def test_a_public_video_has_a_page_anyone_can_open(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    alex = await user(env, "alex")
    r = await env.client.put("/v1/me/avatar", data=_jpeg(),
                             headers={**alex.auth, "Content-Type": "image/jpeg"})
    assert r.status == 200, await r.text()
    # What a description may hold and a page must escape.
    words = "Sunset <script>alert(1)</script> & \"quotes\" 'too' #campus"
    video = await ready_video(env, alex, sample_clips["playable"], "public")
    r = await env.client.patch(f"/v1/videos/{video}", json={"description": words},
                               headers=alex.auth)
    assert r.status == 200, await r.text()
    shown = await _video(env, alex, video)
    share_url = shown["share_url"]
    public_url = env.backend.settings.public_url.rstrip("/")
    assert share_url.startswith(public_url + SLUG)
    slug = share_url.removeprefix(public_url + SLUG)
    assert len(slug) == 22 and not slug.isdigit()  # unguessable: tests/unit on the slugs

    r, body = await _open(env, share_url)  # no token
    assert r.status == 200, body
    assert r.content_type == "text/html" and r.charset == "utf-8"
    text = body.decode()
    assert "<script" not in text.replace("&lt;script&gt;", ""), "no script, escaped text"
    assert "Sunset &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; " \
           "&#x27;too&#x27; #campus" in text
    page = _parse(text)
    assert page.meta["og:title"] == "alex on Momentic" == page.meta["twitter:title"]
    assert page.meta["og:description"] == words == page.meta["twitter:description"]
    assert page.meta["og:url"] == share_url
    assert page.meta["og:type"] == "video.other"
    assert page.meta["twitter:card"] == "summary_large_image"
    assert page.meta["og:video:type"] == "video/mp4"
    assert (page.meta["og:video:width"], page.meta["og:video:height"]) == (
        str(shown["width"]), str(shown["height"]))
    assert "alex" in "".join(page.text)
    video_tags = [a for t, a in page.tags if t == "video"]
    sources = [a for t, a in page.tags if t == "source"]
    assert len(video_tags) == 1 and sources[-1]["type"] == "video/mp4"
    # HLS first (Safari and the phones play it natively), then the MP4 for the others.
    assert [s["type"] for s in sources] == ["application/vnd.apple.mpegurl", "video/mp4"]
    assert sources[0]["src"] == shown["hls_url"] and sources[1]["src"] == shown["playback_url"]
    assert video_tags[0]["poster"] == page.meta["og:image"] == page.meta["twitter:image"]
    avatar = next(a["src"] for t, a in page.tags if t == "img")
    # Every media URL of the page answers a guest, as what it says it is.
    for url, kind in ((sources[0]["src"], "application/vnd.apple.mpegurl"),
                      (sources[-1]["src"], "video/mp4"), (page.meta["og:video"], "video/mp4"),
                      (page.meta["og:image"], "image/jpeg"), (avatar, "image/")):
        assert url is not None and url.startswith(public_url + "/media/"), url
        media = await env.client.get(_path(url))
        assert media.status == 200 and media.content_type.startswith(kind), (url, media.status)
        assert len(await media.read()) > 50
    # The policy lets the page load exactly its style sheet and these media.
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src" not in csp
    assert f"media-src {public_url};" in csp and f"img-src data: {public_url};" in csp
    assert "frame-ancestors 'none'" in csp and r.headers["Cache-Control"] == "no-cache"
    css = await env.client.get("/v/share.css")
    assert css.status == 200 and css.content_type == "text/css"
    # A token is not looked at, even a bad one.
    r2, body2 = await _open(env, share_url, headers={"Authorization": "Bearer nonsense"})
    assert r2.status == 200 and body2 == body
    # Lists show the same link: the author's videos and the global feed.
    r = await env.client.get(f"/v1/users/{alex.id}/videos", headers=alex.auth)
    assert [v["share_url"] for v in (await r.json())["items"]] == [share_url]
    r = await env.client.get("/v1/feed/global", headers=alex.auth)
    assert [i["video"]["share_url"] for i in (await r.json())["items"]] == [share_url]


async def test_a_video_without_hls_offers_its_mp4_only(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    """A video processed before migration 75 (until momentic backfill hls)."""
    env = video_env
    alex = await user(env, "alex")
    video = await ready_video(env, alex, sample_clips["playable"], "public")
    storage = await resolve(env.backend.container.storage())
    async with storage.uow() as tx:
        stored = await tx.videos.get_for_update(video)
        await tx.videos.update(attrs.evolve(stored, hls_key=None))
    shown = await _video(env, alex, video)
    assert shown["hls_url"] is None
    r, body = await _open(env, shown["share_url"])
    assert r.status == 200, body
    sources = [a for t, a in _parse(body.decode()).tags if t == "source"]
    assert sources == [{"src": shown["playback_url"], "type": "video/mp4"}]


def _jpeg() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (64, 64), (40, 120, 200)).save(out, "JPEG")
    return out.getvalue()


async def test_every_video_a_guest_may_not_see_and_every_unknown_slug_answer_alike(
    make_video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = await make_video_env(report_threshold=1)
    svc = env.client.app[keys.SERVICES]
    clip = sample_clips["silent"]
    mod = await moderator(env)
    names = ("fo", "mom", "held", "removed", "deleted", "banned", "suspended", "private")
    authors = {name: await user(env, f"{name}author") for name in names}
    friend, reporter = await user(env, "friend"), await user(env, "reporter")
    await befriend(env, authors["mom"], friend)
    await befriend(env, authors["fo"], friend)
    links: dict[str, str] = {}

    # Friends-only from the upload: no share_url for anyone, even a friend.
    fo = await ready_video(env, authors["fo"], clip, "friends")
    assert (await _video(env, friend, fo))["share_url"] is None
    links["friends-only"] = svc.share_url(fo)
    # A friend's moment of today, locked for a friend who has not posted.
    mom = await ready_video(env, authors["mom"], clip, "friends")
    shown = await _video(env, friend, mom)
    assert shown["locked"] is True and shown["share_url"] is None
    links["locked moment"] = svc.share_url(mom)

    async def public(name: str) -> tuple[int, str]:
        video = await ready_video(env, authors[name], clip, "public")
        url = (await _video(env, authors[name], video))["share_url"]
        assert url is not None
        r, _ = await _open(env, url)
        assert r.status == 200, name  # before whatever happens to it
        return video, str(url)

    held, links["held"] = await public("held")
    r = await env.client.post("/v1/reports", json={
        "target_type": "video", "target_id": held, "reason": "spam"}, headers=reporter.auth)
    assert r.status == 201, await r.text()
    assert (await _video(env, authors["held"], held))["status"] == "held"
    assert (await _video(env, authors["held"], held))["share_url"] is None

    removed, links["removed"] = await public("removed")
    r = await env.client.post("/v1/reports", json={
        "target_type": "video", "target_id": removed, "reason": "spam"}, headers=reporter.auth)
    case = (await r.json())["case_id"]
    r = await env.client.post(f"/v1/mod/cases/{case}/resolve", json={
        "action": "remove", "reason": "Spam"}, headers=mod.auth)
    assert r.status == 200, await r.text()

    deleted, links["deleted"] = await public("deleted")
    r = await env.client.delete(f"/v1/videos/{deleted}", headers=authors["deleted"].auth)
    assert r.status == 204

    _, links["banned author"] = await public("banned")
    r = await env.client.post(f"/v1/mod/users/{authors['banned'].id}/ban",
                              json={"reason": "Spam"}, headers=mod.auth)
    assert r.status == 200, await r.text()

    _, links["suspended author"] = await public("suspended")
    r = await env.client.post(f"/v1/mod/users/{authors['suspended'].id}/suspend", json={
        "reason": "Cool off", "duration_seconds": 3600}, headers=mod.auth)
    assert r.status == 200, await r.text()

    private, links["private account"] = await public("private")
    r = await env.client.patch("/v1/me", json={"private": True},
                               headers=authors["private"].auth)
    assert r.status == 200, await r.text()
    assert (await _video(env, authors["private"], private))["share_url"] is None

    # Slugs no video has: a well-made one of an id that does not exist, a made-up one,
    # a real one with a character changed, one of the wrong shape, one of another key.
    real = links["deleted"].rsplit("/", 1)[1]
    links["no such id"] = svc.share_url(10**12)
    links["made up"] = SLUG + secrets.token_urlsafe(16)[:22]
    links["one character changed"] = SLUG + real[:5] + ("A" if real[5] != "A" else "B") + real[6:]
    links["wrong shape"] = SLUG + "abc"
    links["a number"] = SLUG + str(private)
    links["padded"] = SLUG + real + "="

    # Processing: uploaded public, its job not run yet.
    processing = await _upload(env, authors["fo"], clip)
    assert (await _video(env, authors["fo"], processing))["status"] == "processing"
    links["processing"] = svc.share_url(processing)

    answers = {name: await _open(env, url) for name, url in links.items()}
    # A friend's token opens nothing more: the page is for guests.
    answers["friend's token"] = await _open(env, links["friends-only"], headers=friend.auth)
    statuses = {name: r.status for name, (r, _) in answers.items()}
    assert set(statuses.values()) == {404}, statuses
    bodies = {body for _, body in answers.values()}
    assert len(bodies) == 1, "one page for all"
    text = bodies.pop().decode()
    assert "Sign in" in text and "<video" not in text and "og:" not in text
    for name in names:
        assert f"{name}author" not in text
    headers = {(r.content_type, r.headers["Content-Security-Policy"],
                r.headers["Cache-Control"]) for r, _ in answers.values()}
    assert headers == {("text/html", "default-src 'none'; style-src 'self'; img-src data:; "
                        "media-src 'none'; form-action 'none'; base-uri 'none'; "
                        "frame-ancestors 'none'", "no-cache")}

    # Back to public: the same link works again.
    r = await env.client.patch("/v1/me", json={"private": False},
                               headers=authors["private"].auth)
    assert (await _video(env, authors["private"], private))["share_url"] == \
        links["private account"]
    r, _ = await _open(env, links["private account"])
    assert r.status == 200


async def _upload(env: Any, who: User, clip: Path) -> int:
    import io

    import aiohttp

    form = aiohttp.FormData()
    form.add_field("video_file", io.BytesIO(unique(clip)), filename="c.mp4",
                   content_type="video/mp4")
    form.add_field("visibility", "public")
    r = await env.client.post("/v1/videos", data=form, headers=who.auth)
    assert r.status == 201, await r.text()
    return int((await r.json())["id"])


async def test_share_pages_are_rate_limited_per_address(
    video_env: Any, sample_clips: dict[str, Path]
) -> None:
    env = video_env
    svc = env.client.app[keys.SERVICES]
    await svc.config.update(None, {"rate_limits": {"share:ip": {"count": 3,
                                                                "window_seconds": 60}}})
    alex = await user(env, "alex")
    video = await ready_video(env, alex, sample_clips["silent"], "public")
    url = (await _video(env, alex, video))["share_url"]
    statuses = [(await _open(env, u))[0].status
                for u in (url, SLUG + "abc", url)]
    assert statuses == [200, 404, 200], "unknown slugs count too"
    r, body = await _open(env, url)
    assert r.status == 429 and r.content_type == "application/problem+json", body
    assert r.headers["Retry-After"] and b'"rate_limited"' in body
    # The API itself is not held up by it.
    assert (await env.client.get(f"/v1/videos/{video}", headers=alex.auth)).status == 200
