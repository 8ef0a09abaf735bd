"""momentic_db_replica_retried_reads: the counter adds what a replica counted since the
last look, so looking again (every request, every scrape) never counts a read twice."""

from __future__ import annotations

from adapters.http.keys import ReplicaState
from adapters.http.metrics import Metrics


def _value(metrics: Metrics) -> float:
    for family in metrics.registry.collect():
        for sample in family.samples:
            if sample.name == "momentic_db_replica_retried_reads_total":
                return float(sample.value)
    return 0.0


def test_retried_reads_count_each_retry_once() -> None:
    metrics = Metrics()
    metrics.observe_replicas([ReplicaState("r:5432/momentic", True, 0.0, retried=0)])
    assert _value(metrics) == 0.0
    metrics.observe_replicas([ReplicaState("r:5432/momentic", True, 0.0, retried=2)])
    metrics.observe_replicas([ReplicaState("r:5432/momentic", True, 0.0, retried=2)])
    assert _value(metrics) == 2.0
    metrics.observe_replicas([ReplicaState("r:5432/momentic", False, 0.0, retried=3)])
    assert _value(metrics) == 3.0
