"""The read cache, end to end over HTTP: hits run no SQL, writes invalidate at once
(in this worker and in the others), access rules apply after every hit, and the
cache survives Redis going away and coming back.

"Workers" here are two applications on the same database (and the same Redis
prefix), as ``bastion serve --workers 2`` runs them.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.core.ports import MemoryTelemetry
from bastion.settings import Settings
from redis_server import PrivateRedis
from schema_support import create_schema

DECLARED: dict[str, Any] = {
    "name": "cachetest",
    "auth": {"roles": {"member": {}}, "default_roles": ["member"]},
    "resources": {
        "customers": {
            "fields": {"name": {"type": "string", "filterable": True}},
            "access": {"anyone": "all"},
        },
        "orders": {
            "fields": {
                "customer": {
                    "type": "belongs_to",
                    "resource": "customers",
                    "filterable": True,
                },
                "total": {"type": "decimal", "precision": 10, "scale": 2, "sortable": True},
                "status": {
                    "type": "enum",
                    "values": ["new", "paid"],
                    "filterable": True,
                    "default": "new",
                },
                "placed": {"type": "datetime"},
            },
            "access": {"anyone": "all"},
        },
        "notes": {
            "fields": {
                "title": {"type": "string", "filterable": True},
                "author": {"type": "belongs_to", "resource": "users", "owner": True},
                "rating": {"type": "integer", "hidden_from": ["member"]},
            },
            "access": {"member": {"actions": "all", "rows": "own"}},
        },
        "uncached": {
            "fields": {"title": {"type": "string"}},
            "access": {"anyone": "all"},
            "cache": False,
        },
    },
}
BLUEPRINT = Blueprint.model_validate(DECLARED)

FAST = {"argon2_time_cost": 1, "argon2_memory_kib": 8192}


class Worker:
    """One application and a client to it, with a count of the SQL it runs."""

    def __init__(self, app: BastionApp, telemetry: MemoryTelemetry) -> None:
        self.app = app
        self.telemetry = telemetry
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")

    def queries(self) -> int:
        """Statements run so far."""
        return sum(1 for name, _, _ in self.telemetry.observations if name == "db_query_seconds")

    async def statements_of(self, call: Callable[[], Awaitable[httpx.Response]]) -> int:
        """How many statements ``call`` ran (its response must be a success)."""
        before = self.queries()
        response = await call()
        assert response.status_code < 400, response.text
        return self.queries() - before


@asynccontextmanager
async def workers(count: int, database_url: str, **settings: Any) -> AsyncIterator[list[Worker]]:
    """``count`` started applications on one fresh schema in ``database_url``."""
    await create_schema(BLUEPRINT, database_url)
    started: list[Worker] = []
    try:
        for _ in range(count):
            telemetry = MemoryTelemetry()
            config = Settings(database_url=database_url, **{**FAST, **settings})
            app = create_app(BLUEPRINT, settings=config, telemetry=telemetry)
            await app.start()
            started.append(Worker(app, telemetry))
        yield started
    finally:
        for worker in started:
            await worker.client.aclose()
            await worker.app.stop()


async def _wait_subscribed(*apps: Worker) -> None:
    for worker in apps:
        cache = worker.app.store.cache  # type: ignore[attr-defined]
        await asyncio.wait_for(cache.feed.subscribed.wait(), 10)


async def _customer(worker: Worker, name: str = "Ada") -> dict[str, Any]:
    response = await worker.client.post("/v1/customers", json={"name": name})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


# In-process cache on the embedded defaults (SQLite) --------------------------


async def test_a_cache_hit_runs_no_sql(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        ada = await _customer(worker)
        order = (
            await worker.client.post(
                "/v1/orders",
                json={"customer": ada["id"], "total": "12.50", "placed": "2026-01-02T03:04:05Z"},
            )
        ).json()
        item = f"/v1/orders/{order['id']}"
        listing = "/v1/orders?status=new&sort=-total&count=exact"

        first = await worker.client.get(item)
        assert await worker.statements_of(lambda: worker.client.get(item)) == 0
        again = await worker.client.get(item)
        # Types survive the cache: the same JSON, decimals and instants included.
        assert again.json() == first.json() == order

        await worker.client.get(listing)
        assert await worker.statements_of(lambda: worker.client.get(listing)) == 0
        page = (await worker.client.get(listing)).json()
        assert [r["id"] for r in page["data"]] == [order["id"]]
        assert page["total"] == 1


async def test_a_write_invalidates_the_record_and_every_page(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        ada = await _customer(worker)
        item = f"/v1/customers/{ada['id']}"
        await worker.client.get(item)
        await worker.client.get("/v1/customers?name=Ada")

        changed = await worker.client.patch(item, json={"name": "Grace"})
        assert changed.status_code == 200

        assert (await worker.client.get(item)).json()["name"] == "Grace"
        assert (await worker.client.get("/v1/customers?name=Ada")).json()["data"] == []
        found = (await worker.client.get("/v1/customers?name=Grace")).json()["data"]
        assert [r["id"] for r in found] == [ada["id"]]

        assert (await worker.client.delete(item)).status_code == 204
        assert (await worker.client.get(item)).status_code == 404


async def test_pages_filtered_through_a_relation_follow_the_related_record(
    sqlite_url: str,
) -> None:
    async with workers(1, sqlite_url) as (worker,):
        ada = await _customer(worker)
        await worker.client.post("/v1/orders", json={"customer": ada["id"], "total": "1.00"})
        by_name = "/v1/orders?customer.name=Ada"
        assert len((await worker.client.get(by_name)).json()["data"]) == 1

        await worker.client.patch(f"/v1/customers/{ada['id']}", json={"name": "Grace"})

        assert (await worker.client.get(by_name)).json()["data"] == []


async def test_expanded_relations_are_current(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        ada = await _customer(worker)
        order = (
            await worker.client.post("/v1/orders", json={"customer": ada["id"], "total": "1.00"})
        ).json()
        expanded = f"/v1/orders/{order['id']}?expand=customer"
        assert (await worker.client.get(expanded)).json()["customer"]["name"] == "Ada"

        await worker.client.patch(f"/v1/customers/{ada['id']}", json={"name": "Grace"})

        assert (await worker.client.get(expanded)).json()["customer"]["name"] == "Grace"


async def test_a_resource_can_opt_out(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        created = (await worker.client.post("/v1/uncached", json={"title": "x"})).json()
        item = f"/v1/uncached/{created['id']}"
        await worker.client.get(item)
        assert await worker.statements_of(lambda: worker.client.get(item)) == 1


async def test_cache_can_be_switched_off(sqlite_url: str) -> None:
    async with workers(1, sqlite_url, cache_enabled=False) as (worker,):
        ada = await _customer(worker)
        item = f"/v1/customers/{ada['id']}"
        await worker.client.get(item)
        assert await worker.statements_of(lambda: worker.client.get(item)) == 1


async def test_sqlite_workers_see_each_others_writes_at_once(sqlite_url: str) -> None:
    async with workers(2, sqlite_url) as (first, second):
        ada = await _customer(first)
        item = f"/v1/customers/{ada['id']}"
        await second.client.get(item)
        await second.client.get("/v1/customers")
        assert await second.statements_of(lambda: second.client.get(item)) == 0

        await first.client.patch(item, json={"name": "Grace"})

        # The other worker's next read already sees it (SQLite's data_version moved).
        assert (await second.client.get(item)).json()["name"] == "Grace"
        names = [r["name"] for r in (await second.client.get("/v1/customers")).json()["data"]]
        assert names == ["Grace"]


# Access rules apply after every hit ------------------------------------------


async def _member(worker: Worker, email: str) -> dict[str, str]:
    registered = await worker.client.post(
        "/v1/auth/register", json={"email": email, "password": "a long pass phrase 42"}
    )
    assert registered.status_code == 201, registered.text
    token = await worker.client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": "a long pass phrase 42"},
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_rules_apply_after_a_hit(sqlite_url: str) -> None:
    async with workers(1, sqlite_url) as (worker,):
        alice = await _member(worker, "alice@example.com")
        bob = await _member(worker, "bob@example.com")
        note = await worker.client.post("/v1/notes", json={"title": "mine"}, headers=alice)
        assert note.status_code == 201, note.text
        item = f"/v1/notes/{note.json()['id']}"

        shown = await worker.client.get(item, headers=alice)
        assert shown.status_code == 200
        assert "rating" not in shown.json()
        assert shown.headers["vary"] == "Authorization"
        # Cached now: another member still cannot see it, nor find it in a list.
        assert (await worker.client.get(item, headers=bob)).status_code == 404
        assert (await worker.client.get("/v1/notes", headers=bob)).json()["data"] == []
        assert len((await worker.client.get("/v1/notes", headers=alice)).json()["data"]) == 1
        assert (await worker.client.get(item)).status_code == 401


async def test_responses_say_how_clients_may_cache_them(sqlite_url: str, tmp_path: Path) -> None:
    declared = copy.deepcopy(DECLARED)
    declared["resources"]["customers"]["cache"] = {"max_age": 60}
    blueprint = Blueprint.model_validate(declared)
    await create_schema(blueprint, sqlite_url)
    app = create_app(blueprint, settings=Settings(database_url=sqlite_url, **FAST))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as c:
        ada = (await c.post("/v1/customers", json={"name": "Ada"})).json()
        order = (await c.post("/v1/orders", json={"customer": ada["id"]})).json()
        customer = await c.get(f"/v1/customers/{ada['id']}")
        assert customer.headers["cache-control"] == "private, max-age=60"
        listing = await c.get("/v1/customers")
        assert listing.headers["cache-control"] == "private, max-age=60"
        fresh = await c.get(f"/v1/orders/{order['id']}")
        assert fresh.headers["cache-control"] == "private, no-cache"
        revalidated = await c.get(
            f"/v1/orders/{order['id']}", headers={"If-None-Match": fresh.headers["etag"]}
        )
        assert revalidated.status_code == 304
    await app.stop()


# Shared cache on Redis --------------------------------------------------------


async def test_redis_shares_entries_and_invalidations_between_workers(
    postgres_url: str, redis_url: str, redis_prefix: str
) -> None:
    async with workers(2, postgres_url, redis_url=redis_url, redis_prefix=redis_prefix) as pair:
        first, second = pair
        await _wait_subscribed(first, second)
        ada = await _customer(first)
        item = f"/v1/customers/{ada['id']}"
        listing = "/v1/customers?name=Ada"
        await first.client.get(item)
        await first.client.get(listing)

        # What one worker read, the other finds in Redis: no SQL.
        assert await second.statements_of(lambda: second.client.get(item)) == 0
        assert await second.statements_of(lambda: second.client.get(listing)) == 0

        await first.client.patch(item, json={"name": "Grace"})
        await asyncio.sleep(0.05)  # pub/sub delivery to the other worker's loop

        assert (await second.client.get(item)).json()["name"] == "Grace"
        assert (await second.client.get(listing)).json()["data"] == []


async def test_a_worker_reads_its_own_writes_at_once_with_redis(
    postgres_url: str, redis_url: str, redis_prefix: str
) -> None:
    async with workers(1, postgres_url, redis_url=redis_url, redis_prefix=redis_prefix) as (
        worker,
    ):
        await _wait_subscribed(worker)
        ada = await _customer(worker)
        item = f"/v1/customers/{ada['id']}"
        await worker.client.get(item)
        await worker.client.get("/v1/customers?name=Ada")
        assert await worker.statements_of(lambda: worker.client.get(item)) == 0

        await worker.client.patch(item, json={"name": "Grace"})

        # No waiting: this worker dropped its entries before answering the write.
        assert (await worker.client.get(item)).json()["name"] == "Grace"
        assert (await worker.client.get("/v1/customers?name=Ada")).json()["data"] == []


async def test_the_cache_survives_redis_stopping_and_starting(
    postgres_url: str, tmp_path: Path
) -> None:
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        async with workers(2, postgres_url, redis_url=redis.url, redis_prefix="outage:") as (
            first,
            second,
        ):
            await _wait_subscribed(first, second)
            ada = await _customer(first)
            item = f"/v1/customers/{ada['id']}"
            await first.client.get(item)
            await second.client.get(item)
            assert await second.statements_of(lambda: second.client.get(item)) == 0

            redis.stop()
            # Reads and writes go on from the database, and stay correct.
            await first.client.patch(item, json={"name": "Grace"})
            for _ in range(3):
                response = await second.client.get(item)
                assert response.status_code == 200
                assert response.json()["name"] == "Grace"
            assert await second.statements_of(lambda: second.client.get(item)) == 1

            redis.start()
            await _wait_subscribed(first, second)
            # Back by itself: filled again, then hits without SQL.
            await second.client.get(item)
            assert await second.statements_of(lambda: second.client.get(item)) == 0
            assert await first.statements_of(lambda: first.client.get(item)) <= 1
            await first.client.patch(item, json={"name": "Edsger"})
            await asyncio.sleep(0.05)
            assert (await second.client.get(item)).json()["name"] == "Edsger"
    finally:
        redis.stop()
