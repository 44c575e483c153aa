"""Every way a bearer credential can be wrong is a 401 with ``WWW-Authenticate``."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from auth_support import AuthApp, auth_app, bearer, signed_up
from bastion.adapters.identity import KeyRing
from bastion.core.identity.signing_keys import StoreSigningKeys
from bastion.settings import Settings


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[AuthApp]:
    async with auth_app(database_url) as built:
        yield built


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _decode(part: str) -> dict[str, Any]:
    decoded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return decoded


def _segments(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    return _decode(header), _decode(payload), signature


def _unsigned(header: dict[str, Any], payload: dict[str, Any], signature: str = "") -> str:
    return ".".join(
        [_b64(json.dumps(header).encode()), _b64(json.dumps(payload).encode()), signature]
    )


async def test_broken_bearer_credentials_are_all_refused(app: AuthApp) -> None:
    good = (await signed_up(app.client, "ada@example.com"))["access_token"]
    header, claims, signature = _segments(good)
    jwk = (await app.client.get("/.well-known/jwks.json")).json()["keys"][0]
    public_x = jwk["x"].encode()
    now = int(time.time())
    stranger = Ed25519PrivateKey.generate()

    def signed_by_stranger(**changes: Any) -> str:
        return jwt.encode({**claims, **changes}, stranger, algorithm="EdDSA", headers=header)

    revoked = (await signed_up(app.client, "bob@example.com"))["access_token"]
    await app.client.post("/v1/auth/revoke", data={"token": revoked})
    cases = {
        "alg none": _unsigned({"alg": "none", "typ": "JWT", "kid": header["kid"]}, claims),
        "HS256 with the public key": jwt.encode(
            claims, public_x, algorithm="HS256", headers={"kid": header["kid"]}
        ),
        "expired": signed_by_stranger(exp=now - 10),
        "another key": signed_by_stranger(),
        "tampered payload": _unsigned(header, {**claims, "roles": ["admin"]}, signature),
        "revoked jti": revoked,
        "garbage": "not-a-token",
        "api key look-alike": "bst_" + "A" * 46,
        "empty": "",
    }
    for name, token in cases.items():
        response = await app.client.get("/v1/whoami", headers=bearer(token))
        assert response.status_code == 401, name
        assert response.headers["www-authenticate"].startswith('Bearer realm="bastion"'), name
        assert response.headers["content-type"] == "application/problem+json", name
    basic = await app.client.get("/v1/whoami", headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401
    assert (await app.client.get("/v1/whoami", headers=bearer(good))).status_code == 200


async def test_tokens_of_another_issuer_or_audience_are_refused(app: AuthApp) -> None:
    me = (
        await app.client.get(
            "/v1/auth/me",
            headers=bearer((await signed_up(app.client, "bob@example.com"))["access_token"]),
        )
    ).json()
    for issuer, audience in (("https://evil.example", "bastion"), ("bastion", "elsewhere")):
        # Our own key, so only the claim is wrong.
        ring = KeyRing(
            StoreSigningKeys(app.service),
            secret=Settings().secret_key.get_secret_value(),
            issuer=issuer,
            audience=audience,
            access_ttl=timedelta(minutes=5),
        )
        forged = await ring.sign({"sub": me["id"], "roles": ["admin"]})
        response = await app.client.get("/v1/whoami", headers=bearer(forged))
        assert response.status_code == 401, (issuer, audience)
        assert 'error="invalid_token"' in response.headers["www-authenticate"]
