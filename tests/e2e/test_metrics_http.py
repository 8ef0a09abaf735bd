"""GET /metrics (issue 18 item 4): Prometheus text, parsed as Prometheus would, on the
in-memory app over a real loopback socket. The multiprocess sum across SO_REUSEPORT
workers is checked in tests/integration/test_serve_workers.py."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import make_mocked_request
from prometheus_client.parser import text_string_to_metric_families
from signup_support import FAST_HASH, Api, PeerTransport

from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from adapters.http.keys import HttpOptions
from adapters.http.metrics import is_operator
from adapters.memory.mail import InMemoryMailer
from momentic_core.model.devices import Platform
from momentic_core.model.jobs import DeliverPushes, PushDelivery

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


async def scrape(client: Any, **headers: str) -> Samples:
    resp = await client.get("/metrics", headers=headers)
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"].startswith("text/plain")
    return samples(await resp.text())


@pytest.fixture
async def make_client(aiohttp_client: Any) -> Any:
    async def make(**options: Any) -> tuple[Any, Composition, Api]:
        mailer = InMemoryMailer()
        backend = Composition(Settings(memory=True, **FAST_HASH), mailer=mailer)
        client = await aiohttp_client(create_app(backend, HttpOptions(**options)))
        return client, backend, Api(client, mailer)

    return make


async def test_requests_are_counted_by_route_template_and_status(make_client: Any) -> None:
    client, _, _ = await make_client()
    for _ in range(3):
        assert (await client.get("/healthz")).status == 200
    for video_id in (1, 2):  # two paths, one route
        assert (await client.get(f"/v1/videos/{video_id}")).status == 401
    assert (await client.get("/no/such/path")).status == 404
    found = await scrape(client)
    total = "momentic_http_requests_total"
    assert value(found, total, method="GET", route="/healthz", status="200") == 3
    assert value(found, total, method="GET", route="/v1/videos/{video_id}", status="401") == 2
    assert value(found, total, method="GET", route="unmatched", status="404") == 1
    assert not [key for key in found if "/v1/videos/1" in str(key)], "raw paths as labels"
    count = "momentic_http_request_duration_seconds_count"
    assert value(found, count, method="GET", route="/healthz") == 3
    inf = "momentic_http_request_duration_seconds_bucket"
    assert value(found, inf, method="GET", route="/healthz", le="+Inf") == 3
    # the scrape itself is in flight while it is answered
    assert value(found, "momentic_http_requests_in_flight") == 1


async def test_the_job_backlog_and_open_uploads_are_read_at_scrape_time(
    make_client: Any,
) -> None:
    client, backend, _ = await make_client()
    storage = await backend.container.storage()
    async with storage.uow() as tx:
        for n in (1, 2):
            await tx.jobs.enqueue(DeliverPushes([PushDelivery(
                device_id=n, platform=Platform.IOS, token="ab" * 32, title="t", body="b",
                user_id=n, key=f"n:{n}:{n}")]))
    found = await scrape(client)
    assert value(found, "momentic_jobs_queued", kind="push.deliver") == 2
    assert value(found, "momentic_jobs_running", kind="push.deliver") == 0
    assert value(found, "momentic_jobs_dead", kind="push.deliver") == 0
    assert value(found, "momentic_jobs_oldest_due_seconds", kind="push.deliver") >= 0
    assert value(found, "momentic_uploads_open") == 0


async def test_open_websockets_are_a_gauge(make_client: Any) -> None:
    client, _, api = await make_client()
    headers = await api.signup_auth()
    ws = await client.ws_connect("/v1/ws", headers=headers)
    await ws.receive_json()  # the hello: the socket is attached
    assert value(await scrape(client), "momentic_websockets_open") == 1
    await ws.close()
    assert value(await scrape(client), "momentic_websockets_open") == 0


async def test_a_token_guards_the_scrape_when_set(make_client: Any) -> None:
    client, _, _ = await make_client(metrics_token="s3cret-scrape")
    assert (await client.get("/metrics")).status == 404
    wrong = {"Authorization": "Bearer nope"}
    assert (await client.get("/metrics", headers=wrong)).status == 404
    await scrape(client, Authorization="Bearer s3cret-scrape")


async def test_without_a_token_only_direct_loopback_clients_are_answered(
    make_client: Any,
) -> None:
    client, _, _ = await make_client()
    for header in ("X-Forwarded-For", "Forwarded", "CF-Connecting-IP"):
        resp = await client.get("/metrics", headers={header: "203.0.113.9"})
        assert resp.status == 404, header  # through a proxy on this host
    outside = make_mocked_request("GET", "/metrics", transport=PeerTransport(("10.1.2.3", 5000)))
    assert not is_operator(outside, "")
    inside = make_mocked_request("GET", "/metrics", transport=PeerTransport(("::1", 5000, 0, 0)))
    assert is_operator(inside, "")

