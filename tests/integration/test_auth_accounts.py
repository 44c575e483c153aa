"""Accounts and sign-in over HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import pyotp
import pytest

from auth_support import (
    PASSWORD,
    QUICK_LOCK,
    AuthApp,
    auth_app,
    bearer,
    password_grant,
    register,
    signed_up,
)
from bastion.blueprint.identity import API_KEYS, INVITATIONS, USERS
from bastion.core.context import ANONYMOUS
from bastion.core.identity import hash_recovery_code, new_api_key, new_opaque_token, token_digest
from bastion.core.identity.store import IdentityRecords
from bastion.core.ports import seal_text

MFA_GRANT = "urn:bastion:params:oauth:grant-type:mfa-otp"


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[AuthApp]:
    async with auth_app(database_url, account_policy=QUICK_LOCK) as built:
        yield built


async def _change(app: AuthApp, work: Any) -> Any:
    async with app.service.store.unit_of_work() as uow:
        return await work(IdentityRecords(app.service, uow, ANONYMOUS))


async def _user_id(app: AuthApp, email: str) -> UUID:
    async def find(records: IdentityRecords) -> UUID:
        user = await records.user_by_email(email)
        assert user is not None
        return UUID(str(user["id"]))

    result: UUID = await _change(app, find)
    return result


async def test_registration_sends_a_verification_email_and_refuses_duplicates(
    app: AuthApp,
) -> None:
    created = await register(app.client, "Ada@Example.com", name="Ada")
    assert created.status_code == 201
    assert created.json()["email"] == "ada@example.com"
    assert "password" not in created.text
    assert [mail["purpose"] for mail in app.mailer.sent] == ["verify_email"]
    assert app.mailer.sent[0]["to"] == "ada@example.com"
    again = await register(app.client, "ada@example.com")
    assert again.status_code == 409
    weak = await register(app.client, "bob@example.com", password="password")
    assert weak.status_code == 422
    assert weak.json()["errors"][0]["pointer"] == "/password"


async def test_unknown_email_and_wrong_password_get_identical_answers(app: AuthApp) -> None:
    await register(app.client, "ada@example.com")
    same_id = {"X-Request-ID": "probe"}
    wrong = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "ada@example.com", "password": "nope"},
        headers=same_id,
    )
    unknown = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "eve@example.com", "password": "nope"},
        headers=same_id,
    )
    assert wrong.status_code == unknown.status_code == 400
    assert wrong.content == unknown.content
    assert wrong.json()["error"] == "invalid_grant"


async def test_repeated_failures_lock_the_account_until_the_lock_expires(app: AuthApp) -> None:
    await register(app.client, "ada@example.com")
    for _ in range(5):
        failed = await password_grant(app.client, "ada@example.com", "wrong password")
        assert failed.status_code == 400
    locked = await password_grant(app.client, "ada@example.com")
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    await asyncio.sleep(1.1)
    assert (await password_grant(app.client, "ada@example.com")).status_code == 200


async def test_changing_the_password_ends_other_sessions(app: AuthApp) -> None:
    here = await signed_up(app.client, "ada@example.com")
    there = (await password_grant(app.client, "ada@example.com")).json()
    changed = await app.client.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        headers=bearer(here["access_token"]),
    )
    assert changed.status_code == 200, changed.text
    fresh = changed.json()
    assert (await app.client.get("/v1/auth/me", headers=bearer(fresh["access_token"]))).is_success
    for old in (here, there):
        me = await app.client.get("/v1/auth/me", headers=bearer(old["access_token"]))
        assert me.status_code == 401
    refresh = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": there["refresh_token"]},
    )
    assert refresh.status_code == 400
    assert (await password_grant(app.client, "ada@example.com")).status_code == 400
    new = await password_grant(app.client, "ada@example.com", "a brand new passphrase")
    assert new.status_code == 200


async def test_a_disabled_users_tokens_stop_working(app: AuthApp) -> None:
    tokens = await signed_up(app.client, "ada@example.com")
    user_id = await _user_id(app, "ada@example.com")
    ttl = timedelta(minutes=15)

    async def disable(records: IdentityRecords) -> None:
        await records.records.update(USERS, user_id, {"status": "disabled"})
        await records.cut_off_sessions(user_id, until=records.now + ttl)

    await _change(app, disable)
    assert (
        await app.client.get("/v1/auth/me", headers=bearer(tokens["access_token"]))
    ).status_code == 401
    refresh = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert refresh.status_code == 400
    same_as_wrong = await password_grant(app.client, "ada@example.com")
    assert same_as_wrong.json()["error_description"] == "the email or password is wrong"


async def test_deleting_the_account_needs_the_password_and_ends_everything(app: AuthApp) -> None:
    tokens = await signed_up(app.client, "ada@example.com")
    wrong = await app.client.request(
        "DELETE", "/v1/auth/me", json={"password": "nope"}, headers=bearer(tokens["access_token"])
    )
    assert wrong.status_code == 422
    deleted = await app.client.request(
        "DELETE", "/v1/auth/me", json={"password": PASSWORD}, headers=bearer(tokens["access_token"])
    )
    assert deleted.status_code == 204
    me = await app.client.get("/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert me.status_code == 401
    assert (await password_grant(app.client, "ada@example.com")).status_code == 400


async def _service_account(app: AuthApp, secret: str) -> str:
    secret_hash = await app.wiring.identity.hasher.hash(secret)

    async def create(records: IdentityRecords) -> str:
        user = await records.records.create(
            USERS, {"name": "billing", "kind": "service", "roles": ["staff"]}
        )
        await records.save_credentials(user["id"], client_secret_hash=secret_hash)
        return str(user["id"])

    client_id: str = await _change(app, create)
    return client_id


async def test_a_service_account_gets_a_token_with_client_credentials(app: AuthApp) -> None:
    client_id = await _service_account(app, "s3cret-s3cret-s3cret")
    form = await app.client.post(
        "/v1/auth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": "s3cret-s3cret-s3cret",
            "scope": "notes:read",
        },
    )
    assert form.status_code == 200, form.text
    assert "refresh_token" not in form.json()
    assert form.json()["scope"] == "notes:read"
    who = (await app.client.get("/v1/whoami", headers=bearer(form.json()["access_token"]))).json()
    assert who["actor"] == client_id
    assert who["scopes"] == ["notes:read"]
    basic = base64.b64encode(f"{client_id}:s3cret-s3cret-s3cret".encode()).decode()
    by_basic = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": f"Basic {basic}"},
    )
    assert by_basic.status_code == 200, by_basic.text
    wrong = await app.client.post(
        "/v1/auth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": "x"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"


async def test_guessing_a_client_secret_is_throttled_per_client(app: AuthApp) -> None:
    client_id = await _service_account(app, "s3cret-s3cret-s3cret")

    def attempt(secret: str) -> Any:
        return app.client.post(
            "/v1/auth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": client_id,
                "client_secret": secret,
            },
        )

    wrong = [(await attempt(f"guess-{i}")).status_code for i in range(5)]
    locked = await attempt("s3cret-s3cret-s3cret")

    assert wrong == [401] * 5
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) >= 1
    await asyncio.sleep(1.1)
    assert (await attempt("s3cret-s3cret-s3cret")).status_code == 200


async def _enrol(app: AuthApp, email: str) -> tuple[str, list[str]]:
    secret = pyotp.random_base32()
    codes = ["abcde-fghjk", "mnpqr-stuvw"]
    user_id = await _user_id(app, email)
    box = app.wiring.identity.secret_box

    async def enrol(records: IdentityRecords) -> None:
        await records.save_credentials(
            user_id,
            totp_secret=seal_text(box, secret),
            recovery_codes=[hash_recovery_code(code) for code in codes],
        )
        await records.records.update(USERS, user_id, {"mfa_enabled": True})

    await _change(app, enrol)
    return secret, codes


async def _mfa_token(app: AuthApp, email: str) -> str:
    challenge = await password_grant(app.client, email)
    assert challenge.status_code == 400
    assert challenge.json()["error"] == "mfa_required"
    token: str = challenge.json()["mfa_token"]
    return token


async def test_mfa_sign_in_with_a_totp_code_that_cannot_be_replayed(app: AuthApp) -> None:
    await register(app.client, "ada@example.com")
    secret, _ = await _enrol(app, "ada@example.com")
    code = pyotp.TOTP(secret).now()
    grant = {"grant_type": MFA_GRANT, "mfa_token": await _mfa_token(app, "ada@example.com")}
    wrong = await app.client.post("/v1/auth/token", data={**grant, "otp": "000000"})
    if code != "000000":
        assert wrong.status_code == 400
    done = await app.client.post("/v1/auth/token", data={**grant, "otp": code})
    assert done.status_code == 200, done.text
    assert (
        await app.client.get("/v1/auth/me", headers=bearer(done.json()["access_token"]))
    ).is_success
    again = await app.client.post(
        "/v1/auth/token",
        data={**grant, "mfa_token": await _mfa_token(app, "ada@example.com"), "otp": code},
    )
    assert again.status_code == 400


async def test_mfa_sign_in_with_a_recovery_code_works_once(app: AuthApp) -> None:
    await register(app.client, "ada@example.com")
    _, codes = await _enrol(app, "ada@example.com")
    grant = {"grant_type": MFA_GRANT, "otp": codes[0].upper()}
    first = await app.client.post(
        "/v1/auth/token", data={**grant, "mfa_token": await _mfa_token(app, "ada@example.com")}
    )
    assert first.status_code == 200, first.text
    second = await app.client.post(
        "/v1/auth/token", data={**grant, "mfa_token": await _mfa_token(app, "ada@example.com")}
    )
    assert second.status_code == 400


async def test_roles_that_require_mfa_must_enrol_first(database_url: str) -> None:
    async with auth_app(database_url, mfa_required_roles=["member"]) as app:
        await register(app.client, "ada@example.com")
        answer = await password_grant(app.client, "ada@example.com")
        assert answer.status_code == 400
        assert answer.json()["error"] == "mfa_enrollment_required"
        assert answer.json()["mfa_token"]


async def _invite(app: AuthApp, email: str, roles: list[str]) -> str:
    token = new_opaque_token()

    async def create(records: IdentityRecords) -> None:
        await records.records.create(
            INVITATIONS,
            {
                "email": email,
                "roles": roles,
                "token_hash": token_digest(token),
                "expires_at": records.now + timedelta(days=1),
            },
        )

    await _change(app, create)
    return token


async def test_invite_only_needs_a_matching_unused_invitation_and_closed_refuses_all(
    database_url: str,
) -> None:
    async with auth_app(database_url, registration="invite_only") as app:
        assert (await register(app.client, "ada@example.com")).status_code == 403
        token = await _invite(app, "ada@example.com", ["staff"])
        other = await register(app.client, "bob@example.com", invitation=token)
        assert other.status_code == 403
        created = await register(app.client, "ada@example.com", invitation=token)
        assert created.status_code == 201, created.text
        assert created.json()["roles"] == ["member", "staff"]
        reused = await register(app.client, "ada2@example.com", invitation=token)
        assert reused.status_code == 403
    async with auth_app(database_url, registration="closed") as app:
        closed = await register(app.client, "carol@example.com")
        assert closed.status_code == 403


async def test_an_unverified_email_cannot_sign_in_when_verification_is_required(
    database_url: str,
) -> None:
    async with auth_app(database_url, require_verified_email=True) as app:
        await register(app.client, "ada@example.com")
        answer = await password_grant(app.client, "ada@example.com")
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"


async def test_an_api_key_authenticates_as_its_user_until_revoked(app: AuthApp) -> None:
    await register(app.client, "ada@example.com")
    user_id = await _user_id(app, "ada@example.com")
    key, prefix = new_api_key()

    async def create(records: IdentityRecords) -> Any:
        return await records.records.create(
            API_KEYS,
            {
                "user": user_id,
                "name": "ci",
                "prefix": prefix,
                "key_hash": token_digest(key),
                "scopes": ["notes:read"],
            },
        )

    row = await _change(app, create)
    who = await app.client.get("/v1/whoami", headers=bearer(key))
    assert who.status_code == 200
    assert who.json()["credential"] == "api_key"
    assert who.json()["actor"] == str(user_id)
    assert who.json()["scopes"] == ["notes:read"]

    async def revoke(records: IdentityRecords) -> None:
        await records.records.update(API_KEYS, row["id"], {"revoked_at": records.now})

    await _change(app, revoke)
    assert (await app.client.get("/v1/whoami", headers=bearer(key))).status_code == 401
