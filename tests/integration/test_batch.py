"""``POST /v1/{resource}:batch``: all or nothing, per-item pointers, idempotency; both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bastion.app import BastionApp, create_app
from bastion.blueprint import BelongsTo, Blueprint, EmailField, Resource, StringField
from bastion.core import FieldError, HookEvent, Hooks, Rejected
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint(
    name="batch",
    resources={
        "customers": Resource(
            fields={
                "name": StringField(max_length=20, required=True),
                "email": EmailField(required=True, unique=True),
                "code": StringField(max_length=20, read_only=True),
            }
        ),
        "orders": Resource(
            fields={"customer": BelongsTo(resource="customers", required=True)},
        ),
    },
)


def person(name: str) -> dict[str, str]:
    return {"name": name, "email": f"{name.lower()}@example.com"}


Build = Callable[..., Any]


@pytest.fixture
async def build(database_url: str) -> AsyncIterator[Build]:
    """Build an app on this test's database; hands back its HTTP client."""
    await create_schema(BLUEPRINT, database_url)
    apps: list[BastionApp] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(hooks: Hooks | None = None, **settings: Any) -> httpx.AsyncClient:
        app = create_app(
            BLUEPRINT, settings=Settings(database_url=database_url, **settings), hooks=hooks
        )
        apps.append(app)
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        await client.aclose()
    for app in apps:
        await app.stop()


@pytest.fixture
async def api(build: Build) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await build()
    return client


async def names(api: httpx.AsyncClient, resource: str = "customers") -> list[str]:
    response = await api.get(f"/v1/{resource}")
    assert response.status_code == 200, response.text
    return [record.get("name", "") for record in response.json()["data"]]


def pointers(response: httpx.Response) -> list[str]:
    return [error["pointer"] for error in response.json().get("errors", [])]


async def test_a_batch_creates_every_record_and_answers_them_in_order(
    api: httpx.AsyncClient,
) -> None:
    batch = [person("Ada"), person("Grace"), person("Linus")]
    response = await api.post("/v1/customers:batch", json={"records": batch})

    assert response.status_code == 201, response.text
    data = response.json()["data"]
    assert [record["name"] for record in data] == ["Ada", "Grace", "Linus"]
    assert all(record["version"] == 1 for record in data)
    assert len({record["id"] for record in data}) == 3
    assert sorted(await names(api)) == ["Ada", "Grace", "Linus"]
    stored = await api.get(f"/v1/customers/{data[1]['id']}")
    assert stored.json() == data[1]


async def test_invalid_items_create_nothing_and_the_problem_points_at_each_of_them(
    api: httpx.AsyncClient,
) -> None:
    batch = [
        person("Ada"),
        {"name": "Grace", "email": "not-an-email"},
        person("Linus"),
        {"email": "x@example.com", "colour": "red"},
    ]
    response = await api.post("/v1/customers:batch", json={"records": batch})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert sorted(pointers(response)) == [
        "/records/1/email",
        "/records/3/colour",
        "/records/3/name",
    ]
    assert "2 of the 4" in response.json()["detail"]
    assert await names(api) == []


async def test_a_unique_clash_inside_the_batch_creates_nothing(api: httpx.AsyncClient) -> None:
    batch = [person("Ada"), person("Grace"), {"name": "Ada2", "email": "ada@example.com"}]
    response = await api.post("/v1/customers:batch", json={"records": batch})

    assert response.status_code == 409
    assert response.json()["code"] == "unique_violation"
    assert pointers(response) == ["/records/2/email"]
    assert await names(api) == []


async def test_a_unique_clash_with_a_stored_record_creates_nothing(api: httpx.AsyncClient) -> None:
    assert (await api.post("/v1/customers", json=person("Grace"))).status_code == 201
    response = await api.post(
        "/v1/customers:batch", json={"records": [person("Ada"), person("Grace")]}
    )

    assert response.status_code == 409
    assert pointers(response) == ["/records/1/email"]
    assert await names(api) == ["Grace"]


async def test_a_missing_reference_in_one_item_creates_nothing(api: httpx.AsyncClient) -> None:
    customer = (await api.post("/v1/customers", json=person("Ada"))).json()["id"]
    missing = "01a212f4-0000-7000-8000-000000000000"
    batch = [{"customer": customer}, {"customer": missing}]
    response = await api.post("/v1/orders:batch", json={"records": batch})

    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert pointers(response) == ["/records/1/customer"]
    assert (await api.get("/v1/orders")).json()["data"] == []


async def test_hooks_run_per_item_and_a_rejection_rolls_the_whole_batch_back(
    build: Build,
) -> None:
    seen: list[str] = []
    hooks = Hooks()

    @hooks.before_create("customers")
    async def code_each(event: HookEvent) -> None:
        seen.append(event.record["name"])
        if event.record["name"] == "Mallory":
            raise Rejected(
                "Mallory may not be a customer", errors=(FieldError("/name", "is banned"),)
            )
        event.record["code"] = event.record["name"].upper()

    api = await build(hooks=hooks)
    good = await api.post("/v1/customers:batch", json={"records": [person("Ada"), person("Bo")]})
    bad = await api.post(
        "/v1/customers:batch",
        json={"records": [person("Cy"), person("Mallory"), person("Dee")]},
    )

    assert good.status_code == 201
    assert [record["code"] for record in good.json()["data"]] == ["ADA", "BO"]
    assert bad.status_code == 422
    assert bad.json()["code"] == "rejected"
    assert pointers(bad) == ["/records/1/name"]
    assert seen == ["Ada", "Bo", "Cy", "Mallory"]
    assert sorted(await names(api)) == ["Ada", "Bo"]


async def test_a_batch_larger_than_the_maximum_is_413_and_creates_nothing(build: Build) -> None:
    api = await build(batch_max=3)
    batch = [person(name) for name in ("Ada", "Bo", "Cy", "Dee")]
    response = await api.post("/v1/customers:batch", json={"records": batch})
    allowed = await api.post("/v1/customers:batch", json={"records": batch[:3]})

    assert response.status_code == 413
    assert response.json()["code"] == "batch_too_large"
    assert allowed.status_code == 201
    assert sorted(await names(api)) == ["Ada", "Bo", "Cy"]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ([{"name": "Ada", "email": "ada@example.com"}], ""),
        ({"records": []}, "/records"),
        ({"records": {"name": "Ada"}}, "/records"),
        (
            {"records": [{"name": "Ada", "email": "ada@example.com"}], "atomic/x": True},
            "/atomic~1x",
        ),
    ],
    ids=["bare-array", "empty", "not-an-array", "unknown-member"],
)
async def test_a_batch_body_must_be_an_object_with_a_records_array(
    api: httpx.AsyncClient, body: Any, pointer: str
) -> None:
    response = await api.post("/v1/customers:batch", json=body)
    assert response.status_code == 422
    assert response.json()["code"] == "validation_failed"
    assert pointer in pointers(response)
    assert await names(api) == []


async def test_the_batch_route_is_not_taken_for_a_resource_or_a_record(
    api: httpx.AsyncClient,
) -> None:
    wrong_method = await api.get("/v1/customers:batch")
    unknown = await api.post("/v1/shoppers:batch", json={"records": [{}]})
    single = await api.post("/v1/customers", json=person("Ada"))

    assert wrong_method.status_code == 405
    assert wrong_method.headers["allow"] == "POST"
    assert unknown.status_code == 404
    assert "shoppers" in unknown.json()["detail"]
    assert single.status_code == 201
    assert (await api.get(f"/v1/customers/{single.json()['id']}")).status_code == 200


async def test_a_keyed_batch_is_replayed_and_creates_its_records_once(
    api: httpx.AsyncClient,
) -> None:
    body = {"records": [person("Ada"), person("Bo")]}
    headers = {"Idempotency-Key": "batch-1"}
    first = await api.post("/v1/customers:batch", json=body, headers=headers)
    second = await api.post("/v1/customers:batch", json=body, headers=headers)
    other = await api.post("/v1/customers:batch", json={"records": [person("Cy")]}, headers=headers)
    single = await api.post("/v1/customers", json=person("Cy"), headers=headers)

    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.content == first.content
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    assert single.status_code == 422
    assert "POST /v1/customers:batch" in single.json()["detail"]
    assert sorted(await names(api)) == ["Ada", "Bo"]


async def test_a_failed_keyed_batch_stores_nothing_so_its_corrected_retry_runs(
    api: httpx.AsyncClient,
) -> None:
    headers = {"Idempotency-Key": "batch-2"}
    bad = {"records": [person("Ada"), {"name": "Bo"}]}
    failed = await api.post("/v1/customers:batch", json=bad, headers=headers)
    fixed = {"records": [person("Ada"), person("Bo")]}
    retried = await api.post("/v1/customers:batch", json=fixed, headers=headers)

    assert failed.status_code == 422
    assert pointers(failed) == ["/records/1/email"]
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert sorted(await names(api)) == ["Ada", "Bo"]
