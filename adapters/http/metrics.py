"""``GET /metrics``: Prometheus text, for operators (issue 18 item 4).

Per-process instruments (requests by route and status, their latency, requests in flight,
open WebSockets, database pool use) live in one ``Metrics`` per app, on a registry of its
own, so test apps never share counters. Under ``momentic serve --workers N`` the
supervisor calls ``use_multiprocess`` before it forks: every worker then writes its
values to files in one directory, and whichever worker answers a scrape adds up all of
them (prometheus-client's multiprocess mode; a dead worker's gauges are dropped by
``forget_process``). What is the same for every process (the job queue's backlog per
kind, mail and push included, and open uploads) is read from the database at scrape time.

Not public: with ``MOMENTIC_METRICS_TOKEN`` set, a scrape must send it as a bearer token;
without it, only a client connected from the loopback address is answered (a proxy or
tunnel in front connects from elsewhere, and a request carrying a forwarding header is
refused), everyone else gets 404 as for an unknown route.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import shutil
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from adapters.http import keys
from adapters.http.contract import content, contract
from adapters.http.keys import Backlog, Gauges, PoolUse, ReplicaState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
# Seconds; from a cached read (a few ms) to a slow upload part or a long poll.
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def use_multiprocess(directory: Path) -> None:
    """Called once, before forking the workers: a fresh directory that they all write to."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ[_MULTIPROCESS_DIR] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]


def forget_process(pid: int) -> None:
    """A worker exited: its live gauges (in flight, sockets, pool) no longer count."""
    if _MULTIPROCESS_DIR in os.environ:
        multiprocess.mark_process_dead(pid)  # type: ignore[no-untyped-call]


def _multiprocess() -> bool:
    return _MULTIPROCESS_DIR in os.environ


class Metrics:
    """The per-process instruments of one app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        live = {"multiprocess_mode": "livesum"}  # summed over the workers alive now
        self.requests = Counter(
            "momentic_http_requests", "HTTP requests answered, by route template and status.",
            ["method", "route", "status"], registry=self.registry,
        )
        self.latency = Histogram(
            "momentic_http_request_duration_seconds",
            "Time to answer an HTTP request, by route template.",
            ["method", "route"], buckets=_BUCKETS, registry=self.registry,
        )
        self.in_flight = Gauge(
            "momentic_http_requests_in_flight", "HTTP requests being answered now.",
            registry=self.registry, **live,  # type: ignore[arg-type]
        )
        self.websockets = Gauge(
            "momentic_websockets_open", "Live-update WebSockets open now.",
            registry=self.registry, **live,  # type: ignore[arg-type]
        )
        self.pool = Gauge(
            "momentic_db_pool_connections",
            "Database connections of the pools: state size, in_use or max.",
            ["state"], registry=self.registry, **live,  # type: ignore[arg-type]
        )

        self.replica_retries = Counter(
            "momentic_db_replica_retried_reads", "Reads a streaming replica gave up on "
            "(cancelled by a recovery conflict, or its connection lost), redone on the primary.",
            ["replica"], registry=self.registry,
        )
        self._retried: dict[str, int] = {}  # per replica: what the counter has had
        # Per request, the labelled children by their labels (prometheus-client's own
        # ``labels`` validates and locks on every call), and the pool's last reading
        # (unchanged between most requests: each set is a write to the multiprocess file).
        self._answered: dict[tuple[str, str, str], Counter] = {}
        self._timed: dict[tuple[str, str], Histogram] = {}
        self._pool_seen: PoolUse | None = None

    def answered(self, method: str, route: str, status: int, seconds: float) -> None:
        """One answer: counted by method, route template and status, and timed."""
        key = (method, route, str(status))
        counter = self._answered.get(key)
        if counter is None:
            counter = self._answered[key] = self.requests.labels(*key)
        counter.inc()
        timer = self._timed.get(key[:2])
        if timer is None:
            timer = self._timed[key[:2]] = self.latency.labels(method, route)
        timer.observe(seconds)

    def observe_replicas(self, replicas: list[ReplicaState]) -> None:
        """Add what this process's replicas counted since the last look (the counter
        lives in the registry, so the workers' counts add up in multiprocess mode)."""
        for replica in replicas:
            seen = self._retried.get(replica.name, 0)
            if replica.retried > seen:
                self.replica_retries.labels(replica.name).inc(replica.retried - seen)
                self._retried[replica.name] = replica.retried

    def observe_pool(self, use: PoolUse) -> None:
        if use == self._pool_seen:
            return
        self._pool_seen = use
        self.pool.labels("size").set(use.size)
        self.pool.labels("in_use").set(use.in_use)
        self.pool.labels("max").set(use.max_size)


# The app's instruments (set by app.create_app).
METRICS = web.AppKey("metrics", Metrics)


def route_label(request: web.Request) -> str:
    """The route's template (``/v1/videos/{video_id}``): never the raw path, so the label
    set stays as small as the route table. Unmatched paths share one label."""
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else "unmatched"


@web.middleware
async def metrics_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Outermost: counts every answer, problems and rejected requests included."""
    metrics = request.app[METRICS]
    started = time.perf_counter()
    status = 500
    metrics.in_flight.inc()
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        metrics.in_flight.dec()
        metrics.answered(request.method, route_label(request), status,
                         time.perf_counter() - started)
        gauges = _gauges(request.app)
        if gauges is not None and gauges.pool is not None:
            metrics.observe_pool(gauges.pool())
        if gauges is not None and gauges.replicas is not None:
            metrics.observe_replicas(gauges.replicas())


def _gauges(app: web.Application) -> Gauges | None:
    services = app.get(keys.SERVICES)
    return None if services is None else services.gauges


class _ReplicaReadings(Collector):
    """The streaming replicas as the answering process last saw them."""

    def __init__(self, replicas: list[ReplicaState]) -> None:
        self._replicas = replicas

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "momentic_db_replica_up", "A streaming replica serves reads (1) or is skipped: "
            "down, promoted or lagging (0).", labels=["replica"],
        )
        lag = GaugeMetricFamily(
            "momentic_db_replica_lag_seconds", "Age of the last transaction a replica "
            "replayed while WAL it received waits for replay (0: caught up).",
            labels=["replica"],
        )
        for replica in self._replicas:
            up.add_metric([replica.name], 1.0 if replica.up else 0.0)
            lag.add_metric([replica.name], replica.lag_seconds)
        yield up
        yield lag


class _Readings(Collector):
    """The backlog read for this scrape, as gauge families."""

    def __init__(self, backlog: Backlog) -> None:
        self._backlog = backlog

    def collect(self) -> Iterator[Metric]:
        queued = GaugeMetricFamily(
            "momentic_jobs_queued", "Jobs waiting, due now or later, by kind.", labels=["kind"]
        )
        running = GaugeMetricFamily(
            "momentic_jobs_running", "Jobs leased by a worker, by kind.", labels=["kind"]
        )
        dead = GaugeMetricFamily(
            "momentic_jobs_dead", "Jobs given up on, kept until pruned, by kind.",
            labels=["kind"],
        )
        oldest = GaugeMetricFamily(
            "momentic_jobs_oldest_due_seconds",
            "Age of the oldest job that is due and not taken, by kind (0: none waits).",
            labels=["kind"],
        )
        for job in self._backlog.jobs:
            queued.add_metric([job.kind], job.queued)
            running.add_metric([job.kind], job.running)
            dead.add_metric([job.kind], job.dead)
            oldest.add_metric([job.kind], job.oldest_due_seconds)
        uploads = GaugeMetricFamily(
            "momentic_uploads_open", "Uploads begun and not yet completed or abandoned."
        )
        uploads.add_metric([], self._backlog.open_uploads)
        yield from (queued, running, dead, oldest, uploads)


_FORWARDED = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "CF-Connecting-IP")


def is_operator(request: web.Request, token: str) -> bool:
    """The request is an operator's: it bears ``token`` (MOMENTIC_METRICS_TOKEN) as a
    bearer token or, with no token set, comes straight from loopback. /metrics answers
    only operators; /readyz names the replicas only to them."""
    if token:
        sent = request.headers.get("Authorization", "")
        return hmac.compare_digest(sent.encode(), f"Bearer {token}".encode())
    # The socket's peer, never a forwarded header. A request that came through a proxy
    # (a tunnel on the same host connects from loopback too) is refused without the token.
    if any(name in request.headers for name in _FORWARDED):
        return False
    peer = request.transport.get_extra_info("peername") if request.transport else None
    try:
        return peer is not None and ipaddress.ip_address(peer[0]).is_loopback
    except ValueError:
        return False


_DECLARED = contract(
    "Prometheus metrics, for operators: requests by route and status, latency "
    "histograms, requests in flight, open WebSockets, database pool use, and the job "
    "backlog per kind (queued, running, dead, oldest due age) with open uploads. "
    "Summed over every HTTP worker. With MOMENTIC_METRICS_TOKEN set, send it as "
    "`Authorization: Bearer <token>`; without it only a client connected directly "
    "from loopback is answered. Anyone else gets 404 route_not_found.",
    "system",
    {200: content("Prometheus text exposition format.", {
        "text/plain": {"schema": {"type": "string"}, "example": (
            "# TYPE momentic_jobs_queued gauge\n"
            'momentic_jobs_queued{kind="send_mail"} 0.0\n')}})},
)


def metrics_routes(token: str) -> web.RouteTableDef:
    """GET /metrics, answered to ``token`` (empty: loopback clients only)."""
    routes = web.RouteTableDef()
    routes.get("/metrics")(metrics_handler(token))
    return routes


def metrics_handler(token: str) -> Handler:
    @_DECLARED
    async def scrape(request: web.Request) -> web.Response:
        if not is_operator(request, token):
            raise web.HTTPNotFound()
        metrics = request.app[METRICS]
        # A registry for this scrape only: the instruments (every worker's, or this app's)
        # plus this scrape's readings; the app's own registry is never changed.
        registry = CollectorRegistry(auto_describe=False)
        if _multiprocess():
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        else:
            registry.register(metrics.registry)
        gauges = _gauges(request.app)
        if gauges is not None:
            if gauges.pool is not None:
                metrics.observe_pool(gauges.pool())
            registry.register(_Readings(await gauges.backlog()))
            if gauges.replicas is not None:
                states = gauges.replicas()
                metrics.observe_replicas(states)
                registry.register(_ReplicaReadings(states))
        body = generate_latest(registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    return scrape
