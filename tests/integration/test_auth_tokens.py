"""Access and refresh tokens over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import jwt
import pytest

from auth_support import AuthApp, auth_app, bearer, signed_up
from bastion.blueprint.identity import AUTH_EVENTS
from bastion.core.context import ANONYMOUS
from bastion.core.identity.store import IdentityRecords


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[AuthApp]:
    async with auth_app(database_url) as built:
        yield built


async def _events(app: AuthApp, kind: str) -> list[dict[str, object]]:
    async with app.service.store.unit_of_work(read_only=True) as uow:
        return await IdentityRecords(app.service, uow, ANONYMOUS).find_all(AUTH_EVENTS, kind=kind)


async def test_a_registered_user_signs_in_and_is_recognised(app: AuthApp) -> None:
    tokens = await signed_up(app.client, "Ada@Example.com")
    assert tokens["token_type"] == "Bearer"
    assert tokens["expires_in"] == 900
    me = await app.client.get("/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "ada@example.com"
    assert me.json()["roles"] == ["member"]
    who = await app.client.get("/v1/whoami", headers=bearer(tokens["access_token"]))
    assert who.json()["actor"] == me.json()["id"]
    assert who.json()["credential"] == "token"
    answers = await asyncio.gather(
        *(app.client.get("/v1/whoami", headers=bearer(tokens["access_token"])) for _ in range(5))
    )
    assert {answer.status_code for answer in answers} == {200}


async def test_token_responses_are_never_cached(app: AuthApp) -> None:
    await signed_up(app.client, "ada@example.com")
    response = await app.client.post(
        "/v1/auth/token",
        json={"grant_type": "password", "username": "ada@example.com", "password": "nope"},
    )
    assert response.status_code == 400
    assert response.headers["cache-control"] == "no-store"
    ok = await app.client.post(
        "/v1/auth/token",
        json={
            "grant_type": "password",
            "username": "ada@example.com",
            "password": "correct horse battery staple",
        },
    )
    assert ok.status_code == 200
    assert ok.headers["cache-control"] == "no-store"


async def test_a_refresh_token_rotates_and_the_new_pair_works(app: AuthApp) -> None:
    first = await signed_up(app.client, "ada@example.com")
    response = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert response.status_code == 200, response.text
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    me = await app.client.get("/v1/auth/me", headers=bearer(second["access_token"]))
    assert me.status_code == 200


async def test_reusing_a_refresh_token_revokes_its_family_and_is_audited(app: AuthApp) -> None:
    first = await signed_up(app.client, "ada@example.com")
    rotated = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    newer = rotated.json()["refresh_token"]
    replay = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    after = await app.client.post(
        "/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": newer}
    )
    assert after.status_code == 400
    assert after.json()["error"] == "invalid_grant"
    assert len(await _events(app, "refresh_reuse")) >= 1


async def test_revoking_ends_refresh_and_access_tokens_and_unknown_tokens_get_200(
    app: AuthApp,
) -> None:
    tokens = await signed_up(app.client, "ada@example.com")
    revoked = await app.client.post("/v1/auth/revoke", data={"token": tokens["refresh_token"]})
    assert revoked.status_code == 200
    refresh = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refresh.status_code == 400
    unknown = await app.client.post("/v1/auth/revoke", data={"token": "no-such-token"})
    assert unknown.status_code == 200
    revoked = await app.client.post(
        "/v1/auth/revoke",
        data={"token": tokens["access_token"], "token_type_hint": "access_token"},
    )
    assert revoked.status_code == 200
    me = await app.client.get("/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    assert me.headers["www-authenticate"].startswith("Bearer")


async def test_logout_ends_this_session_only(app: AuthApp) -> None:
    here = await signed_up(app.client, "ada@example.com")
    there = (
        await app.client.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": "ada@example.com",
                "password": "correct horse battery staple",
            },
        )
    ).json()
    out = await app.client.post(
        "/v1/auth/logout",
        json={"refresh_token": here["refresh_token"]},
        headers=bearer(here["access_token"]),
    )
    assert out.status_code == 204
    gone = await app.client.get("/v1/auth/me", headers=bearer(here["access_token"]))
    assert gone.status_code == 401
    other = await app.client.get("/v1/auth/me", headers=bearer(there["access_token"]))
    assert other.status_code == 200


async def test_logout_all_makes_earlier_access_tokens_401(app: AuthApp) -> None:
    first = await signed_up(app.client, "ada@example.com")
    out = await app.client.post("/v1/auth/logout-all", headers=bearer(first["access_token"]))
    assert out.status_code == 204
    me = await app.client.get("/v1/auth/me", headers=bearer(first["access_token"]))
    assert me.status_code == 401
    refresh = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
    )
    assert refresh.status_code == 400
    again = await app.client.post(
        "/v1/auth/token",
        data={
            "grant_type": "password",
            "username": "ada@example.com",
            "password": "correct horse battery staple",
        },
    )
    fresh = await app.client.get("/v1/auth/me", headers=bearer(again.json()["access_token"]))
    assert fresh.status_code == 200
    assert len(await _events(app, "logout_all")) == 1


async def test_key_rotation_keeps_old_tokens_valid_and_publishes_both_keys(app: AuthApp) -> None:
    before = await signed_up(app.client, "ada@example.com")
    old_kid = (await app.client.get("/.well-known/jwks.json")).json()["keys"][0]["kid"]
    new_kid = await app.wiring.identity.signer.rotate()
    assert new_kid != old_kid
    me = await app.client.get("/v1/auth/me", headers=bearer(before["access_token"]))
    assert me.status_code == 200
    after = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": before["refresh_token"]},
    )
    assert jwt.get_unverified_header(after.json()["access_token"])["kid"] == new_kid
    jwks = await app.client.get("/.well-known/jwks.json")
    assert jwks.headers["cache-control"] == "public, max-age=300"
    assert {key["kid"] for key in jwks.json()["keys"]} == {old_kid, new_kid}
