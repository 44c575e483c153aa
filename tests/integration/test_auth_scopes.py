"""A token request may narrow the token to scopes; unknown scopes are refused."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from app_support import production_settings
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from schema_support import create_schema

PASSWORD = "correct horse battery staple"
BLUEPRINT = Blueprint.model_validate(
    {
        "name": "scopes",
        "auth": {"roles": ["member"], "default_roles": ["member"]},
        "resources": {
            "notes": {
                "fields": {"title": {"type": "string"}},
                "access": {"member": "all"},
            }
        },
    }
)


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await create_schema(BLUEPRINT, database_url)
    app: BastionApp = create_app(BLUEPRINT, settings=production_settings(database_url))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        registered = await http.post(
            "/v1/auth/register", json={"email": "ann@example.com", "password": PASSWORD}
        )
        assert registered.status_code == 201, registered.text
        yield http
    await app.stop()


async def token(client: httpx.AsyncClient, scope: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "ann@example.com",
            "password": PASSWORD,
            "scope": scope,
        },
    )


async def test_a_token_narrowed_to_read_can_list_but_not_create(
    client: httpx.AsyncClient,
) -> None:
    response = await token(client, "notes:read")
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "notes:read"
    headers = {"Authorization": f"Bearer {response.json()['access_token']}"}

    assert (await client.get("/v1/notes", headers=headers)).status_code == 200
    refused = await client.post("/v1/notes", json={"title": "x"}, headers=headers)
    assert refused.status_code == 403
    assert "notes:write" in refused.json()["detail"]


async def test_an_unknown_scope_is_refused_as_invalid_scope(client: httpx.AsyncClient) -> None:
    for scope in ("bogus:read", "notes:delete", "notes:read users:everything"):
        response = await token(client, scope)
        assert response.status_code == 400, scope
        assert response.json()["error"] == "invalid_scope"
        assert "access_token" not in response.json()
