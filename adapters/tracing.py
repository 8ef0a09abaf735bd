"""Optional OpenTelemetry tracing, switched on by the standard ``OTEL_*`` variables.

Off, and OpenTelemetry not even imported, unless the environment asks for it: an OTLP
endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) or an
exporter (``OTEL_TRACES_EXPORTER=otlp`` or ``console``), and ``OTEL_SDK_DISABLED`` not
``true``. Then each serving process (every HTTP worker, after the fork) and ``momentic
worker`` trace, with the maintained instrumentations of the ``tracing`` extra:

- every HTTP request, a server span named ``METHOD /route/{template}`` with the route, the
  status and ``momentic.request_id`` (the ``X-Request-Id`` answered);
- every SQL statement through asyncpg, a child span of the request or job running it;
- every S3 call through aiobotocore.

Spans go out in batches (``OTEL_BSP_*``) over OTLP/HTTP protobuf; the exporter reads the
rest of its configuration itself (``OTEL_EXPORTER_OTLP_HEADERS``, ``..._TIMEOUT``, ...),
the sampler comes from ``OTEL_TRACES_SAMPLER`` and the resource from ``OTEL_SERVICE_NAME``
(``momentic`` when unset) and ``OTEL_RESOURCE_ATTRIBUTES``. A setting this cannot honour
(gRPC, an unknown exporter, the extra not installed) is refused at startup, like a bad
``MOMENTIC_*`` one.
"""

from __future__ import annotations

import importlib.util
import os
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from adapters.config import ConfigError

EXPORTERS = ("otlp", "console")
_ENDPOINTS = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_PROTOCOLS = ("OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
_EXTRA = ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http",
          "opentelemetry.instrumentation.aiohttp_server",
          "opentelemetry.instrumentation.asyncpg", "opentelemetry.instrumentation.botocore")

# Set while tracing runs in this process: tags the current span with a request's id, and
# the aiohttp instrumentation's middleware (a server span per request).
_tag_request: Callable[[str], None] | None = None
_server_middleware: Any = None


def exporters(environ: Mapping[str, str] | None = None) -> tuple[str, ...]:
    """The span exporters the environment asks for; () when tracing is off. Raises
    ConfigError for what cannot be honoured, so startup refuses it in one line."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return ()
    names = tuple(
        name.strip().lower() for name in env.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip()
    )
    if not names:
        names = ("otlp",) if any(env.get(name, "").strip() for name in _ENDPOINTS) else ()
    if not names or names == ("none",):
        return ()
    for name in names:
        if name not in EXPORTERS:
            raise ConfigError(f"OTEL_TRACES_EXPORTER: {name!r} is not one of "
                              f"{', '.join(EXPORTERS)} or none")
    if "otlp" in names:
        for variable in _PROTOCOLS:
            protocol = env.get(variable, "").strip().lower()
            if protocol not in ("", "http/protobuf"):
                raise ConfigError(f"{variable}: {protocol!r} is not supported; only "
                                  "http/protobuf (OTLP over HTTP, port 4318)")
    missing = [module for module in _EXTRA if not _installed(module)]
    if missing:
        raise ConfigError("OTEL_* variables ask for tracing, but the tracing extra is not "
                          f"installed ({missing[0]}): pip install 'momentic[tracing]'")
    return names


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


def server_middlewares() -> list[Any]:
    """The middleware that opens each request's server span, outermost; none when
    tracing is off. create_app puts it first."""
    return [] if _server_middleware is None else [_server_middleware]


def tag_request(request_id: str) -> None:
    """Put the request's id on the current (server) span; nothing when tracing is off."""
    if _tag_request is not None:
        _tag_request(request_id)


class Tracing:
    """Tracing in this process: the provider and the instrumentations, until ``stop``."""

    def __init__(self, provider: Any, instrumentors: list[Any]) -> None:
        self.provider = provider
        self._instrumentors = instrumentors

    def force_flush(self) -> bool:
        """Export every span ended so far (blocks: call it off the event loop)."""
        return bool(self.provider.force_flush())

    def stop(self) -> None:
        """Flush what is left and take the instrumentations off again (blocks)."""
        global _tag_request, _server_middleware
        _tag_request = _server_middleware = None
        for instrumentor in reversed(self._instrumentors):
            instrumentor.uninstrument()
        self.provider.shutdown()


def start(environ: Mapping[str, str] | None = None) -> Tracing | None:
    """Start tracing in this process when the environment asks for it (``exporters``);
    None, and nothing imported, when it does not. Call it before the app is created and
    the pools are opened (create_app takes server_middlewares()); the SDK itself reads
    ``os.environ``."""
    names = exporters(environ)
    if not names:
        return None
    # Imported here only: a server without OTEL_* never loads OpenTelemetry.
    from opentelemetry import trace
    from opentelemetry.instrumentation import aiohttp_server
    from opentelemetry.instrumentation.aiohttp_server import AioHttpServerInstrumentor
    from opentelemetry.instrumentation.asyncpg import AsyncPGInstrumentor
    from opentelemetry.instrumentation.botocore import AiobotocoreInstrumentor
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "momentic"}))
    provider = TracerProvider(resource=resource)
    for name in names:
        if name == "otlp":
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
                OTLPSpanExporter,
            )

            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        else:
            provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter()))
    instrumentors: list[Any] = [
        AioHttpServerInstrumentor(),
        AsyncPGInstrumentor(),  # type: ignore[no-untyped-call]
        AiobotocoreInstrumentor(),  # type: ignore[no-untyped-call]
    ]
    application = web.Application
    with warnings.catch_warnings():
        # The aiohttp instrumentor also subclasses web.Application (aiohttp warns against
        # that); the app takes its middleware from server_middlewares() instead.
        warnings.filterwarnings("ignore", "Inheritance class", DeprecationWarning)
        for instrumentor in instrumentors:
            instrumentor.instrument(tracer_provider=provider)
    web.Application = application  # type: ignore[misc]

    def tag(request_id: str) -> None:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("momentic.request_id", request_id)

    global _tag_request, _server_middleware
    _tag_request = tag
    _server_middleware = aiohttp_server.create_aiohttp_middleware(tracer_provider=provider)
    return Tracing(provider, instrumentors)
