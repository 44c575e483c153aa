"""Prometheus metrics: requests, database, cache, process; served as ``/metrics``.

:class:`Metrics` owns every metric of one application. Requests reach it
through its :attr:`~Metrics.observer` (a
:class:`~bastion.ops.requests.RequestObserver`), stores and caches through
its :attr:`~Metrics.telemetry`, and a sampling task (started by
:meth:`~Metrics.start`) adds event loop lag, memory, garbage collection and
the connection pools it was asked to :meth:`~Metrics.watch_pool`.

In one process (tests, embedded use) each instance has its own
:class:`~prometheus_client.CollectorRegistry`, so two applications never mix
their counts. Under ``bastion serve`` (``PROMETHEUS_MULTIPROC_DIR`` set, see
:mod:`bastion.ops.metrics_dir`) every worker writes to the shared directory
and any scrape adds up all workers.

Hot path: the observer keeps the labelled children it has used in a dict
keyed by ``(method, route, status)``, so a request costs dict lookups and
the increments, never a ``labels()`` call.
"""

from __future__ import annotations

import gc
import os
import sys
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import psutil
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.exposition import choose_encoder

from bastion.core.ports import PoolStats, Telemetry
from bastion.ops.event_metrics import EventMetrics
from bastion.ops.metrics_dir import (
    bearer_matches,
    mark_worker_exited,
    multiprocess_dir,
    multiprocess_registry,
)
from bastion.ops.requests import FinishedRequest
from bastion.ops.sampling import GcPauses, LoopSampler

__all__ = ["Metrics", "PrometheusTelemetry", "RequestMetrics"]

HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
"""Request duration buckets (seconds): a cached read takes well under a millisecond."""
QUERY_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                 0.5, 1.0, 2.5, 5.0)  # fmt: skip
"""Statement buckets (seconds): an indexed SQLite read takes tens of microseconds."""
WAIT_BUCKETS = HTTP_BUCKETS
"""Connection wait buckets (seconds), up to the longest acquire timeout that makes sense."""
LAG_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
"""Event loop lag buckets (seconds)."""
GC_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
"""Garbage collection pause buckets (seconds): a young collection takes microseconds."""

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
"""Methods labelled as themselves; any other is ``other`` (clients choose methods freely)."""

_HTTP_LABELS = ("method", "route", "status_class")
TOKEN_ROUTE = "/v1/auth/token"
"""The sign-in endpoint: its 400s (wrong password, bad refresh token) are auth failures."""
_Labels = Mapping[str, str]


class RequestMetrics:
    """The request observer: counts, durations, in-flight, 429s and 401s by route template."""

    __slots__ = ("_auth_failures", "_children", "_duration", "_in_flight", "_rejections",
                 "_requests")  # fmt: skip

    def __init__(
        self,
        *,
        requests: Counter,
        duration: Histogram,
        in_flight: Gauge,
        rejections: Counter,
        auth_failures: Counter,
    ) -> None:
        self._requests = requests
        self._duration = duration
        self._in_flight = in_flight
        self._rejections = rejections
        self._auth_failures = auth_failures
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram, Counter | None]] = {}

    def started(self, method: str) -> None:
        """One more request in flight."""
        self._in_flight.inc()

    def finished(self, request: FinishedRequest) -> None:
        """Count the request under its method, route template and status class."""
        key = (request.method, request.route, request.status)
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = self._labelled(*key)
        requests, duration, refusals = children
        requests.inc()
        duration.observe(request.seconds)
        if refusals is not None:
            refusals.inc()
        self._in_flight.dec()

    def _labelled(
        self, method: str, route: str, status: int
    ) -> tuple[Counter, Histogram, Counter | None]:
        labels = (method if method in _METHODS else "other", route, f"{status // 100}xx")
        refusals = None
        if status == 429:
            refusals = self._rejections.labels(route)
        elif status == 401 or (status == 400 and route == TOKEN_ROUTE):
            # A refused sign-in is a 400 (OAuth 2.0's invalid_grant), not a 401.
            refusals = self._auth_failures.labels(route)
        return self._requests.labels(*labels), self._duration.labels(*labels), refusals


class _Family:
    """One metric that telemetry reaches by name, with the children it has made."""

    __slots__ = ("children", "label_names", "metric")

    def __init__(self, metric: Counter | Histogram, label_names: tuple[str, ...]) -> None:
        self.metric = metric
        self.label_names = label_names
        self.children: dict[tuple[tuple[str, str], ...], Any] = {}

    def child(self, labels: _Labels | None) -> Any:
        key = tuple(labels.items()) if labels else ()
        found = self.children.get(key)
        if found is None:
            given = labels or {}
            found = (
                self.metric.labels(*(str(given.get(n, "")) for n in self.label_names))
                if self.label_names
                else self.metric
            )
            self.children[key] = found
        return found


_NO_SPAN: AbstractContextManager[None] = nullcontext()


class PrometheusTelemetry:
    """The :class:`~bastion.core.ports.Telemetry` port on Prometheus metrics.

    Known names: ``db_query_seconds``, ``db_pool_wait_seconds`` (observed) and
    ``cache_requests_total`` (counted). Other names are ignored, so an adapter
    can report something new before it has a metric. Spans are tracing's job.
    """

    def __init__(self, counters: dict[str, _Family], histograms: dict[str, _Family]) -> None:
        self._counters = counters
        self._histograms = histograms

    def count(self, name: str, value: float = 1.0, labels: _Labels | None = None) -> None:
        """Add ``value`` to the counter ``name``."""
        family = self._counters.get(name)
        if family is not None:
            family.child(labels).inc(value)

    def observe(self, name: str, seconds: float, labels: _Labels | None = None) -> None:
        """Record one duration in the histogram ``name``."""
        family = self._histograms.get(name)
        if family is not None:
            family.child(labels).observe(seconds)

    def span(self, name: str, attributes: _Labels | None = None) -> AbstractContextManager[None]:
        """No span (tracing wraps this telemetry when it is on)."""
        return _NO_SPAN


def _values_are_shared() -> bool:
    return bool(getattr(values.ValueClass, "_multiprocess", False))


class Metrics:
    """Every metric of one application.

    In multiprocess mode a process holds one ``Metrics`` (a worker serves one
    application): two would write the same series of the same files.

    Args:
        token: when set, ``/metrics`` answers only ``Authorization: Bearer <token>``.
        serve_route: ``False`` when metrics are served on a port of their own.
        sample_interval: seconds between two samples of the event loop lag,
            memory, pools and garbage collections.
    """

    def __init__(
        self, *, token: str | None = None, serve_route: bool = True, sample_interval: float = 0.5
    ) -> None:
        self.token = token
        self.serve_route = serve_route
        directory = multiprocess_dir()
        self.directory: Path | None = directory if directory and _values_are_shared() else None
        """The workers' shared directory in multiprocess mode, else ``None``."""
        self.registry: CollectorRegistry | None = (
            None if self.directory else CollectorRegistry(auto_describe=False)
        )
        """This instance's registry in single-process mode (``None`` in multiprocess mode)."""
        reg = self.registry
        http = _HTTP_LABELS
        self.observer = RequestMetrics(
            requests=Counter(
                "bastion_http_requests", "HTTP requests answered.", http, registry=reg
            ),
            duration=Histogram(
                "bastion_http_request_duration_seconds",
                "Time from a request's arrival to the end of its response.",
                http,
                buckets=HTTP_BUCKETS,
                registry=reg,
            ),
            in_flight=Gauge(
                "bastion_http_requests_in_flight",
                "Requests being answered now.",
                registry=reg,
                multiprocess_mode="livesum",
            ),
            rejections=Counter(
                "bastion_rate_limit_rejections",
                "Requests refused with 429 Too Many Requests.",
                ("route",),
                registry=reg,
            ),
            auth_failures=Counter(
                "bastion_auth_failures",
                "Requests refused with 401 Unauthorized.",
                ("route",),
                registry=reg,
            ),
        )
        queries = Histogram(
            "bastion_db_query_duration_seconds",
            "Time of one database statement, by resource and operation.",
            ("resource", "operation"),
            buckets=QUERY_BUCKETS,
            registry=reg,
        )
        pool_wait = Histogram(
            "bastion_db_pool_wait_seconds",
            "Time a request waited for a database connection, when every one was taken.",
            buckets=WAIT_BUCKETS,
            registry=reg,
        )
        cache = Counter(
            "bastion_cache_requests",
            "Read cache lookups, by resource, tier (local, shared) and result.",
            ("resource", "tier", "result"),
            registry=reg,
        )
        self.telemetry: Telemetry = PrometheusTelemetry(
            counters={"cache_requests_total": _Family(cache, ("resource", "tier", "result"))},
            histograms={
                "db_query_seconds": _Family(queries, ("resource", "operation")),
                "db_pool_wait_seconds": _Family(pool_wait, ()),
            },
        )

        def pool_gauge(name: str, documentation: str) -> Gauge:
            return Gauge(name, documentation, registry=reg, multiprocess_mode="livesum")

        self._pool_gauges = (
            pool_gauge("bastion_db_pool_connections_open", "Database connections open."),
            pool_gauge("bastion_db_pool_connections_in_use", "Connections lent to a request."),
            pool_gauge("bastion_db_pool_waiting", "Requests waiting for a connection."),
            pool_gauge("bastion_db_pool_connections_max", "The most connections the pool opens."),
        )
        self._pools: list[Callable[[], PoolStats | None]] = []
        self._rss = Gauge(
            "bastion_process_resident_memory_bytes",
            "Resident memory of the process (per worker: label pid).",
            registry=reg,
            multiprocess_mode="liveall",
        )
        self._blocks = Gauge(
            "bastion_process_allocated_blocks",
            "Memory blocks the Python allocator has handed out; steady growth is a leak.",
            registry=reg,
            multiprocess_mode="liveall",
        )
        generation = ("generation",)
        gc_pause = Histogram(
            "bastion_gc_pause_seconds",
            "Time the garbage collector stopped the process, by generation.",
            generation,
            buckets=GC_BUCKETS,
            registry=reg,
        )
        gc_runs = Counter(
            "bastion_gc_collections",
            "Garbage collections, by generation.",
            generation,
            registry=reg,
        )
        gc_collected = Counter(
            "bastion_gc_collected_objects",
            "Objects the garbage collector freed, by generation.",
            generation,
            registry=reg,
        )
        gc_uncollectable = Counter(
            "bastion_gc_uncollectable_objects",
            "Objects the garbage collector found but could not free, by generation.",
            generation,
            registry=reg,
        )
        self._gc_children = [
            (
                gc_pause.labels(str(g)),
                gc_runs.labels(str(g)),
                gc_collected.labels(str(g)),
                gc_uncollectable.labels(str(g)),
            )
            for g in range(len(gc.get_count()))
        ]
        self._gc = GcPauses()
        lag = Histogram(
            "bastion_event_loop_lag_seconds",
            "How late the event loop ran a timer: time every request waited behind blocking work.",
            buckets=LAG_BUCKETS,
            registry=reg,
        )
        self._event_metrics: EventMetrics | None = None
        self._process = psutil.Process()
        self._sampler = LoopSampler(
            interval=sample_interval,
            on_lag=lag.observe,
            samplers=(self._sample_process, self._sample_pools, self._flush_gc),
        )

    def event_metrics(self) -> EventMetrics:
        """The outbox relay's and deliveries' instruments (made on first use: only a
        process that relays has them)."""
        if self._event_metrics is None:
            self._event_metrics = EventMetrics(self.registry)
        return self._event_metrics

    def authorized(self, authorization: str | None) -> bool:
        """Whether a scrape with this ``Authorization`` header may read the metrics."""
        return self.token is None or bearer_matches(authorization, self.token)

    def render(self, accept: str | None = None) -> tuple[bytes, str]:
        """The metrics in the format ``accept`` asks for (Prometheus text by default).

        In multiprocess mode this reads every worker's files: call it off the event loop.
        """
        registry = self.registry
        if registry is None:
            assert self.directory is not None
            registry = multiprocess_registry(self.directory)
        encoder, content_type = choose_encoder(accept or "")
        return encoder(registry), content_type

    def watch_pool(self, stats: Callable[[], PoolStats | None]) -> None:
        """Sample a connection pool's gauges (several pools are added up)."""
        self._pools.append(stats)

    async def start(self) -> None:
        """Start timing garbage collections and sampling."""
        self._gc.install()
        self._sampler.sample()
        self._sampler.start()

    async def stop(self) -> None:
        """Stop sampling (after a last sample) and timing garbage collections."""
        self._gc.remove()
        await self._sampler.stop()
        if self.directory is not None:
            # This worker is ending: its live gauges must not be added to the others'.
            mark_worker_exited(os.getpid())

    @property
    def sampling(self) -> bool:
        """Whether the sampling task runs."""
        return self._sampler.running

    def _sample_process(self) -> None:
        self._rss.set(self._process.memory_info().rss)
        self._blocks.set(sys.getallocatedblocks())

    def _sample_pools(self) -> None:
        totals = [0, 0, 0, 0]
        seen = False
        for stats in self._pools:
            snapshot = stats()
            if snapshot is not None:
                seen = True
                totals[0] += snapshot.size
                totals[1] += snapshot.in_use
                totals[2] += snapshot.waiting
                totals[3] += snapshot.max_size
        if seen:
            for gauge, value in zip(self._pool_gauges, totals, strict=True):
                gauge.set(value)

    def _flush_gc(self) -> None:
        children = self._gc_children
        for pause in self._gc.drain():
            if pause.generation < len(children):
                duration, runs, collected, uncollectable = children[pause.generation]
                duration.observe(pause.seconds)
                runs.inc()
                if pause.collected:
                    collected.inc(pause.collected)
                if pause.uncollectable:
                    uncollectable.inc(pause.uncollectable)
