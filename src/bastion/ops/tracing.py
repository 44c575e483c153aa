"""OpenTelemetry traces: a server span per request, client spans for SQL, Redis and HTTP.

:class:`Tracing` owns one SDK ``TracerProvider`` (never the process-global
one), so several applications in one process each export their own spans.
Its :meth:`Tracing.middleware` continues the caller's W3C trace
(``traceparent``) or starts a new one, and names the span after the route
template once routing is done (``GET /v1/orders/{id}``); its
:meth:`Tracing.telemetry` turns the stores' ``span()`` calls (one per SQL
statement) into spans.

Redis (redis-py) and outbound HTTP (httpx) are traced by the OpenTelemetry
instrumentations, which patch those libraries once per process. Their
spans go to the :class:`Tracing` whose span is current when the call is made
(a request, or a ``telemetry.span()`` block), found through the OpenTelemetry
context; a call made outside any Bastion span goes to the global tracer
provider, which records nothing unless the process installed one. The httpx
instrumentation also puts ``traceparent`` on outbound requests.

Span attributes never hold values: SQL text is the parameterised statement
and Redis commands are reduced to ``GET ?``; a failure records its error
type, not its message (driver messages can quote the data).
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.environment_variables import OTEL_SDK_DISABLED
from opentelemetry.sdk.resources import SERVICE_NAME, OTELResourceDetector, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.trace import Span, SpanKind, Status, StatusCode
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from opentelemetry.util._decorator import _agnosticcontextmanager
from opentelemetry.util.types import Attributes
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bastion.core.ports import Telemetry
from bastion.ops.requests import UNMATCHED_ROUTE, RouteTemplates

if TYPE_CHECKING:
    from opentelemetry.trace import _Links

__all__ = ["Tracing", "sdk_disabled"]

_PROVIDER = otel_context.create_key("bastion-tracer-provider")
"""Context key: the provider of the Bastion span that is current (see the module docstring)."""
_PROPAGATOR = TraceContextTextMapPropagator()
_CLIENT_SPAN_MARK = "db.system.name"


log = logging.getLogger("bastion.tracing")


def sdk_disabled() -> bool:
    """Whether ``OTEL_SDK_DISABLED=true`` turns every OpenTelemetry signal off."""
    return os.environ.get(OTEL_SDK_DISABLED, "").strip().lower() == "true"


def configured_exporters() -> list[SpanExporter]:
    """The exporters ``OTEL_TRACES_EXPORTER`` names (comma-separated; default ``otlp``).

    ``otlp`` sends OTLP over HTTP/protobuf (``OTEL_EXPORTER_OTLP_*``); ``console``
    prints each span as JSON on standard output; ``none`` exports nothing (trace
    ids still reach logs and problem documents). ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc``
    needs the ``opentelemetry-exporter-otlp-proto-grpc`` package, which Bastion does
    not install: without it, Bastion says so and uses HTTP.
    """
    names = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    exporters: list[SpanExporter] = []
    for name in (part.strip() for part in names.split(",")):
        if name == "none":
            continue
        if name == "console":
            from opentelemetry.sdk.trace.export import ConsoleSpanExporter

            exporters.append(ConsoleSpanExporter())
        elif name == "otlp":
            exporters.append(_otlp_exporter())
        else:
            log.warning(
                "OTEL_TRACES_EXPORTER=%s is not one Bastion knows (otlp, console, none); ignored",
                name,
            )
    return exporters


def _otlp_exporter() -> SpanExporter:
    protocol = os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL", "")
    ).strip()
    if protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found]
                OTLPSpanExporter as GrpcSpanExporter,
            )
        except ImportError:
            log.warning(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs `pip install "
                "opentelemetry-exporter-otlp-proto-grpc`; exporting OTLP over HTTP instead"
            )
        else:
            exporter: SpanExporter = GrpcSpanExporter()
            return exporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OTLPSpanExporter()


class Tracing:
    """OpenTelemetry tracing for one application.

    Args:
        service_name: the ``service.name`` of its spans, unless ``OTEL_SERVICE_NAME``
            (or ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``) names one.
        exporter: where spans go, each as it ends (tests pass an
            ``InMemorySpanExporter``). By default, OTLP over HTTP in batches,
            configured by the standard ``OTEL_EXPORTER_OTLP_*`` and ``OTEL_BSP_*``
            variables; the sampler comes from ``OTEL_TRACES_SAMPLER``.
    """

    def __init__(self, *, service_name: str, exporter: SpanExporter | None = None) -> None:
        named = OTELResourceDetector().detect().attributes.get(SERVICE_NAME)
        resource = Resource.create({} if named else {SERVICE_NAME: service_name})
        self.provider = TracerProvider(resource=resource)
        """The SDK provider of this application's spans (its sampler, processors, resource)."""
        if exporter is not None:
            self.provider.add_span_processor(SimpleSpanProcessor(exporter))
        else:
            for configured in configured_exporters():
                self.provider.add_span_processor(BatchSpanProcessor(configured))
        self._tracer = self.provider.get_tracer("bastion")
        _instrument_libraries()

    def middleware(self, app: ASGIApp, templates: RouteTemplates) -> ASGIApp:
        """The ASGI middleware opening each HTTP request's server span (outermost)."""
        return _ServerSpans(app, provider=self.provider, templates=templates)

    def trace_id(self, scope: Scope) -> str | None:
        """The trace id of the request's span (32 hex digits), for logs and problem documents.

        A trace not sampled still has its id: the caller's, or a new one.
        """
        context = trace.get_current_span().get_span_context()
        return trace.format_trace_id(context.trace_id) if context.is_valid else None

    def telemetry(self, inner: Telemetry | None) -> Telemetry:
        """``inner`` (metrics, or nothing) with ``span()`` opening OpenTelemetry spans."""
        return _SpanTelemetry(self._tracer, self.provider, inner)

    def flush(self) -> None:
        """Export the spans still buffered and shut the exporter down, as the application stops.

        With the collector unreachable, this waits up to the exporter's timeout
        (``OTEL_EXPORTER_OTLP_TIMEOUT``, 10 s by default). An application
        started again after it exports no more spans.
        """
        self.provider.force_flush()
        self.provider.shutdown()


class _AsgiHeaders(Getter[Scope]):
    """Reads propagation headers straight from an ASGI scope's raw header list."""

    def get(self, carrier: Scope, key: str) -> list[str] | None:
        name = key.encode("latin-1")
        values = [value.decode("latin-1") for field, value in carrier["headers"] if field == name]
        return values or None

    def keys(self, carrier: Scope) -> list[str]:
        return [field.decode("latin-1") for field, _ in carrier["headers"]]


_HEADERS = _AsgiHeaders()


class _ServerSpans:
    """ASGI middleware: one SERVER span per HTTP request, current while the app runs."""

    __slots__ = ("_provider", "_root", "_templates", "_tracer", "app")

    def __init__(
        self, app: ASGIApp, *, provider: TracerProvider, templates: RouteTemplates
    ) -> None:
        self.app = app
        self._provider = provider
        self._tracer = provider.get_tracer("bastion")
        # The empty context a request without a caller's trace starts from: it names
        # the provider, so the library instrumentations route spans back to it.
        self._root = otel_context.set_value(_PROVIDER, provider, Context())
        self._templates = templates

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        current = otel_context.get_current()
        if trace.get_current_span(current).get_span_context().is_valid:
            # Mounted in an application that traces requests itself: nest under its span.
            parent = otel_context.set_value(_PROVIDER, self._provider, current)
        else:
            parent = _PROPAGATOR.extract(scope, self._root, _HEADERS)
        method: str = scope["method"]
        attributes: dict[str, str] = {
            "http.request.method": method,
            "url.path": scope["path"],
            "url.scheme": scope["scheme"],
        }
        span = self._tracer.start_span(method, parent, SpanKind.SERVER, attributes)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        status = 500
        failure: str | None = None

        async def send_traced(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_traced)
        except Exception as exc:
            failure = type(exc).__qualname__
            raise
        finally:
            if span.is_recording():
                self._finish(span, scope, method, status, failure)
            span.end()
            otel_context.detach(token)

    def _finish(
        self, span: Span, scope: Scope, method: str, status: int, failure: str | None
    ) -> None:
        route = self._templates.template(scope)
        attributes: dict[str, str | int] = {"http.response.status_code": status}
        if route != UNMATCHED_ROUTE:
            span.update_name(f"{method} {route}")
            attributes["http.route"] = route
        client_ip = getattr(scope.get("state", {}).get("context"), "client_ip", None)
        if client_ip is not None:
            attributes["client.address"] = client_ip
        if status >= 500 or failure is not None:
            # Client errors (4xx) leave a server span's status unset (semantic conventions).
            span.set_status(Status(StatusCode.ERROR))
            attributes["error.type"] = failure or str(status)
        span.set_attributes(attributes)


class _SpanTelemetry:
    """Telemetry whose ``span()`` opens an OpenTelemetry span; counts go to ``inner``."""

    __slots__ = ("_inner", "_provider", "_tracer")

    records_spans = True
    """Adapters that build span attributes only when they will be recorded read this."""

    def __init__(
        self, tracer: trace.Tracer, provider: TracerProvider, inner: Telemetry | None
    ) -> None:
        self._tracer = tracer
        self._provider = provider
        self._inner = inner

    def count(self, name: str, value: float = 1.0, labels: Mapping[str, str] | None = None) -> None:
        """Add to a counter of ``inner``."""
        if self._inner is not None:
            self._inner.count(name, value, labels)

    def observe(self, name: str, seconds: float, labels: Mapping[str, str] | None = None) -> None:
        """Record a duration in ``inner``."""
        if self._inner is not None:
            self._inner.observe(name, seconds, labels)

    @contextmanager
    def span(self, name: str, attributes: Mapping[str, str] | None = None) -> Iterator[None]:
        """A span around the block, a child of the current one.

        A span whose attributes name a database system (``db.system.name``) is a
        CLIENT span, as the semantic conventions have it; others are INTERNAL.
        """
        current = otel_context.get_current()
        parent = (
            current
            if otel_context.get_value(_PROVIDER, current) is self._provider
            else otel_context.set_value(_PROVIDER, self._provider, current)
        )
        kind = (
            SpanKind.CLIENT
            if attributes is not None and _CLIENT_SPAN_MARK in attributes
            else SpanKind.INTERNAL
        )
        span = self._tracer.start_span(name, parent, kind, attributes)
        token = otel_context.attach(trace.set_span_in_context(span, parent))
        try:
            yield
        except Exception as exc:
            if span.is_recording():
                span.set_attribute("error.type", type(exc).__qualname__)
                span.set_status(Status(StatusCode.ERROR))
            raise
        finally:
            span.end()
            otel_context.detach(token)


class _RoutingTracerProvider(trace.TracerProvider):
    """The provider given to the library instrumentations (installed once per process)."""

    def get_tracer(
        self,
        instrumenting_module_name: str,
        instrumenting_library_version: str | None = None,
        schema_url: str | None = None,
        attributes: Attributes = None,
    ) -> trace.Tracer:
        return _RoutingTracer(
            instrumenting_module_name, instrumenting_library_version, schema_url, attributes
        )


class _RoutingTracer(trace.Tracer):
    """Starts each span with the tracer of the Bastion span current in its context.

    Outside any Bastion span, the global provider's (a no-op unless the
    process installed one).
    """

    def __init__(
        self,
        name: str,
        version: str | None,
        schema_url: str | None,
        attributes: Attributes,
    ) -> None:
        self._scope = (name, version, schema_url, attributes)
        self._fallback = trace.get_tracer(
            name, version, schema_url=schema_url, attributes=attributes
        )
        self._tracers: WeakKeyDictionary[TracerProvider, trace.Tracer] = WeakKeyDictionary()

    def _tracer(self, context: Context | None) -> trace.Tracer:
        provider = otel_context.get_value(_PROVIDER, context)
        if not isinstance(provider, TracerProvider):
            return self._fallback
        tracer = self._tracers.get(provider)
        if tracer is None:
            tracer = self._tracers[provider] = provider.get_tracer(*self._scope)
        return tracer

    def start_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: _Links = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
    ) -> Span:
        return self._tracer(context).start_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
        )

    # Decorated as the API's own ProxyTracer does, to keep the base method's type.
    @_agnosticcontextmanager
    def start_as_current_span(
        self,
        name: str,
        context: Context | None = None,
        kind: SpanKind = SpanKind.INTERNAL,
        attributes: Attributes = None,
        links: _Links = None,
        start_time: int | None = None,
        record_exception: bool = True,
        set_status_on_exception: bool = True,
        end_on_exit: bool = True,
    ) -> Iterator[Span]:
        with self._tracer(context).start_as_current_span(
            name,
            context,
            kind,
            attributes,
            links,
            start_time,
            record_exception,
            set_status_on_exception,
            end_on_exit,
        ) as span:
            yield span


@functools.cache
def _instrument_libraries() -> None:
    """Instrument redis-py and httpx, once per process, unless something else did already."""
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.metrics import NoOpMeterProvider

    provider = _RoutingTracerProvider()
    # Metrics are Prometheus's (ops.metrics): the instrumentations' own meters stay off.
    meters = NoOpMeterProvider()
    for instrumentor in (RedisInstrumentor(), HTTPXClientInstrumentor()):
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(tracer_provider=provider, meter_provider=meters)
