"""``bastion worker``: the outbox relay and event deliveries in a process of their own,
with a small HTTP endpoint for probes and metrics.

- ``GET /healthz``: the process is alive.
- ``GET /readyz``: the database and the broker answer (503 problem document if not),
  in the same format as the server's.
- ``GET /metrics``: outbox lag (count and age of unpublished events), events
  published, publish failures, deliveries by result (Prometheus text format).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.app import BastionApp, create_app
from bastion.app.events import EventsWiring
from bastion.app.health import health_routes
from bastion.blueprint import Blueprint
from bastion.ops.health import Dependency
from bastion.ops.lifecycle import Lifecycle
from bastion.settings import Settings

__all__ = ["EventMetrics", "build_worker", "worker_probe_app"]

log = logging.getLogger("bastion.events")

_LAG_INTERVAL_SECONDS = 2.0


class EventMetrics(Collector):
    """The relay's and the deliveries' numbers, read at each scrape."""

    def __init__(self, events: EventsWiring) -> None:
        self._events = events
        self.lag_age: float | None = None

    def collect(self) -> Iterator[Any]:
        """Prometheus metric families."""
        relay, runner = self._events.relay, self._events.deliveries
        if relay is not None:
            pending = GaugeMetricFamily(
                "bastion_outbox_pending_events", "Events committed but not yet published."
            )
            pending.add_metric([], relay.stats.pending)
            yield pending
            age = GaugeMetricFamily(
                "bastion_outbox_oldest_age_seconds",
                "Age of the oldest unpublished event (0 when none waits).",
            )
            age.add_metric([], self.lag_age or 0.0)
            yield age
            published = CounterMetricFamily(
                "bastion_events_published", "Events published to the broker.", labels=["type"]
            )
            for event_type, count in sorted(relay.stats.by_type.items()):
                published.add_metric([event_type], count)
            yield published
            failures = CounterMetricFamily(
                "bastion_event_publish_failures", "Rounds that failed to publish (retried)."
            )
            failures.add_metric([], relay.stats.failures)
            yield failures
        if runner is not None:
            deliveries = CounterMetricFamily(
                "bastion_event_deliveries",
                "Webhook and consumer delivery attempts by result.",
                labels=["result"],
            )
            deliveries.add_metric(["delivered"], runner.delivered)
            deliveries.add_metric(["failed"], runner.failed_attempts)
            deliveries.add_metric(["dead_lettered"], runner.dead_lettered)
            yield deliveries


def build_worker(settings: Settings, blueprint: Blueprint) -> BastionApp:
    """The application a worker runs: the same wiring as the server (hooks, consumers,
    identity), with the relay and deliveries on, whatever ``relay_in_server`` says."""
    return create_app(blueprint, settings=settings, relay=True)


def worker_probe_app(app: BastionApp) -> Starlette:
    """The worker's HTTP endpoint; its lifespan starts and stops ``app``'s relay."""
    events = app.events
    assert events is not None
    registry = CollectorRegistry(auto_describe=True)
    metrics = EventMetrics(events)
    registry.register(metrics)

    async def sample_lag() -> None:
        while True:
            if events.relay is not None:
                with contextlib.suppress(Exception):
                    _, metrics.lag_age = await events.relay.measure_lag()
            await asyncio.sleep(_LAG_INTERVAL_SECONDS)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await app.start()
        sampler = asyncio.create_task(sample_lag())
        try:
            yield
        finally:
            sampler.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
            await app.stop()

    # The same /healthz and /readyz as the server's (docs/operations.md), with the broker
    # as a dependency beside the database.
    dependencies = [
        Dependency("database", events.sql_store.ping),
        Dependency("broker", _broker_ping(events)),
    ]
    probes = health_routes(
        dependencies, timeout=app.settings.readiness_timeout * 2, lifecycle=Lifecycle()
    )
    return Starlette(
        routes=[*probes, Route("/metrics", metrics_endpoint)],
        lifespan=lifespan,
    )


def _broker_ping(events: EventsWiring) -> Callable[[], Awaitable[None]]:
    async def ping() -> None:
        if events.broker is not None:
            await events.broker.ping()

    return ping
