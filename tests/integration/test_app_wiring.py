"""The wiring point: CORS, custom routes beside generated ones, unsafe settings refused."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route

from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint, Resource, StringField
from bastion.core import QuerySpec, RequestContext
from bastion.core.ports import MemoryTelemetry
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint(resources={"notes": Resource(fields={"title": StringField(required=True)})})


async def _count_notes(request: Request) -> JSONResponse:
    app: BastionApp = request.app.state.bastion
    page = await app.service.list("notes", QuerySpec(limit=100), ctx=RequestContext())
    return JSONResponse({"notes": len(page.records)})


@pytest.fixture
async def wired(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await create_schema(BLUEPRINT, sqlite_url)
    settings = Settings(
        database_url=sqlite_url,
        cors_origins=["https://app.example.com"],
        cors_credentials=True,
    )
    app = create_app(BLUEPRINT, settings=settings, routes=[Route("/v1/notes/count", _count_notes)])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        yield client
    await app.stop()


async def test_custom_routes_are_served_beside_the_generated_ones(
    wired: httpx.AsyncClient,
) -> None:
    assert (await wired.post("/v1/notes", json={"title": "a"})).status_code == 201
    response = await wired.get("/v1/notes/count")
    assert response.json() == {"notes": 1}
    assert (await wired.get("/v1/notes")).json()["data"][0]["title"] == "a"


async def test_cors_preflight_allows_the_configured_origin_and_its_headers(
    wired: httpx.AsyncClient,
) -> None:
    response = await wired.options(
        "/v1/notes",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "PATCH",
            "Access-Control-Request-Headers": "If-Match, Content-Type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "PATCH" in response.headers["access-control-allow-methods"]
    assert "if-match" in response.headers["access-control-allow-headers"].lower()


async def test_cors_refuses_other_origins(wired: httpx.AsyncClient) -> None:
    response = await wired.options(
        "/v1/notes",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
    )
    assert response.status_code == 400
    simple = await wired.get("/v1/notes", headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in simple.headers


async def test_the_store_reports_query_timings_through_the_telemetry_port(
    sqlite_url: str,
) -> None:
    await create_schema(BLUEPRINT, sqlite_url)
    telemetry = MemoryTelemetry()
    app = create_app(BLUEPRINT, settings=Settings(database_url=sqlite_url), telemetry=telemetry)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        created = (await client.post("/v1/notes", json={"title": "a"})).json()
        await client.get(f"/v1/notes/{created['id']}")
    await app.stop()
    seen = {(labels["resource"], labels["operation"]) for _, _, labels in telemetry.observations}
    assert {("notes", "insert"), ("notes", "fetch")} <= seen
    assert all(name == "db_query_seconds" and s >= 0 for name, s, _ in telemetry.observations)


def test_production_refuses_the_placeholder_secret() -> None:
    with pytest.raises(ValidationError, match="BASTION_SECRET_KEY"):
        Settings(env="production")
    Settings(env="production", secret_key="a-real-secret-" + "x" * 40)


def test_production_refuses_any_origin_with_credentials() -> None:
    with pytest.raises(ValidationError, match="CORS"):
        Settings(
            env="production",
            secret_key="a-real-secret-" + "x" * 40,
            cors_origins=["*"],
            cors_credentials=True,
        )


def test_settings_are_read_from_bastion_environment_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BASTION_DATABASE_URL", "postgresql://app@db/app")
    monkeypatch.setenv("BASTION_DB_POOL_MAX", "25")
    settings = Settings()
    assert settings.database_url == "postgresql://app@db/app"
    assert settings.db_pool_max == 25
    assert settings.effective_migrate_url == "postgresql://app@db/app"


async def test_an_unreachable_database_is_a_503_problem_that_names_no_host() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = Settings(
        database_url=f"postgresql://secret_user@127.0.0.1:{closed_port}/app",
        db_connect_timeout=1,
    )
    app = create_app(BLUEPRINT, settings=settings)
    host = Starlette(routes=[Mount("/backend", app=app)])
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.get("/backend/v1/notes")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "store_unavailable"
    assert response.headers["retry-after"] == "1"
    assert str(closed_port) not in response.text
    assert "secret_user" not in response.text
