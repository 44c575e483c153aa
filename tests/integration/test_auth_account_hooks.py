"""Users and tenants changed through the generic routes are audited, and role changes bite at once.

An admin may manage users and tenants with ``PATCH /v1/users/{id}`` or
``DELETE /v1/tenants/{id}`` as well as with the admin API: the audit trail
and the end of the user's old tokens must not depend on which route was used.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app_support import production_settings
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.core.identity.admin_parts import OPERATOR
from schema_support import create_schema

PASSWORD = "correct horse battery staple"
BLUEPRINT = Blueprint.model_validate(
    {"name": "hooks", "auth": {"roles": ["member", "staff"]}, "resources": {}}
)
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[BastionApp]:
    await create_schema(BLUEPRINT, database_url)
    settings = production_settings(database_url)
    bastion = create_app(BLUEPRINT, settings=settings)
    await bastion.start()
    yield bastion
    await bastion.stop()


@pytest.fixture
async def client(app: BastionApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def user_with_token(
    app: BastionApp, client: httpx.AsyncClient, email: str, *roles: str
) -> tuple[str, dict[str, str]]:
    admin = app.identity.identity.admin
    assert admin is not None
    user = await admin.create_user(
        OPERATOR, email=email, password=PASSWORD, roles=roles, email_verified=True
    )
    token = await client.post(
        "/v1/auth/token", data={"grant_type": "password", "username": email, "password": PASSWORD}
    )
    assert token.status_code == 200, token.text
    return str(user["id"]), {"Authorization": f"Bearer {token.json()['access_token']}"}


async def events(client: httpx.AsyncClient, admin: dict[str, str], kind: str) -> list[Any]:
    response = await client.get(f"/v1/admin/audit?kind={kind}", headers=admin)
    assert response.status_code == 200, response.text
    data: list[Any] = response.json()["data"]
    return data


async def test_a_role_change_through_the_users_route_ends_old_tokens_and_is_audited(
    app: BastionApp, client: httpx.AsyncClient
) -> None:
    _, admin = await user_with_token(app, client, "root@example.com", "admin")
    member_id, member = await user_with_token(app, client, "ann@example.com", "member")
    assert (await client.get("/v1/auth/me", headers=member)).status_code == 200

    changed = await client.patch(
        f"/v1/users/{member_id}", json={"roles": ["staff"]}, headers={**admin, **MERGE_PATCH}
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["staff"]
    assert (await client.get("/v1/auth/me", headers=member)).status_code == 401
    [event] = await events(client, admin, "user_updated")
    assert event["user"] == member_id
    assert event["detail"] == {"fields": ["roles"]}


async def test_a_name_change_is_audited_but_keeps_the_tokens(
    app: BastionApp, client: httpx.AsyncClient
) -> None:
    _, admin = await user_with_token(app, client, "root@example.com", "admin")
    member_id, member = await user_with_token(app, client, "ann@example.com", "member")

    renamed = await client.patch(
        f"/v1/users/{member_id}", json={"name": "Ann"}, headers={**member, **MERGE_PATCH}
    )

    assert renamed.status_code == 200, renamed.text
    assert (await client.get("/v1/auth/me", headers=member)).status_code == 200
    [event] = await events(client, admin, "user_updated")
    assert event["detail"] == {"fields": ["name"]}


async def test_tenant_changes_and_user_deletion_are_audited(
    app: BastionApp, client: httpx.AsyncClient
) -> None:
    _, admin = await user_with_token(app, client, "root@example.com", "admin")
    member_id, member = await user_with_token(app, client, "ann@example.com", "member")

    tenant = await client.post("/v1/tenants", json={"name": "acme"}, headers=admin)
    assert tenant.status_code == 201, tenant.text
    renamed = await client.patch(
        f"/v1/tenants/{tenant.json()['id']}",
        json={"name": "acme inc"},
        headers={**admin, **MERGE_PATCH},
    )
    assert renamed.status_code == 200
    assert (
        await client.delete(f"/v1/tenants/{tenant.json()['id']}", headers=admin)
    ).status_code == 204
    assert (await client.delete(f"/v1/users/{member_id}", headers=admin)).status_code == 204

    assert [e["detail"]["name"] for e in await events(client, admin, "tenant_created")] == ["acme"]
    [updated] = await events(client, admin, "tenant_updated")
    assert updated["detail"]["fields"] == ["name"]
    assert len(await events(client, admin, "tenant_deleted")) == 1
    [deleted] = await events(client, admin, "user_deleted")
    assert deleted["user"] == member_id
    assert (await client.get("/v1/auth/me", headers=member)).status_code == 401
