"""``/openapi.json`` and ``/docs`` answer from the running app, with no network at all.

The docs page must load Swagger UI from the server itself: a developer
behind a firewall (or the CI machine) has no CDN.
"""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI

from bastion.app import BastionApp, create_app
from bastion.blueprint import load_blueprint
from bastion.settings import Settings

EXAMPLE = Path(__file__).parents[2] / "examples" / "bastion.yaml"


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to open a socket to another host fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"the docs tried to reach the network: {args!r}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.fixture
async def app(sqlite_url: str) -> AsyncIterator[BastionApp]:
    # Nothing here touches the database: no schema is needed.
    bastion = create_app(load_blueprint(EXAMPLE), settings=Settings(database_url=sqlite_url))
    try:
        yield bastion
    finally:
        await bastion.stop()


@pytest.fixture
async def client(app: BastionApp, no_network: None) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app.starlette)
    async with httpx.AsyncClient(transport=transport, base_url="http://docs.test") as client:
        yield client


async def test_openapi_json_is_the_blueprints_document_with_an_etag(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "shop"
    assert "/v1/customers/{id}" in document["paths"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', response.headers["etag"])


async def test_openapi_json_answers_304_to_its_own_etag(client: httpx.AsyncClient) -> None:
    first = await client.get("/openapi.json")

    again = await client.get("/openapi.json", headers={"If-None-Match": first.headers["etag"]})

    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == first.headers["etag"]


async def test_docs_page_loads_swagger_ui_from_this_server_only(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert 'data-openapi-url="/openapi.json"' in page
    assert "<script>" not in page  # no inline script: a strict CSP can stay strict
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources
    assert all(source.startswith("/") for source in sources), sources
    for source in sources:
        asset = await client.get(source)
        assert asset.status_code == 200, source


async def test_swagger_ui_bundle_is_served_as_javascript(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/static/swagger-ui-bundle.js")

    assert response.status_code == 200
    assert "javascript" in response.headers["content-type"]
    assert b"SwaggerUIBundle" in response.content


async def test_missing_docs_asset_is_a_problem_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/docs/static/no-such-file.js")

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_mounted_app_documents_its_mount_path_as_the_server(
    app: BastionApp, no_network: None
) -> None:
    host = FastAPI()
    host.mount("/backend", app)
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://host.test") as client:
        document = await client.get("/backend/openapi.json")
        page = await client.get("/backend/docs")
        bundle = await client.get("/backend/docs/static/swagger-ui-bundle.js")

    assert orjson.loads(document.content)["servers"] == [{"url": "/backend"}]
    assert 'data-openapi-url="/backend/openapi.json"' in page.text
    assert 'src="/backend/docs/static/swagger-ui-bundle.js"' in page.text
    assert bundle.status_code == 200


async def test_docs_with_a_trailing_slash_redirect_to_the_docs(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs/")
    assert response.status_code == 308
    assert response.headers["location"] == "/docs"
