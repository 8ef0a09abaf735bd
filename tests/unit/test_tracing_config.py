"""Which OTEL_* variables switch tracing on (adapters/tracing.py), and which are refused at
startup with one line, as a bad MOMENTIC_* setting is. The spans themselves:
tests/integration/test_tracing.py."""

from __future__ import annotations

import pytest

from adapters import tracing
from adapters.config import ConfigError

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}


@pytest.mark.parametrize(("env", "exporters"), [
    ({}, ()),
    ({"OTEL_SERVICE_NAME": "momentic"}, ()),
    ({"OTEL_EXPORTER_OTLP_ENDPOINT": ""}, ()),
    (ENDPOINT, ("otlp",)),
    ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, ("otlp",)),
    ({"OTEL_TRACES_EXPORTER": "otlp"}, ("otlp",)),  # the exporter's default endpoint
    ({"OTEL_TRACES_EXPORTER": " Console "}, ("console",)),
    ({"OTEL_TRACES_EXPORTER": "otlp,console"}, ("otlp", "console")),
    (ENDPOINT | {"OTEL_TRACES_EXPORTER": "none"}, ()),
    (ENDPOINT | {"OTEL_SDK_DISABLED": "true"}, ()),
    (ENDPOINT | {"OTEL_SDK_DISABLED": "TRUE"}, ()),
    (ENDPOINT | {"OTEL_SDK_DISABLED": "false"}, ("otlp",)),
    (ENDPOINT | {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf"}, ("otlp",)),
])
def test_the_variables_that_switch_tracing_on(
    env: dict[str, str], exporters: tuple[str, ...]
) -> None:
    assert tracing.exporters(env) == exporters


@pytest.mark.parametrize(("env", "message"), [
    ({"OTEL_TRACES_EXPORTER": "jaeger"},
     "OTEL_TRACES_EXPORTER: 'jaeger' is not one of otlp, console or none"),
    (ENDPOINT | {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
     "OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' is not supported; only http/protobuf "
     "(OTLP over HTTP, port 4318)"),
    (ENDPOINT | {"OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "http/json"},
     "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json' is not supported; only http/protobuf "
     "(OTLP over HTTP, port 4318)"),
])
def test_what_cannot_be_honoured_is_refused_in_one_line(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as refused:
        tracing.exporters(env)
    assert refused.value.message == message


def test_without_the_extra_tracing_is_refused_not_silently_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(tracing, "_installed", lambda module: module != "opentelemetry.sdk")
    with pytest.raises(ConfigError, match=r"pip install 'momentic\[tracing\]'"):
        tracing.exporters(ENDPOINT)
    assert tracing.exporters({}) == ()  # off needs no extra


def test_off_there_is_no_middleware_and_tagging_does_nothing() -> None:
    assert tracing.server_middlewares() == []
    tracing.tag_request("not-traced-0001")
