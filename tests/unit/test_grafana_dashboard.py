"""docs/grafana/momentic.json plots only what /metrics exports: every metric name in every
panel's query is one the app's Metrics or the scrape-time readings produce, and every
exported metric is on some panel."""

from __future__ import annotations

import json
import re
from pathlib import Path

from adapters.http.keys import ReplicaState
from adapters.http.metrics import Backlog, Metrics, _Readings, _ReplicaReadings
from momentic_core.model.jobs import JobBacklog

BOARD = Path(__file__).resolve().parents[2] / "docs" / "grafana" / "momentic.json"
# Series names as Prometheus stores them: a histogram's are _bucket, _count and _sum.
_NAME = re.compile(r"\bmomentic_[a-z_]+\b")


def _exported() -> set[str]:
    metrics = Metrics()
    metrics.requests.labels("GET", "/healthz", "200").inc()
    metrics.latency.labels("GET", "/healthz").observe(0.01)
    metrics.pool.labels("in_use").set(1)
    metrics.observe_replicas([ReplicaState("replica:5432/momentic", True, 0.0, retried=1)])
    readings = _Readings(Backlog(jobs=(JobBacklog("send_mail", 1, 0, 0, 0.0),), open_uploads=0))
    replicas = _ReplicaReadings([ReplicaState("replica:5432/momentic", True, 0.0)])
    families = [*metrics.registry.collect(), *readings.collect(), *replicas.collect()]
    return {sample.name for family in families for sample in family.samples}


def _queried() -> set[str]:
    board = json.loads(BOARD.read_text(encoding="utf-8"))
    exprs = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
    assert exprs
    return {name for expr in exprs for name in _NAME.findall(expr)}


def test_every_panel_queries_an_exported_metric() -> None:
    unknown = _queried() - _exported()
    assert not unknown, f"the dashboard plots what /metrics does not export: {unknown}"


def test_every_exported_metric_is_on_the_dashboard() -> None:
    exported = {name for name in _exported() if not name.endswith(("_created", "_sum"))}
    exported -= {"momentic_http_request_duration_seconds_count"}  # the buckets carry it
    missing = exported - _queried()
    assert not missing, f"exported but on no panel: {missing}"
