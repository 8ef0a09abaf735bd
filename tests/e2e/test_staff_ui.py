"""The staff web interface's files as the app serves them (tests/browser drives the page
itself): every script and style sheet under the page's CSP, the module imports resolve to
served files, no markup is built from strings, nothing inline, and the values the page
offers are the core's."""

from __future__ import annotations

import enum
import json
import re
from typing import Any

import pytest

from adapters.http import keys
from adapters.http.ranking.routes import ASSETS, DASHBOARD, dashboard_csp
from momentic_core.model.accounts import AccountStatus, Role
from momentic_core.model.moderation import (
    Action,
    AppealStatus,
    CaseStatus,
    ReportReason,
    TargetType,
)

SCRIPTS = sorted(name for name in ASSETS if name.endswith(".js"))
IMPORT = re.compile(r"""^\s*import\s[^;]*?from\s+"\./([^"]+)";""", re.M | re.S)


def _source(name: str) -> str:
    return (DASHBOARD / name).read_text(encoding="utf-8")


async def test_every_file_is_served_under_the_page_policy(client: Any) -> None:
    assert {"admin.js", "admin.css", "api.js", "dom.js", "queue.js"} <= set(ASSETS)
    csp = dashboard_csp(client.app[keys.SERVICES].media_url.origins())
    for name in ASSETS:
        r = await client.get(f"/admin/{name}")
        assert r.status == 200, name
        assert r.content_type == ("text/css" if name.endswith(".css") else "text/javascript")
        assert r.headers["Content-Security-Policy"] == csp
        assert await r.text() == _source(name)
    for missing in ("/admin/nothere.js", "/admin/index.html", "/admin/Admin.js",
                    "/admin/../app.py", "/admin/admin.js.map"):
        r = await client.get(missing)
        assert r.status == 404, missing
        assert (await r.json())["code"] == "route_not_found"


def test_the_page_loads_one_module_and_nothing_inline() -> None:
    page = _source("index.html")
    assert re.findall(r"<script[^>]*>", page) == [
        '<script type="module" src="/admin/admin.js">'
    ]
    assert re.findall(r"<link[^>]*stylesheet[^>]*>", page) == [
        '<link rel="stylesheet" href="/admin/admin.css">'
    ]
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page), "no inline event handlers"
    assert "http" not in page, "no CDN or other origin"


@pytest.mark.parametrize("name", SCRIPTS)
def test_each_module_imports_served_files_and_builds_no_markup(name: str) -> None:
    source = _source(name)
    for imported in IMPORT.findall(source):
        assert imported in ASSETS, f"{name} imports {imported}, which is not served"
    assert "import(" not in source and 'from "/' not in source
    # No other origin: the SVG namespace is a name, not an address that is fetched.
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg\b)", source), name
    # User text goes in as text nodes: nothing here parses HTML or evaluates strings.
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setTimeout(\"", "cssText", 'setAttribute("style"',
                 "createContextualFragment", "DOMParser"):
        assert sink not in source, f"{name} uses {sink}"


def _list(source: str, constant: str) -> list[str]:
    match = re.search(rf"export const {constant} = (\[[^\]]*\]);", source)
    assert match, constant
    return list(json.loads(re.sub(r",\s*\]", "]", match.group(1))))


@pytest.mark.parametrize(("constant", "kind"), [
    ("CASE_STATUSES", CaseStatus), ("TARGET_TYPES", TargetType),
    ("REPORT_REASONS", ReportReason), ("ACTIONS", Action), ("APPEAL_STATUSES", AppealStatus),
    ("ROLES", Role), ("ACCOUNT_STATUSES", AccountStatus),
])
def test_the_page_offers_the_cores_values(constant: str, kind: type[enum.Enum]) -> None:
    assert _list(_source("enums.js"), constant) == [k.value for k in kind]


async def _page_csp(aiohttp_client: Any, **settings: Any) -> str:
    from signup_support import FAST_HASH

    from adapters.config import Settings
    from adapters.container import Composition
    from adapters.http.app import create_app
    from adapters.http.keys import HttpOptions

    app = create_app(Composition(Settings(**{**FAST_HASH, **settings})), HttpOptions())
    client = await aiohttp_client(app)
    policies = {(await client.get(path)).headers["Content-Security-Policy"]
                for path in ("/admin", "/admin/admin.js", "/admin/admin.css")}
    assert len(policies) == 1, "one policy for the page and its files"
    return policies.pop()


def _img_src(csp: str) -> list[str]:
    rules = dict(rule.strip().split(" ", 1) for rule in csp.split(";"))
    return rules["img-src"].split()


async def test_the_page_shows_images_from_the_s3_endpoint_clients_reach_and_no_other(
    aiohttp_client: Any, s3_server: str, s3_bucket: str,
) -> None:
    csp = await _page_csp(
        aiohttp_client, storage="s3", s3_bucket=s3_bucket, s3_endpoint_url=s3_server,
        s3_public_endpoint_url="http://media.localhost:9000", s3_access_key_id="testing",
        s3_secret_access_key="testing", public_url="https://api.momentic.test",
    )
    assert _img_src(csp) == ["'self'", "data:", "http://media.localhost:9000",
                             "https://api.momentic.test"]
    assert s3_server not in csp, "the endpoint the app uses, not the one clients reach"
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp


async def test_behind_a_cdn_the_page_shows_images_from_the_cdn_only(
    aiohttp_client: Any,
) -> None:
    csp = await _page_csp(aiohttp_client, memory=True,
                          media_base_url="https://media.momentic.test/edge/")
    assert _img_src(csp) == ["'self'", "data:", "https://media.momentic.test"]
    assert "*" not in csp
