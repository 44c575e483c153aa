"""Wiring of the operations layer: health, metrics, logs, traces around the application.

:func:`build_operations` runs before the stores exist (they report to its
telemetry); :meth:`Operations.wrap_routes` and :meth:`Operations.middleware`
run once the routes are known.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from starlette.middleware import Middleware
from starlette.routing import BaseRoute

from bastion.adapters.redis.client import redis_from_url
from bastion.app.health import health_routes
from bastion.app.metrics import metrics_middleware, metrics_routes
from bastion.blueprint import Blueprint
from bastion.core.ports import PoolStats, Store, Telemetry
from bastion.ops.health import Dependency
from bastion.ops.lifecycle import lifecycle
from bastion.ops.logging import AccessLog
from bastion.ops.metrics import Metrics
from bastion.ops.requests import ObservedRequests, RequestObserver, RouteTemplates
from bastion.settings import Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

    # Imported only when tracing is on: the SDK, the OTLP exporter and the
    # instrumentations cost a worker memory and start-up time it needs not pay.
    from bastion.ops.tracing import Tracing

__all__ = ["Operations", "build_operations"]

log = logging.getLogger("bastion.app")


@dataclass
class Operations:
    """What the operations layer adds to one application."""

    settings: Settings
    metrics: Metrics | None = None
    tracing: Tracing | None = None
    observers: list[RequestObserver] = field(default_factory=list)
    _dependencies: list[Dependency] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[None]]] = field(default_factory=list)

    @property
    def telemetry(self) -> Telemetry | None:
        """Where stores and services report query timings, cache hits and spans."""
        inner = self.metrics.telemetry if self.metrics is not None else None
        if self.tracing is not None:
            return self.tracing.telemetry(inner)
        return inner

    def watch(self, store: Store, pool_stats: Callable[[], PoolStats | None]) -> None:
        """Check ``store`` (and Redis, when configured) for readiness; report its pool."""
        self._dependencies.append(Dependency("database", store.ping))
        redis_url = self.settings.redis_url
        if redis_url is not None:
            client = redis_from_url(redis_url)
            self._dependencies.append(
                Dependency(
                    "redis", client.ping, optional="redis" in self.settings.readiness_optional
                )
            )
            self._closers.append(client.aclose)
        if self.metrics is not None:
            self.metrics.watch_pool(pool_stats)

    def routes(self) -> list[BaseRoute]:
        """``/healthz``, ``/readyz`` and (unless on its own port) ``/metrics``."""
        routes = health_routes(
            self._dependencies, timeout=self.settings.readiness_timeout, lifecycle=lifecycle
        )
        if self.metrics is not None:
            routes += metrics_routes(self.metrics)
        return routes

    def middleware(self, routes: Sequence[BaseRoute], resources: Sequence[str]) -> list[Middleware]:
        """The outermost middleware: the trace span, then request ids, timing and observers."""
        templates = RouteTemplates(routes, resources)
        stack: list[Middleware] = []
        if self.tracing is not None:
            stack.append(Middleware(self.tracing.middleware, templates=templates))
        trace_id = self.tracing.trace_id if self.tracing is not None else None
        stack.append(
            Middleware(
                ObservedRequests,
                templates=templates,
                observers=self.observers,
                **({"trace_id": trace_id} if trace_id is not None else {}),
            )
        )
        if self.metrics is not None:
            stack += metrics_middleware(self.metrics)
        return stack

    async def start(self) -> None:
        """Start background sampling (memory, event loop lag, pools)."""
        if self.metrics is not None:
            await self.metrics.start()

    async def stop(self) -> None:
        """Stop sampling, close the readiness clients and flush traces."""
        if self.metrics is not None:
            await self.metrics.stop()
        for close in self._closers:
            await close()
        self._closers.clear()
        if self.tracing is not None:
            # The exporter's network calls block; a collector that is down must not
            # stall the event loop while the worker stops.
            await asyncio.to_thread(self.tracing.flush)


def build_operations(
    settings: Settings, blueprint: Blueprint, *, span_exporter: SpanExporter | None = None
) -> Operations:
    """Metrics, tracing and the access log as ``settings`` ask.

    ``span_exporter`` replaces the OTLP exporter of traces (tests pass an in-memory one).
    """
    operations = Operations(settings)
    if settings.metrics_enabled:
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        operations.metrics = Metrics(token=token, serve_route=settings.metrics_port is None)
        if token is None and settings.metrics_port is None and not settings.is_development:
            log.warning(
                "GET /metrics is open to anyone who reaches the API port; set "
                "BASTION_METRICS_TOKEN, or BASTION_METRICS_PORT to serve it on a private port"
            )
        operations.observers.append(operations.metrics.observer)
    if settings.tracing:
        from bastion.ops.tracing import Tracing, sdk_disabled

        if sdk_disabled():
            log.info("tracing off: OTEL_SDK_DISABLED=true")
        else:
            operations.tracing = Tracing(service_name=blueprint.name, exporter=span_exporter)
    if settings.access_log:
        operations.observers.append(AccessLog())
    return operations
