"""The event log: one event per committed change, none for a failed one, hash-chained."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bastion import HookEvent, Hooks, Rejected
from bastion.app import BastionApp, create_app
from bastion.blueprint import (
    BelongsTo,
    Blueprint,
    DecimalField,
    EmailField,
    Resource,
    StringField,
)
from bastion.core.events import GENESIS_HASH, StreamChecker
from bastion.settings import Settings
from event_support import outbox_rows, raw_events, stored_events
from schema_support import create_schema

SHOP = Blueprint(
    name="shop",
    resources={
        "customers": Resource(
            fields={
                "name": StringField(max_length=40, required=True, personal=True),
                "email": EmailField(required=True, unique=True, personal=True),
                "password": StringField(write_only=True),
                "tier": StringField(max_length=10),
            }
        ),
        "orders": Resource(
            fields={
                "customer": BelongsTo(resource="customers", required=True, on_delete="cascade"),
                "total": DecimalField(precision=10, scale=2, default="0"),
            },
            require_if_match=True,
        ),
        "notes": Resource(fields={"text": StringField()}, events=False),
    },
)


class World:
    def __init__(self, app: BastionApp, client: httpx.AsyncClient) -> None:
        self.app = app
        self.api = client

    async def customer(self, name: str = "Ada", **extra: Any) -> dict[str, Any]:
        response = await self.api.post(
            "/v1/customers",
            json={"name": name, "email": f"{name.lower()}@example.com", **extra},
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body


@pytest.fixture
async def world(database_url: str) -> AsyncIterator[World]:
    hooks = Hooks()

    @hooks.before_update("customers")
    async def refuse_banned(event: HookEvent) -> None:
        if event.record.get("tier") == "banned":
            raise Rejected("banned customers cannot be saved")

    await create_schema(SHOP, database_url)
    app = create_app(SHOP, settings=Settings(database_url=database_url), hooks=hooks, relay=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield World(app, client)
    await app.stop()


async def test_event_log_records_each_committed_change_once(world: World) -> None:
    ada = await world.customer(tier="gold", password="s3cret-value")
    order = (
        await world.api.post("/v1/orders", json={"customer": ada["id"], "total": "9.50"})
    ).json()
    patched = await world.api.patch(
        f"/v1/orders/{order['id']}", json={"total": "12.00"}, headers={"If-Match": '"1"'}
    )
    assert patched.status_code == 200, patched.text
    deleted = await world.api.delete(f"/v1/customers/{ada['id']}")  # cascades to the order
    assert deleted.status_code == 204

    events = await stored_events(world.app)
    by_record: dict[str, list[str]] = {}
    for event in events:
        by_record.setdefault(str(event["record_id"]), []).append(event["type"])
    assert by_record == {
        ada["id"]: ["customers.created", "customers.deleted"],
        order["id"]: ["orders.created", "orders.updated", "orders.deleted"],
    }
    order_events = [e for e in events if str(e["record_id"]) == order["id"]]
    assert [e["seq"] for e in order_events] == [1, 2, 3]
    assert [e["record_version"] for e in order_events] == [1, 2, 2]
    assert order_events[1]["changes"] == {"total": {"before": "9.50", "after": "12.00"}}
    assert order_events[0]["changes"]["total"] == {"before": None, "after": "9.50"}
    assert order_events[0]["prev_hash"] == GENESIS_HASH
    assert order_events[1]["prev_hash"] == order_events[0]["hash"]
    assert StreamChecker().check_all(await raw_events(world.app)) == []
    # Every event waits in the outbox until the relay publishes it.
    assert {row["id"] for row in await outbox_rows(world.app)} == {e["id"] for e in events}


async def test_event_log_redacts_secrets_and_seals_personal_fields(world: World) -> None:
    ada = await world.customer(tier="gold", password="s3cret-value")
    [created] = await stored_events(world.app)
    assert created["changes"]["password"] == {"before": None, "after": "[redacted]"}
    assert created["changes"]["name"] == {"sealed": True}
    assert created["changes"]["email"] == {"sealed": True}
    assert created["changes"]["tier"] == {"before": None, "after": "gold"}
    stored_text = repr(created)
    for plain in ("s3cret-value", "Ada", "ada@example.com"):
        assert plain not in stored_text
    assert created["actor_kind"] in {"anonymous", "user"}
    assert created["request_id"]
    assert ada["id"] == str(created["record_id"])


@pytest.mark.parametrize(
    ("method", "path_of", "body", "headers", "status"),
    [
        ("post", lambda ids: "/v1/customers", {"name": "x" * 41, "email": "a@b.co"}, {}, 422),
        ("post", lambda ids: "/v1/customers", {"name": "Dup", "email": "ada@example.com"}, {}, 409),
        (
            "patch",
            lambda ids: f"/v1/orders/{ids['order']}",
            {"total": "1"},
            {"If-Match": '"7"'},
            412,
        ),
        ("patch", lambda ids: f"/v1/orders/{ids['order']}", {"total": "1"}, {}, 428),
        ("patch", lambda ids: f"/v1/customers/{ids['ada']}", {"tier": "banned"}, {}, 422),
        (
            "post",
            lambda ids: "/v1/orders",
            {"customer": "0190b0b0-0000-7000-8000-000000000000"},
            {},
            422,
        ),
    ],
    ids=["invalid", "unique", "stale-version", "no-if-match", "hook-rejects", "dangling-reference"],
)
async def test_event_log_failed_write_leaves_no_event(
    world: World, method: str, path_of: Any, body: Any, headers: dict[str, str], status: int
) -> None:
    ada = await world.customer()
    order = (await world.api.post("/v1/orders", json={"customer": ada["id"]})).json()
    before = await stored_events(world.app)
    response = await world.api.request(
        method.upper(),
        path_of({"ada": ada["id"], "order": order["id"]}),
        json=body,
        headers=headers,
    )
    assert response.status_code == status, response.text
    assert await stored_events(world.app) == before
    assert len(await outbox_rows(world.app)) == len(before)


async def test_event_log_skips_resources_that_turn_events_off(world: World) -> None:
    response = await world.api.post("/v1/notes", json={"text": "hello"})
    assert response.status_code == 201
    assert await stored_events(world.app) == []


async def test_event_log_delete_event_shows_the_state_cascades_left(database_url: str) -> None:
    # Deleting a customer cascades to its orders, whose delete hook updates the customer:
    # the customer's delete event must carry that last version, not the one first read.
    hooks = Hooks()

    @hooks.after_delete("orders")
    async def note_lost_order(event: HookEvent) -> None:
        await event.records.update("customers", event.record["customer"], {"tier": "lost"})

    await create_schema(SHOP, database_url)
    app = create_app(SHOP, settings=Settings(database_url=database_url), hooks=hooks, relay=False)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as api:
        world = World(app, api)
        ada = await world.customer(tier="gold")
        await api.post("/v1/orders", json={"customer": ada["id"]})
        assert (await api.delete(f"/v1/customers/{ada['id']}")).status_code == 204
        events = [e for e in await stored_events(app) if str(e["record_id"]) == ada["id"]]
        breaks = StreamChecker().check_all(await raw_events(app))
    await app.stop()
    assert breaks == []
    assert [(e["type"], e["record_version"]) for e in events] == [
        ("customers.created", 1),
        ("customers.updated", 2),
        ("customers.deleted", 2),
    ]
    assert events[2]["changes"]["tier"] == {"before": "lost", "after": None}


async def test_event_log_never_tells_whether_a_secret_is_set(world: World) -> None:
    await world.customer("Ada", password="s3cret-value")
    await world.customer("Bob")
    events = await stored_events(world.app)
    assert [e["changes"]["password"] for e in events] == [
        {"before": None, "after": "[redacted]"},
        {"before": None, "after": "[redacted]"},
    ]


async def test_event_log_as_of_before_the_log_began_says_so(database_url: str) -> None:
    # A record written while the log was off has no creation event: asking for it as of
    # a time before its first logged change says the log does not reach back, not that
    # the record did not exist.
    await create_schema(SHOP, database_url)
    unlogged = create_app(SHOP, settings=Settings(database_url=database_url, event_log=False))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=unlogged), base_url="http://testserver"
    ) as api:
        ada = await World(unlogged, api).customer()
    await unlogged.stop()
    logged = create_app(SHOP, settings=Settings(database_url=database_url))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=logged), base_url="http://testserver"
    ) as api:
        patched = await api.patch(f"/v1/customers/{ada['id']}", json={"tier": "gold"})
        assert patched.status_code == 200
        response = await api.get(f"/v1/customers/{ada['id']}", params={"as_of": ada["updated_at"]})
    await logged.stop()
    assert response.status_code == 404
    assert "does not reach back" in response.json()["detail"]
