"""/metrics under ``momentic serve --workers 2``: whichever worker answers a scrape, it
reports the requests of both (prometheus-client's multiprocess mode, set up by the
supervisor before it forks)."""

from __future__ import annotations

import urllib.request

from prometheus_client.parser import text_string_to_metric_families
from test_serve_workers import _children, _ready, _wait, server

__all__ = ["server"]  # the fixture, shared with test_serve_workers

HITS = 40


def _healthz_count(port: int) -> float:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
        text = r.read().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "momentic_http_requests_total" and sample.labels == {
                "method": "GET", "route": "/healthz", "status": "200"
            }:
                return sample.value
    return 0.0


def test_a_scrape_adds_up_every_worker(server: tuple[int, int]) -> None:
    parent, port = server
    _wait(lambda: _ready(port) and len(_children(parent)) == 2, "two ready workers")
    for _ in range(HITS):
        # A new connection each time: the kernel spreads them over both workers' sockets.
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            assert r.status == 200
    # Each scrape is a new connection too, answered by either worker: all say HITS.
    assert [_healthz_count(port) for _ in range(6)] == [HITS] * 6
