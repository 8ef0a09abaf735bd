"""The staff web interface at /admin in headless Chromium, end to end against the real
app (memory adapters): a moderator works the case queue and the reported video leaves
the global feed; an admin changes a runtime setting, a rating weight and a role and sees
the audit entries; an appeal is accepted and the video comes back; a two-factor account
signs in with its code, and a moderator turns two-factor on when staff must have it;
text from users shows as text, never as markup. Every result is
checked through the REST API too, not only on the page.

``make screenshot`` runs the moderator's test with MOMENTIC_SCREENSHOT set and keeps the
picture of the queue with an open case (docs/staff-queue.png).
"""

from __future__ import annotations

import os
import struct
import time
import zlib
from pathlib import Path
from typing import Any

import attrs
import pyotp
import pytest
from aiohttp import web
from playwright.async_api import Browser, Page

from adapters.config import Settings
from adapters.container import Composition, resolve
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions, Services
from momentic_core.model.accounts import Principal, Role, User

from .seed_staff import Seeded, seed_cases
from .support import FAST_HASH, sign_in

PASSWORD = "correct horse battery"
ADMIN = ("admin@bsu.by", PASSWORD)
MOD = ("mod@bsu.by", PASSWORD)
VIEWER = ("viewer@bsu.by", PASSWORD)


@attrs.frozen
class Site:
    client: Any
    services: Services
    admin: User
    mod: User
    seeded: Seeded

    @property
    def url(self) -> str:
        return str(self.client.make_url("/admin"))

    async def token(self, email: str, password: str = PASSWORD) -> dict[str, str]:
        r = await self.client.post("/v1/auth/token", json={
            "grant_type": "password", "email": email, "password": password,
        })
        assert r.status == 200, await r.text()
        return {"Authorization": f"Bearer {(await r.json())['access_token']}"}

    async def get(self, path: str, auth: dict[str, str]) -> Any:
        r = await self.client.get(path, headers=auth)
        assert r.status == 200, await r.text()
        return await r.json()

    async def global_feed(self) -> list[int]:
        page = await self.get("/v1/feed/global?limit=50", await self.token(VIEWER[0]))
        return [item["video"]["id"] for item in page["items"]]


@pytest.fixture
async def site(aiohttp_client: Any) -> Site:
    backend = Composition(Settings(memory=True, **FAST_HASH))
    client = await aiohttp_client(create_app(backend, HttpOptions(max_body_bytes=64 * 1024)))
    services: Services = await resolve(backend.container.services())
    admin = await services.accounts.create_user(*ADMIN, Role.ADMIN)
    mod = await services.accounts.create_user(*MOD, Role.MODERATOR)
    await services.accounts.create_user(*VIEWER, Role.USER)
    storage = await resolve(backend.container.storage())
    seeded = await seed_cases(storage.uow, services.moderation)
    return Site(client, services, admin, mod, seeded)


def _png() -> bytes:
    """A 2x2 red PNG: what the fake CDN edge answers for a thumbnail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


@pytest.fixture
async def cdn_site(aiohttp_client: Any, aiohttp_server: Any) -> tuple[Site, list[str]]:
    """The site behind a CDN on another origin (MOMENTIC_MEDIA_BASE_URL), whose edge
    answers every token path with a picture and records what it was asked for; the
    reported video has a thumbnail."""
    asked: list[str] = []

    async def edge(request: web.Request) -> web.Response:
        asked.append(request.path)
        return web.Response(body=_png(), content_type="image/png")

    edge_app = web.Application()
    edge_app.router.add_get("/{tail:.*}", edge)
    cdn = await aiohttp_server(edge_app)
    backend = Composition(Settings(memory=True, media_base_url=str(cdn.make_url("/")),
                                   **FAST_HASH))
    client = await aiohttp_client(create_app(backend, HttpOptions(max_body_bytes=64 * 1024)))
    services: Services = await resolve(backend.container.services())
    await services.accounts.create_user(*ADMIN, Role.ADMIN)
    mod = await services.accounts.create_user(*MOD, Role.MODERATOR)
    storage = await resolve(backend.container.storage())
    seeded = await seed_cases(storage.uow, services.moderation)
    async with storage.uow() as tx:
        video = await tx.videos.get(seeded.video_id)
        await tx.videos.update(attrs.evolve(video, thumbnail_key=THUMB))
    return Site(client, services, mod, mod, seeded), asked


THUMB = "videos/00000000000000aa/thumb.jpg"


async def test_a_cases_thumbnail_from_the_cdn_shows(
    cdn_site: tuple[Site, list[str]], browser: Browser
) -> None:
    site, asked = cdn_site
    page, errors = await sign_in(browser, site.url, *MOD)
    await page.click(f"#cases tr[data-case='{site.seeded.case_id}']")
    await page.wait_for_selector("#case .target img.thumb")
    await page.wait_for_function(
        "document.querySelector('#case .target img.thumb').complete")
    size = await page.eval_on_selector(
        "#case .target img.thumb", "img => [img.naturalWidth, img.naturalHeight]")
    assert size == [2, 2], "the picture loaded: the page's policy lets the CDN's origin in"
    assert [path for path in asked if path.endswith(THUMB)], asked
    src = await page.get_attribute("#case .target img.thumb", "src")
    assert src is not None and not src.startswith(site.url.removesuffix("/admin"))
    assert errors == []  # no policy violation, no failed load


async def _text(page: Page, selector: str) -> str:
    return (await page.inner_text(selector)).strip()


async def test_a_moderator_removes_a_reported_video(site: Site, browser: Browser) -> None:
    video, case = site.seeded.video_id, site.seeded.case_id
    assert video in await site.global_feed()
    page, errors = await sign_in(browser, site.url, *MOD)
    row = f"#cases tr[data-case='{case}']"
    await page.wait_for_selector(row)
    # A moderator's screens: the queue, appeals and users; settings and statistics are
    # admins' (the API refuses them too), and so are email addresses.
    assert await page.is_visible("#nav button[data-view=queue]")
    assert await page.is_hidden("#nav button[data-view=settings]")
    assert await page.is_hidden("#nav button[data-view=stats]")
    assert await _text(page, "#whoami") == f"@{site.mod.nickname} · moderator"
    # Open cases, most reported first: the held video (3 reports) leads.
    first = await page.get_attribute("#cases tbody tr:first-child", "data-case")
    assert first != str(case)
    assert "held" in await _text(page, "#cases tbody tr:first-child")

    await page.click(f"{row} button:text('Assign to me')")
    await page.wait_for_selector(f"{row} td.assignee:text-is('me')")
    await page.click(row)
    await page.wait_for_selector(f"#case[data-case='{case}'] .target")
    assert await _text(page, "#case .target h4") == f"Reported video #{video}"
    assert await _text(page, "#case .text") == "Dorm party, room 412"
    assert (await _text(page, "#case .owner")).startswith("@max.b")
    notes = await page.locator("#case .reports li").all_inner_texts()
    assert len(notes) == 2 and "Not for the global feed" in notes[0]

    await page.select_option("#act-action", "remove")
    await page.fill("#act-reason", "Nudity in a public video")
    if target := os.environ.get("MOMENTIC_SCREENSHOT"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=target, full_page=True)
    await page.click("#act button[type=submit]")
    await page.wait_for_selector("#case .decision")
    assert (await _text(page, "#case .decision")).startswith("Resolved: remove by me")
    await page.wait_for_selector(row, state="detached")  # the open queue lost it

    admin = await site.token(ADMIN[0])
    decided = await site.get(f"/v1/mod/cases/{case}", admin)
    assert (decided["status"], decided["action"], decided["decided_by"]) == (
        "resolved", "remove", site.mod.id)
    assert decided["decision_reason"] == "Nudity in a public video"
    assert decided["target"]["status"] == "removed"
    assert video not in await site.global_feed()
    assert errors == []


async def test_a_moderator_sees_no_email_addresses(site: Site, browser: Browser) -> None:
    page, errors = await sign_in(browser, site.url, *MOD)
    await page.wait_for_selector("#cases tbody tr")
    await page.click("#nav button[data-view=users]")
    await page.wait_for_selector("#users tbody tr[data-user]")
    assert await page.is_hidden("#users thead th.admin-only")
    assert set(await page.locator("#users td.admin-only").all_inner_texts()) == {""}
    # Their own row and an admin's offer no ban; a user's does, and no role change.
    await page.click(f"#users tr[data-user='{site.admin.id}']")
    await page.wait_for_selector("#user-detail:has-text('Only accounts of a lower role')")
    await page.fill("#user-q", "max.b")
    await page.click("#user-filter button[type=submit]")
    await page.wait_for_selector("#user-line:text-is('1 user(s)')")
    await page.click(f"#users tr[data-user='{site.seeded.author_id}']")
    await page.wait_for_selector("#account-action")
    assert await page.locator("#role-form").count() == 0
    # A suspension for a day, through the API.
    await page.select_option("#account-action", "suspend")
    await page.fill("#account-hours", "24")
    await page.fill("#account-reason", "Cool down")
    await page.click("#user-detail button:text('Apply')")
    await page.wait_for_selector("#user-line:text-is('@max.b is suspended.')")
    found = await site.get("/v1/admin/users?q=max.b", await site.token(ADMIN[0]))
    assert [u["status"] for u in found["items"]] == ["suspended"]
    assert errors == []


async def test_an_admin_changes_a_setting_and_sees_its_audit_entry(
    site: Site, browser: Browser
) -> None:
    page, errors = await sign_in(browser, site.url, *ADMIN)
    await page.wait_for_selector("#cases tbody tr")
    await page.click("#nav button[data-view=settings]")
    row = "#settings tr[data-setting=report_threshold]"
    await page.wait_for_selector(row)
    assert await _text(page, f"{row} td.effective") == "3"
    assert await _text(page, f"{row} td.stored") == "deployment value"
    await page.fill("#settings-reason", "Exam week: more eyes before hiding")
    await page.fill(f"{row} input", "5")
    await page.click(f"{row} button:text('Save')")
    await page.wait_for_selector(f"{row} td.effective:text-is('5')")
    entry = "#audit tr[data-action='settings.update']"
    await page.wait_for_selector(entry)
    cells = await page.locator(f"{entry} td").all_inner_texts()
    assert cells[1:5] == ["me", "settings.update", "settings", "Exam week: more eyes before hiding"]
    assert '"report_threshold":5' in cells[5]

    admin = await site.token(ADMIN[0])
    settings = await site.get("/v1/admin/settings", admin)
    assert settings["effective"]["report_threshold"] == 5
    assert settings["stored"]["report_threshold"] == 5
    audit = await site.get("/v1/admin/audit?action=settings.update", admin)
    assert [(e["actor_id"], e["reason"], e["data"]) for e in audit["items"]] == [
        (site.admin.id, "Exam week: more eyes before hiding",
         {"changes": {"report_threshold": 5}})]

    # A weight: its entry joins the list (settings and weights together, newest first).
    await page.fill("#weights input[name=heart]", "7")
    await page.click("#weights-form button[type=submit]")
    await page.wait_for_selector("#audit tbody tr:first-child[data-action='ranking.weights']")
    assert (await site.get("/v1/admin/ranking/weights", admin))["heart"] == 7

    # A reset goes back to the deployment's value, audited too.
    await page.click(f"{row} button:text('Reset')")
    await page.wait_for_selector(f"{row} td.effective:text-is('3')")
    assert await _text(page, f"{row} td.stored") == "deployment value"
    await page.wait_for_selector("#audit tbody tr[data-action='settings.update'] >> nth=1")
    assert (await site.get("/v1/admin/settings", admin))["stored"]["report_threshold"] is None
    assert errors == []


async def test_an_admin_makes_a_user_a_moderator(site: Site, browser: Browser) -> None:
    page, errors = await sign_in(browser, site.url, *ADMIN)
    await page.wait_for_selector("#cases tbody tr")
    await page.click("#nav button[data-view=users]")
    await page.fill("#user-q", "ivan")
    await page.click("#user-filter button[type=submit]")
    await page.wait_for_selector("#user-line:text-is('1 user(s)')")
    assert await page.is_visible("#users thead th.admin-only")
    assert await _text(page, "#users tbody td.admin-only") == "ivan@bsu.by"
    await page.click("#users tbody tr")
    await page.select_option("#role-select", "moderator")
    await page.click("#role-form button[type=submit]")
    await page.wait_for_selector("#user-line:text-is('@ivan is now moderator.')")
    found = await site.get("/v1/admin/users?q=ivan", await site.token(ADMIN[0]))
    assert [u["role"] for u in found["items"]] == ["moderator"]
    audit = await site.get("/v1/admin/audit?action=user.set_role", await site.token(ADMIN[0]))
    assert [e["target_id"] for e in audit["items"]] == [found["items"][0]["id"]]
    assert errors == []


async def test_an_accepted_appeal_brings_the_video_back(site: Site, browser: Browser) -> None:
    video, case = site.seeded.video_id, site.seeded.case_id
    mod = Principal(site.mod.id, Role.MODERATOR, 0)
    await site.services.moderation.resolve(mod, case, "remove", "Nudity")
    author = Principal(site.seeded.author_id, Role.USER, 0)
    appeal = await site.services.moderation.appeal(author, case, "It was a costume party.")
    assert video not in await site.global_feed()
    # Another member of staff decides the appeal (the moderator who decided may not).
    page, errors = await sign_in(browser, site.url, *ADMIN)
    await page.wait_for_selector("#cases tbody tr")
    await page.click("#nav button[data-view=appeals]")
    card = f"#appeals article[data-appeal='{appeal.id}']"
    await page.wait_for_selector(card)
    assert await _text(page, f"{card} .body") == "It was a costume party."
    await page.click(f"{card} button:text('Open case #{case}')")  # the case it appeals
    await page.wait_for_selector(f"#case[data-case='{case}'] .decision")
    await page.click("#nav button[data-view=appeals]")
    await page.fill(f"{card} input", "Costumes, not nudity")
    await page.click(f"{card} button:text('Accept')")
    await page.wait_for_selector(f"#appeal-line:text-is('Appeal #{appeal.id} accepted.')")
    await page.wait_for_selector(card, state="detached")  # no longer pending
    assert video in await site.global_feed()
    assert errors == []


async def test_an_account_with_two_factor_signs_in_with_its_code(
    site: Site, browser: Browser
) -> None:
    auth = await site.token(MOD[0])
    r = await site.client.post("/v1/me/2fa", headers=auth)
    totp = pyotp.TOTP((await r.json())["secret"])
    r = await site.client.post("/v1/me/2fa/confirm", headers=auth, json={"code": totp.now()})
    assert r.status == 200, await r.text()
    page, errors = await sign_in(browser, site.url, *MOD)
    await page.wait_for_selector("#mfa:visible")
    assert await page.is_hidden("#app")
    near = {totp.at(time.time() + 30 * k) for k in (-1, 0, 1)}
    await page.fill("#mfa-code", next(c * 6 for c in "0123" if c * 6 not in near))
    await page.click("#mfa button[type=submit]")
    await page.wait_for_selector("#mfa-error:not(:empty)")
    assert await page.is_hidden("#app")
    # The step that confirmed the enrolment is spent: the next one (within the drift).
    await page.fill("#mfa-code", totp.at(time.time() + 30))
    await page.click("#mfa button[type=submit]")
    await page.wait_for_selector("#cases tbody tr")
    assert await _text(page, "#whoami") == f"@{site.mod.nickname} · moderator"
    # The browser logs the challenge (403 mfa_required) and the wrong code (422); nothing
    # else went wrong.
    expected = ("status of 403 (Forbidden)", "status of 422 (Unprocessable Entity)")
    assert [e for e in errors if not e.endswith(expected)] == []
    assert len(errors) == 2


async def test_staff_turn_on_two_factor_when_it_is_required(
    site: Site, browser: Browser
) -> None:
    await site.services.config.update(None, {"staff_mfa_required": True})
    page, errors = await sign_in(browser, site.url, *MOD)
    # The queue is refused (403 mfa_enrolment_required): the page says what to do.
    await page.wait_for_selector("#notice:visible")
    assert await page.locator("#cases tbody tr").count() == 0
    await page.click("#notice-enrol")
    await page.wait_for_selector("#mfa-status:has-text('Off')")
    await page.click("#enrol-start")
    await page.wait_for_selector("#enrol-form:visible")
    secret = await _text(page, "#enrol-secret")
    assert (await _text(page, "#enrol-uri")).startswith("otpauth://totp/")
    await page.wait_for_function("document.getElementById('enrol-qr').complete")
    qr = await page.eval_on_selector("#enrol-qr", "img => [img.naturalWidth, img.src]")
    assert qr[0] > 100 and qr[1].startswith("data:image/svg+xml"), qr  # the QR code shows
    assert secret in await _text(page, "#enrol-uri")
    await page.fill("#enrol-code", pyotp.TOTP(secret).now())
    await page.click("#enrol-form button[type=submit]")
    await page.wait_for_selector("#enrol-done:visible")
    codes = await page.locator("#recovery-codes li").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert await page.is_hidden("#notice")
    await page.click("#enrol-continue")
    await page.wait_for_selector("#cases tbody tr")  # the staff routes answer now
    status = await site.get("/v1/me/2fa", await _mfa_token(site, MOD[0], codes[0]))
    assert status == {"enabled": True, "pending": False, "recovery_codes_left": 9}
    expected = "status of 403 (Forbidden)"  # the refused queue, once
    assert [e for e in errors if not e.endswith(expected)] == [] and len(errors) == 1


async def _mfa_token(site: Site, email: str, code: str) -> dict[str, str]:
    """Signs in with a password and the second step (a recovery code here)."""
    r = await site.client.post("/v1/auth/token", json={
        "grant_type": "password", "email": email, "password": PASSWORD,
    })
    challenge = await r.json()
    assert challenge["code"] == "mfa_required", challenge
    r = await site.client.post("/v1/auth/2fa", json={
        "mfa_token": challenge["mfa_token"], "code": code,
    })
    assert r.status == 200, await r.text()
    return {"Authorization": f"Bearer {(await r.json())['access_token']}"}


XSS_NAME = "<script>alert('name')</script>"
XSS_NOTE = "<img src=x onerror=alert('note')>"
XSS_APPEAL = "<b>bold</b><script>alert('appeal')</script>"


async def test_text_from_users_shows_as_text(site: Site, browser: Browser) -> None:
    # A user with markup for a name reports the video with markup in the note, through
    # the API as anyone could.
    await site.services.accounts.create_user("mallory@bsu.by", PASSWORD)
    auth = await site.token("mallory@bsu.by")
    r = await site.client.patch("/v1/me", headers=auth, json={"name": XSS_NAME})
    assert r.status == 200, await r.text()
    r = await site.client.post("/v1/reports", headers=auth, json={
        "target_type": "video", "target_id": site.seeded.video_id, "reason": "other",
        "note": XSS_NOTE,
    })
    assert r.status == 201, await r.text()
    mod = Principal(site.mod.id, Role.MODERATOR, 0)
    await site.services.moderation.resolve(mod, site.seeded.case_id, "remove", "Nudity")
    author = Principal(site.seeded.author_id, Role.USER, 0)
    await site.services.moderation.appeal(author, site.seeded.case_id, XSS_APPEAL)

    page, errors = await sign_in(browser, site.url, *ADMIN)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    await page.wait_for_selector("#cases tbody tr")
    await page.select_option("#queue-status", "all")
    await page.click("#queue-filter button[type=submit]")
    await page.click(f"#cases tr[data-case='{site.seeded.case_id}']")
    await page.wait_for_selector("#case .reports li >> nth=2")
    notes = await page.locator("#case .note").all_inner_texts()
    assert XSS_NOTE in notes
    assert await page.locator("#case img, #case script, #case b").count() == 0

    await page.click("#nav button[data-view=users]")
    await page.fill("#user-q", "mallory")
    await page.click("#user-filter button[type=submit]")
    await page.wait_for_selector("#user-line:text-is('1 user(s)')")
    assert await _text(page, "#users td.name") == XSS_NAME
    assert await page.locator("#users script").count() == 0

    await page.click("#nav button[data-view=appeals]")
    await page.wait_for_selector("#appeals article .body")
    assert await _text(page, "#appeals article .body") == XSS_APPEAL
    assert await page.locator("#appeals b, #appeals script").count() == 0
    assert dialogs == [] and errors == []
