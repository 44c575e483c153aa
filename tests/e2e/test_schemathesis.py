"""Property-based checks of the served API against its own OpenAPI document (schemathesis).

The example shop is served in-process (ASGI) on a temporary SQLite database.
Schemathesis reads ``/openapi.json`` and sends each operation generated
requests, positive (valid by the document) and negative (invalid); every
answer must not be a 5xx and must be what the document declares: a declared
status code, content type and headers, and a body of the declared schema.

A few records of every resource are created first, and the single-record
operations are sent their ids, so that real records (not only 404s) are
read, changed and deleted. The budget is small so the suite stays fast;
``make fuzz`` raises ``BASTION_FUZZ_EXAMPLES`` and draws new cases each run.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from bastion.adapters.sql.migrations import sync_schema_for_development
from bastion.api.rest.openapi import build_openapi
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint, load_blueprint, with_identity
from bastion.settings import Settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "bastion.yaml"
FUZZING = "BASTION_FUZZ_EXAMPLES" in os.environ
EXAMPLES = int(os.environ.get("BASTION_FUZZ_EXAMPLES", "4"))
"""Generated cases per operation and mode: few (and the same every run) in the suite."""
SEEDED = 6
"""Records created per resource before the checks."""

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]

Ids = dict[str, list[str]]
# The example shop's resources in an order where references exist first; each makes the
# body of the i-th record from the ids created so far.
SEEDS: list[tuple[str, Callable[[Ids, int], dict[str, Any]]]] = [
    ("customers", lambda ids, i: {"name": f"Customer {i}", "email": f"c{i}@example.com"}),
    (
        "products",
        lambda ids, i: {
            "sku": f"SKU-{i}",
            "name": f"Product {i}",
            "price": "9.99",
            "stock": 1000,
            "status": "active",
        },
    ),
    ("tags", lambda ids, i: {"name": f"tag-{i}"}),
    ("orders", lambda ids, i: {"customer": ids["customers"][i]}),
    (
        "order_items",
        lambda ids, i: {"order": ids["orders"][i], "product": ids["products"][i], "quantity": 2},
    ),
    ("product_tags", lambda ids, i: {"product": ids["products"][i], "tag": ids["tags"][i]}),
]


async def _seed(blueprint: Blueprint, url: str) -> Ids:
    app = create_app(blueprint, settings=Settings(database_url=url))
    ids: Ids = {}
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://seed.test") as client:
            for resource, body in SEEDS:
                ids[resource] = []
                for i in range(SEEDED):
                    created = await client.post(f"/v1/{resource}", json=body(ids, i))
                    assert created.status_code == 201, created.text
                    ids[resource].append(created.json()["id"])
    finally:
        await app.stop()
    return ids


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> tuple[BastionApp, Ids]:
    folder = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite+aiosqlite:///{folder / 'shop.db'}"
    blueprint = load_blueprint(EXAMPLE)
    migrations = folder / "migrations"
    asyncio.run(
        sync_schema_for_development(
            blueprint=blueprint, database_url=url, migrations_dir=migrations
        )
    )
    ids = asyncio.run(_seed(blueprint, url))
    # Served on schemathesis's own event loop, which starts (and later stops) its lifespan.
    return create_app(blueprint, settings=Settings(database_url=url)), ids


@pytest.fixture(scope="module")
def api_schema(shop: tuple[BastionApp, Ids]) -> BaseSchema:
    return schemathesis.openapi.from_asgi("/openapi.json", shop[0])


def _cases() -> list[tuple[str, str, GenerationMode]]:
    # The document the app serves, built without a server, to name one test per operation
    # and mode; an operation that takes no input has no invalid request to fuzz.
    document = build_openapi(with_identity(load_blueprint(EXAMPLE)))
    cases = []
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method == "parameters":
                continue
            cases.append((method.upper(), path, GenerationMode.POSITIVE))
            takes_input = operation.get("parameters") or operation.get("requestBody")
            if takes_input or item.get("parameters"):
                cases.append((method.upper(), path, GenerationMode.NEGATIVE))
    return cases


@pytest.mark.parametrize(("method", "path", "mode"), _cases())
def test_api_answers_as_its_openapi_document_says(
    api_schema: BaseSchema,
    shop: tuple[BastionApp, Ids],
    method: str,
    path: str,
    mode: GenerationMode,
) -> None:
    operation = api_schema[path][method]
    resource = path.split("/")[2].split(":")[0]
    # Valid requests to one record go to a record that exists (or existed: a delete
    # before may have removed it); invalid ones keep whatever id was generated.
    seeded = shop[1].get(resource, []) if "{id}" in path and mode == GenerationMode.POSITIVE else []

    @given(case=operation.as_strategy(generation_mode=mode), index=st.integers(0, SEEDED - 1))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=not FUZZING,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def answers_as_declared(case: Case, index: int) -> None:
        if seeded:
            case.path_parameters = {**(case.path_parameters or {}), "id": seeded[index]}
        case.call_and_validate(checks=CHECKS)

    answers_as_declared()
