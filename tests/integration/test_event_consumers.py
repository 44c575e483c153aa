"""In-app consumers: fed by the relay's fan-out, idempotent, retried, dead-lettered."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from bastion import Hooks
from bastion.app import BastionApp, create_app
from bastion.app.events import runs_relay_in_server
from bastion.blueprint import Blueprint, IntegerField, Resource, StringField
from bastion.blueprint.events import DELIVERIES, DELIVERY_ATTEMPTS, PROCESSED_EVENTS
from bastion.core.events.consumers import ConsumedEvent, ConsumerTarget
from bastion.core.events.deliveries import DeliveryRunner
from bastion.core.events.relay import OutboxRelay
from bastion.core.query import Filter, QuerySpec
from bastion.settings import Settings
from schema_support import create_schema

SHOP = Blueprint(
    name="shop",
    resources={
        "orders": Resource(fields={"label": StringField(max_length=40)}),
        "order_stats": Resource(
            fields={"name": StringField(max_length=40), "created": IntegerField(default=0)},
            events=False,
        ),
    },
)


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class World:
    def __init__(self, app: BastionApp, api: httpx.AsyncClient, hooks: Hooks) -> None:
        self.app = app
        self.api = api
        self.hooks = hooks
        self.clock = Clock()
        events = app.events
        assert events is not None
        self.runner = DeliveryRunner(
            events.sql_store,
            [ConsumerTarget(app.service, hooks.consumers, max_attempts=3)],
            keys=events.keys,
            clock=self.clock,
        )
        from bastion.adapters.bus import broker_from_url

        self.relay = OutboxRelay(
            events.sql_store, broker_from_url(None), keys=events.keys, fan_out=self.runner
        )

    async def order(self, label: str) -> dict[str, Any]:
        response = await self.api.post("/v1/orders", json={"label": label})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    async def deliveries(self, **filters: Any) -> list[dict[str, Any]]:
        spec = QuerySpec(limit=1000, filters=tuple(Filter(k, "eq", v) for k, v in filters.items()))
        async with self.app.store.unit_of_work(read_only=True) as uow:
            return await uow.fetch_page(DELIVERIES, spec)

    async def rows(self, resource: str) -> list[dict[str, Any]]:
        async with self.app.store.unit_of_work(read_only=True) as uow:
            return await uow.fetch_page(resource, QuerySpec(limit=1000))

    async def run_due(self, rounds: int = 10) -> None:
        await self.relay.drain()
        for _ in range(rounds):
            if not await self.runner.deliver_due():
                return


@pytest.fixture
async def make_world(database_url: str) -> AsyncIterator[Any]:
    apps: list[BastionApp] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(hooks: Hooks) -> World:
        await create_schema(SHOP, database_url)
        app = create_app(
            SHOP, settings=Settings(database_url=database_url), hooks=hooks, relay=False
        )
        apps.append(app)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        clients.append(client)
        return World(app, client, hooks)

    yield factory
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.stop()


async def test_consumer_keeps_a_read_model_exact_under_redelivery(make_world: Any) -> None:
    hooks = Hooks()
    seen: list[tuple[str, str]] = []

    @hooks.consumer("orders.created", name="sales-counter")
    async def count_sales(event: ConsumedEvent) -> None:
        seen.append((event.data["id"], event.event["sequence"]))
        # Consumers run concurrently for different records: lock the shared row.
        [found] = await event.records.unit_of_work.fetch_page("order_stats", QuerySpec(limit=2))
        stats = await event.records.get("order_stats", found["id"], for_update=True)
        assert stats is not None
        await event.records.update("order_stats", stats["id"], {"created": stats["created"] + 1})

    world: World = await make_world(hooks)
    stats = (await world.api.post("/v1/order_stats", json={"name": "all"})).json()
    for n in range(5):
        await world.order(f"order {n}")
    await world.run_due()
    assert len(seen) == 5
    done = await world.deliveries(status="delivered")
    assert len(done) == 5
    assert {d["target"] for d in done} == {"sales-counter"}
    # A redelivery (a worker died after the handler committed) is skipped.
    await world.runner.replay(done[0]["id"])
    await world.run_due()
    assert len(seen) == 5
    current = (await world.api.get(f"/v1/order_stats/{stats['id']}")).json()
    assert current["created"] == 5
    assert len(await world.rows(PROCESSED_EVENTS)) == 5


async def test_consumer_failure_is_retried_with_backoff_then_succeeds(make_world: Any) -> None:
    hooks = Hooks()
    calls: list[int] = []

    @hooks.consumer("orders.*", name="flaky")
    async def flaky(event: ConsumedEvent) -> None:
        calls.append(event.attempt)
        if len(calls) < 3:
            raise RuntimeError("downstream is down")

    world: World = await make_world(hooks)
    await world.order("one")
    await world.run_due()
    assert calls == [1]
    [pending] = await world.deliveries(status="pending")
    assert pending["attempts"] == 1
    assert "downstream is down" in pending["last_error"]
    assert pending["next_attempt_at"] > world.clock.now  # backoff: not due at once
    await world.run_due()
    assert calls == [1]
    world.clock.advance(30)
    await world.run_due()
    world.clock.advance(60)
    await world.run_due()
    assert calls == [1, 2, 3]
    [delivered] = await world.deliveries(status="delivered")
    attempts = [a for a in await world.rows(DELIVERY_ATTEMPTS) if a["delivery"] == delivered["id"]]
    assert sorted((a["attempt"], a["ok"]) for a in attempts) == [(1, False), (2, False), (3, True)]


async def test_consumer_that_always_fails_is_dead_lettered_and_replayable(
    make_world: Any,
) -> None:
    hooks = Hooks()
    fixed = False
    handled: list[str] = []

    @hooks.consumer("orders.created", name="broken")
    async def broken(event: ConsumedEvent) -> None:
        if not fixed:
            raise ValueError("bad mapping")
        handled.append(event.id)

    world: World = await make_world(hooks)
    await world.order("one")
    for _ in range(5):
        await world.run_due()
        world.clock.advance(3600)
    [dead] = await world.deliveries(status="dead")
    assert dead["attempts"] == 3
    assert "bad mapping" in dead["last_error"]
    fixed = True
    await world.runner.replay(dead["id"])
    await world.run_due()
    assert handled == [str(dead["event"])]
    assert (await world.deliveries(status="delivered"))[0]["id"] == dead["id"]


async def test_consumer_sees_each_records_events_in_order(make_world: Any) -> None:
    hooks = Hooks()
    seen: dict[str, list[int]] = {}
    failed_once: set[str] = set()

    @hooks.consumer("orders.*", name="projector")
    async def project(event: ConsumedEvent) -> None:
        # The first event of each record fails once: later ones must wait for it.
        record = event.data["id"]
        if event.event["sequence"] == "1" and record not in failed_once:
            failed_once.add(record)
            raise RuntimeError("first try fails")
        seen.setdefault(record, []).append(int(event.event["sequence"]))

    world: World = await make_world(hooks)
    ids = []
    for n in range(3):
        order = await world.order(f"o{n}")
        ids.append(order["id"])
        for step in range(3):
            await world.api.patch(f"/v1/orders/{order['id']}", json={"label": f"o{n}-{step}"})
    for _ in range(4):
        await world.run_due()
        world.clock.advance(600)
    assert seen == {record: [1, 2, 3, 4] for record in ids}


async def test_consumer_runs_in_the_server_without_a_worker(database_url: str) -> None:
    hooks = Hooks()
    received: asyncio.Queue[str] = asyncio.Queue()

    @hooks.consumer("orders.created", name="notifier")
    async def notify(event: ConsumedEvent) -> None:
        await received.put(event.data["changes"]["label"]["after"])

    await create_schema(SHOP, database_url)
    # No broker configured: each server worker relays and delivers itself.
    settings = Settings(database_url=database_url)
    app = create_app(SHOP, settings=settings, hooks=hooks, relay=runs_relay_in_server(settings))
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://t"
        ) as api:
            response = await api.post("/v1/orders", json={"label": "ship it"})
            assert response.status_code == 201
            assert await asyncio.wait_for(received.get(), timeout=10) == "ship it"
    finally:
        await app.stop()
    assert UUID(response.json()["id"])
