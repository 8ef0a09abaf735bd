"""One rule decides whether a streaming replica may serve reads (``Replicas.fit``): the
replica ``pick`` chooses and the state /metrics and /readyz report come from it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from adapters.container import _gauges
from adapters.postgres.replicas import Replica, Replicas


def _replicas() -> Replicas:
    pool: Any = None  # never used: nothing here talks to a database
    at_bound = Replica("a:5432/momentic", pool, up=True, lag=0.5)
    past_bound = Replica("b:5432/momentic", pool, up=True, lag=0.6)
    down = Replica("c:5432/momentic", pool, up=False, lag=0.0)
    return Replicas([at_bound, past_bound, down], sticky=1.0, max_lag=0.5)


def test_only_a_standby_within_the_lag_limit_is_fit() -> None:
    replicas = _replicas()
    assert [replicas.fit(r) for r in replicas.replicas] == [True, False, False]


def test_pick_and_the_reported_states_follow_the_same_rule() -> None:
    replicas = _replicas()
    picked = {replicas.pick(None) for _ in range(6)}
    assert picked == {r for r in replicas.replicas if replicas.fit(r)}
    storage: Any = SimpleNamespace(replicas=replicas, pool_use=None)
    states = _gauges(storage).replicas
    assert states is not None
    assert [(s.name, s.state, s.up) for s in states()] == [
        ("a:5432/momentic", "up", True),
        ("b:5432/momentic", "lagging", False),
        ("c:5432/momentic", "down", False),
    ]
