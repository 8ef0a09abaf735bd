"""What the browser tests share: where Debian's chromium is, a fast password hash for the
seeded accounts, and signing in on the /admin page."""

from __future__ import annotations

import shutil
from typing import Any

from playwright.async_api import Browser

FAST_HASH = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


async def sign_in(browser: Browser, url: str, email: str, password: str) -> tuple[Any, list[str]]:
    """A new page at ``url`` with the sign-in form sent; the page's script errors and
    console errors collect in the list."""
    page = await browser.new_page(viewport={"width": 1280, "height": 1000})
    page.set_default_timeout(8000)  # each test is a few seconds; a miss fails fast
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(url)
    await page.fill("#email", email)
    await page.fill("#password", password)
    await page.click("#login button[type=submit]")
    return page, errors
