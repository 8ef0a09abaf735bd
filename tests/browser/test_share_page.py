"""A share link in headless Chromium (Debian's chromium, driven by Playwright; issue 20
item 6): a guest opens a public video's share_url, the page shows the author and the
description, and its video element (HLS first, then the MP4) loads and plays the
processed upload (the first frame decodes, then the playback time moves), under the
page's Content-Security-Policy with no error in the console. A friends-only video's link
shows the sign-in prompt only.

Run by ``make test-browser``; ``make screenshot`` runs the first test with
MOMENTIC_SCREENSHOT set and keeps the picture (docs/share.png).
"""

from __future__ import annotations

import io
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from clip_support import unique
from PIL import Image, ImageDraw
from playwright.async_api import Browser, Page, async_playwright

from adapters.config import Settings
from adapters.container import Composition, resolve
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from momentic_core.model.accounts import Role

FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
PASSWORD = "correct horse battery"
DESCRIPTION = "Golden hour on the roof of the faculty <3 #campus"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    assert Path(CHROMIUM).exists(), "install Debian's chromium: make test-browser does"
    async with async_playwright() as p:
        chromium = await p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run",
                  "--autoplay-policy=no-user-gesture-required"],
        )
        yield chromium
        await chromium.close()


def _avatar() -> bytes:
    image = Image.new("RGB", (128, 128), (250, 180, 60))
    ImageDraw.Draw(image).ellipse((24, 24, 104, 104), fill=(200, 60, 90))
    out = io.BytesIO()
    image.save(out, "JPEG")
    return out.getvalue()


@pytest.fixture
async def site(
    aiohttp_client: Any, unused_tcp_port: int,
    clip_factory: Callable[..., Path], tmp_path: Path,
) -> Any:
    """The app on a known port (its public_url: the media URLs of the page point there),
    with alex's public video and friends-only video, processed."""
    port = unused_tcp_port
    backend = Composition(Settings(memory=True, public_url=f"http://127.0.0.1:{port}",
                               **FAST_HASH))
    client = await aiohttp_client(create_app(backend, HttpOptions(max_body_bytes=64 * 1024)),
                                  server_kwargs={"port": port})
    services = await resolve(backend.container.services())
    await services.accounts.create_user("alex@bsu.by", PASSWORD, Role.USER)
    r = await client.post("/v1/auth/token", json={
        "grant_type": "password", "email": "alex@bsu.by", "password": PASSWORD})
    auth = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
    r = await client.patch("/v1/me", json={"nickname": "alex.films"}, headers=auth)
    assert r.status == 200, await r.text()
    r = await client.put("/v1/me/avatar", data=_avatar(),
                         headers={**auth, "Content-Type": "image/jpeg"})
    assert r.status == 200, await r.text()
    clip = clip_factory(tmp_path / "portrait.mp4", seconds=3.0, width=360, height=640)
    made = {}
    for visibility in ("public", "friends"):
        form = aiohttp.FormData()
        form.add_field("video_file", io.BytesIO(unique(clip)), filename="clip.mp4",
                       content_type="video/mp4")
        form.add_field("description", DESCRIPTION)
        form.add_field("visibility", visibility)
        r = await client.post("/v1/videos", data=form, headers=auth)
        assert r.status == 201, await r.text()
        made[visibility] = (await r.json())["id"]
    worker = await backend.worker()
    while await worker.run_once() is not None:
        pass
    r = await client.get(f"/v1/videos/{made['public']}", headers=auth)
    shown = await r.json()
    assert shown["status"] == "ready" and shown["share_url"], shown
    hidden = services.share_url(made["friends"])
    return shown["share_url"], hidden


async def _page(browser: Browser, status_of: str | None = None) -> tuple[Page, list[str]]:
    """A new page and the errors it meets: script errors, and console errors (a CSP
    refusal, a failed load), but for the 404 of ``status_of`` itself."""
    page = await browser.new_page(viewport={"width": 420, "height": 900})
    page.set_default_timeout(10_000)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def console(msg: Any) -> None:
        if msg.type == "error" and msg.location.get("url") != status_of:
            errors.append(f"{msg.text} ({msg.location.get('url')})")

    page.on("console", console)
    return page, errors


async def test_a_guest_opens_a_share_link_and_the_video_plays(
    site: Any, browser: Browser
) -> None:
    share_url, _ = site
    page, errors = await _page(browser)
    response = await page.goto(share_url)
    assert response is not None and response.status == 200
    assert await page.title() == "alex.films on Momentic"
    assert await page.inner_text(".nickname") == "alex.films"
    assert await page.inner_text(".description") == DESCRIPTION
    og = page.locator('meta[property="og:video"]')
    assert (await og.get_attribute("content") or "").startswith(share_url.split("/v/")[0])
    # The avatar and the poster are images the browser decoded.
    await page.wait_for_function(
        "() => document.querySelector('img.avatar').naturalWidth > 0")
    video = page.locator("video")
    # The first frame decodes (HAVE_CURRENT_DATA) from the guest's media URL.
    await page.wait_for_function("() => document.querySelector('video').readyState >= 2")
    width, height = await video.evaluate("v => [v.videoWidth, v.videoHeight]")
    assert (width, height) == (360, 640)
    # And it plays: the playback time moves.
    await video.evaluate("v => { v.muted = true; return v.play(); }")
    await page.wait_for_function("() => document.querySelector('video').currentTime > 0.2")
    assert await video.evaluate("v => v.error") is None
    # HLS is offered first, the MP4 after it: a browser without native HLS (this
    # Chromium, unlike Safari) skips to the MP4, one with it plays the playlist.
    kinds = await page.eval_on_selector_all("video source", "s => s.map(e => e.type)")
    assert kinds == ["application/vnd.apple.mpegurl", "video/mp4"]
    hls, mp4 = await page.eval_on_selector_all("video source", "s => s.map(e => e.src)")
    native = await video.evaluate("v => v.canPlayType('application/vnd.apple.mpegurl')")
    assert await video.evaluate("v => v.currentSrc") == (hls if native else mp4)
    if target := os.environ.get("MOMENTIC_SCREENSHOT"):
        await video.evaluate("v => { v.pause(); v.currentTime = 1.0; }")
        await page.wait_for_function(
            "() => !document.querySelector('video').seeking")
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=target, full_page=True)
    assert errors == []


async def test_a_friends_only_link_shows_the_sign_in_prompt_only(
    site: Any, browser: Browser
) -> None:
    _, hidden = site
    page, errors = await _page(browser, status_of=hidden)
    response = await page.goto(hidden)
    assert response is not None and response.status == 404
    lines = [line for line in (await page.inner_text("main")).splitlines() if line]
    assert lines == ["Momentic", "Sign in to see this video.",
                     "Open the Momentic app and sign in: if it was shared with you, it is there."]
    assert await page.locator("video, img, meta[property]").count() == 0
    # The style sheet applied (the prompt is centred), and nothing was refused.
    assert await page.locator("main").evaluate(
        "m => getComputedStyle(m).textAlign") == "center"
    assert errors == []
