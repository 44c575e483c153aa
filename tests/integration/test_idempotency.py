"""Idempotency keys on POST, end to end over ASGI, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from starlette.types import ASGIApp, Receive, Scope, Send

from bastion.adapters.sql.store import SqlStore
from bastion.app import BastionApp, create_app
from bastion.blueprint import BelongsTo, Blueprint, DecimalField, EmailField, Resource, StringField
from bastion.core import (
    HookEvent,
    Hooks,
    IdempotencyKeyReused,
    IdempotencyPolicy,
    IdempotentRecords,
    IdempotentRequest,
    RecordService,
    RequestContext,
    caller_scope,
)
from bastion.core.ports import StoredResponse
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint(
    name="idempotency",
    resources={
        "customers": Resource(
            fields={
                "name": StringField(max_length=20, required=True),
                "email": EmailField(required=True, unique=True),
            }
        ),
        "orders": Resource(
            fields={
                "customer": BelongsTo(resource="customers", required=True),
                "total": DecimalField(precision=10, scale=2, default="0", min=0),
            }
        ),
    },
)

ADA = {"name": "Ada", "email": "ada@example.com"}


async def create_blueprint_schema(url: str) -> None:
    await create_schema(BLUEPRINT, url)


class ActorFromHeader:
    """Stands in for the identity layer: ``X-Test-Actor`` becomes the caller."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope["headers"]:
                if name == b"x-test-actor":
                    scope.setdefault("state", {})["context"] = RequestContext(actor=value.decode())
        await self.app(scope, receive, send)


Build = Callable[..., Any]


@pytest.fixture
async def build(database_url: str) -> AsyncIterator[Build]:
    """Build an app on this test's database (schema created once); hands back (app, client)."""
    apps: list[BastionApp] = []
    clients: list[httpx.AsyncClient] = []
    await create_blueprint_schema(database_url)

    async def factory(
        hooks: Hooks | None = None, **settings: Any
    ) -> tuple[BastionApp, httpx.AsyncClient]:
        app = create_app(
            BLUEPRINT, settings=Settings(database_url=database_url, **settings), hooks=hooks
        )
        apps.append(app)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=ActorFromHeader(app)), base_url="http://testserver"
        )
        clients.append(client)
        return app, client

    yield factory
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.stop()


@pytest.fixture
async def api(build: Build) -> httpx.AsyncClient:
    _, client = await build()
    assert isinstance(client, httpx.AsyncClient)
    return client


def keyed(key: str, **headers: str) -> dict[str, str]:
    return {"Idempotency-Key": key, **headers}


async def count(api: httpx.AsyncClient, resource: str = "customers") -> int:
    response = await api.get(f"/v1/{resource}")
    assert response.status_code == 200, response.text
    return len(response.json()["data"])


def same_response(first: httpx.Response, second: httpx.Response) -> None:
    assert second.status_code == first.status_code
    assert second.content == first.content
    for header in ("location", "etag", "content-type"):
        assert second.headers.get(header) == first.headers.get(header)


async def test_a_retry_with_the_same_key_replays_the_first_response_and_creates_one_record(
    api: httpx.AsyncClient,
) -> None:
    first = await api.post("/v1/customers", json=ADA, headers=keyed("k-1"))
    second = await api.post("/v1/customers", json=ADA, headers=keyed("k-1"))

    assert first.status_code == 201, first.text
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    same_response(first, second)
    assert first.headers["location"].endswith(first.json()["id"])
    assert await count(api) == 1


async def test_the_same_document_serialised_differently_is_the_same_request(
    api: httpx.AsyncClient,
) -> None:
    headers = keyed("k-order", **{"Content-Type": "application/json"})
    first = await api.post(
        "/v1/customers", content=b'{"name":"Ada","email":"ada@example.com"}', headers=headers
    )
    second = await api.post(
        "/v1/customers",
        content=b'{ "email": "ada@example.com",\n  "name": "Ada" }',
        headers=headers,
    )
    assert first.status_code == 201, first.text
    assert second.headers["idempotent-replayed"] == "true"
    same_response(first, second)


async def test_the_same_key_with_another_body_is_refused_and_creates_nothing(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.post("/v1/customers", json=ADA, headers=keyed("k-2"))).status_code == 201
    other = {"name": "Grace", "email": "grace@example.com"}
    response = await api.post("/v1/customers", json=other, headers=keyed("k-2"))

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "idempotency_key_reused"
    assert "different body" in response.json()["detail"]
    assert await count(api) == 1


async def test_the_same_key_on_another_endpoint_is_refused(api: httpx.AsyncClient) -> None:
    created = await api.post("/v1/customers", json=ADA, headers=keyed("k-3"))
    order = {"customer": created.json()["id"]}
    response = await api.post("/v1/orders", json=order, headers=keyed("k-3"))

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert "POST /v1/customers" in response.json()["detail"]
    assert await count(api, "orders") == 0


async def test_different_callers_may_use_the_same_key(api: httpx.AsyncClient) -> None:
    alice = await api.post(
        "/v1/customers", json=ADA, headers=keyed("shared", **{"X-Test-Actor": "alice"})
    )
    grace = {"name": "Grace", "email": "grace@example.com"}
    bob = await api.post(
        "/v1/customers", json=grace, headers=keyed("shared", **{"X-Test-Actor": "bob"})
    )
    anonymous = await api.post(
        "/v1/customers", json={"name": "Ann", "email": "ann@example.com"}, headers=keyed("shared")
    )
    alice_again = await api.post(
        "/v1/customers", json=ADA, headers=keyed("shared", **{"X-Test-Actor": "alice"})
    )

    assert [r.status_code for r in (alice, bob, anonymous)] == [201, 201, 201]
    assert not any("idempotent-replayed" in r.headers for r in (alice, bob, anonymous))
    assert alice_again.headers["idempotent-replayed"] == "true"
    same_response(alice, alice_again)
    assert await count(api) == 3


@pytest.mark.parametrize(
    "value",
    [b"", b"k" * 256, b"caf\xc3\xa9", b"tab\there"],
    ids=["empty", "too-long", "not-ascii", "control-character"],
)
async def test_a_malformed_key_is_a_400_and_creates_nothing(
    api: httpx.AsyncClient, value: bytes
) -> None:
    response = await api.post("/v1/customers", json=ADA, headers=[(b"Idempotency-Key", value)])

    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"
    assert await count(api) == 0


async def test_two_key_headers_are_a_400(api: httpx.AsyncClient) -> None:
    headers = [("Idempotency-Key", "a"), ("Idempotency-Key", "b")]
    response = await api.post("/v1/customers", json=ADA, headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_idempotency_key"


async def test_a_key_of_255_printable_characters_is_accepted(api: httpx.AsyncClient) -> None:
    key = ("a b~!" * 51)[:255]
    first = await api.post("/v1/customers", json=ADA, headers=keyed(key))
    second = await api.post("/v1/customers", json=ADA, headers=keyed(key))
    assert first.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"


async def test_a_failed_request_stores_nothing_so_a_corrected_retry_with_the_key_runs(
    api: httpx.AsyncClient,
) -> None:
    invalid = await api.post("/v1/customers", json={"name": "Ada"}, headers=keyed("k-4"))
    corrected = await api.post("/v1/customers", json=ADA, headers=keyed("k-4"))

    assert invalid.status_code == 422
    assert invalid.json()["code"] == "validation_failed"
    assert corrected.status_code == 201
    assert "idempotent-replayed" not in corrected.headers
    assert await count(api) == 1


async def test_a_conflict_is_not_stored_so_the_same_body_succeeds_once_the_conflict_is_gone(
    api: httpx.AsyncClient,
) -> None:
    taken = await api.post("/v1/customers", json=ADA)
    refused = await api.post("/v1/customers", json=ADA, headers=keyed("k-5"))
    await api.delete(f"/v1/customers/{taken.json()['id']}")
    retried = await api.post("/v1/customers", json=ADA, headers=keyed("k-5"))

    assert refused.status_code == 409
    assert refused.json()["code"] == "unique_violation"
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


async def test_twenty_concurrent_requests_with_one_key_create_exactly_one_record(
    api: httpx.AsyncClient,
) -> None:
    responses = await asyncio.gather(
        *(api.post("/v1/customers", json=ADA, headers=keyed("k-race")) for _ in range(20))
    )

    created = [r for r in responses if r.status_code == 201]
    in_flight = [r for r in responses if r.status_code == 409]
    assert len(created) + len(in_flight) == 20, [r.text for r in responses]
    assert created
    assert sum("idempotent-replayed" not in r.headers for r in created) == 1
    for response in created:
        same_response(created[0], response)
    for response in in_flight:
        assert response.json()["code"] == "idempotency_in_flight"
        assert response.headers["retry-after"] == "1"
    assert await count(api) == 1


async def test_a_duplicate_of_a_running_request_is_409_on_postgres_and_waits_on_sqlite(
    build: Build, database_url: str
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    hooks = Hooks()

    @hooks.before_create("customers")
    async def hold(event: HookEvent) -> None:
        entered.set()
        await release.wait()

    _, api = await build(hooks=hooks)
    first = asyncio.create_task(api.post("/v1/customers", json=ADA, headers=keyed("k-slow")))
    await asyncio.wait_for(entered.wait(), 5)
    duplicate = asyncio.create_task(api.post("/v1/customers", json=ADA, headers=keyed("k-slow")))

    if database_url.startswith("postgresql"):
        response = await asyncio.wait_for(duplicate, 5)
        assert response.status_code == 409
        assert response.json()["code"] == "idempotency_in_flight"
        assert response.headers["retry-after"] == "1"
        release.set()
        assert (await first).status_code == 201
        duplicate_response = await api.post("/v1/customers", json=ADA, headers=keyed("k-slow"))
    else:
        # SQLite: the duplicate waits for the write lock the first request holds.
        await asyncio.sleep(0.2)
        assert not duplicate.done()
        release.set()
        assert (await first).status_code == 201
        duplicate_response = await duplicate

    assert duplicate_response.headers["idempotent-replayed"] == "true"
    same_response(first.result(), duplicate_response)
    assert await count(api) == 1


async def test_an_expired_key_can_be_used_again(build: Build) -> None:
    app, api = await build(idempotency_ttl_seconds=60)
    first = await api.post("/v1/customers", json=ADA, headers=keyed("k-6"))
    later = datetime.now(UTC) + timedelta(seconds=61)
    app.service.clock = lambda: later

    grace = {"name": "Grace", "email": "grace@example.com"}
    reused = await api.post("/v1/customers", json=grace, headers=keyed("k-6"))
    replayed = await api.post("/v1/customers", json=grace, headers=keyed("k-6"))

    assert first.status_code == 201
    assert reused.status_code == 201
    assert "idempotent-replayed" not in reused.headers
    assert reused.json()["id"] != first.json()["id"]
    assert replayed.headers["idempotent-replayed"] == "true"
    same_response(reused, replayed)
    assert await count(api) == 2


async def test_a_replay_works_across_two_app_instances_on_one_database(build: Build) -> None:
    _, worker_a = await build()
    _, worker_b = await build()
    first = await worker_a.post("/v1/customers", json=ADA, headers=keyed("k-7"))
    second = await worker_b.post("/v1/customers", json=ADA, headers=keyed("k-7"))

    assert first.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    same_response(first, second)
    assert await count(worker_b) == 1


# The core API directly: scopes, and purging of expired keys -----------------


def _render(row: dict[str, Any]) -> StoredResponse:
    return StoredResponse(201, (("content-type", "application/json"),), str(row["id"]).encode())


async def test_core_keys_are_scoped_to_the_caller_and_expired_ones_are_purged(
    database_url: str,
) -> None:
    await create_blueprint_schema(database_url)
    store = SqlStore(url=database_url, blueprint=BLUEPRINT)
    await store.start()
    now = datetime.now(UTC)
    try:
        records = RecordService(blueprint=BLUEPRINT, store=store, clock=lambda: now)
        keyed_records = IdempotentRecords(
            records=records, policy=IdempotencyPolicy(ttl=timedelta(seconds=10), purge_every=1)
        )
        alice, bob = RequestContext(actor="alice"), RequestContext(actor="bob")

        def request(ctx: RequestContext, key: str, body_hash: str = "h") -> IdempotentRequest:
            return IdempotentRequest.for_caller(
                ctx, key=key, endpoint="POST /v1/customers", request_hash=body_hash
            )

        async def create(ctx: RequestContext, key: str, body: dict[str, str]) -> Any:
            return await keyed_records.create(
                "customers", body, ctx=ctx, request=request(ctx, key), render=_render
            )

        first = await create(alice, "k", ADA)
        again = await create(alice, "k", ADA)
        other = await create(bob, "k", {"name": "Bob", "email": "bob@example.com"})
        assert not first.replayed
        assert again.replayed
        assert again.response == first.response
        assert not other.replayed
        assert caller_scope(alice) != caller_scope(bob) != caller_scope(RequestContext())
        with pytest.raises(IdempotencyKeyReused):
            await keyed_records.create(
                "customers", ADA, ctx=alice, request=request(alice, "k", "other"), render=_render
            )

        now += timedelta(seconds=11)
        await create(alice, "fresh", {"name": "Cy", "email": "cy@example.com"})
        async with store.unit_of_work() as uow:
            assert await uow.idempotency_get(caller_scope(alice), "k") is None
            assert await uow.idempotency_get(caller_scope(bob), "k") is None
            assert await uow.idempotency_get(caller_scope(alice), "fresh") is not None
    finally:
        await store.close()
