"""Email verification and password reset over HTTP, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from mfa_recovery_support import PASSWORD, AuthHarness, auth_harness

EMAIL = "grace@example.com"
NEW_PASSWORD = "a brand new passphrase"


@pytest.fixture
async def auth(database_url: str) -> AsyncIterator[AuthHarness]:
    async with auth_harness(database_url) as harness:
        await harness.register(EMAIL)
        yield harness


async def reset_token(auth: AuthHarness) -> str:
    response = await auth.client.post("/v1/auth/password/forgot", json={"email": EMAIL})
    assert response.status_code == 202, response.text
    return auth.mailer.last_token("reset_password", to=EMAIL)


async def test_the_verification_mail_verifies_the_address_once(auth: AuthHarness) -> None:
    headers = await auth.bearer(EMAIL)
    token = auth.mailer.last_token("verify_email", to=EMAIL)  # sent at registration

    first = await auth.client.post("/v1/auth/verify-email", json={"token": token})
    again = await auth.client.post("/v1/auth/verify-email", json={"token": token})

    assert first.status_code == 204, first.text
    assert (await auth.me(headers)).json()["email_verified"] is True
    assert again.status_code == 422
    assert [e["pointer"] for e in again.json()["errors"]] == ["/token"]


async def test_a_signed_in_user_can_ask_for_another_verification_mail(auth: AuthHarness) -> None:
    headers = await auth.bearer(EMAIL)
    before = len(auth.mailer.sent)

    response = await auth.client.post("/v1/auth/verify-email/request", headers=headers)
    anonymous = await auth.client.post("/v1/auth/verify-email/request")

    assert response.status_code == 202, response.text
    assert anonymous.status_code == 401
    assert len(auth.mailer.sent) == before + 1
    token = auth.mailer.last_token("verify_email", to=EMAIL)
    assert (
        await auth.client.post("/v1/auth/verify-email", json={"token": token})
    ).status_code == 204
    again = await auth.client.post("/v1/auth/verify-email/request", headers=headers)
    assert again.status_code == 409


async def test_an_expired_verification_token_is_refused(auth: AuthHarness) -> None:
    headers = await auth.bearer(EMAIL)
    token = auth.mailer.last_token("verify_email", to=EMAIL)
    auth.clock.advance(days=1, seconds=1)

    response = await auth.client.post("/v1/auth/verify-email", json={"token": token})

    assert response.status_code == 422
    auth.clock.offset = timedelta(0)
    assert (await auth.me(headers)).json()["email_verified"] is False


async def test_tokens_only_work_for_their_own_purpose(auth: AuthHarness) -> None:
    headers = await auth.bearer(EMAIL)
    reset = await reset_token(auth)
    verify = auth.mailer.last_token("verify_email", to=EMAIL)

    verify_with_reset = await auth.client.post("/v1/auth/verify-email", json={"token": reset})
    reset_with_verify = await auth.client.post(
        "/v1/auth/password/reset", json={"token": verify, "new_password": NEW_PASSWORD}
    )

    assert verify_with_reset.status_code == 422
    assert reset_with_verify.status_code == 422
    assert (await auth.me(headers)).json()["email_verified"] is False
    assert (await auth.sign_in(EMAIL, PASSWORD)).status_code == 200


async def test_forgot_password_answers_the_same_for_unknown_addresses(auth: AuthHarness) -> None:
    before = len(auth.mailer.sent)

    known = await auth.client.post("/v1/auth/password/forgot", json={"email": "Grace@Example.com"})
    unknown = await auth.client.post(
        "/v1/auth/password/forgot", json={"email": "nobody@example.com"}
    )

    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    assert known.headers["content-type"] == unknown.headers["content-type"]
    assert [(m.to, m.purpose) for m in auth.mailer.sent[before:]] == [(EMAIL, "reset_password")]


async def test_forgot_password_cannot_flood_an_inbox(auth: AuthHarness) -> None:
    before = len(auth.mailer.sent)

    answers = [
        await auth.client.post("/v1/auth/password/forgot", json={"email": EMAIL}) for _ in range(6)
    ]

    assert {a.status_code for a in answers} == {202}
    assert len({a.content for a in answers}) == 1
    assert len(auth.mailer.sent) - before == 3


async def test_a_reset_replaces_the_password_and_ends_every_session(auth: AuthHarness) -> None:
    signed_in = await auth.sign_in(EMAIL)
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    refresh_token = signed_in.json()["refresh_token"]
    token = await reset_token(auth)

    response = await auth.client.post(
        "/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 204, response.text
    old = await auth.sign_in(EMAIL, PASSWORD)
    assert old.status_code == 400
    assert old.json()["error"] == "invalid_grant"
    assert (await auth.sign_in(EMAIL, NEW_PASSWORD)).status_code == 200
    assert (await auth.me(headers)).status_code == 401
    refreshed = await auth.token_request(grant_type="refresh_token", refresh_token=refresh_token)
    assert refreshed.status_code == 400
    reused = await auth.client.post(
        "/v1/auth/password/reset", json={"token": token, "new_password": "yet another passphrase"}
    )
    assert reused.status_code == 422


async def test_a_rejected_new_password_leaves_the_reset_token_usable(auth: AuthHarness) -> None:
    token = await reset_token(auth)

    weak = await auth.client.post(
        "/v1/auth/password/reset", json={"token": token, "new_password": "password"}
    )
    strong = await auth.client.post(
        "/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )

    assert weak.status_code == 422
    assert {e["pointer"] for e in weak.json()["errors"]} == {"/new_password"}
    assert strong.status_code == 204, strong.text


async def test_an_expired_reset_token_is_refused(auth: AuthHarness) -> None:
    token = await reset_token(auth)
    auth.clock.advance(hours=1, seconds=1)

    response = await auth.client.post(
        "/v1/auth/password/reset", json={"token": token, "new_password": NEW_PASSWORD}
    )

    assert response.status_code == 422
    auth.clock.offset = timedelta(0)
    assert (await auth.sign_in(EMAIL, PASSWORD)).status_code == 200


async def test_a_newer_reset_uses_up_older_reset_tokens(auth: AuthHarness) -> None:
    older = await reset_token(auth)
    newer = await reset_token(auth)

    done = await auth.client.post(
        "/v1/auth/password/reset", json={"token": newer, "new_password": NEW_PASSWORD}
    )
    late = await auth.client.post(
        "/v1/auth/password/reset", json={"token": older, "new_password": "an attacker's choice"}
    )

    assert done.status_code == 204, done.text
    assert late.status_code == 422
