"""Outbox lag and publishing on ``/metrics``: the server's when it relays itself, the
worker's on its probe port."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Callable

import httpx
import pytest

from bastion.app import BastionApp, create_app
from bastion.app.worker import worker_probe_app
from bastion.blueprint import Blueprint, Resource, StringField
from bastion.core.context import RequestContext
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint(
    name="lag", resources={"notes": Resource(fields={"text": StringField(max_length=40)})}
)
CTX = RequestContext(request_id="metrics-test")
SAMPLE_WAIT_SECONDS = 10.0
"""Longer than a few sampling intervals."""


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def metric(text: str, name: str) -> float | None:
    """The value of the sample ``name`` (with its labels, if any) in Prometheus text."""
    found = re.search(rf"^{re.escape(name)} (\S+)$", text, re.MULTILINE)
    return None if found is None else float(found.group(1))


async def scrape_until(client: httpx.AsyncClient, path: str, holds: Callable[[str], bool]) -> str:
    """Scrape ``path`` until ``holds`` is true of the text (or fail with the last one)."""
    deadline = asyncio.get_running_loop().time() + SAMPLE_WAIT_SECONDS
    while True:
        answer = await client.get(path)
        assert answer.status_code == 200
        if holds(answer.text) or asyncio.get_running_loop().time() > deadline:
            return answer.text
        await asyncio.sleep(0.2)


def relaying_app(database_url: str, broker_url: str | None = None) -> BastionApp:
    settings = Settings(env="development", database_url=database_url, broker_url=broker_url)
    return create_app(BLUEPRINT, settings=settings, relay=True)


@pytest.fixture
async def database(database_url: str) -> str:
    await create_schema(BLUEPRINT, database_url)
    return database_url


async def test_serve_metrics_show_events_published_by_the_server_itself(database: str) -> None:
    app = relaying_app(database)
    await app.start()
    try:
        for n in range(3):
            await app.service.create("notes", {"text": f"n{n}"}, ctx=CTX)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            published = 'bastion_events_published_total{type="notes.created"}'
            text = await scrape_until(client, "/metrics", lambda t: metric(t, published) == 3)
    finally:
        await app.stop()
    assert metric(text, published) == 3
    assert metric(text, "bastion_outbox_pending_events") == 0
    assert metric(text, "bastion_outbox_oldest_age_seconds") == 0
    assert metric(text, 'bastion_event_deliveries_total{result="dead_lettered"}') == 0


async def test_serve_metrics_show_the_outbox_lag_while_the_broker_is_down(database: str) -> None:
    app = relaying_app(database, broker_url=f"redis://127.0.0.1:{closed_port()}/0")
    await app.start()
    try:
        for n in range(4):
            await app.service.create("notes", {"text": f"n{n}"}, ctx=CTX)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            text = await scrape_until(
                client,
                "/metrics",
                lambda t: (
                    (metric(t, "bastion_outbox_oldest_age_seconds") or 0) > 0
                    and (metric(t, "bastion_event_publish_failures_total") or 0) > 0
                ),
            )
    finally:
        await app.stop()
    assert metric(text, "bastion_outbox_pending_events") == 4
    assert (metric(text, "bastion_outbox_oldest_age_seconds") or 0) > 0
    assert (metric(text, "bastion_event_publish_failures_total") or 0) >= 1


async def test_serve_metrics_leave_out_the_relay_when_workers_relay(database: str) -> None:
    settings = Settings(env="development", database_url=database)
    app = create_app(BLUEPRINT, settings=settings, relay=False)
    await app.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            text = (await client.get("/metrics")).text
    finally:
        await app.stop()
    # A server that does not relay knows nothing of the lag: no gauge claiming 0.
    assert "bastion_outbox_pending_events" not in text
    assert "bastion_http_requests" in text


async def test_worker_probe_metrics_show_published_events(database: str) -> None:
    writer = create_app(
        BLUEPRINT, settings=Settings(env="development", database_url=database), relay=False
    )
    await writer.start()
    try:
        for n in range(2):
            await writer.service.create("notes", {"text": f"n{n}"}, ctx=CTX)
    finally:
        await writer.stop()
    worker = relaying_app(database)
    probe = worker_probe_app(worker)
    async with probe.router.lifespan_context(probe):
        transport = httpx.ASGITransport(app=probe)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            published = 'bastion_events_published_total{type="notes.created"}'
            text = await scrape_until(client, "/metrics", lambda t: metric(t, published) == 2)
    assert metric(text, published) == 2
    assert metric(text, "bastion_outbox_pending_events") == 0
