"""OpenTelemetry tracing (issue 18 item 4), end to end: the standard OTEL_* variables
switch it on, the app's spans go out over OTLP/HTTP to a real receiver (a small aiohttp
server decoding the protobuf with opentelemetry-proto, as a collector would), and a
request to the API on PostgreSQL and S3 gives a server span with its route, status and
request id, with the SQL statements and the S3 call as its children. Without OTEL_*
nothing of OpenTelemetry is even imported."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)
from opentelemetry.proto.trace.v1.trace_pb2 import Span

from adapters import tracing
from adapters.config import Settings
from adapters.container import Composition
from adapters.http.app import create_app
from tests.conftest import S3_ACCESS_KEY_ID, S3_REGION, S3_SECRET_ACCESS_KEY
from tests.signup_support import FAST_HASH

ROOT = Path(__file__).resolve().parents[2]


class Receiver:
    """What an OpenTelemetry collector's OTLP/HTTP receiver does with traces."""

    def __init__(self) -> None:
        self.spans: list[tuple[dict[str, Any], Span]] = []  # (resource attributes, span)

    async def traces(self, request: web.Request) -> web.Response:
        assert request.content_type == "application/x-protobuf"
        export = ExportTraceServiceRequest.FromString(await request.read())
        for resource_spans in export.resource_spans:
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                self.spans.extend((resource, span) for span in scope_spans.spans)
        return web.Response(body=ExportTraceServiceResponse().SerializeToString(),
                            content_type="application/x-protobuf")


def _attributes(values: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in values:
        kind = kv.value.WhichOneof("value")
        out[kv.key] = getattr(kv.value, kind) if kind else None
    return out


@pytest.fixture
def otel_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    for name in ("OTEL_SDK_DISABLED", "OTEL_TRACES_EXPORTER", "OTEL_SERVICE_NAME",
                 "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        monkeypatch.delenv(name, raising=False)
    yield monkeypatch


@pytest.fixture
async def receiver(aiohttp_server: Any, otel_env: pytest.MonkeyPatch) -> Receiver:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/v1/traces", receiver.traces)
    server = await aiohttp_server(app)
    # The one variable an operator sets (the exporter appends /v1/traces).
    otel_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", f"http://127.0.0.1:{server.port}")
    return receiver


@pytest.fixture
async def traced(receiver: Receiver) -> AsyncIterator[tracing.Tracing]:
    started = tracing.start()
    assert started is not None
    try:
        yield started
    finally:
        await asyncio.to_thread(started.stop)


async def test_a_request_gives_a_server_span_with_sql_and_s3_children(
    traced: tracing.Tracing, receiver: Receiver, aiohttp_client: Any, database_url: str,
    s3_server: str, s3_bucket: str, tmp_path: Path,
) -> None:
    settings = Settings(
        database_url=database_url, storage="s3", s3_bucket=s3_bucket,
        s3_endpoint_url=s3_server, s3_region=S3_REGION, s3_access_key_id=S3_ACCESS_KEY_ID,
        s3_secret_access_key=S3_SECRET_ACCESS_KEY, secret="tracing-secret",
        data_dir=str(tmp_path), db_pool_min=1, db_pool_max=2, inprocess_worker=False,
        **FAST_HASH,
    )
    client = await aiohttp_client(create_app(Composition(settings, workers=False)))
    r = await client.get("/readyz", headers={"X-Request-Id": "trace-ready-0001"})
    assert r.status == 200
    r = await client.get("/v1/users/12345", headers={"X-Request-Id": "trace-users-0002"})
    assert r.status == 401
    r = await client.post("/v1/auth/token", headers={"X-Request-Id": "trace-token-0003"},
                          json={"grant_type": "password", "email": "nobody@bsu.by",
                                "password": "not the password"})
    assert r.status in (400, 401)
    token_status = r.status
    assert await asyncio.to_thread(traced.force_flush)

    servers = {
        attrs["momentic.request_id"]: (span, attrs)
        for _, span in receiver.spans
        if span.kind == Span.SPAN_KIND_SERVER
        and "momentic.request_id" in (attrs := _attributes(span.attributes))
    }
    assert set(servers) == {"trace-ready-0001", "trace-users-0002", "trace-token-0003"}
    resources = {resource.get("service.name") for resource, _ in receiver.spans}
    assert resources == {"momentic"}  # OTEL_SERVICE_NAME unset

    def children(parent: Span) -> list[tuple[Span, dict[str, Any]]]:
        return [(span, _attributes(span.attributes)) for _, span in receiver.spans
                if span.trace_id == parent.trace_id and span.parent_span_id == parent.span_id]

    ready, ready_attrs = servers["trace-ready-0001"]
    assert ready.name == "GET /readyz"
    assert ready_attrs["http.route"] == "/readyz"
    assert ready_attrs["http.status_code"] == 200
    below = children(ready)
    sql = [attrs for span, attrs in below if span.kind == Span.SPAN_KIND_CLIENT
           and attrs.get("db.system") == "postgresql"]
    assert any(attrs.get("db.statement") == "SELECT 1" for attrs in sql), below
    s3 = [attrs for span, attrs in below if attrs.get("rpc.service") == "S3"]
    assert [attrs["rpc.method"] for attrs in s3] == ["HeadBucket"], below

    users, users_attrs = servers["trace-users-0002"]
    assert users.name == "GET /v1/users/{user_id}"  # the template, not the id
    assert users_attrs["http.route"] == "/v1/users/{user_id}"
    assert users_attrs["http.status_code"] == 401

    token, token_attrs = servers["trace-token-0003"]
    assert token_attrs["http.route"] == "/v1/auth/token"
    assert token_attrs["http.status_code"] == token_status
    statements = [attrs.get("db.statement", "") for _, attrs in children(token)]
    assert any("users" in statement for statement in statements), statements


@pytest.mark.parametrize("env", [
    {},
    {"OTEL_SERVICE_NAME": "momentic"},  # a name alone exports nothing
    {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_SDK_DISABLED": "true"},
    {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318", "OTEL_TRACES_EXPORTER": "none"},
], ids=["unset", "name only", "sdk disabled", "exporter none"])
def test_without_otel_variables_opentelemetry_is_not_even_imported(
    env: dict[str, str],
) -> None:
    probe = (
        "import sys\n"
        "from adapters import tracing\n"
        "from adapters.cli import main\n"
        "from adapters.http.app import create_app\n"
        "assert tracing.start() is None\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('opentelemetry'))\n"
        "assert not loaded, loaded\n"
    )
    clean = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **env}
    done = subprocess.run([sys.executable, "-c", probe], env=clean, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
