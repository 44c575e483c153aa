"""Traces end to end: the caller's trace continued, spans named by route template, SQL,
Redis and outbound HTTP under the request's span, trace ids in problem documents, and
nothing at all when tracing is off.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import bastion.app
from bastion.app import BastionApp, create_app
from bastion.app.operations import Operations, build_operations
from bastion.blueprint import Blueprint
from bastion.ops.tracing import Tracing
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint.model_validate(
    {
        "name": "tracetest",
        "resources": {
            "notes": {"fields": {"title": {"type": "string"}}, "access": {"anyone": "all"}}
        },
    }
)
FAST = {"argon2_time_cost": 1, "argon2_memory_kib": 8192}
CALLER_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
CALLER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-01"}
MISSING = "/v1/notes/01890a5d-ac96-774b-bcce-b302099a8057"


@pytest.fixture
def exporter(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Where the spans of the applications this test builds go."""
    spans = InMemorySpanExporter()

    def operations_exporting_here(
        settings: Settings, blueprint: Blueprint, *, span_exporter: object = None
    ) -> Operations:
        return build_operations(settings, blueprint, span_exporter=spans)

    monkeypatch.setattr(bastion.app, "build_operations", operations_exporting_here)
    return spans


@asynccontextmanager
async def serving(
    database_url: str, *, routes: list[Route] | None = None, **settings: Any
) -> AsyncIterator[tuple[BastionApp, httpx.AsyncClient]]:
    """A started application on a fresh schema, and a client to it."""
    await create_schema(BLUEPRINT, database_url)
    config = Settings(database_url=database_url, **{**FAST, **settings})
    app = create_app(BLUEPRINT, settings=config, routes=routes or [])
    await app.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    try:
        yield app, client
    finally:
        await client.aclose()
        await app.stop()


def _hex(trace_id: int) -> str:
    return trace.format_trace_id(trace_id)


def _server_span(spans: tuple[ReadableSpan, ...]) -> ReadableSpan:
    (server,) = [span for span in spans if span.kind is SpanKind.SERVER]
    return server


def _children(spans: tuple[ReadableSpan, ...], parent: ReadableSpan) -> list[ReadableSpan]:
    return [
        span
        for span in spans
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    ]


async def test_a_request_continues_the_callers_trace_with_sql_spans_under_it(
    database_url: str, exporter: InMemorySpanExporter
) -> None:
    async with serving(database_url, tracing=True, cache_enabled=False) as (_, client):
        created = await client.post("/v1/notes", json={"title": "secret title"})
        assert created.status_code == 201
        note_id = created.json()["id"]
        written = exporter.get_finished_spans()
        exporter.clear()

        response = await client.get(f"/v1/notes/{note_id}", headers=TRACEPARENT)

    assert response.status_code == 200
    spans = exporter.get_finished_spans()
    server = _server_span(spans)
    assert server.name == "GET /v1/notes/{id}"
    assert _hex(server.context.trace_id) == CALLER_TRACE
    assert server.parent is not None
    assert server.parent.is_remote
    assert trace.format_span_id(server.parent.span_id) == CALLER_SPAN
    assert server.attributes is not None
    assert dict(server.attributes) == {
        "http.request.method": "GET",
        "url.path": f"/v1/notes/{note_id}",
        "url.scheme": "http",
        "http.route": "/v1/notes/{id}",
        "http.response.status_code": 200,
        "client.address": "127.0.0.1",
    }
    assert server.status.status_code is StatusCode.UNSET
    assert server.resource.attributes["service.name"] == "tracetest"

    statements = _children(spans, server)
    dialect = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    assert statements, "no SQL span under the request's span"
    for statement in statements:
        assert statement.kind is SpanKind.CLIENT
        assert statement.context.trace_id == server.context.trace_id
        assert statement.attributes is not None
        assert statement.attributes["db.system.name"] == dialect
    (select,) = [
        s for s in statements if s.attributes and s.attributes["bastion.operation"] == "fetch"
    ]
    assert select.name == "SELECT notes"
    assert select.attributes is not None
    assert select.attributes["db.operation.name"] == "SELECT"
    assert select.attributes["bastion.operation"] == "fetch"
    text = str(select.attributes["db.query.text"])
    assert text.startswith("SELECT")
    # The statements, never their values.
    assert note_id not in text
    assert note_id.replace("-", "") not in text
    insert = next(span for span in written if span.name == "INSERT notes")
    assert insert.attributes is not None
    assert "secret title" not in str(dict(insert.attributes))
    # Nothing was set on the process-global provider.
    assert not isinstance(trace.get_tracer_provider(), TracerProvider)


async def test_a_problem_document_carries_the_trace_id_of_the_requests_span(
    sqlite_url: str, exporter: InMemorySpanExporter
) -> None:
    async with serving(sqlite_url, tracing=True) as (_, client):
        continued = await client.get(MISSING, headers=TRACEPARENT)
        started = await client.get(MISSING)

    assert continued.status_code == started.status_code == 404
    first, second = [span for span in exporter.get_finished_spans() if span.kind is SpanKind.SERVER]
    assert continued.json()["trace_id"] == CALLER_TRACE == _hex(first.context.trace_id)
    # No caller's trace: a new one, the same in the span and in the document.
    new_trace = started.json()["trace_id"]
    assert len(new_trace) == 32
    assert new_trace not in (CALLER_TRACE, "0" * 32)
    assert new_trace == _hex(second.context.trace_id)
    assert second.parent is None
    # A client error is not a server failure.
    assert second.status.status_code is StatusCode.UNSET
    assert second.attributes is not None
    assert second.attributes["http.response.status_code"] == 404


async def test_an_unsampled_caller_trace_still_names_problem_documents(
    sqlite_url: str, exporter: InMemorySpanExporter
) -> None:
    unsampled = {"traceparent": f"00-{CALLER_TRACE}-{CALLER_SPAN}-00"}
    async with serving(sqlite_url, tracing=True) as (_, client):
        response = await client.get(MISSING, headers=unsampled)

    assert response.json()["trace_id"] == CALLER_TRACE
    assert exporter.get_finished_spans() == ()


async def test_a_failing_request_marks_its_span_as_an_error(
    sqlite_url: str, exporter: InMemorySpanExporter
) -> None:
    async def boom(request: Request) -> JSONResponse:
        raise RuntimeError("the value 42 must not reach the trace")

    async with serving(sqlite_url, tracing=True, routes=[Route("/boom", boom)]) as (_, client):
        response = await client.get("/boom")

    assert response.status_code == 500
    server = _server_span(exporter.get_finished_spans())
    assert server.name == "GET /boom"
    assert server.status.status_code is StatusCode.ERROR
    assert server.attributes is not None
    assert server.attributes["http.response.status_code"] == 500
    assert response.json()["trace_id"] == _hex(server.context.trace_id)
    assert "42" not in str(server.status.description) + str(dict(server.attributes))


async def test_redis_commands_are_spans_of_the_request(
    sqlite_url: str, redis_url: str, redis_prefix: str, exporter: InMemorySpanExporter
) -> None:
    async with serving(
        sqlite_url, tracing=True, redis_url=redis_url, redis_prefix=redis_prefix
    ) as (app, client):
        cache = app.store.cache  # type: ignore[attr-defined]
        await asyncio.wait_for(cache.feed.subscribed.wait(), 10)
        note_id = (await client.post("/v1/notes", json={"title": "x"})).json()["id"]
        exporter.clear()
        response = await client.get(f"/v1/notes/{note_id}", headers=TRACEPARENT)
        assert response.status_code == 200

    spans = exporter.get_finished_spans()
    server = _server_span(spans)
    commands = [s for s in spans if s.attributes and s.attributes.get("db.system") == "redis"]
    assert commands, "no Redis span"
    for command in commands:
        assert command.kind is SpanKind.CLIENT
        assert command.context.trace_id == server.context.trace_id
        assert command.parent is not None
        assert command.parent.span_id == server.context.span_id
        assert command.attributes is not None
        # Commands without their keys or values.
        assert redis_prefix not in str(dict(command.attributes))
    # Redis work outside any request (the invalidation listener) opens no stray traces.
    assert {span.context.trace_id for span in spans} == {server.context.trace_id}


@dataclass(frozen=True)
class Received:
    """One request a :class:`Downstream` server got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class _Recorder(BaseHTTPRequestHandler):
    """Answers 204 and remembers each request."""

    received: list[Received]

    def _record(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.received.append(Received(self.command, self.path, headers, body))
        self.send_response(204)
        self.end_headers()

    def do_GET(self) -> None:
        self._record()

    def do_POST(self) -> None:
        self._record()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@dataclass(frozen=True)
class Downstream:
    """A local HTTP server (another service, or an OpenTelemetry collector)."""

    url: str
    received: list[Received]


@pytest.fixture
def downstream() -> Iterator[Downstream]:
    """A local HTTP server on a free port, recording what it receives."""
    received: list[Received] = []
    handler = type("Recorder", (_Recorder,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Downstream(f"http://127.0.0.1:{server.server_port}", received)
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_an_outbound_http_call_carries_the_requests_trace(
    sqlite_url: str,
    exporter: InMemorySpanExporter,
    downstream: Downstream,
) -> None:
    async def call_out(request: Request) -> JSONResponse:
        async with httpx.AsyncClient(trust_env=False) as http:
            answer = await http.get(f"{downstream.url}/hook")
        return JSONResponse({"status": answer.status_code})

    routes = [Route("/call-out", call_out)]
    async with serving(sqlite_url, tracing=True, routes=routes) as (_, client):
        response = await client.get("/call-out", headers=TRACEPARENT)

    assert response.json() == {"status": 204}
    spans = exporter.get_finished_spans()
    server = _server_span(spans)
    (outbound,) = [span for span in spans if span.kind is SpanKind.CLIENT]
    assert outbound.parent is not None
    assert outbound.parent.span_id == server.context.span_id
    sent = f"00-{CALLER_TRACE}-{trace.format_span_id(outbound.context.span_id)}-01"
    assert [r.headers.get("traceparent") for r in downstream.received] == [sent]


async def test_with_tracing_off_no_provider_exists_and_problems_still_name_the_callers_trace(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(self: TracerProvider, *args: object, **kwargs: object) -> None:
        raise AssertionError("a tracer provider was created with tracing off")

    monkeypatch.setattr(TracerProvider, "__init__", refuse)
    async with serving(sqlite_url) as (app, client):
        assert app.operations.tracing is None
        continued = await client.get(MISSING, headers=TRACEPARENT)
        alone = await client.get(MISSING)
        found = await client.get("/v1/notes")

    assert continued.json()["trace_id"] == CALLER_TRACE
    assert alone.json()["trace_id"] is None
    assert found.status_code == 200


async def test_otel_sdk_disabled_turns_tracing_off(
    sqlite_url: str, exporter: InMemorySpanExporter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    async with serving(sqlite_url, tracing=True) as (app, client):
        assert app.operations.tracing is None
        response = await client.get(MISSING, headers=TRACEPARENT)

    assert response.json()["trace_id"] == CALLER_TRACE
    assert exporter.get_finished_spans() == ()


def test_library_spans_go_to_the_application_whose_span_is_current(
    downstream: Downstream,
) -> None:
    first, second = InMemorySpanExporter(), InMemorySpanExporter()
    one = Tracing(service_name="one", exporter=first)
    two = Tracing(service_name="two", exporter=second)
    with httpx.Client(trust_env=False) as http:
        with two.telemetry(None).span("deliver"):
            http.get(f"{downstream.url}/in-two")
        # Outside any Bastion span: no span anywhere, no trace sent along.
        http.get(f"{downstream.url}/outside")

    assert first.get_finished_spans() == ()
    deliver, call = sorted(second.get_finished_spans(), key=lambda span: span.kind.value)
    assert (deliver.name, call.kind) == ("deliver", SpanKind.CLIENT)
    assert call.parent is not None
    assert call.parent.span_id == deliver.context.span_id
    traced, untraced = downstream.received
    assert traced.headers["traceparent"].split("-")[1] == _hex(deliver.context.trace_id)
    assert "traceparent" not in untraced.headers
    one.flush()
    two.flush()


def test_spans_are_exported_over_otlp_http_as_the_otel_variables_say(
    downstream: Downstream, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", downstream.url)
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-team=orders")
    tracing = Tracing(service_name="shop")
    with tracing.telemetry(None).span("checkout"):
        pass
    tracing.flush()

    (export,) = downstream.received
    assert (export.method, export.path) == ("POST", "/v1/traces")
    assert export.headers["content-type"] == "application/x-protobuf"
    assert export.headers["x-team"] == "orders"
    assert b"checkout" in export.body
    assert b"shop" in export.body
