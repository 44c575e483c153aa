"""API keys: created once, used as bearer tokens, narrowed by scopes, revocable."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from admin_support import AuthApp, auth_app, bearer


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[AuthApp]:
    async with auth_app(database_url) as running:
        yield running


async def _key(app: AuthApp, headers: dict[str, str], **body: object) -> dict[str, object]:
    response = await app.client.post(
        "/v1/auth/api-keys", json={"name": "ci", **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    created: dict[str, object] = response.json()
    return created


async def test_a_key_is_shown_once_and_then_works_as_a_bearer_token(app: AuthApp) -> None:
    owner = await app.signed_in("ada@example.com", "member")
    response = await app.client.post("/v1/auth/api-keys", json={"name": "ci"}, headers=owner)
    created = response.json()
    key = str(created["key"])

    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    assert key.startswith("bst_")
    assert key[:12] == created["prefix"]
    listed = (await app.client.get("/v1/auth/api-keys", headers=owner)).json()["data"]
    assert [k["id"] for k in listed] == [created["id"]]
    assert "key" not in listed[0]
    assert "key_hash" not in listed[0]

    me = await app.client.get("/v1/auth/me", headers=bearer(key))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    note = await app.client.post("/v1/notes", json={"title": "from a script"}, headers=bearer(key))
    assert note.status_code == 201, note.text


async def test_a_key_narrowed_to_read_cannot_write(app: AuthApp) -> None:
    owner = await app.signed_in("ada@example.com", "member")
    assert (
        await app.client.post("/v1/notes", json={"title": "a"}, headers=owner)
    ).status_code == 201
    key = str((await _key(app, owner, scopes=["notes:read"]))["key"])

    assert (await app.client.get("/v1/notes", headers=bearer(key))).status_code == 200
    refused = await app.client.post("/v1/notes", json={"title": "b"}, headers=bearer(key))
    assert refused.status_code == 403


async def test_unknown_scopes_are_refused_with_a_pointer(app: AuthApp) -> None:
    owner = await app.signed_in("ada@example.com")
    response = await app.client.post(
        "/v1/auth/api-keys",
        json={"name": "x", "scopes": ["notes:read", "bastion_credentials:read", "notes:admin"]},
        headers=owner,
    )
    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/scopes/1", "/scopes/2"]


async def test_revoked_and_expired_keys_are_refused(app: AuthApp) -> None:
    owner = await app.signed_in("ada@example.com")
    revoked = await _key(app, owner)
    expiring = await _key(app, owner, expires_in=60)

    deleted = await app.client.delete(f"/v1/auth/api-keys/{revoked['id']}", headers=owner)
    assert deleted.status_code == 204
    assert (
        await app.client.get("/v1/auth/me", headers=bearer(str(revoked["key"])))
    ).status_code == 401
    listed = (await app.client.get("/v1/auth/api-keys", headers=owner)).json()["data"]
    assert next(k for k in listed if k["id"] == revoked["id"])["revoked_at"] is not None

    later = datetime.now(UTC) + timedelta(minutes=2)
    app.identity.service.clock = lambda: later
    response = await app.client.get("/v1/auth/me", headers=bearer(str(expiring["key"])))
    assert response.status_code == 401


async def test_expiry_in_the_past_is_refused(app: AuthApp) -> None:
    owner = await app.signed_in("ada@example.com")
    response = await app.client.post(
        "/v1/auth/api-keys",
        json={"name": "x", "expires_at": "2001-01-01T00:00:00Z"},
        headers=owner,
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["pointer"] == "/expires_at"


async def test_using_a_key_records_when_it_was_last_used(app: AuthApp) -> None:
    owner = await app.signed_in("ada@example.com")
    created = await _key(app, owner)
    assert created["last_used_at"] is None

    assert (
        await app.client.get("/v1/notes", headers=bearer(str(created["key"])))
    ).status_code == 200

    listed = (await app.client.get("/v1/auth/api-keys", headers=owner)).json()["data"]
    assert next(k for k in listed if k["id"] == created["id"])["last_used_at"] is not None


async def test_a_user_cannot_see_or_revoke_someone_elses_key(app: AuthApp) -> None:
    ada = await app.signed_in("ada@example.com")
    bob = await app.signed_in("bob@example.com")
    created = await _key(app, ada)

    assert (await app.client.get("/v1/auth/api-keys", headers=bob)).json()["data"] == []
    response = await app.client.delete(f"/v1/auth/api-keys/{created['id']}", headers=bob)
    assert response.status_code == 404
    assert (
        await app.client.get("/v1/auth/me", headers=bearer(str(created["key"])))
    ).status_code == 200


async def test_anonymous_callers_have_no_keys(app: AuthApp) -> None:
    assert (await app.client.get("/v1/auth/api-keys")).status_code == 401
    assert (await app.client.post("/v1/auth/api-keys", json={"name": "x"})).status_code == 401


async def test_creating_and_revoking_keys_is_audited_without_the_key(app: AuthApp) -> None:
    owner = await app.signed_in("ada@example.com")
    created = await _key(app, owner)
    await app.client.delete(f"/v1/auth/api-keys/{created['id']}", headers=owner)
    admin = await app.signed_in("root@example.com", "admin")

    events = (await app.client.get("/v1/admin/audit?kind=api_key_created", headers=admin)).json()
    assert [e["detail"]["api_key"] for e in events["data"]] == [created["id"]]
    revoked = (await app.client.get("/v1/admin/audit?kind=api_key_revoked", headers=admin)).json()
    assert len(revoked["data"]) == 1
    assert str(created["key"]) not in str(events) + str(revoked)
