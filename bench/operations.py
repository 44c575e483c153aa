"""What the operations layer costs per request: metrics, the access log, tracing.

Run with ``make bench-ops``. One process, one SQLite database, one record;
the same cached ``GET /v1/notes/{id}`` (Bastion's cheapest request, so the
operations layer's share is the largest it gets) is sent straight to the ASGI
application, without a socket or a client, by applications built with:

- ``bare``: metrics, access log and tracing off (request ids and route
  templates stay: they are always on);
- ``metrics``: Prometheus metrics on (the default);
- ``shipped``: metrics and the JSON access log on, as ``bastion serve``
  runs in production (lines written to /dev/null);
- ``tracing``: ``shipped`` plus OpenTelemetry spans (exported to an
  in-memory exporter that is cleared between rounds: the SDK's cost, not a
  collector's).

Prints a Markdown table of microseconds per request (median of rounds) and
each variant's ratio to ``bare``, measured in the same run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.ops.logging import configure_logging
from bastion.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.databases import create_tables

ROUNDS = int(os.environ.get("BENCH_OPS_ROUNDS", "7"))
REQUESTS = int(os.environ.get("BENCH_OPS_REQUESTS", "5000"))
TARGET = 1.25
"""The shipped operations layer may cost at most 25% of the cheapest request."""

BLUEPRINT = Blueprint.model_validate(
    {
        "name": "ops-bench",
        "resources": {"notes": {"fields": {"title": {"type": "string", "max_length": 200}}}},
    }
)


async def _asgi_get(app: BastionApp, path: str) -> Callable[[], Awaitable[int]]:
    """A function sending one GET to ``app`` and returning the status."""
    scope_base: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"bench"), (b"accept", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    body_done = {"type": "http.request", "body": b"", "more_body": False}

    async def receive() -> dict[str, Any]:
        return body_done

    async def call() -> int:
        status = 0

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope_base), receive, send)
        return status

    return call


async def _build(database_url: str, variant: str) -> BastionApp:
    settings = Settings(
        # Development serves the blueprint open (no access rules to write for one
        # resource); nothing else on this path depends on the environment.
        env="development",
        database_url=database_url,
        metrics_enabled=variant != "bare",
        access_log=variant in ("shipped", "tracing"),
        tracing=variant == "tracing",
    )
    exporter = None
    if variant == "tracing":
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        exporter = InMemorySpanExporter()
    app = create_app(BLUEPRINT, settings=settings, span_exporter=exporter)
    app.bench_exporter = exporter  # type: ignore[attr-defined]
    await app.start()
    return app


async def _round_us(call: Callable[[], Awaitable[int]], app: BastionApp) -> float:
    exporter = getattr(app, "bench_exporter", None)
    if exporter is not None:
        exporter.clear()
    started = time.perf_counter()
    for _ in range(REQUESTS):
        await call()
    return (time.perf_counter() - started) / REQUESTS * 1e6


async def main() -> None:
    """Measure each variant and print the table."""
    with tempfile.TemporaryDirectory() as folder, open(os.devnull, "w") as devnull:
        configure_logging(level="INFO", levels={}, json=True, stream=devnull)
        database_url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await create_tables(BLUEPRINT, database_url)
        variants = ("bare", "metrics", "shipped", "tracing")
        apps = {variant: await _build(database_url, variant) for variant in variants}
        record_path = await _create_note(apps["bare"])
        calls = {variant: await _asgi_get(app, record_path) for variant, app in apps.items()}
        for call in calls.values():
            for _ in range(500):
                assert await call() == 200
        # Rounds alternate between the variants, so that a machine getting busier or
        # quieter during the run weighs on every variant alike.
        timings: dict[str, list[float]] = {variant: [] for variant in variants}
        for _ in range(ROUNDS):
            for variant in variants:
                timings[variant].append(await _round_us(calls[variant], apps[variant]))
        for app in apps.values():
            await app.stop()
        results = {variant: statistics.median(times) for variant, times in timings.items()}
    _print(results)


async def _create_note(app: BastionApp) -> str:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        created = await client.post("/v1/notes", json={"title": "bench"})
        created.raise_for_status()
        return f"/v1/notes/{created.json()['id']}"


def _print(results: dict[str, float]) -> None:
    bare = results["bare"]
    print(f"Cached GET, in process, median of {ROUNDS} rounds of {REQUESTS} requests\n")
    print("| variant | µs per request | ratio to bare |")
    print("|---|---:|---:|")
    for variant, micros in results.items():
        print(f"| {variant} | {micros:.1f} | {micros / bare:.2f} |")
    shipped = results["shipped"] / bare
    verdict = "met" if shipped <= TARGET else "MISSED"
    print(f"\nshipped / bare = {shipped:.2f} (target ≤ {TARGET:.2f}: {verdict})")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
