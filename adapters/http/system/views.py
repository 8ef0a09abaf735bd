"""Request and response views of the system area (its routes are in
``routes.py`` beside; views other areas use too are in adapters/http/views.py)."""

from __future__ import annotations

from typing import Annotated

import attrs

from adapters.http.schema import Schema

# ---------------------------------------------------------------- problems and system


@attrs.frozen
class StatusOut:
    status: str


@attrs.frozen
class ReplicaOut:
    """A streaming replica (MOMENTIC_DATABASE_REPLICA_URLS) as the answering process last
    looked at it (every 100 ms)."""

    index: int = attrs.field(metadata={
        "description": "Its position in MOMENTIC_DATABASE_REPLICA_URLS, from 1."})
    name: str | None = attrs.field(metadata={
        "description": "host:port/database, no credentials; given only to an operator "
                       "(the request bears MOMENTIC_METRICS_TOKEN as a bearer token or, "
                       "with none set, comes straight from loopback, as for /metrics), "
                       "null for anyone else."})
    state: Annotated[str, Schema(enum=["up", "lagging", "down"])] = attrs.field(metadata={
        "description": "up: serves reads that may lag; lagging: answers but is further "
                       "behind than MOMENTIC_DATABASE_REPLICA_MAX_LAG_SECONDS, so skipped; "
                       "down: does not answer, or is not a standby (promoted), so skipped."})
    lag_seconds: float | None = attrs.field(metadata={
        "description": "Age of the last transaction it replayed while WAL it received waits "
                       "for replay (0: caught up); null when down."})


@attrs.frozen
class ReadyOut:
    """Ready: the primary database, the media storage and Redis (when configured) answer.
    Replicas do not decide readiness (reads fall back to the primary without them)."""

    status: str
    replicas: list[ReplicaOut] = attrs.field(metadata={
        "description": "Each configured streaming replica; empty without replicas."})
