"""Two API versions served from one storage schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bastion.adapters.sql.migrations import sync_schema_for_development
from bastion.app import create_app
from bastion.blueprint import parse_blueprint
from bastion.settings import Settings

BLUEPRINT = parse_blueprint(
    """
name: crm
resources:
  customers:
    fields:
      name: {type: string, max_length: 20, required: true, filterable: true, sortable: true}
      email: {type: email, required: true}
      phone: {type: string, filterable: true}
  orders:
    fields:
      customer: {type: belongs_to, resource: customers, required: true, filterable: true}
      status: {type: enum, values: [open, paid], default: open, filterable: true}
api_versions:
  v1:
    deprecated: 2026-06-01
    sunset: 2027-01-01
    resources:
      customers: {renamed: {name: full_name}, hidden: [phone]}
  v2: {}
"""
)


@pytest.fixture
async def api(database_url: str, tmp_path: Any) -> AsyncIterator[httpx.AsyncClient]:
    await sync_schema_for_development(
        blueprint=BLUEPRINT, database_url=database_url, migrations_dir=tmp_path / "migrations"
    )
    app = create_app(BLUEPRINT, settings=Settings(database_url=database_url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        yield client
    await app.stop()


async def _create_v1(api: httpx.AsyncClient, name: str = "Ada") -> dict[str, Any]:
    response = await api.post(
        "/v1/customers", json={"full_name": name, "email": f"{name.lower()}@example.com"}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_one_record_is_seen_through_each_version_by_its_names(
    api: httpx.AsyncClient,
) -> None:
    created = await _create_v1(api)
    assert created["full_name"] == "Ada"
    assert "name" not in created
    assert "phone" not in created
    patched = await api.patch(f"/v2/customers/{created['id']}", json={"phone": "+44 1"})
    assert patched.json()["name"] == "Ada"
    assert patched.json()["phone"] == "+44 1"
    again = (await api.get(f"/v1/customers/{created['id']}")).json()
    assert again == {**created, "version": 2, "updated_at": again["updated_at"]}


async def test_a_put_through_a_version_keeps_the_fields_it_hides(
    api: httpx.AsyncClient,
) -> None:
    created = await _create_v1(api)
    await api.patch(f"/v2/customers/{created['id']}", json={"phone": "+44 1"})
    replaced = await api.put(
        f"/v1/customers/{created['id']}", json={"full_name": "Ada L", "email": "ada@x.io"}
    )
    assert replaced.status_code == 200, replaced.text
    stored = (await api.get(f"/v2/customers/{created['id']}")).json()
    assert stored["name"] == "Ada L"
    assert stored["phone"] == "+44 1"


async def test_a_deprecated_version_says_so_in_every_response(api: httpx.AsyncClient) -> None:
    response = await api.post("/v1/customers", json={"full_name": "Ada", "email": "a@x.io"})
    assert response.headers["deprecation"] == "@1780272000"
    assert response.headers["sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"
    assert response.headers["location"].startswith("/v1/customers/")
    problem = await api.post("/v1/customers", json={"full_name": "x" * 30, "email": "b@x.io"})
    assert problem.status_code == 422
    assert problem.headers["sunset"] == "Fri, 01 Jan 2027 00:00:00 GMT"
    assert "deprecation" not in (await api.get("/v2/customers")).headers


async def test_errors_point_at_the_version_names_and_hidden_fields_do_not_exist(
    api: httpx.AsyncClient,
) -> None:
    too_long = await api.post("/v1/customers", json={"full_name": "x" * 30, "email": "a@x.io"})
    assert [e["pointer"] for e in too_long.json()["errors"]] == ["/full_name"]
    hidden = await api.post(
        "/v1/customers", json={"full_name": "Ada", "email": "a@x.io", "phone": "1"}
    )
    assert hidden.status_code == 422
    assert [e["pointer"] for e in hidden.json()["errors"]] == ["/phone"]
    stored_name = await api.post("/v1/customers", json={"name": "Ada", "email": "a@x.io"})
    assert stored_name.status_code == 422
    assert (await api.get("/v1/customers?phone=1")).status_code == 400


async def test_queries_use_the_version_names(api: httpx.AsyncClient) -> None:
    for name in ("Cy", "Ada", "Bo"):
        await _create_v1(api, name)
    page = (await api.get("/v1/customers?sort=-full_name&fields=full_name")).json()
    assert [r["full_name"] for r in page["data"]] == ["Cy", "Bo", "Ada"]
    assert set(page["data"][0]) == {"id", "full_name"}
    match = (await api.get("/v1/customers?full_name[in]=Ada,Bo&sort=full_name")).json()
    assert [r["full_name"] for r in match["data"]] == ["Ada", "Bo"]
    groups = (await api.get("/v1/customers:aggregate?group_by=full_name&count=true")).json()
    assert {row["full_name"] for row in groups["data"]} == {"Ada", "Bo", "Cy"}


async def test_embedded_records_use_the_version_names(api: httpx.AsyncClient) -> None:
    customer = await _create_v1(api)
    order = await api.post("/v1/orders", json={"customer": customer["id"]})
    assert order.status_code == 201
    page = (await api.get("/v1/orders?expand=customer")).json()
    assert page["data"][0]["customer"]["full_name"] == "Ada"
    assert "phone" not in page["data"][0]["customer"]
    related = (await api.get("/v1/orders?customer.full_name=Ada")).json()
    assert len(related["data"]) == 1


async def test_each_version_has_its_own_openapi_document(api: httpx.AsyncClient) -> None:
    v1 = (await api.get("/v1/openapi.json")).json()
    v2 = (await api.get("/v2/openapi.json")).json()
    assert v1["paths"]
    assert all(path.startswith("/v1/") for path in v1["paths"])
    assert all(path.startswith("/v2/") for path in v2["paths"])
