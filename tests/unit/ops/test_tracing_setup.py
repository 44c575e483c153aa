"""How a :class:`Tracing` is set up (service name, sampler, kill switch) and what its
telemetry records."""

from __future__ import annotations

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from bastion.core.ports import MemoryTelemetry
from bastion.ops.requests import RouteTemplates
from bastion.ops.tracing import Tracing, configured_exporters, sdk_disabled


def _service_name(tracing: Tracing) -> object:
    return tracing.provider.resource.attributes["service.name"]


def test_the_service_is_named_after_the_blueprint_unless_otel_names_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    assert _service_name(Tracing(service_name="shop", exporter=InMemorySpanExporter())) == "shop"

    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attributes,team=orders")
    tracing = Tracing(service_name="shop", exporter=InMemorySpanExporter())
    assert _service_name(tracing) == "from-attributes"
    assert tracing.provider.resource.attributes["team"] == "orders"

    monkeypatch.setenv("OTEL_SERVICE_NAME", "shop-eu")
    assert _service_name(Tracing(service_name="shop", exporter=InMemorySpanExporter())) == "shop-eu"


def test_the_sampler_is_the_one_otel_traces_sampler_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "always_off")
    exporter = InMemorySpanExporter()
    with Tracing(service_name="shop", exporter=exporter).telemetry(None).span("work"):
        pass
    assert exporter.get_finished_spans() == ()


@pytest.mark.parametrize(
    ("value", "disabled"), [("true", True), (" TRUE ", True), ("false", False), ("", False)]
)
def test_otel_sdk_disabled_is_read_as_the_sdk_reads_it(
    monkeypatch: pytest.MonkeyPatch, value: str, disabled: bool
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", value)
    assert sdk_disabled() is disabled


def test_telemetry_nests_spans_and_passes_counts_and_timings_on() -> None:
    exporter = InMemorySpanExporter()
    inner = MemoryTelemetry()
    telemetry = Tracing(service_name="shop", exporter=exporter).telemetry(inner)

    with telemetry.span("checkout"), telemetry.span("SELECT orders", {"db.system.name": "sqlite"}):
        telemetry.count("cache_requests_total", labels={"result": "hit"})
        telemetry.observe("db_query_seconds", 0.5, {"operation": "fetch"})

    statement, checkout = exporter.get_finished_spans()
    assert (checkout.kind, statement.kind) == (SpanKind.INTERNAL, SpanKind.CLIENT)
    assert statement.parent is not None
    assert statement.parent.span_id == checkout.context.span_id
    assert statement.attributes == {"db.system.name": "sqlite"}
    assert inner.counters == {("cache_requests_total", (("result", "hit"),)): 1.0}
    assert inner.observations == [("db_query_seconds", 0.5, {"operation": "fetch"})]


def test_a_failing_block_marks_its_span_without_quoting_the_error() -> None:
    exporter = InMemorySpanExporter()
    telemetry = Tracing(service_name="shop", exporter=exporter).telemetry(None)

    with (
        pytest.raises(ValueError, match="duplicate key"),
        telemetry.span("INSERT users", {"db.system.name": "postgresql"}),
    ):
        raise ValueError("duplicate key: alice@example.com")

    (span,) = exporter.get_finished_spans()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes is not None
    assert span.attributes["error.type"] == "ValueError"
    assert "alice" not in f"{span.status.description} {dict(span.attributes)} {span.events}"


async def test_mounted_in_a_traced_application_the_request_span_nests_under_its_span() -> None:
    exporter = InMemorySpanExporter()
    tracing = Tracing(service_name="shop", exporter=exporter)

    async def hello(request: Request) -> PlainTextResponse:
        return PlainTextResponse("hi")

    inner = Starlette(routes=[Route("/hello/{name}", hello)])
    app = tracing.middleware(inner, RouteTemplates(inner.routes))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://t"
    ) as client:
        with tracing.telemetry(None).span("outer application"):
            response = await client.get("/hello/ada")

    assert response.text == "hi"
    server, outer = exporter.get_finished_spans()
    assert server.name == "GET /hello/{name}"
    assert server.parent is not None
    assert server.parent.span_id == outer.context.span_id


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        (None, ["OTLPSpanExporter"]),
        ("otlp", ["OTLPSpanExporter"]),
        ("console", ["ConsoleSpanExporter"]),
        ("none", []),
        ("console,otlp", ["ConsoleSpanExporter", "OTLPSpanExporter"]),
        ("zipkin", []),
    ],
)
def test_the_exporters_are_the_ones_otel_traces_exporter_names(
    monkeypatch: pytest.MonkeyPatch, setting: str | None, expected: list[str]
) -> None:
    if setting is None:
        monkeypatch.delenv("OTEL_TRACES_EXPORTER", raising=False)
    else:
        monkeypatch.setenv("OTEL_TRACES_EXPORTER", setting)
    exporters = configured_exporters()
    assert [type(exporter).__name__ for exporter in exporters] == expected
    for exporter in exporters:
        exporter.shutdown()
