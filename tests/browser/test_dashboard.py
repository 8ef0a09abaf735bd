"""The statistics screen of the staff interface in headless Chromium (Debian's chromium,
driven by Playwright): an admin signs in and every chart draws the seeded series; users
who are not staff are turned away. tests/browser/test_staff.py walks the other screens.

Run by ``make test-browser`` (which installs chromium when it is missing); ``make
screenshot`` runs it with MOMENTIC_SCREENSHOT set and keeps the picture in docs/.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from adapters.config import Settings
from adapters.container import Composition, resolve
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from momentic_core.model.accounts import Role

from .seed import seed
from .support import FAST_HASH
from .support import sign_in as _sign_in

ADMIN = ("admin@bsu.by", "correct horse battery")
USER = ("someone@bsu.by", "correct horse battery")


@pytest.fixture
async def site(aiohttp_client: Any) -> Any:
    backend = Composition(Settings(memory=True, **FAST_HASH))
    client = await aiohttp_client(create_app(backend, HttpOptions(max_body_bytes=64 * 1024)))
    services = await resolve(backend.container.services())
    await services.accounts.create_user(*ADMIN, Role.ADMIN)
    await services.accounts.create_user(*USER, Role.USER)
    storage = await resolve(backend.container.storage())
    counts = await seed(storage.uow)
    return client, counts


async def test_an_admin_sees_every_series_drawn(site: Any, browser: Browser) -> None:
    client, counts = site
    page, errors = await _sign_in(browser, str(client.make_url("/admin")), *ADMIN)
    await page.click("#nav button[data-view=stats]")
    await page.wait_for_selector("#charts[data-rendered]")
    assert await page.get_attribute("#charts", "data-rendered") == "30"
    titles = await page.locator(".chart h3").all_inner_texts()
    assert titles == ["Active users", "New users", "Content"]
    totals = {
        await line.get_attribute("data-series"): int(await line.get_attribute("data-total") or 0)
        for line in await page.locator("polyline").all()
    }
    # Every seeded video, reaction and comment falls in the last 30 days, and so does
    # every user but the two signed up today by the test (also counted).
    assert totals["uploads"] == counts["videos"]
    assert totals["reactions"] == counts["reactions"]
    assert totals["comments"] == counts["comments"]
    assert totals["new_users"] == counts["users"] + 2
    assert totals["dau"] > 0 and totals["mau"] > 0
    for line in await page.locator("polyline").all():
        assert len((await line.get_attribute("points") or "").split()) == 30
    # A weekly view redraws with fewer points.
    await page.select_option("#interval", "week")
    await page.click("#range button[type=submit]")
    # (Selectors, not page functions: the page's CSP forbids evaluating strings.)
    await page.wait_for_selector("#charts[data-rendered='5']")
    if target := os.environ.get("MOMENTIC_SCREENSHOT"):
        await page.select_option("#interval", "day")
        await page.click("#range button[type=submit]")
        await page.wait_for_selector("#charts[data-rendered='30']")
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=target, full_page=True)
    assert errors == []


async def test_a_user_who_is_not_staff_is_turned_away(site: Any, browser: Browser) -> None:
    client, _ = site
    page, _ = await _sign_in(browser, str(client.make_url("/admin")), *USER)
    await page.wait_for_selector("#login-error:has-text('not a moderator or an admin')")
    assert await page.is_hidden("#app")


async def test_a_wrong_password_shows_the_error(site: Any, browser: Browser) -> None:
    client, _ = site
    page, _ = await _sign_in(browser, str(client.make_url("/admin")), ADMIN[0], "wrong password")
    await page.wait_for_selector("#login-error:has-text('Wrong email or password')")
    assert await page.is_hidden("#app")
