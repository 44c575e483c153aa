"""Attacks found by a security review of identity and access control, each kept as a test.

Served as in production (deny by default), on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from app_support import production_settings
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.core.identity.admin import OPERATOR
from schema_support import create_schema

PASSWORD = "correct horse battery staple"
BLUEPRINT = Blueprint.model_validate(
    {
        "name": "review",
        "auth": {
            "roles": ["member", "editor"],
            "default_roles": ["member"],
            "mfa_required_roles": ["editor"],
        },
        "resources": {
            "notes": {
                "fields": {
                    "title": {"type": "string", "required": True},
                    "author": {"type": "belongs_to", "resource": "users", "owner": True},
                    "rating": {"type": "integer", "hidden_from": ["member"]},
                    "pinned": {"type": "boolean", "default": False, "read_only_for": ["member"]},
                },
                "access": {"member": {"actions": "all", "rows": "own"}},
            },
            "projects": {
                "tenant_scoped": True,
                "fields": {"name": {"type": "string", "required": True}},
                "access": {"authenticated": "all"},
            },
        },
    }
)


@dataclass
class Served:
    app: BastionApp
    http: httpx.AsyncClient

    async def sign_in(self, email: str) -> dict[str, Any]:
        response = await self.http.post(
            "/v1/auth/token",
            data={"grant_type": "password", "username": email, "password": PASSWORD},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def user(self, email: str, *roles: str, tenant: uuid.UUID | None = None) -> str:
        admin = self.app.identity.identity.admin
        assert admin is not None
        row = await admin.create_user(
            OPERATOR, email=email, password=PASSWORD, roles=roles, tenant=tenant
        )
        return str(row["id"])


def bearer(tokens: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['access_token']}"}


def keyed(headers: dict[str, str] | None = None) -> dict[str, str]:
    return {**(headers or {}), "Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture
async def served(database_url: str) -> AsyncIterator[Served]:
    await create_schema(BLUEPRINT, database_url)
    app = create_app(BLUEPRINT, settings=production_settings(database_url))
    await app.start()  # users are created through the admin service, before any request
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield Served(app, http)
    await app.stop()


# --- Idempotency-Key must not skip the access rules ----------------------------------------


@pytest.mark.parametrize("batch", [False, True])
async def test_an_anonymous_keyed_create_cannot_make_an_admin_account(
    served: Served, batch: bool
) -> None:
    record = {"email": "mallory@example.com", "roles": ["admin"]}
    path, body = ("/v1/users:batch", {"records": [record]}) if batch else ("/v1/users", record)

    response = await served.http.post(path, json=body, headers=keyed())

    assert response.status_code == 401, response.text
    await served.user("root@example.com", "admin")
    listed = await served.http.get(
        "/v1/users?email=mallory@example.com",
        headers=bearer(await served.sign_in("root@example.com")),
    )
    assert listed.json()["data"] == []


@pytest.mark.parametrize("batch", [False, True])
async def test_a_keyed_create_obeys_owner_and_field_rules(served: Served, batch: bool) -> None:
    bob = await served.user("bob@example.com", "member")
    await served.user("ann@example.com", "member")
    ann = bearer(await served.sign_in("ann@example.com"))

    def post(record: dict[str, Any]) -> Any:
        path, body = ("/v1/notes:batch", {"records": [record]}) if batch else ("/v1/notes", record)
        return served.http.post(path, json=body, headers=keyed(ann))

    forbidden_bodies: list[dict[str, Any]] = [
        {"title": "x", "author": bob},
        {"title": "x", "rating": 5},
        {"title": "x", "pinned": True},
    ]
    for forbidden in forbidden_bodies:
        refused = await post(forbidden)
        assert refused.status_code == 403, (forbidden, refused.text)

    created = await post({"title": "mine"})
    assert created.status_code == 201, created.text
    record = created.json()["data"][0] if batch else created.json()
    me = (await served.http.get("/v1/auth/me", headers=ann)).json()
    assert record["author"] == me["id"]  # the owner is stamped, as without a key
    assert "rating" not in record  # hidden fields stay hidden in the stored answer


async def test_a_keyed_create_is_stamped_with_the_callers_tenant(served: Served) -> None:
    await served.user("root@example.com", "admin")
    admin = bearer(await served.sign_in("root@example.com"))
    tenant = await served.http.post("/v1/tenants", json={"name": "acme"}, headers=admin)
    assert tenant.status_code == 201, tenant.text
    await served.user("ann@example.com", "member", tenant=uuid.UUID(tenant.json()["id"]))
    ann = bearer(await served.sign_in("ann@example.com"))

    created = await served.http.post("/v1/projects", json={"name": "p"}, headers=keyed(ann))

    assert created.status_code == 201, created.text
    assert created.json()["tenant"] == tenant.json()["id"]
    read = await served.http.get(f"/v1/projects/{created.json()['id']}", headers=ann)
    assert read.status_code == 200


# --- A role change ends the sessions, refresh tokens included ---------------------------------


@pytest.mark.parametrize("route", ["/v1/admin/users/{id}", "/v1/users/{id}"])
async def test_a_refresh_token_from_before_a_role_change_cannot_skip_mfa_enrolment(
    served: Served, route: str
) -> None:
    ann_id = await served.user("ann@example.com", "member")
    ann = await served.sign_in("ann@example.com")
    await served.user("root@example.com", "admin")
    admin = bearer(await served.sign_in("root@example.com"))

    promoted = await served.http.patch(
        route.format(id=ann_id), json={"roles": ["editor"]}, headers=admin
    )
    assert promoted.status_code == 200, promoted.text

    # Editors must enrol in MFA before they get a token...
    again = await served.http.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "ann@example.com", "password": PASSWORD},
    )
    assert again.json()["error"] == "mfa_enrollment_required"
    # ...and the refresh token of the session the promotion ended gives none either.
    refreshed = await served.http.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": ann["refresh_token"]},
    )
    assert refreshed.status_code == 400, refreshed.text
    assert refreshed.json()["error"] == "invalid_grant"


# --- Forgot-password takes no longer for a registered address -------------------------------


class SlowMailer:
    """A sender that takes as long as the test wants (an SMTP server far away)."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.sent: list[str] = []

    async def send(self, *, to: str, subject: str, body: str, purpose: str) -> None:
        await self.release.wait()
        self.sent.append(to)


async def test_forgot_password_does_not_wait_for_the_mail_of_a_registered_address(
    served: Served,
) -> None:
    await served.user("ann@example.com", "member")
    mailer = SlowMailer()
    served.app.identity.identity.accounts.mailer = mailer

    for email in ("nobody@example.com", "ann@example.com"):
        # A response that waited for the sender would tell that the address has an account.
        answer = await asyncio.wait_for(
            served.http.post("/v1/auth/password/forgot", json={"email": email}), timeout=5
        )
        assert answer.status_code == 202

    mailer.release.set()
    for _ in range(100):
        if mailer.sent:
            break
        await asyncio.sleep(0.01)
    assert mailer.sent == ["ann@example.com"]


async def test_an_api_key_cannot_act_with_a_role_that_needs_mfa_its_owner_lacks(
    served: Served,
) -> None:
    member_id = await served.user("ann@example.com", "member")
    admin = bearer(await served.sign_in(await _admin_email(served)))
    created = await served.http.post(
        "/v1/auth/api-keys",
        json={"name": "ci"},
        headers=bearer(await served.sign_in("ann@example.com")),
    )
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    assert (await served.http.get("/v1/notes", headers=key)).status_code == 200

    promoted = await served.http.patch(
        f"/v1/admin/users/{member_id}", json={"roles": ["editor"]}, headers=admin
    )

    assert promoted.status_code == 200, promoted.text
    assert (await served.http.get("/v1/notes", headers=key)).status_code == 401


async def _admin_email(served: Served) -> str:
    await served.user("root@example.com", "admin")
    return "root@example.com"
