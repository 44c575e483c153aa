"""The blueprint of docs/security.md is served as the page says it is.

The page's first YAML block is read, served in production, and every
statement listed under it is checked over HTTP with real registrations
and tokens.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest

from app_support import production_settings
from bastion.app import BastionApp, create_app
from bastion.blueprint import parse_blueprint
from bastion.core import RequestContext
from schema_support import create_schema

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"
PASSWORD = "correct horse battery staple"
ADMIN = RequestContext(actor=str(uuid4()), roles=frozenset({"admin"}))


def doc_blueprint_text() -> str:
    match = re.search(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert match, "docs/security.md has no YAML example"
    return match.group(1)


@pytest.fixture
async def app(sqlite_url: str) -> AsyncIterator[BastionApp]:
    blueprint = parse_blueprint(doc_blueprint_text(), source="docs/security.md")
    await create_schema(blueprint, sqlite_url)
    settings = production_settings(sqlite_url)
    bastion = create_app(blueprint, settings=settings)
    await bastion.start()
    yield bastion
    await bastion.stop()


@pytest.fixture
async def client(app: BastionApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def register(client: httpx.AsyncClient, email: str) -> dict[str, Any]:
    response = await client.post("/v1/auth/register", json={"email": email, "password": PASSWORD})
    assert response.status_code == 201, response.text
    user: dict[str, Any] = response.json()
    return user


async def sign_in(client: httpx.AsyncClient, email: str) -> httpx.Response:
    return await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": email, "password": PASSWORD},
    )


async def bearer(client: httpx.AsyncClient, email: str) -> dict[str, str]:
    token = await sign_in(client, email)
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


async def test_the_doc_blueprint_loads_as_written() -> None:
    blueprint = parse_blueprint(doc_blueprint_text(), source="docs/security.md")
    assert blueprint.auth.default_roles == ["member"]
    assert blueprint.resources["notes"].access is not None


async def test_members_own_their_notes_and_never_see_anothers(
    client: httpx.AsyncClient,
) -> None:
    ann = await register(client, "ann@example.com")
    await register(client, "bob@example.com")
    ann_auth = await bearer(client, "ann@example.com")
    bob_auth = await bearer(client, "bob@example.com")

    created = await client.post("/v1/notes", json={"title": "plans"}, headers=ann_auth)
    assert created.status_code == 201, created.text
    note = created.json()
    assert note["author"] == ann["id"]
    assert "internal_rating" not in note

    assert (await client.get(f"/v1/notes/{note['id']}", headers=bob_auth)).status_code == 404
    assert (await client.get("/v1/notes", headers=bob_auth)).json()["data"] == []
    mine = (await client.get("/v1/notes", headers=ann_auth)).json()["data"]
    assert [n["id"] for n in mine] == [note["id"]]

    hidden = await client.get("/v1/notes?internal_rating=3", headers=ann_auth)
    assert hidden.status_code == 400
    pinned = await client.patch(
        f"/v1/notes/{note['id']}",
        json={"pinned": True},
        headers={**ann_auth, "Content-Type": "application/merge-patch+json"},
    )
    assert pinned.status_code == 403
    assert pinned.headers["content-type"] == "application/problem+json"


async def test_an_editor_must_enrol_in_mfa_before_getting_a_token(
    client: httpx.AsyncClient, app: BastionApp
) -> None:
    carol = await register(client, "carol@example.com")
    await app.service.update("users", carol["id"], {"roles": ["editor"]}, ctx=ADMIN)

    refused = await sign_in(client, "carol@example.com")
    assert refused.status_code == 400
    assert refused.json()["error"] == "mfa_enrollment_required"
    assert "mfa_token" in refused.json()
    assert "access_token" not in refused.json()


async def test_projects_are_invisible_across_tenants(
    client: httpx.AsyncClient, app: BastionApp
) -> None:
    acme = await app.service.create("tenants", {"name": "acme"}, ctx=ADMIN)
    globex = await app.service.create("tenants", {"name": "globex"}, ctx=ADMIN)
    for tenant, email in ((acme, "ann@acme.example.com"), (globex, "gus@globex.example.com")):
        user = await register(client, email)
        await app.service.update("users", user["id"], {"tenant": str(tenant["id"])}, ctx=ADMIN)
        as_tenant_admin = RequestContext(
            actor=ADMIN.actor, roles=ADMIN.roles, tenant=str(tenant["id"])
        )
        await app.service.create(
            "projects", {"name": f"{tenant['name']} plan"}, ctx=as_tenant_admin
        )

    ann_projects = await client.get(
        "/v1/projects", headers=await bearer(client, "ann@acme.example.com")
    )
    gus_projects = await client.get(
        "/v1/projects", headers=await bearer(client, "gus@globex.example.com")
    )

    assert [p["name"] for p in ann_projects.json()["data"]] == ["acme plan"]
    assert [p["name"] for p in gus_projects.json()["data"]] == ["globex plan"]
    assert ann_projects.json()["data"][0]["tenant"] == str(acme["id"])
