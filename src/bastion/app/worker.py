"""``bastion worker``: the outbox relay and event deliveries in a process of their own,
with a small HTTP endpoint for probes and metrics.

- ``GET /healthz``: the process is alive.
- ``GET /readyz``: the database and the broker answer (503 problem document if not),
  in the same format as the server's.
- ``GET /metrics``: outbox lag (count and age of unpublished events), events
  published, publish failures, deliveries by result (Prometheus text format).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from prometheus_client import CollectorRegistry, generate_latest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bastion.app import BastionApp, create_app
from bastion.app.events import EventsWiring
from bastion.app.health import health_routes
from bastion.blueprint import Blueprint
from bastion.ops.event_metrics import EventMetrics
from bastion.ops.health import Dependency
from bastion.ops.lifecycle import Lifecycle
from bastion.settings import Settings

__all__ = ["build_worker", "worker_probe_app"]

log = logging.getLogger("bastion.events")


def build_worker(settings: Settings, blueprint: Blueprint) -> BastionApp:
    """The application a worker runs: the same wiring as the server (hooks, consumers,
    identity), with the relay and deliveries on, whatever ``relay_in_server`` says."""
    return create_app(blueprint, settings=settings, relay=True)


def worker_probe_app(app: BastionApp) -> Starlette:
    """The worker's HTTP endpoint; its lifespan starts and stops ``app``'s relay."""
    events = app.events
    assert events is not None
    registry = CollectorRegistry(auto_describe=True)
    events.report_to(EventMetrics(registry).update)

    async def metrics_endpoint(request: Request) -> Response:
        return Response(generate_latest(registry), media_type="text/plain; version=0.0.4")

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await app.start()
        try:
            yield
        finally:
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
