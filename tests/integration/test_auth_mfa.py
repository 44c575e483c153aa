"""TOTP multi-factor authentication over HTTP, on SQLite and on the real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from mfa_recovery_support import PASSWORD, AuthHarness, auth_harness

MFA_OTP = "urn:bastion:params:oauth:grant-type:mfa-otp"
EMAIL = "ada@example.com"


@pytest.fixture
async def auth(database_url: str) -> AsyncIterator[AuthHarness]:
    async with auth_harness(database_url) as harness:
        await harness.register(EMAIL)
        yield harness


def code(auth: AuthHarness, secret: str) -> str:
    """The code an authenticator app shows now (by the server's clock)."""
    return str(pyotp.TOTP(secret).at(auth.clock()))


async def enrol(auth: AuthHarness, headers: dict[str, str]) -> dict[str, Any]:
    started = await auth.client.post("/v1/auth/mfa/totp", headers=headers)
    assert started.status_code == 200, started.text
    body: dict[str, Any] = started.json()
    confirmed = await auth.client.post(
        "/v1/auth/mfa/totp/confirm", json={"otp": code(auth, body["secret"])}, headers=headers
    )
    assert confirmed.status_code == 200, confirmed.text
    return body


async def mfa_token(auth: AuthHarness, expected_error: str = "mfa_required") -> str:
    response = await auth.sign_in(EMAIL)
    assert response.status_code == 400, response.text
    assert response.json()["error"] == expected_error
    token: str = response.json()["mfa_token"]
    return token


async def test_enrolment_shows_a_provisioning_uri_and_ten_recovery_codes_once(
    auth: AuthHarness,
) -> None:
    headers = await auth.bearer(EMAIL)

    response = await auth.client.post("/v1/auth/mfa/totp", headers=headers)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    uri = urlparse(body["otpauth_uri"])
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert "ada%40example.com" in uri.path or EMAIL in uri.path
    assert parse_qs(uri.query)["issuer"] == ["notebook"]
    assert parse_qs(uri.query)["secret"] == [body["secret"]]
    assert len(set(body["recovery_codes"])) == 10
    assert (await auth.me(headers)).json()["mfa_enabled"] is False
    stored = await auth.credentials(EMAIL)
    assert body["secret"] not in stored["totp_secret"]
    assert not set(body["recovery_codes"]) & set(stored["recovery_codes"])


async def test_confirming_with_a_current_code_turns_mfa_on(auth: AuthHarness) -> None:
    headers = await auth.bearer(EMAIL)

    await enrol(auth, headers)

    assert (await auth.me(headers)).json()["mfa_enabled"] is True


async def test_a_wrong_code_does_not_turn_mfa_on(auth: AuthHarness) -> None:
    headers = await auth.bearer(EMAIL)
    secret = (await auth.client.post("/v1/auth/mfa/totp", headers=headers)).json()["secret"]
    wrong = f"{(int(code(auth, secret)) + 1) % 1_000_000:06d}"

    response = await auth.client.post(
        "/v1/auth/mfa/totp/confirm", json={"otp": wrong}, headers=headers
    )

    assert response.status_code == 422
    assert [e["pointer"] for e in response.json()["errors"]] == ["/otp"]
    assert (await auth.me(headers)).json()["mfa_enabled"] is False


async def test_signing_in_after_enrolment_needs_the_second_factor(auth: AuthHarness) -> None:
    secret = (await enrol(auth, await auth.bearer(EMAIL)))["secret"]
    auth.clock.advance(seconds=30)

    token = await mfa_token(auth)
    response = await auth.token_request(grant_type=MFA_OTP, mfa_token=token, otp=code(auth, secret))

    assert response.status_code == 200, response.text
    assert (await auth.me({"Authorization": f"Bearer {response.json()['access_token']}"})).json()[
        "mfa_enabled"
    ] is True


async def test_a_code_already_used_is_refused(auth: AuthHarness) -> None:
    secret = (await enrol(auth, await auth.bearer(EMAIL)))["secret"]
    used = code(auth, secret)  # the code that confirmed enrolment

    response = await auth.token_request(
        grant_type=MFA_OTP, mfa_token=await mfa_token(auth), otp=used
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_recovery_code_signs_in_once(auth: AuthHarness) -> None:
    recovery_code = (await enrol(auth, await auth.bearer(EMAIL)))["recovery_codes"][0]

    first = await auth.token_request(
        grant_type=MFA_OTP, mfa_token=await mfa_token(auth), otp=recovery_code
    )
    again = await auth.token_request(
        grant_type=MFA_OTP, mfa_token=await mfa_token(auth), otp=recovery_code
    )

    assert first.status_code == 200, first.text
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"


async def test_new_recovery_codes_replace_the_old_ones(auth: AuthHarness) -> None:
    headers = await auth.bearer(EMAIL)
    old_code = (await enrol(auth, headers))["recovery_codes"][0]

    response = await auth.client.post(
        "/v1/auth/mfa/recovery-codes", json={"password": PASSWORD}, headers=headers
    )

    assert response.status_code == 200, response.text
    new_codes = response.json()["recovery_codes"]
    assert len(new_codes) == 10
    with_old = await auth.token_request(
        grant_type=MFA_OTP, mfa_token=await mfa_token(auth), otp=old_code
    )
    with_new = await auth.token_request(
        grant_type=MFA_OTP, mfa_token=await mfa_token(auth), otp=new_codes[0]
    )
    assert with_old.status_code == 400
    assert with_new.status_code == 200, with_new.text


async def test_turning_mfa_off_needs_the_password_or_a_current_code(auth: AuthHarness) -> None:
    headers = await auth.bearer(EMAIL)
    await enrol(auth, headers)

    no_proof = await auth.client.request("DELETE", "/v1/auth/mfa/totp", json={}, headers=headers)
    wrong = await auth.client.request(
        "DELETE", "/v1/auth/mfa/totp", json={"password": "not my password"}, headers=headers
    )

    assert no_proof.status_code == 422
    assert wrong.status_code == 422
    assert [e["pointer"] for e in wrong.json()["errors"]] == ["/password"]
    assert (await auth.me(headers)).json()["mfa_enabled"] is True

    done = await auth.client.request(
        "DELETE", "/v1/auth/mfa/totp", json={"password": PASSWORD}, headers=headers
    )

    assert done.status_code == 204, done.text
    assert (await auth.me(headers)).json()["mfa_enabled"] is False
    assert (await auth.sign_in(EMAIL)).status_code == 200


async def test_turning_mfa_off_with_a_current_code(auth: AuthHarness) -> None:
    headers = await auth.bearer(EMAIL)
    secret = (await enrol(auth, headers))["secret"]
    auth.clock.advance(seconds=30)

    response = await auth.client.request(
        "DELETE", "/v1/auth/mfa/totp", json={"otp": code(auth, secret)}, headers=headers
    )

    assert response.status_code == 204, response.text
    assert (await auth.me(headers)).json()["mfa_enabled"] is False


async def test_a_role_that_requires_mfa_enrols_with_the_sign_in_mfa_token(
    auth: AuthHarness,
) -> None:
    await auth.set_roles(EMAIL, ["staff"])
    token = await mfa_token(auth, "mfa_enrollment_required")

    started = await auth.client.post("/v1/auth/mfa/totp", json={"mfa_token": token})
    secret = started.json()["secret"]
    mistyped = await auth.client.post(
        "/v1/auth/mfa/totp/confirm", json={"otp": "000000", "mfa_token": token}
    )
    confirmed = await auth.client.post(
        "/v1/auth/mfa/totp/confirm", json={"otp": code(auth, secret), "mfa_token": token}
    )
    reused = await auth.client.post("/v1/auth/mfa/totp", json={"mfa_token": token})

    assert started.status_code == 200, started.text
    assert mistyped.status_code == 422  # the token survives a mistyped code...
    assert confirmed.status_code == 200, confirmed.text
    assert reused.status_code == 401  # ...and is used up by the confirmation
    auth.clock.advance(seconds=30)
    finish = await auth.token_request(
        grant_type=MFA_OTP, mfa_token=await mfa_token(auth), otp=code(auth, secret)
    )
    assert finish.status_code == 200, finish.text


async def test_enrolment_needs_a_bearer_token_or_an_mfa_token(auth: AuthHarness) -> None:
    anonymous = await auth.client.post("/v1/auth/mfa/totp")
    forged = await auth.client.post("/v1/auth/mfa/totp", json={"mfa_token": "not-a-token"})

    assert anonymous.status_code == 401
    assert forged.status_code == 401
