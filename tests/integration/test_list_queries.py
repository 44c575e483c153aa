"""The list query language end to end, with the same answers on SQLite and PostgreSQL.

Filters with every operator, typed values, related-field filters, sparse
fields, expansion (and how many statements it costs), counts, keyset
cursors over multi-key sorts with nulls, aggregations, and the 400s for
everything a query may not ask.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from string import Template
from typing import Any

import httpx
import pytest

from bastion.app import BastionApp, create_app
from bastion.blueprint import (
    BelongsTo,
    Blueprint,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    EnumField,
    FloatField,
    HasMany,
    IntegerField,
    JsonField,
    PageSize,
    Resource,
    StringField,
    TextField,
    validate_blueprint,
)
from bastion.core.ports import MemoryTelemetry
from bastion.settings import Settings
from schema_support import create_schema

SHOP = Blueprint(
    name="shop",
    resources={
        "customers": Resource(
            fields={
                "name": StringField(
                    max_length=40, required=True, filterable=True, sortable=True, searchable=True
                ),
                "email": EmailField(required=True, unique=True, filterable=True),
                "secret": StringField(write_only=True),
                "vip": BooleanField(default=False, filterable=True),
            },
            has_many={"orders": HasMany(resource="orders", expand_limit=2)},
        ),
        "orders": Resource(
            fields={
                "customer": BelongsTo(resource="customers", filterable=True, sortable=True),
                "title": StringField(max_length=60, filterable=True, sortable=True),
                "total": DecimalField(precision=10, scale=2, filterable=True, sortable=True),
                "quantity": IntegerField(filterable=True, sortable=True),
                "ratio": FloatField(filterable=True, sortable=True),
                "status": EnumField(
                    values=["pending", "paid", "shipped"], filterable=True, sortable=True
                ),
                "placed_at": DateTimeField(filterable=True, sortable=True),
                "due": DateField(filterable=True, sortable=True),
                "meta": JsonField(filterable=True),
                "note": TextField(),
            },
            has_many={
                "items": HasMany(resource="order_items", expand_limit=2),
                "tags": HasMany(resource="tags", through="order_tags"),
            },
            page_size=PageSize(default=4, max=50),
        ),
        "order_items": Resource(
            fields={
                "order": BelongsTo(resource="orders", required=True, on_delete="cascade"),
                "sku": StringField(max_length=20),
            }
        ),
        "tags": Resource(fields={"label": StringField(max_length=20)}),
        "order_tags": Resource(
            fields={
                "order": BelongsTo(resource="orders", required=True, on_delete="cascade"),
                "tag": BelongsTo(resource="tags", required=True, on_delete="cascade"),
            }
        ),
    },
)
validate_blueprint(SHOP)

ORDERS: dict[str, dict[str, Any]] = {
    "Apple": {
        "total": "10.00",
        "quantity": 1,
        "ratio": 0.5,
        "status": "paid",
        "placed_at": "2026-03-01T10:00:00Z",
        "due": "2026-03-05",
        "meta": {"gift": True, "tags": ["a", "b"]},
    },
    "banana": {
        "total": "2.50",
        "quantity": 5,
        "status": "pending",
        "placed_at": "2026-03-01T12:00:00+02:00",
        "meta": {"gift": False},
    },
    "Cherry_pie": {
        "total": "100",
        "ratio": 1.5,
        "status": "shipped",
        "due": "2026-01-01",
        "meta": ["x", 1],
    },
    "date%": {"quantity": 3, "status": "paid", "placed_at": "2025-12-31T23:59:59.999999Z"},
    "Éclair": {
        "total": "0.01",
        "quantity": 2,
        "placed_at": "2026-03-02T00:00:00Z",
        "meta": {"n": 1.0},
    },
    "éclair": {"total": "2.50", "quantity": 5, "ratio": -1.0, "status": "pending"},
}
"""Orders by title; Apple and banana belong to Ada, Cherry_pie to Bob, the rest to nobody."""


@dataclass
class Shop:
    app: BastionApp
    api: httpx.AsyncClient
    telemetry: MemoryTelemetry
    ids: dict[str, str]

    def statements(self) -> int:
        return sum(1 for name, _, _ in self.telemetry.observations if name == "db_query_seconds")

    async def titles(self, query: str) -> list[str]:
        response = await self.api.get(f"/v1/orders?limit=50&{query}")
        assert response.status_code == 200, (query, response.text)
        return [record["title"] for record in response.json()["data"]]


async def _post(api: httpx.AsyncClient, resource: str, body: dict[str, Any]) -> str:
    response = await api.post(f"/v1/{resource}", json=body)
    assert response.status_code == 201, response.text
    record_id: str = response.json()["id"]
    return record_id


@pytest.fixture
async def shop(database_url: str) -> AsyncIterator[Shop]:
    await create_schema(SHOP, database_url)
    telemetry = MemoryTelemetry()
    app = create_app(SHOP, settings=Settings(database_url=database_url), telemetry=telemetry)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as api:
        ids = {
            "ada": await _post(api, "customers", {"name": "Ada", "email": "ada@example.com"}),
            "bob": await _post(
                api, "customers", {"name": "Bob", "email": "bob@example.com", "vip": True}
            ),
        }
        owners = {"Apple": "ada", "banana": "ada", "Cherry_pie": "bob"}
        for title, values in ORDERS.items():
            customer = ids[owners[title]] if title in owners else None
            body = {"title": title, "customer": customer, **values}
            ids[title] = await _post(api, "orders", body)
        for sku in ("a1", "a2", "a3"):
            await _post(api, "order_items", {"order": ids["Apple"], "sku": sku})
        await _post(api, "order_items", {"order": ids["banana"], "sku": "b1"})
        for label in ("red", "blue"):
            ids[label] = await _post(api, "tags", {"label": label})
            await _post(api, "order_tags", {"order": ids["Apple"], "tag": ids[label]})
        yield Shop(app, api, telemetry, ids)
    await app.stop()


def _problem(response: httpx.Response, *pointers: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == "invalid_query"
    assert [error["pointer"] for error in body["errors"]] == list(pointers), body
    return body


# Filters -----------------------------------------------------------------------------------

ALL = ["Apple", "banana", "Cherry_pie", "date%", "Éclair", "éclair"]
OPERATOR_CASES: list[tuple[str, list[str]]] = [
    ("title=Apple", ["Apple"]),
    ("title[eq]=apple", []),
    ("title[ne]=Apple", [t for t in ALL if t != "Apple"]),
    ("total[gt]=9.99", ["Apple", "Cherry_pie"]),
    ("total[gte]=10", ["Apple", "Cherry_pie"]),
    ("total[lt]=2.5", ["Éclair"]),
    ("total[lte]=2.50", ["banana", "Éclair", "éclair"]),
    ("total[ne]=2.5", ["Apple", "Cherry_pie", "Éclair"]),  # null matches nothing but isnull
    ("total[in]=2.50,100", ["banana", "Cherry_pie", "éclair"]),
    ("total[nin]=2.50,100", ["Apple", "Éclair"]),
    ("total[isnull]=true", ["date%"]),
    ("quantity[gt]=2", ["banana", "date%", "éclair"]),
    ("quantity[in]=1,2", ["Apple", "Éclair"]),
    ("ratio[lt]=1", ["Apple", "éclair"]),
    ("ratio[isnull]=false", ["Apple", "Cherry_pie", "éclair"]),
    ("status=paid", ["Apple", "date%"]),
    ("status[in]=paid,shipped", ["Apple", "Cherry_pie", "date%"]),
    ("status[nin]=paid", ["banana", "Cherry_pie", "éclair"]),
    ("status[gt]=paid", ["banana", "Cherry_pie", "éclair"]),  # enum order is text order
    ("status[isnull]=true", ["Éclair"]),
    ("placed_at[gte]=2026-03-01T10:00:00Z", ["Apple", "banana", "Éclair"]),
    ("placed_at=2026-03-01T12:00:00%2B02:00", ["Apple", "banana"]),  # the same instant
    ("placed_at=2026-03-01T12:00:00 02:00", ["Apple", "banana"]),  # '+' read as a space
    ("placed_at[lt]=2026-01-01T00:00:00Z", ["date%"]),
    ("placed_at[gt]=2025-12-31T23:59:59.999998Z", ["Apple", "banana", "date%", "Éclair"]),
    ("due[lt]=2026-03-01", ["Cherry_pie"]),
    ("due[isnull]=false", ["Apple", "Cherry_pie"]),
    ("title[like]=apple", []),
    ("title[like]=_pple", ["Apple"]),
    ("title[like]=%25e%25", ["Apple", "Cherry_pie", "date%"]),
    ("title[like]=date\\%25", ["date%"]),
    ("title[like]=Cherry\\_%25", ["Cherry_pie"]),
    ("title[like]=%25*%25", []),  # GLOB wildcards are plain characters
    ("title[ilike]=APPLE", ["Apple"]),
    ("title[ilike]=%25CLAIR", ["Éclair", "éclair"]),
    ("title[ilike]=éclair", ["éclair"]),  # case folding is ASCII only
    ("title[contains]=clair", ["Éclair", "éclair"]),
    ("title[contains]=Clair", []),
    ("title[contains]=%25", ["date%"]),
    ("title[gt]=a", ["banana", "date%", "Éclair", "éclair"]),  # code point order
    ("title[lt]=É", ["Apple", "banana", "Cherry_pie", "date%"]),
    ('meta[contains]={"gift":true}', ["Apple"]),
    ('meta[contains]={"tags":["b"]}', ["Apple"]),
    ('meta[contains]={"tags":"b"}', []),  # only a top-level array contains a bare value
    ('meta[contains]="x"', ["Cherry_pie"]),
    ("meta[contains]=[1]", ["Cherry_pie"]),
    ('meta[contains]={"n":1}', ["Éclair"]),  # numbers compare by value
    ('meta[contains]={"gift":1}', []),  # true is not 1
    ("meta[contains]={}", ["Apple", "banana", "Éclair"]),
    ("meta[isnull]=true", ["date%", "éclair"]),
    ("status=paid&quantity[gte]=3", ["date%"]),
    ("total[gt]=1&total[lt]=50", ["Apple", "banana", "éclair"]),
    ("id[in]=$Apple,$Cherry_pie", ["Apple", "Cherry_pie"]),
    ("customer=$bob", ["Cherry_pie"]),
    ("customer[isnull]=true", ["date%", "Éclair", "éclair"]),
    ("customer.email=ada@example.com", ["Apple", "banana"]),
    ("customer.name[like]=B%25", ["Cherry_pie"]),
    ("customer.vip=false", ["Apple", "banana"]),
    ("customer.id=$bob", ["Cherry_pie"]),
]


async def test_each_operator_selects_the_records_its_rule_names(shop: Shop) -> None:
    created = await shop.titles("sort=created_at")
    assert created == ALL
    for query, expected in OPERATOR_CASES:
        query = Template(query).safe_substitute(shop.ids)
        titles = await shop.titles(query)
        assert sorted(titles) == sorted(expected), query


@pytest.mark.parametrize(
    ("query", "pointer", "words"),
    [
        ("total[gt]=abc", "total[gt]", "decimal"),
        ("total=1.001", "total", "decimal places"),
        ("total[lt]=123456789", "total[lt]", "digits"),
        ("quantity=1.5", "quantity", "whole number"),
        ("quantity=99999999999999999999", "quantity", "whole number"),
        ("ratio[gt]=nan", "ratio[gt]", "number"),
        ("placed_at[gt]=2026-03-01T10:00:00", "placed_at[gt]", "timezone"),
        ("placed_at=yesterday", "placed_at", "RFC 3339"),
        ("due=2026-13-01", "due", "date"),
        ("status=lost", "status", "one of"),
        ("status[in]=paid,lost", "status[in]", "one of"),
        ("customer=42", "customer", "UUID"),
        ("meta[contains]={bad", "meta[contains]", "JSON"),
        ("title[isnull]=maybe", "title[isnull]", "true or false"),
        ("title[like]=abc\\", "title[like]", "lone"),
        ("quantity[in]=1,x", "quantity[in]", "whole number"),
        ("limit=0", "limit", "1 to 50"),
        ("limit=51", "limit", "1 to 50"),
        ("count=maybe", "count", "exact"),
    ],
)
async def test_a_bad_value_is_a_400_naming_its_parameter(
    shop: Shop, query: str, pointer: str, words: str
) -> None:
    body = _problem(await shop.api.get(f"/v1/orders?{query}"), pointer)
    assert words in body["errors"][0]["detail"]
    assert pointer in body["detail"]


async def test_unknown_parameters_and_undeclared_fields_are_400s_listing_what_is_allowed(
    shop: Shop,
) -> None:
    body = _problem(await shop.api.get("/v1/orders?colour=red&size=9"), "colour", "size")
    assert "colour, size" in body["detail"]
    assert "filters on" in body["detail"]
    assert "title" in body["detail"]
    body = _problem(await shop.api.get("/v1/orders?note=x"), "note")
    assert "not a filterable field" in body["detail"]
    assert "quantity" in body["detail"]
    body = _problem(await shop.api.get("/v1/orders?sort=note"), "sort")
    assert "sortable: " in body["detail"]
    assert "placed_at" in body["detail"]
    _problem(await shop.api.get("/v1/orders?sort=meta"), "sort")
    body = _problem(await shop.api.get("/v1/orders?title[regex]=x"), "title[regex]")
    assert "operators: eq, ne" in body["detail"]
    body = _problem(await shop.api.get("/v1/orders?meta[eq]=1"), "meta[eq]")
    assert "use isnull, contains" in body["detail"]
    _problem(await shop.api.get("/v1/customers?vip[gt]=true"), "vip[gt]")
    _problem(await shop.api.get("/v1/customers?secret=x"), "secret")  # write-only: unknown
    _problem(await shop.api.get("/v1/orders?customer.secret=x"), "customer.secret")
    _problem(await shop.api.get("/v1/orders?status.name=x"), "status.name")
    _problem(await shop.api.get("/v1/orders?as_of=2026-01-01"), "as_of")
    _problem(await shop.api.get("/v1/orders?limit=2&limit=3"), "limit")
    # every bad filter at once
    _problem(await shop.api.get("/v1/orders?total=x&quantity=y"), "total", "quantity")


async def test_full_text_search_needs_searchable_fields(shop: Shop) -> None:
    body = _problem(await shop.api.get("/v1/orders?q=apple"), "q")
    assert "full-text search is not enabled for orders" in body["detail"]
    found = (await shop.api.get("/v1/customers?q=AD")).json()["data"]
    assert [record["name"] for record in found] == ["Ada"]


async def test_a_query_shape_is_compiled_once_whatever_its_values(shop: Shop) -> None:
    store = shop.app.store
    cache = getattr(store, "inner", store).shape_cache
    await shop.titles("status[in]=paid&total[gt]=1&sort=-total")
    compiled = cache.misses
    for query in [
        "status[in]=paid,shipped,pending&total[gt]=2&sort=-total",
        "status[in]=shipped&total[gt]=99.99&sort=-total",
    ]:
        await shop.titles(query)
    assert cache.misses == compiled
    await shop.titles("status[nin]=paid&total[gt]=1&sort=-total")
    assert cache.misses == compiled + 1


# Shape: fields, expand, count ----------------------------------------------------------------


async def test_sparse_fields_keep_id_and_apply_to_single_records(shop: Shop) -> None:
    page = (await shop.api.get("/v1/orders?fields=title,total&title=Apple")).json()
    assert page["data"] == [{"id": shop.ids["Apple"], "title": "Apple", "total": "10.00"}]
    one = await shop.api.get(f"/v1/orders/{shop.ids['Apple']}?fields=status")
    assert one.json() == {"id": shop.ids["Apple"], "status": "paid"}
    assert one.headers["etag"] == '"1"'
    _problem(await shop.api.get("/v1/orders?fields=title,colour"), "fields")
    _problem(await shop.api.get("/v1/customers?fields=secret"), "fields")
    _problem(await shop.api.get(f"/v1/orders/{shop.ids['Apple']}?status=paid"), "status")


async def test_expand_embeds_relations_with_one_statement_each(shop: Shop) -> None:
    before = shop.statements()
    response = await shop.api.get("/v1/orders?sort=created_at&limit=50&expand=customer,items,tags")
    assert response.status_code == 200, response.text
    assert shop.statements() - before == 4  # the page, customers, items, tags
    records = {record["title"]: record for record in response.json()["data"]}
    apple = records["Apple"]
    assert apple["customer"]["id"] == shop.ids["ada"]
    assert apple["customer"]["email"] == "ada@example.com"
    assert "secret" not in apple["customer"]
    assert [item["sku"] for item in apple["items"]] == ["a1", "a2"]  # expand_limit 2, id order
    assert [tag["label"] for tag in apple["tags"]] == ["red", "blue"]
    assert [item["sku"] for item in records["banana"]["items"]] == ["b1"]
    assert records["date%"]["customer"] is None
    assert records["date%"]["items"] == []
    assert records["date%"]["tags"] == []

    before = shop.statements()
    customers = (await shop.api.get("/v1/customers?expand=orders&count=exact&vip=false")).json()
    assert shop.statements() - before == 3  # the page, the count, orders
    assert customers["total"] == 1
    assert [o["title"] for o in customers["data"][0]["orders"]] == ["Apple", "banana"]

    one = await shop.api.get(
        f"/v1/orders/{shop.ids['Cherry_pie']}?expand=customer&fields=title,customer"
    )
    assert one.json()["customer"]["name"] == "Bob"
    assert set(one.json()) == {"id", "title", "customer"}
    cached = await shop.api.get(
        f"/v1/orders/{shop.ids['Cherry_pie']}?expand=customer",
        headers={"If-None-Match": one.headers["etag"]},
    )
    assert cached.status_code == 200  # embedded records may have changed: no 304
    body = _problem(await shop.api.get("/v1/orders?expand=owner"), "expand")
    assert "customer, items, tags" in body["detail"]


async def test_count_exact_counts_every_filtered_record_on_any_page(shop: Shop) -> None:
    first = (await shop.api.get("/v1/orders?count=exact&limit=1&status[ne]=shipped")).json()
    assert first["total"] == 4
    assert len(first["data"]) == 1
    assert first["has_more"]
    second = await shop.api.get(
        "/v1/orders",
        params={"count": "exact", "status[ne]": "shipped", "cursor": first["next_cursor"]},
    )
    assert second.json()["total"] == 4
    assert "total" not in (await shop.api.get("/v1/orders")).json()


# Cursors -------------------------------------------------------------------------------------

SORTS = [
    "-total,title",
    "status,-placed_at",
    "ratio,-quantity",
    "-due,customer,-created_at",
    "title",
    "-id",
    "-updated_at",
]


async def _walk(shop: Shop, sort: str, limit: int, **filters: str) -> list[str]:
    titles: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"sort": sort, "limit": limit, **filters}
        if cursor:
            params["cursor"] = cursor
        response = await shop.api.get("/v1/orders", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        titles += [record["title"] for record in page["data"]]
        assert page["has_more"] == (page["next_cursor"] is not None)
        cursor = page["next_cursor"]
        if cursor is None:
            return titles


async def test_cursors_walk_multi_key_sorts_with_nulls_in_the_stated_order(shop: Shop) -> None:
    # Ascending keys put nulls last, descending first; ties go by id (creation order here).
    assert await shop.titles("sort=-total,title") == [
        "date%", "Cherry_pie", "Apple", "banana", "éclair", "Éclair"
    ]  # fmt: skip
    assert await shop.titles("sort=status,-placed_at") == [
        "Apple", "date%", "éclair", "banana", "Cherry_pie", "Éclair"
    ]  # fmt: skip
    assert await shop.titles("sort=ratio") == [
        "éclair", "Apple", "Cherry_pie", "banana", "date%", "Éclair"
    ]  # fmt: skip
    for sort in SORTS:
        everything = await shop.titles(f"sort={sort}")
        assert sorted(everything) == sorted(ALL), sort
        for limit in (1, 2, 4):
            assert await _walk(shop, sort, limit) == everything, (sort, limit)
    # The tie at 2.50 goes by id in the direction of the last key: descending.
    assert await _walk(shop, "-total", 1, **{"total[isnull]": "false"}) == [
        "Cherry_pie", "Apple", "éclair", "banana", "Éclair"
    ]  # fmt: skip


async def test_a_cursor_only_resumes_the_query_it_came_from(shop: Shop) -> None:
    page = (await shop.api.get("/v1/orders?sort=-total&limit=1&status=paid")).json()
    cursor = page["next_cursor"]
    assert cursor
    ok = await shop.api.get(
        "/v1/orders",
        params={
            "sort": "-total",
            "status": "paid",
            "cursor": cursor,
            "limit": 5,
            "fields": "title",
        },
    )
    assert ok.status_code == 200
    other_sort = await shop.api.get(
        "/v1/orders", params={"sort": "total", "status": "paid", "cursor": cursor}
    )
    assert "another sort, filter or search" in _problem(other_sort, "cursor")["detail"]
    other_filter = await shop.api.get(
        "/v1/orders", params={"sort": "-total", "status": "pending", "cursor": cursor}
    )
    _problem(other_filter, "cursor")
    _problem(
        await shop.api.get("/v1/orders", params={"sort": "-total", "cursor": cursor}), "cursor"
    )
    _problem(await shop.api.get("/v1/orders?cursor=garbage"), "cursor")
    _problem(
        await shop.api.get("/v1/customers", params={"sort": "-total", "cursor": cursor}), "sort"
    )


async def test_default_page_size_comes_from_the_resource(shop: Shop) -> None:
    page = (await shop.api.get("/v1/orders")).json()
    assert len(page["data"]) == 4
    assert page["has_more"]
    assert len((await shop.api.get("/v1/orders?limit=50")).json()["data"]) == 6


# Aggregations --------------------------------------------------------------------------------


async def test_aggregations_group_filter_and_serve_exact_decimals(shop: Shop) -> None:
    response = await shop.api.get(
        "/v1/orders:aggregate?group_by=status&count=true&sum=total&avg=total,quantity"
        "&min=placed_at,title&max=total&distinct=customer"
    )
    assert response.status_code == 200, response.text
    assert response.json() == {
        "data": [
            {
                "status": "paid",
                "count": 2,
                "sum_total": "10.00",
                "avg_total": "10.000000",
                "avg_quantity": 2.0,
                "min_placed_at": "2025-12-31T23:59:59.999999Z",
                "min_title": "Apple",
                "max_total": "10.00",
                "distinct_customer": 1,
            },
            {
                "status": "pending",
                "count": 2,
                "sum_total": "5.00",
                "avg_total": "2.500000",
                "avg_quantity": 5.0,
                "min_placed_at": "2026-03-01T10:00:00Z",
                "min_title": "banana",
                "max_total": "2.50",
                "distinct_customer": 1,
            },
            {
                "status": "shipped",
                "count": 1,
                "sum_total": "100.00",
                "avg_total": "100.000000",
                "avg_quantity": None,
                "min_placed_at": None,
                "min_title": "Cherry_pie",
                "max_total": "100.00",
                "distinct_customer": 1,
            },
            {
                "status": None,
                "count": 1,
                "sum_total": "0.01",
                "avg_total": "0.010000",
                "avg_quantity": 2.0,
                "min_placed_at": "2026-03-02T00:00:00Z",
                "min_title": "Éclair",
                "max_total": "0.01",
                "distinct_customer": 0,
            },
        ]
    }
    overall = await shop.api.get(
        "/v1/orders:aggregate?count=true&avg=total&sum=quantity,ratio&customer[isnull]=false"
    )
    assert overall.json() == {
        "data": [{"count": 3, "avg_total": "37.500000", "sum_quantity": 6, "sum_ratio": 2.0}]
    }
    thirds = await shop.api.get("/v1/orders:aggregate?avg=total&title[in]=Apple,Éclair,éclair")
    assert thirds.json() == {"data": [{"avg_total": "4.170000"}]}  # 12.51 / 3
    nothing = await shop.api.get("/v1/orders:aggregate?count=true&sum=total&title=none")
    assert nothing.json() == {"data": [{"count": 0, "sum_total": None}]}
    by_two = await shop.api.get(
        "/v1/orders:aggregate?group_by=customer,status&count=true&customer[isnull]=false"
    )
    assert [(g["customer"], g["status"], g["count"]) for g in by_two.json()["data"]] == sorted(
        [
            (shop.ids["ada"], "paid", 1),
            (shop.ids["ada"], "pending", 1),
            (shop.ids["bob"], "shipped", 1),
        ]
    )


async def test_aggregation_requests_are_checked_like_lists(shop: Shop) -> None:
    _problem(await shop.api.get("/v1/orders:aggregate?group_by=status"), "count")
    _problem(await shop.api.get("/v1/orders:aggregate?count=true&group_by=note"), "group_by")
    _problem(await shop.api.get("/v1/orders:aggregate?count=true&group_by=meta"), "group_by")
    body = _problem(await shop.api.get("/v1/orders:aggregate?sum=title"), "sum")
    assert "total" in body["detail"]
    assert "quantity" in body["detail"]
    _problem(await shop.api.get("/v1/orders:aggregate?min=meta"), "min")
    _problem(await shop.api.get("/v1/orders:aggregate?count=yes"), "count")
    _problem(await shop.api.get("/v1/orders:aggregate?count=true&limit=3"), "limit")
    _problem(await shop.api.get("/v1/orders:aggregate?count=true&total=x"), "total")
    _problem(await shop.api.get("/v1/customers:aggregate?sum=secret"), "sum")
    assert (await shop.api.post("/v1/orders:aggregate", json={})).status_code == 405
    missing = await shop.api.get("/v1/nothing:aggregate?count=true")
    assert missing.status_code == 404
