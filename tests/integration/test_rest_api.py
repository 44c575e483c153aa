"""The generated REST API, end to end over ASGI, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from bastion import FieldError, HookEvent, Hooks, Rejected
from bastion.app import BastionApp, create_app
from bastion.blueprint import (
    BelongsTo,
    Blueprint,
    BooleanField,
    DateTimeField,
    DecimalField,
    EmailField,
    EnumField,
    IntegerField,
    JsonField,
    Resource,
    StringField,
)
from bastion.settings import Settings
from schema_support import create_schema

SHOP = Blueprint(
    name="shop",
    resources={
        "customers": Resource(
            fields={
                "name": StringField(max_length=20, required=True),
                "email": EmailField(required=True, unique=True),
                "secret": StringField(write_only=True),
                "vip": BooleanField(default=False),
            }
        ),
        "orders": Resource(
            fields={
                "customer": BelongsTo(resource="customers", required=True, on_delete="cascade"),
                "total": DecimalField(precision=10, scale=2, default="0", min=0),
                "status": EnumField(values=["pending", "paid"], default="pending"),
                "placed_at": DateTimeField(),
                "number": StringField(max_length=20, read_only=True),
                "meta": JsonField(),
            }
        ),
        "order_items": Resource(
            fields={
                "order": BelongsTo(resource="orders", required=True, on_delete="cascade"),
                "quantity": IntegerField(min=1, required=True),
            }
        ),
        "reviews": Resource(
            fields={
                "customer": BelongsTo(resource="customers", on_delete="set_null"),
                "stars": IntegerField(min=1, max=5),
            }
        ),
        "invoices": Resource(
            fields={"order": BelongsTo(resource="orders", required=True, on_delete="restrict")},
            require_if_match=False,
        ),
        "contracts": Resource(fields={"title": StringField()}, require_if_match=True),
        "coupons": Resource(fields={"code": StringField(pattern=r"^[A-Z0-9-]+$")}),
    },
)

AppFactory = Callable[..., Any]


@pytest.fixture
async def make_client(database_url: str) -> AsyncIterator[AppFactory]:
    """Build an app on this test's database and hand back an HTTP client for it."""
    apps: list[BastionApp] = []
    clients: list[httpx.AsyncClient] = []

    async def factory(blueprint: Blueprint = SHOP, hooks: Hooks | None = None) -> httpx.AsyncClient:
        await create_schema(blueprint, database_url)
        settings = Settings(database_url=database_url, max_body_bytes=4096)
        app = create_app(blueprint, settings=settings, hooks=hooks)
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
async def api(make_client: AppFactory) -> httpx.AsyncClient:
    client: httpx.AsyncClient = await make_client()
    return client


async def _customer(api: httpx.AsyncClient, name: str = "Ada", **extra: Any) -> dict[str, Any]:
    response = await api.post(
        "/v1/customers", json={"name": name, "email": f"{name.lower()}@example.com", **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def _all(api: httpx.AsyncClient, resource: str) -> list[dict[str, Any]]:
    response = await api.get(f"/v1/{resource}", params={"limit": 100})
    assert response.status_code == 200
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def _assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"] == f"urn:bastion:problem:{code}"
    assert body["title"]
    assert body["detail"]
    assert "Traceback" not in response.text
    return body


# Create, read, list -------------------------------------------------------


async def test_create_returns_201_with_location_etag_and_system_fields(
    api: httpx.AsyncClient,
) -> None:
    response = await api.post(
        "/v1/customers", json={"name": "Ada", "email": "ada@example.com", "secret": "s3cret"}
    )
    assert response.status_code == 201
    body = response.json()
    assert response.headers["location"] == f"/v1/customers/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["version"] == 1
    assert body["id"][14] == "7"  # a UUIDv7
    assert body["created_at"].endswith("Z")
    assert body["created_at"] == body["updated_at"]
    assert body["vip"] is False  # the blueprint's default
    assert "secret" not in body  # write-only fields are never read back


async def test_get_returns_the_stored_record_and_304_when_unchanged(api: httpx.AsyncClient) -> None:
    created = await _customer(api)
    response = await api.get(f"/v1/customers/{created['id']}")
    assert response.status_code == 200
    assert response.json() == created
    not_modified = await api.get(
        f"/v1/customers/{created['id']}", headers={"If-None-Match": response.headers["etag"]}
    )
    assert not_modified.status_code == 304


async def test_datetimes_are_stored_in_utc_and_decimals_served_as_exact_strings(
    api: httpx.AsyncClient,
) -> None:
    customer = await _customer(api)
    response = await api.post(
        "/v1/orders",
        json={
            "customer": customer["id"],
            "total": "19.9",
            "placed_at": "2026-03-01T10:30:00+02:00",
            "meta": {"gift": True, "tags": ["a"]},
        },
    )
    assert response.status_code == 201, response.text
    order = (await api.get(response.headers["location"])).json()
    assert order["total"] == "19.90"
    assert order["placed_at"] == "2026-03-01T08:30:00Z"
    assert order["meta"] == {"gift": True, "tags": ["a"]}
    assert order["status"] == "pending"


async def test_list_pages_walk_every_record_once_in_creation_order(api: httpx.AsyncClient) -> None:
    ids = [(await _customer(api, f"C{i}")).get("id") for i in range(7)]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = (await api.get("/v1/customers", params=params)).json()
        seen += [record["id"] for record in page["data"]]
        assert page["has_more"] == (page["next_cursor"] is not None)
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == ids


async def test_list_rejects_bad_limit_cursor_and_unknown_parameters(api: httpx.AsyncClient) -> None:
    _assert_problem(await api.get("/v1/customers?limit=0"), 400, "invalid_query")
    _assert_problem(await api.get("/v1/customers?limit=101"), 400, "invalid_query")
    _assert_problem(await api.get("/v1/customers?cursor=garbage"), 400, "invalid_query")
    body = _assert_problem(await api.get("/v1/customers?colour=red"), 400, "invalid_query")
    assert "colour" in body["detail"]


# Updates -------------------------------------------------------------------


async def test_patch_merges_fields_and_json_documents_and_bumps_version(
    api: httpx.AsyncClient,
) -> None:
    customer = await _customer(api)
    order = (
        await api.post("/v1/orders", json={"customer": customer["id"], "meta": {"a": 1, "b": 2}})
    ).json()
    response = await api.patch(
        f"/v1/orders/{order['id']}",
        json={"status": "paid", "meta": {"b": None, "c": 3}},
        headers={"If-Match": '"1"'},
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["status"] == "paid"
    assert updated["meta"] == {"a": 1, "c": 3}
    assert updated["version"] == 2
    assert response.headers["etag"] == '"2"'
    assert updated["updated_at"] > updated["created_at"]


async def test_an_empty_merge_patch_still_bumps_the_version(api: httpx.AsyncClient) -> None:
    customer = await _customer(api)
    response = await api.patch(f"/v1/customers/{customer['id']}", json={})
    assert response.status_code == 200
    assert response.json()["version"] == 2


async def test_patch_accepts_the_merge_patch_media_type(api: httpx.AsyncClient) -> None:
    customer = await _customer(api)
    response = await api.patch(
        f"/v1/customers/{customer['id']}",
        content=b'{"vip": true}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 200
    assert response.json()["vip"] is True


async def test_put_replaces_every_writable_field(api: httpx.AsyncClient) -> None:
    customer = await _customer(api, vip=True)
    response = await api.put(
        f"/v1/customers/{customer['id']}", json={"name": "Grace", "email": "grace@example.com"}
    )
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["name"] == "Grace"
    assert replaced["vip"] is False  # omitted: back to the default
    assert replaced["version"] == 2
    assert replaced["created_at"] == customer["created_at"]


async def test_stale_if_match_is_412_with_the_current_version_and_changes_nothing(
    api: httpx.AsyncClient,
) -> None:
    customer = await _customer(api)
    await api.patch(f"/v1/customers/{customer['id']}", json={"name": "B"})
    response = await api.patch(
        f"/v1/customers/{customer['id']}", json={"name": "C"}, headers={"If-Match": '"1"'}
    )
    body = _assert_problem(response, 412, "precondition_failed")
    assert body["current_version"] == 2
    assert (await api.get(f"/v1/customers/{customer['id']}")).json()["name"] == "B"


async def test_a_resource_that_requires_if_match_answers_428_without_it(
    api: httpx.AsyncClient,
) -> None:
    contract = (await api.post("/v1/contracts", json={"title": "NDA"})).json()
    _assert_problem(
        await api.patch(f"/v1/contracts/{contract['id']}", json={"title": "x"}),
        428,
        "precondition_required",
    )
    ok = await api.patch(
        f"/v1/contracts/{contract['id']}", json={"title": "x"}, headers={"If-Match": '"1"'}
    )
    assert ok.status_code == 200


# Deletes and relations ------------------------------------------------------


async def test_delete_answers_204_then_the_record_is_gone(api: httpx.AsyncClient) -> None:
    customer = await _customer(api)
    assert (await api.delete(f"/v1/customers/{customer['id']}")).status_code == 204
    _assert_problem(await api.get(f"/v1/customers/{customer['id']}"), 404, "not_found")
    _assert_problem(await api.delete(f"/v1/customers/{customer['id']}"), 404, "not_found")


async def test_delete_cascades_through_relations_and_nulls_set_null_references(
    api: httpx.AsyncClient,
) -> None:
    customer = await _customer(api)
    order = (await api.post("/v1/orders", json={"customer": customer["id"]})).json()
    item = (await api.post("/v1/order_items", json={"order": order["id"], "quantity": 2})).json()
    review = (await api.post("/v1/reviews", json={"customer": customer["id"], "stars": 5})).json()
    assert (await api.delete(f"/v1/customers/{customer['id']}")).status_code == 204
    assert (await api.get(f"/v1/orders/{order['id']}")).status_code == 404
    assert (await api.get(f"/v1/order_items/{item['id']}")).status_code == 404
    kept = (await api.get(f"/v1/reviews/{review['id']}")).json()
    assert kept["customer"] is None
    assert kept["version"] == 2  # the set-null is a change like any other


async def test_delete_blocked_by_a_restrict_relation_is_409_and_deletes_nothing(
    api: httpx.AsyncClient,
) -> None:
    customer = await _customer(api)
    order = (await api.post("/v1/orders", json={"customer": customer["id"]})).json()
    await api.post("/v1/invoices", json={"order": order["id"]})
    body = _assert_problem(
        await api.delete(f"/v1/customers/{customer['id']}"), 409, "delete_restricted"
    )
    assert "invoices" in body["detail"]
    assert (await api.get(f"/v1/customers/{customer['id']}")).status_code == 200
    assert (await api.get(f"/v1/orders/{order['id']}")).status_code == 200


async def test_a_reference_to_a_missing_record_is_422_naming_the_field(
    api: httpx.AsyncClient,
) -> None:
    missing = "01900000-0000-7000-8000-000000000000"
    body = _assert_problem(
        await api.post("/v1/orders", json={"customer": missing}), 422, "validation_failed"
    )
    assert body["errors"][0]["pointer"] == "/customer"
    assert missing in body["errors"][0]["detail"]
    assert await _all(api, "orders") == []


async def test_a_taken_unique_value_is_409_naming_the_field(api: httpx.AsyncClient) -> None:
    await _customer(api)
    body = _assert_problem(
        await api.post("/v1/customers", json={"name": "Other", "email": "ada@example.com"}),
        409,
        "unique_violation",
    )
    assert body["errors"] == [{"pointer": "/email", "detail": "is already taken"}]
    assert len(await _all(api, "customers")) == 1


# Bad input leaves the data as it was ---------------------------------------


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        ({"name": 42, "email": "a@example.com"}, "/name"),
        ({"name": "x" * 21, "email": "a@example.com"}, "/name"),
        ({"name": "A", "email": "not-an-email"}, "/email"),
        ({"name": "A", "email": "a@example.com", "vip": "yes"}, "/vip"),
        ({"name": "A", "email": "a@example.com", "nickname": "x"}, "/nickname"),
        ({"name": "A", "email": "a@example.com", "id": "x"}, "/id"),
        ({"email": "a@example.com"}, "/name"),
    ],
)
async def test_invalid_bodies_are_422_with_a_pointer_and_store_nothing(
    api: httpx.AsyncClient, body: dict[str, Any], pointer: str
) -> None:
    problem = _assert_problem(await api.post("/v1/customers", json=body), 422, "validation_failed")
    assert pointer in [error["pointer"] for error in problem["errors"]]
    assert await _all(api, "customers") == []


async def test_read_only_fields_cannot_be_written_by_clients(api: httpx.AsyncClient) -> None:
    customer = await _customer(api)
    problem = _assert_problem(
        await api.post("/v1/orders", json={"customer": customer["id"], "number": "X"}),
        422,
        "validation_failed",
    )
    assert problem["errors"] == [{"pointer": "/number", "detail": "is read-only"}]


async def test_malformed_json_wrong_media_type_and_oversized_bodies_are_refused(
    api: httpx.AsyncClient,
) -> None:
    customer = await _customer(api)
    url = f"/v1/customers/{customer['id']}"
    json_type = {"Content-Type": "application/json"}
    _assert_problem(
        await api.post("/v1/customers", content=b"{nope", headers=json_type), 400, "malformed_json"
    )
    _assert_problem(
        await api.post("/v1/customers", content=b"name=x", headers={"Content-Type": "text/plain"}),
        415,
        "unsupported_media_type",
    )
    _assert_problem(
        await api.patch(url, content=b'{"name": "' + b"x" * 5000 + b'"}', headers=json_type),
        413,
        "payload_too_large",
    )
    _assert_problem(
        await api.patch(url, content=b"[1, 2]", headers=json_type), 422, "validation_failed"
    )
    assert (await api.get(url)).json() == customer


async def test_unknown_resources_ids_and_methods_are_problems(api: httpx.AsyncClient) -> None:
    _assert_problem(await api.get("/v1/unicorns"), 404, "not_found")
    _assert_problem(await api.get("/v1/customers/not-a-uuid"), 404, "not_found")
    _assert_problem(
        await api.get("/v1/customers/01900000-0000-7000-8000-000000000000"), 404, "not_found"
    )
    _assert_problem(await api.get("/elsewhere"), 404, "not_found")
    response = await api.post("/v1/customers/01900000-0000-7000-8000-000000000000", json={})
    _assert_problem(response, 405, "method_not_allowed")
    assert "PATCH" in response.headers["allow"]


async def test_every_response_carries_a_request_id(api: httpx.AsyncClient) -> None:
    response = await api.get("/v1/customers", headers={"X-Request-ID": "abc-123"})
    assert response.headers["x-request-id"] == "abc-123"
    assert len((await api.get("/v1/customers")).headers["x-request-id"]) == 32


# Hooks -------------------------------------------------------------------------


def _shop_hooks() -> Hooks:
    hooks = Hooks()

    @hooks.before_create("orders")
    async def number_the_order(event: HookEvent) -> None:
        event.record["number"] = "ORD-" + event.record["id"].hex[-8:]

    @hooks.before_create("order_items")
    def refuse_bulk(event: HookEvent) -> None:
        if event.record["quantity"] > 10:
            raise Rejected(
                "at most 10 of an item per order",
                errors=(FieldError("/quantity", "must be at most 10"),),
            )

    @hooks.after_create("order_items")
    async def count_items(event: HookEvent) -> None:
        order = await event.records.get("orders", event.record["order"])
        assert order is not None
        await event.records.update("orders", order["id"], {"meta": {"items": 1}})

    @hooks.before_delete("reviews")
    async def explode(event: HookEvent) -> None:
        raise RuntimeError("database password is hunter2")

    return hooks


async def test_a_hook_that_changes_the_record_is_persisted(make_client: AppFactory) -> None:
    api: httpx.AsyncClient = await make_client(hooks=_shop_hooks())
    customer = await _customer(api)
    order = (await api.post("/v1/orders", json={"customer": customer["id"]})).json()
    assert order["number"] == "ORD-" + order["id"].replace("-", "")[-8:]
    assert (await api.get(f"/v1/orders/{order['id']}")).json()["number"] == order["number"]


async def test_a_hook_that_rejects_leaves_no_row(make_client: AppFactory) -> None:
    api: httpx.AsyncClient = await make_client(hooks=_shop_hooks())
    customer = await _customer(api)
    order = (await api.post("/v1/orders", json={"customer": customer["id"]})).json()
    problem = _assert_problem(
        await api.post("/v1/order_items", json={"order": order["id"], "quantity": 11}),
        422,
        "rejected",
    )
    assert problem["errors"] == [{"pointer": "/quantity", "detail": "must be at most 10"}]
    assert await _all(api, "order_items") == []
    assert (await api.get(f"/v1/orders/{order['id']}")).json()["meta"] is None


async def test_an_after_hook_writes_in_the_same_transaction(make_client: AppFactory) -> None:
    api: httpx.AsyncClient = await make_client(hooks=_shop_hooks())
    customer = await _customer(api)
    order = (await api.post("/v1/orders", json={"customer": customer["id"]})).json()
    assert (
        await api.post("/v1/order_items", json={"order": order["id"], "quantity": 1})
    ).status_code == 201
    assert (await api.get(f"/v1/orders/{order['id']}")).json()["meta"] == {"items": 1}


async def test_a_hook_that_fails_unexpectedly_is_a_500_that_reveals_nothing_and_rolls_back(
    make_client: AppFactory, caplog: pytest.LogCaptureFixture
) -> None:
    api: httpx.AsyncClient = await make_client(hooks=_shop_hooks())
    customer = await _customer(api)
    review = (await api.post("/v1/reviews", json={"customer": customer["id"], "stars": 4})).json()
    response = await api.delete(f"/v1/reviews/{review['id']}")
    problem = _assert_problem(response, 500, "internal_error")
    assert "hunter2" not in response.text
    assert "RuntimeError" not in response.text
    assert response.headers["x-request-id"] in problem["detail"]
    assert (await api.get(f"/v1/reviews/{review['id']}")).status_code == 200
    assert any("hunter2" in (r.exc_text or "") for r in caplog.records)


# Concurrency -------------------------------------------------------------------


async def test_concurrent_patches_never_lose_an_update(api: httpx.AsyncClient) -> None:
    customer = await _customer(api)
    url = f"/v1/customers/{customer['id']}"

    async def patch(i: int, if_match: bool) -> int:
        headers = {"If-Match": '"1"'} if if_match else {}
        response = await api.patch(url, json={"name": f"N{i}"}, headers=headers)
        return response.status_code

    statuses = await asyncio.gather(*(patch(i, if_match=i % 2 == 0) for i in range(50)))
    successes = statuses.count(200)
    assert set(statuses) <= {200, 412}
    # Without If-Match all 25 succeed; with If-Match "1" at most one can.
    assert 25 <= successes <= 26
    final = (await api.get(url)).json()
    assert final["version"] == 1 + successes


async def test_a_pattern_ending_in_dollar_refuses_a_trailing_newline(
    api: httpx.AsyncClient,
) -> None:
    assert (await api.post("/v1/coupons", json={"code": "SAVE-10"})).status_code == 201
    problem = _assert_problem(
        await api.post("/v1/coupons", json={"code": "SAVE-10\n"}), 422, "validation_failed"
    )
    assert problem["errors"][0]["pointer"] == "/code"


async def test_a_datetime_outside_the_utc_range_is_422_not_500(api: httpx.AsyncClient) -> None:
    customer = await _customer(api)
    body = {"customer": customer["id"], "placed_at": "0001-01-01T00:00:00+01:00"}
    problem = _assert_problem(await api.post("/v1/orders", json=body), 422, "validation_failed")
    assert problem["errors"][0]["pointer"] == "/placed_at"
    assert await _all(api, "orders") == []
