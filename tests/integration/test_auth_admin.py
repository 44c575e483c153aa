"""Admin endpoints: only admins reach them, and every change takes effect and is audited."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from admin_support import PASSWORD, AuthApp, auth_app, bearer
from bastion.api.rest.openapi import build_openapi


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[AuthApp]:
    async with auth_app(database_url, registration="invite_only") as running:
        yield running


@pytest.fixture
async def admin(app: AuthApp) -> dict[str, str]:
    return await app.signed_in("root@example.com", "admin")


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


ID = "01234567-89ab-7def-8123-456789abcdef"
ADMIN_ROUTES = [
    ("POST", "/v1/admin/users", {"email": "x@example.com"}),
    ("PATCH", f"/v1/admin/users/{ID}", {"roles": []}),
    ("POST", "/v1/admin/service-accounts", {"name": "billing"}),
    ("POST", "/v1/admin/invitations", {"email": "x@example.com"}),
    ("GET", "/v1/admin/api-keys", None),
    ("POST", "/v1/admin/api-keys", {"name": "x", "user": ID}),
    ("DELETE", f"/v1/admin/api-keys/{ID}", None),
    ("GET", "/v1/admin/audit", None),
    ("POST", "/v1/admin/signing-keys:rotate", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
async def test_admin_routes_refuse_anonymous_callers_and_non_admins(
    app: AuthApp, method: str, path: str, body: dict[str, Any] | None
) -> None:
    member = await app.signed_in("ada@example.com", "member")

    anonymous = await app.client.request(method, path, json=body)
    refused = await app.client.request(method, path, json=body, headers=member)

    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"] == "application/problem+json"
    assert refused.status_code == 403
    assert refused.json()["code"] == "forbidden"


async def test_admin_creates_a_user_who_can_sign_in(app: AuthApp, admin: dict[str, str]) -> None:
    response = await app.client.post(
        "/v1/admin/users",
        json={"email": "Ada@Example.com", "password": PASSWORD, "roles": ["member"]},
        headers=admin,
    )

    assert response.status_code == 201, response.text
    assert response.json()["email"] == "ada@example.com"
    assert _claims(await app.token("ada@example.com"))["roles"] == ["member"]


async def test_undeclared_roles_and_unknown_tenants_are_pointed_at(
    app: AuthApp, admin: dict[str, str]
) -> None:
    roles = await app.client.post(
        "/v1/admin/users",
        json={"email": "a@example.com", "roles": ["member", "owner"]},
        headers=admin,
    )
    tenant = await app.client.post(
        "/v1/admin/users", json={"email": "a@example.com", "tenant": ID}, headers=admin
    )
    weak = await app.client.post(
        "/v1/admin/users", json={"email": "a@example.com", "password": "password"}, headers=admin
    )

    assert roles.status_code == 422
    assert [e["pointer"] for e in roles.json()["errors"]] == ["/roles/1"]
    assert tenant.status_code == 422
    assert [e["pointer"] for e in tenant.json()["errors"]] == ["/tenant"]
    assert weak.status_code == 422
    assert {e["pointer"] for e in weak.json()["errors"]} == {"/password"}


async def test_a_role_change_cuts_off_tokens_carrying_the_old_roles(
    app: AuthApp, admin: dict[str, str]
) -> None:
    user_id = await app.create_user("ada@example.com", "member")
    old = await app.token("ada@example.com")

    changed = await app.client.patch(
        f"/v1/admin/users/{user_id}", json={"roles": ["staff"]}, headers=admin
    )

    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["staff"]
    assert (await app.client.get("/v1/auth/me", headers=bearer(old))).status_code == 401
    new = await app.token("ada@example.com")
    assert _claims(new)["roles"] == ["staff"]
    assert (await app.client.get("/v1/auth/me", headers=bearer(new))).status_code == 200


async def test_disabling_a_user_ends_their_sessions(app: AuthApp, admin: dict[str, str]) -> None:
    user_id = await app.create_user("ada@example.com", "member")
    signed_in = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "ada@example.com", "password": PASSWORD},
    )
    tokens = signed_in.json()

    disabled = await app.client.patch(
        f"/v1/admin/users/{user_id}", json={"status": "disabled"}, headers=admin
    )

    assert disabled.status_code == 200
    access = await app.client.get("/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert access.status_code == 401
    refresh = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refresh.status_code == 400
    assert refresh.json()["error"] == "invalid_grant"
    login = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "ada@example.com", "password": PASSWORD},
    )
    assert login.status_code in (400, 403)


async def test_a_service_account_gets_tokens_with_its_client_secret(
    app: AuthApp, admin: dict[str, str]
) -> None:
    response = await app.client.post(
        "/v1/admin/service-accounts", json={"name": "billing", "roles": ["staff"]}, headers=admin
    )
    created = response.json()

    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    assert created["kind"] == "service"
    granted = await app.client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": created["client_id"],
            "client_secret": created["client_secret"],
        },
    )
    assert granted.status_code == 200, granted.text
    claims = _claims(granted.json()["access_token"])
    assert (claims["sub"], claims["roles"], claims["kind"]) == (
        created["client_id"],
        ["staff"],
        "service",
    )


async def test_an_invitation_lets_its_address_register_with_its_roles(
    app: AuthApp, admin: dict[str, str]
) -> None:
    body = {"email": "new@example.com", "password": PASSWORD}
    assert (await app.client.post("/v1/auth/register", json=body)).status_code == 403

    invited = await app.client.post(
        "/v1/admin/invitations",
        json={"email": "New@Example.com", "roles": ["staff"]},
        headers=admin,
    )

    assert invited.status_code == 201, invited.text
    assert "token" not in invited.json()
    (mail,) = [m for m in app.mailbox.sent if m.purpose == "invitation"]
    assert mail.to == "new@example.com"
    code = mail.body.rsplit(" ", 1)[-1]
    registered = await app.client.post("/v1/auth/register", json={**body, "invitation": code})
    assert registered.status_code == 201, registered.text
    assert registered.json()["roles"] == ["staff"]
    again = await app.client.post(
        "/v1/auth/register", json={**body, "email": "new@example.com", "invitation": code}
    )
    assert again.status_code in (403, 409)


async def test_the_audit_lists_events_newest_first_by_page_without_secrets(
    app: AuthApp, admin: dict[str, str]
) -> None:
    for email in ("a@example.com", "b@example.com", "c@example.com"):
        await app.client.post(
            "/v1/admin/users", json={"email": email, "password": PASSWORD}, headers=admin
        )
    account = (
        await app.client.post("/v1/admin/service-accounts", json={"name": "s"}, headers=admin)
    ).json()

    first = await app.client.get("/v1/admin/audit?kind=user_created&limit=2", headers=admin)
    page = first.json()
    rest = (
        await app.client.get(
            f"/v1/admin/audit?kind=user_created&limit=2&before={page['next_before']}",
            headers=admin,
        )
    ).json()
    everything = (await app.client.get("/v1/admin/audit?limit=200", headers=admin)).text

    assert first.status_code == 200
    assert page["has_more"] is True
    ids = [e["id"] for e in page["data"] + rest["data"]]
    assert ids == sorted(ids, reverse=True)
    # root@ (the fixture's admin) was created first, so it comes last.
    assert len(ids) == 4
    assert rest["has_more"] is False
    assert PASSWORD not in everything
    assert account["client_secret"] not in everything
    assert "$argon2" not in everything


async def test_the_audit_filters_by_user(app: AuthApp, admin: dict[str, str]) -> None:
    user_id = await app.create_user("ada@example.com", "member")
    await app.client.patch(f"/v1/admin/users/{user_id}", json={"roles": ["staff"]}, headers=admin)

    events = (await app.client.get(f"/v1/admin/audit?user={user_id}", headers=admin)).json()

    assert [e["kind"] for e in events["data"]] == ["roles_changed", "user_created"]
    assert events["data"][0]["detail"] == {"from": ["member"], "to": ["staff"]}


async def test_rotating_keys_publishes_the_new_key_and_keeps_old_tokens_valid(
    app: AuthApp, admin: dict[str, str]
) -> None:
    rotated = await app.client.post("/v1/admin/signing-keys:rotate", headers=admin)

    assert rotated.status_code == 200
    kid = rotated.json()["kid"]
    jwks = (await app.client.get("/.well-known/jwks.json")).json()
    assert kid in [key["kid"] for key in jwks["keys"]]
    assert (await app.client.get("/v1/auth/me", headers=admin)).status_code == 200
    fresh = await app.token("root@example.com")
    assert json.loads(base64.urlsafe_b64decode(fresh.split(".")[0] + "=="))["kid"] == kid
    events = await app.client.get("/v1/admin/audit?kind=signing_key_rotated", headers=admin)
    assert events.json()["data"][0]["detail"] == {"kid": kid}


async def test_admins_manage_any_users_api_keys(app: AuthApp, admin: dict[str, str]) -> None:
    user_id = await app.create_user("ada@example.com", "member")

    created = await app.client.post(
        "/v1/admin/api-keys",
        json={"name": "for ada", "user": user_id, "scopes": ["notes:read"]},
        headers=admin,
    )
    key = created.json()

    assert created.status_code == 201, created.text
    listed = (await app.client.get(f"/v1/admin/api-keys?user={user_id}", headers=admin)).json()
    assert [k["id"] for k in listed["data"]] == [key["id"]]
    me = await app.client.get("/v1/auth/me", headers=bearer(key["key"]))
    assert me.json()["id"] == user_id
    revoked = await app.client.delete(f"/v1/admin/api-keys/{key['id']}", headers=admin)
    assert revoked.status_code == 204
    assert (await app.client.get("/v1/auth/me", headers=bearer(key["key"]))).status_code == 401


async def test_the_answers_match_the_openapi_document(app: AuthApp, admin: dict[str, str]) -> None:
    document = build_openapi(app.identity.blueprint)
    user = await app.client.post(
        "/v1/admin/users", json={"email": "ada@example.com", "password": PASSWORD}, headers=admin
    )
    answers = {
        "Users": [
            user,
            await app.client.patch(
                f"/v1/admin/users/{user.json()['id']}", json={"roles": ["staff"]}, headers=admin
            ),
        ],
        "ServiceAccountCreated": [
            await app.client.post("/v1/admin/service-accounts", json={"name": "s"}, headers=admin)
        ],
        "Invitation": [
            await app.client.post(
                "/v1/admin/invitations", json={"email": "new@example.com"}, headers=admin
            )
        ],
        "ApiKeyCreated": [
            await app.client.post(
                "/v1/admin/api-keys",
                json={"name": "k", "user": user.json()["id"], "expires_in": 60},
                headers=admin,
            )
        ],
        "ApiKeyList": [await app.client.get("/v1/admin/api-keys", headers=admin)],
        "AuthEventPage": [await app.client.get("/v1/admin/audit?limit=2", headers=admin)],
        "SigningKeyRotated": [
            await app.client.post("/v1/admin/signing-keys:rotate", headers=admin)
        ],
        "AuthMe": [await app.client.get("/v1/auth/me", headers=admin)],
    }

    for name, responses in answers.items():
        validator = Draft202012Validator(
            {"$ref": f"#/components/schemas/{name}", "components": document["components"]},
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        for response in responses:
            assert response.status_code in (200, 201), response.text
            errors = [error.message for error in validator.iter_errors(response.json())]
            assert errors == [], (name, errors)
