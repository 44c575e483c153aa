"""The application create_app builds serves the identity endpoints and authenticates."""

from __future__ import annotations

import httpx

from auth_support import FAST_SETTINGS, PASSWORD, auth_blueprint, bearer
from bastion.app import create_app
from bastion.settings import Settings
from schema_support import create_schema


async def test_create_app_signs_users_in_and_refuses_bad_tokens(database_url: str) -> None:
    blueprint = auth_blueprint()
    await create_schema(blueprint, database_url)
    app = create_app(blueprint, settings=Settings(database_url=database_url, **FAST_SETTINGS))
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            registered = await client.post(
                "/v1/auth/register", json={"email": "ada@example.com", "password": PASSWORD}
            )
            assert registered.status_code == 201, registered.text
            tokens = await client.post(
                "/v1/auth/token",
                data={
                    "grant_type": "password",
                    "username": "ada@example.com",
                    "password": PASSWORD,
                },
            )
            assert tokens.status_code == 200, tokens.text
            me = await client.get("/v1/auth/me", headers=bearer(tokens.json()["access_token"]))
            assert me.json()["email"] == "ada@example.com"
            bad = await client.get("/v1/auth/me", headers=bearer("garbage"))
            assert bad.status_code == 401
            assert "x-request-id" in bad.headers
            jwks = await client.get("/.well-known/jwks.json")
            assert len(jwks.json()["keys"]) == 1
    finally:
        await app.stop()
