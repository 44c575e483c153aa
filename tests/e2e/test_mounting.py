"""Bastion mounted inside a FastAPI application: both answer, through one ASGI app.

The host's lifespan never reaches a mounted app, so Bastion opens its
connections on the first request; the test closes them itself.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from bastion.adapters.sql.migrations import sync_schema_for_development
from bastion.app import BastionApp, create_app
from bastion.blueprint import BelongsTo, Blueprint, Resource, StringField
from bastion.settings import Settings

BLUEPRINT = Blueprint(
    name="library",
    resources={
        "authors": Resource(fields={"name": StringField(max_length=100, required=True)}),
        "books": Resource(
            fields={
                "title": StringField(max_length=200, required=True),
                "author": BelongsTo(resource="authors", required=True, on_delete="cascade"),
            }
        ),
    },
)


@pytest.fixture
async def bastion_app(sqlite_url: str, tmp_path: Path) -> AsyncIterator[BastionApp]:
    await sync_schema_for_development(
        blueprint=BLUEPRINT, database_url=sqlite_url, migrations_dir=tmp_path / "migrations"
    )
    app = create_app(BLUEPRINT, settings=Settings(database_url=sqlite_url))
    try:
        yield app
    finally:
        await app.stop()


@pytest.fixture
def host(bastion_app: BastionApp) -> FastAPI:
    api = FastAPI()

    @api.get("/hello")
    async def hello() -> dict[str, str]:
        return {"hello": "from FastAPI"}

    api.mount("/backend", bastion_app)
    return api


@pytest.fixture
async def client(host: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://host.test") as client:
        yield client


async def test_host_route_answers_beside_the_mounted_bastion(client: httpx.AsyncClient) -> None:
    response = await client.get("/hello")

    assert response.status_code == 200
    assert response.json() == {"hello": "from FastAPI"}


async def test_mounted_bastion_creates_and_reads_records_under_the_mount_path(
    client: httpx.AsyncClient,
) -> None:
    author = await client.post("/backend/v1/authors", json={"name": "Ursula K. Le Guin"})
    assert author.status_code == 201, author.text
    created = await client.post(
        "/backend/v1/books",
        json={"title": "The Dispossessed", "author": author.json()["id"]},
    )
    assert created.status_code == 201, created.text

    read = await client.get(f"/backend/v1/books/{created.json()['id']}")
    listed = await client.get("/backend/v1/books")

    assert read.status_code == 200
    assert read.json() == created.json()
    assert read.json()["title"] == "The Dispossessed"
    assert [book["id"] for book in listed.json()["data"]] == [created.json()["id"]]


async def test_mounted_bastion_opens_its_connections_on_the_first_request(
    client: httpx.AsyncClient,
) -> None:
    # ASGITransport runs no lifespan, as a host's lifespan never reaches a mounted app.
    response = await client.get("/backend/v1/authors")

    assert response.status_code == 200
    assert response.json() == {"data": [], "next_cursor": None, "has_more": False}


async def test_mounted_bastion_answers_errors_as_problem_documents(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/backend/v1/books", json={"title": 42})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "validation_failed"
    assert {error["pointer"] for error in problem["errors"]} == {"/title", "/author"}


async def test_host_404s_stay_the_hosts_own(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")

    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


async def test_location_of_a_record_created_through_the_mount_includes_the_mount_path(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post("/backend/v1/authors", json={"name": "Octavia E. Butler"})

    assert created.headers["location"] == f"/backend/v1/authors/{created.json()['id']}"
    assert (await client.get(created.headers["location"])).status_code == 200


async def test_problem_instance_of_a_mounted_bastion_includes_the_mount_path(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/backend/v1/authors/not-a-uuid")

    assert response.status_code == 404
    assert response.json()["instance"] == "/backend/v1/authors/not-a-uuid"
