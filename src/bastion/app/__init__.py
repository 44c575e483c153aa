"""The wiring point: settings and a blueprint become a running ASGI application.

Nothing is opened at import time. :func:`create_app` builds everything from
the values it is given; connections open when the application starts (its
lifespan, or the first request when it is mounted inside another app whose
lifespan does not reach it)::

    from fastapi import FastAPI
    from bastion.app import create_app

    api = FastAPI()
    api.mount("/backend", create_app("bastion.yaml"))
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import BaseRoute
from starlette.types import Receive, Scope, Send

from bastion.adapters.sql.drivers import PoolConfig
from bastion.adapters.sql.store import SqlStore
from bastion.api.rest import (
    ProblemMiddleware,
    RestConfig,
    http_exception_handler,
    problem_for_error,
    problem_response,
    resource_routes,
)
from bastion.api.rest.openapi import DocumentLimits, build_openapi, openapi_routes
from bastion.api.rest.versions import VersionedEndpoint, version_views
from bastion.api.rest.webhooks import webhook_routes
from bastion.app.caching import cached_store
from bastion.app.draining import WorkerControl
from bastion.app.events import EventsWiring, runs_relay_in_server, url_checker
from bastion.app.extensions import load_reference
from bastion.app.flags import FlagsWiring, build_flags
from bastion.app.identity import IdentityWiring, build_identity
from bastion.app.operations import Operations, build_operations
from bastion.app.routing import grouped_routes
from bastion.blueprint import Blueprint, load_blueprint, with_identity
from bastion.core import (
    AccessRules,
    BastionError,
    Hooks,
    IdempotencyPolicy,
    IdempotentRecords,
    RecordService,
    StoreUnavailable,
)
from bastion.core.identity.account_hooks import register_account_hooks
from bastion.core.ports import Store, Telemetry
from bastion.ops.lifecycle import lifecycle
from bastion.ops.logging import configure_logging, secret_field_names
from bastion.settings import LogFormat, Settings

if TYPE_CHECKING:
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = ["BastionApp", "app_from_environment", "create_app"]

log = logging.getLogger("bastion.app")


class BastionApp:
    """The ASGI application serving one blueprint.

    Attributes:
        blueprint: the validated blueprint served.
        settings: the settings it was built with.
        service: the record service (for custom routes and tests).
        starlette: the underlying Starlette application.
    """

    def __init__(
        self,
        *,
        blueprint: Blueprint,
        settings: Settings,
        service: RecordService,
        store: Store,
        routes: Sequence[BaseRoute],
        identity: IdentityWiring,
        operations: Operations,
        flags: FlagsWiring | None = None,
        events: EventsWiring | None = None,
    ) -> None:
        self.blueprint = blueprint
        self.events = events
        """The event log, and the outbox relay and deliveries when this process runs them."""
        self.settings = settings
        self.service = service
        self.store = store
        self.identity = identity
        self.operations = operations
        self.flags = flags
        self._started = False
        self._start_lock = asyncio.Lock()
        self._control: WorkerControl | None = None
        middleware = operations.middleware(routes, list(blueprint.resources))
        middleware.append(Middleware(ProblemMiddleware))
        if settings.cors_origins:
            middleware.append(
                Middleware(
                    CORSMiddleware,
                    allow_origins=settings.cors_origins,
                    allow_methods=settings.cors_methods,
                    allow_headers=settings.cors_headers,
                    allow_credentials=settings.cors_credentials,
                    expose_headers=[
                        "ETag",
                        "Idempotent-Replayed",
                        "Location",
                        "Retry-After",
                        "X-Request-ID",
                    ],
                    max_age=settings.cors_max_age,
                )
            )
        # Inside CORS, so a 401 still carries the CORS headers a browser needs to read it.
        middleware.append(identity.middleware)
        if flags is not None:
            middleware += flags.middleware
        self.starlette = Starlette(
            routes=list(routes),
            middleware=middleware,
            exception_handlers={HTTPException: http_exception_handler},
            lifespan=self._lifespan,
        )
        self.starlette.state.bastion = self

    async def start(self) -> None:
        """Open connections; safe to call more than once."""
        async with self._start_lock:
            if not self._started:
                await self.store.start()
                await self.identity.start()
                await self.operations.start()
                if self.flags is not None:
                    await self.flags.start()
                if self.events is not None:
                    await self.events.start()
                self._started = True

    async def stop(self) -> None:
        """Close connections."""
        async with self._start_lock:
            if self._started:
                if self.events is not None:
                    await self.events.stop()
                if self.flags is not None:
                    await self.flags.stop()
                await self.operations.stop()
                await self.identity.stop()
                await self.store.close()
                self._started = False

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.start()
        self._control = WorkerControl.attach(
            grace=self.settings.shutdown_grace_seconds,
            lifecycle=lifecycle,
            max_requests=self.settings.max_requests,
            max_requests_jitter=self.settings.max_requests_jitter,
        )
        try:
            yield
        finally:
            if self._control is not None:
                self._control.detach()
                self._control = None
            await self.stop()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._control is not None and scope["type"] == "http":
            self._control.request_started()
        if scope["type"] == "http" and not self._started:
            # Mounted inside another application: its lifespan never reached us.
            try:
                await self.start()
            except BastionError as exc:
                log.warning("cannot start: %s", exc.detail, exc_info=exc)
                unavailable = StoreUnavailable("the database is unavailable; retry shortly")
                response = problem_response(problem_for_error(unavailable), instance=scope["path"])
                await response(scope, receive, send)
                return
        await self.starlette(scope, receive, send)


def create_app(
    blueprint: Blueprint | str | Path | None = None,
    *,
    settings: Settings | None = None,
    hooks: Hooks | None = None,
    routes: Sequence[BaseRoute] = (),
    telemetry: Telemetry | None = None,
    span_exporter: SpanExporter | None = None,
    relay: bool | None = None,
) -> BastionApp:
    """Build the application for ``blueprint`` (a model or a YAML path).

    Args:
        blueprint: the blueprint, or the path of its YAML file; defaults to
            ``settings.blueprint``.
        settings: defaults to reading ``BASTION_*`` variables and ``.env``.
        hooks: lifecycle hooks; defaults to those the blueprint's ``hooks`` key names.
        routes: extra Starlette routes served before the generated ones;
            the blueprint's ``routes`` key adds more.
        telemetry: where query timings and counters go; defaults to the operations
            layer's (Prometheus metrics, and OpenTelemetry spans when tracing is on).
        span_exporter: where spans go when ``settings.tracing`` is on, instead of
            the OTLP exporter the ``OTEL_*`` variables configure (tests pass the
            SDK's in-memory exporter).
        relay: run the outbox relay and event deliveries in this application's process;
            by default only with ``BASTION_RELAY_IN_SERVER=true``. ``bastion serve``
            passes ``True`` when no broker is configured, ``bastion worker`` always:
            an application embedded elsewhere relays only when asked to.

    Raises:
        BlueprintInvalid: the blueprint (or the Python code it names) is wrong.
    """
    settings = settings or Settings()
    if blueprint is None:
        blueprint = settings.blueprint
    if not isinstance(blueprint, Blueprint):
        blueprint = load_blueprint(blueprint)
    # Every application serves the built-in users, tenants and Bastion's own bookkeeping.
    blueprint = with_identity(blueprint)
    if hooks is None:
        hooks = load_reference(blueprint, "hooks", "hooks") or Hooks()
    register_account_hooks(hooks, access_ttl=timedelta(seconds=settings.access_token_ttl_seconds))
    project_routes = load_reference(blueprint, "routes", "routes") or []
    operations = build_operations(settings, blueprint, span_exporter=span_exporter)
    if telemetry is None:
        telemetry = operations.telemetry
    sql_store = SqlStore(
        url=settings.database_url,
        blueprint=blueprint,
        pool=PoolConfig(
            min_size=settings.db_pool_min,
            max_size=settings.db_pool_max,
            connect_timeout=settings.db_connect_timeout,
            statement_timeout=settings.db_statement_timeout,
            acquire_timeout=settings.db_acquire_timeout,
            busy_timeout=settings.sqlite_busy_timeout,
        ),
        telemetry=telemetry,
    )
    served_store = cached_store(settings, blueprint, sql_store, telemetry)
    events = EventsWiring(settings, blueprint, sql_store)
    access = AccessRules(blueprint, open_by_default=settings.is_development)
    service = RecordService(
        blueprint=blueprint,
        store=served_store,
        hooks=hooks,
        telemetry=telemetry,
        access=access,
        events=events.log,
    )
    events.attach(service, hooks, run=bool(settings.relay_in_server) if relay is None else relay)
    assert events.deliveries is not None  # attach always builds it
    webhooks = webhook_routes(
        service,
        secret_box=events.secret_box,
        check_url=url_checker(settings),
        replay=events.deliveries.replay,
        secret_overlap=timedelta(seconds=settings.webhook_secret_overlap_seconds),
    )
    idempotent = IdempotentRecords(
        records=service,
        policy=IdempotencyPolicy(ttl=timedelta(seconds=settings.idempotency_ttl_seconds)),
    )
    # Every API version is served from the same records; newest first, so that
    # nothing of an older prefix shadows a newer one.
    generated: list[BaseRoute] = []
    for view in reversed(version_views(blueprint)):
        rest = RestConfig(
            prefix=view.prefix,
            max_body_bytes=settings.max_body_bytes,
            batch_max=settings.batch_max,
        )
        versioned = (
            None if view.is_identity and not view.headers else VersionedEndpoint(view, blueprint)
        )
        generated += resource_routes(service, rest, idempotent=idempotent, versioned=versioned)
    # The OpenAPI document is built once here; /openapi.json serves its encoded bytes.
    document = build_openapi(blueprint, limits=DocumentLimits(batch_max=settings.batch_max))
    api_docs = openapi_routes(
        document, title=blueprint.name, versions=tuple(blueprint.served_versions())
    )
    identity = build_identity(settings, blueprint, service, served_store)
    flags = build_flags(settings, blueprint, service, served_store)
    operations.watch(served_store, sql_store.pool_stats)
    if events.relay is not None and operations.metrics is not None:
        events.report_to(operations.metrics.event_metrics().update)
    all_routes = grouped_routes(
        [
            *operations.routes(),
            *routes,
            *project_routes,
            *identity.routes,
            *flags.routes,
            *webhooks,
            *api_docs,
            *generated,
        ]
    )
    return BastionApp(
        blueprint=blueprint,
        settings=settings,
        service=service,
        store=served_store,
        routes=all_routes,
        identity=identity,
        operations=operations,
        flags=flags,
        events=events,
    )


def app_from_environment() -> BastionApp:
    """The application for ``BASTION_*`` settings (the server's worker factory).

    Each worker is a process of its own: its logging is set up here, from the
    settings, before anything else is built.
    """
    settings = Settings()
    blueprint = with_identity(load_blueprint(settings.blueprint))
    configure_logging(
        level=settings.log_level,
        levels=settings.log_levels,
        json=settings.effective_log_format is LogFormat.JSON,
        redact=secret_field_names(blueprint),
    )
    return create_app(blueprint, settings=settings, relay=runs_relay_in_server(settings))
