"""The Grafana dashboard (docs/grafana/momentic.json) drawn in headless Chromium from real
/metrics scrapes of an app on PostgreSQL under some traffic (issue 18 item 4): every panel
of the dashboard where it puts it, its queries evaluated over the scrapes as Prometheus
would (tests/browser/dashboard_render.py). ``make screenshot`` keeps the picture as
docs/metrics.png."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app

from .dashboard_render import BOARD, Samples, page, panels, parse_scrape
from .support import FAST_HASH

ROUNDS = 8


@pytest.fixture
async def scrapes(aiohttp_client: Any, database_url: str, tmp_path: Path,
                  clean_pg_pool: Any) -> list[tuple[float, Samples]]:
    """ROUNDS scrapes of /metrics, each after a round of requests: reads, sign-ups (their
    mail goes through the job queue), failed sign-ins and unknown paths."""
    settings = Settings(database_url=database_url, storage="memory", data_dir=str(tmp_path),
                        secret="metrics-page-secret", rate_limit_multiplier=100.0,
                        inprocess_worker=False, **FAST_HASH)
    client = await aiohttp_client(create_app(Composition(settings, workers=False)))
    started = time.monotonic()
    taken = []
    for n in range(ROUNDS):
        for _ in range(n + 2):
            assert (await client.get("/v1/config")).status == 200
        assert (await client.get("/healthz")).status == 200
        r = await client.post("/v1/auth/register", json={
            "email": f"student{n}@bsu.by", "password": "correct horse battery"})
        assert r.status == 202, await r.text()
        r = await client.post("/v1/auth/token", json={
            "grant_type": "password", "email": "nobody@bsu.by", "password": "wrong one"})
        assert 400 <= r.status < 500
        assert (await client.get("/v1/no-such-thing")).status == 404
        r = await client.get("/metrics")
        assert r.status == 200
        taken.append((time.monotonic() - started, parse_scrape(await r.text())))
    return taken


def _last(series: list[tuple[float, float]]) -> float:
    return series[-1][1]


async def test_the_dashboard_draws_every_panel_from_the_scrapes(
    scrapes: list[tuple[float, Samples]], browser: Browser,
) -> None:
    drawn = {panel["title"]: series for panel, series in panels(scrapes)}
    requests = drawn["Requests per second by route"]
    assert {"/v1/config", "/v1/auth/register", "/v1/auth/token", "/healthz",
            "/metrics"} <= set(requests)
    assert all(value > 0 for value in map(_last, requests.values()))
    assert len(requests["/v1/config"]) == ROUNDS - 1  # a rate needs two scrapes
    assert drawn["Errors per second (5xx) by route"] == {}  # none happened
    for quantile in ("Latency p99 by route", "Latency p50 by route"):
        assert _last(drawn[quantile]["/v1/config"]) > 0
    pool = drawn["Database pool"]
    assert set(pool) == {"in use", "open", "max"} and _last(pool["max"]) == 10
    dead = drawn["Dead jobs by kind"]
    assert all(value == 0 for points in dead.values() for _, value in points)

    screen = await browser.new_page(viewport={"width": 1400, "height": 900})
    errors: list[str] = []
    screen.on("pageerror", lambda exc: errors.append(str(exc)))
    await screen.set_content(page(scrapes))
    titles = await screen.locator("section.panel h2").all_inner_texts()
    board = json.loads(BOARD.read_text(encoding="utf-8"))
    assert titles == [panel["title"] for panel in board["panels"]]
    for title, series in drawn.items():
        section = screen.locator(f'section.panel[data-title="{title}"]')
        assert await section.is_visible()
        assert await section.locator("polyline").count() == len(series)
    if target := os.environ.get("MOMENTIC_SCREENSHOT"):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
        await screen.screenshot(path=target, full_page=True)
    assert errors == []
