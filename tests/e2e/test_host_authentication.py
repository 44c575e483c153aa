"""A host application that signs users in by itself hands Bastion the caller.

docs/extending.md ("Your own authentication"): a middleware of the host sets
``scope["state"]["context"]``; without an ``Authorization`` header Bastion keeps
that caller and applies its access rules to it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from app_support import production_settings
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.core import RequestContext
from schema_support import create_schema

BLUEPRINT = Blueprint.model_validate(
    {
        "name": "host",
        "auth": {"roles": ["reader"]},
        "resources": {
            "notes": {"fields": {"title": {"type": "string"}}, "access": {"reader": ["list"]}}
        },
    }
)


class HeaderCaller:
    """Stands for the host's session middleware: ``X-Host-Role`` names the caller's role."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        role = dict(scope.get("headers", [])).get(b"x-host-role")
        if scope["type"] == "http" and role is not None:
            scope.setdefault("state", {})["context"] = RequestContext(
                actor=str(uuid4()), roles=frozenset({role.decode()})
            )
        await self.app(scope, receive, send)


@pytest.fixture
async def client(sqlite_url: str) -> AsyncIterator[httpx.AsyncClient]:
    await create_schema(BLUEPRINT, sqlite_url)
    backend: BastionApp = create_app(BLUEPRINT, settings=production_settings(sqlite_url))
    host = Starlette(routes=[Mount("/backend", app=HeaderCaller(backend))])
    transport = httpx.ASGITransport(app=host)
    async with httpx.AsyncClient(transport=transport, base_url="http://host.test") as http:
        yield http
    await backend.stop()


async def test_the_hosts_caller_is_kept_and_the_rules_apply_to_it(
    client: httpx.AsyncClient,
) -> None:
    reader = {"X-Host-Role": "reader"}

    listed = await client.get("/backend/v1/notes", headers=reader)
    created = await client.post("/backend/v1/notes", json={"title": "x"}, headers=reader)
    anonymous = await client.get("/backend/v1/notes")

    assert listed.status_code == 200
    assert created.status_code == 403
    assert anonymous.status_code == 401


async def test_a_bearer_token_still_wins_over_the_hosts_caller(
    client: httpx.AsyncClient,
) -> None:
    forged = {"X-Host-Role": "reader", "Authorization": "Bearer not-a-token"}
    assert (await client.get("/backend/v1/notes", headers=forged)).status_code == 401


async def test_responses_say_they_vary_by_caller(client: httpx.AsyncClient) -> None:
    listed = await client.get("/backend/v1/notes", headers={"X-Host-Role": "reader"})
    anonymous = await client.get("/backend/v1/notes")

    assert "Authorization" in listed.headers["vary"]
    assert "Authorization" in anonymous.headers["vary"]
