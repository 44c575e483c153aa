"""An external OpenID Connect provider, through the real application over HTTP.

A provider is served for real on 127.0.0.1 (its JWKS, over HTTP, from a
thread); the application is built by ``create_app`` in production with the
``BASTION_OIDC_*`` settings of docs/security.md ("External identity
providers"), and every request goes through its middleware and routes.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from bastion.adapters.identity import oidc
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.core.identity.admin_parts import OPERATOR
from bastion.settings import Settings
from schema_support import create_schema

AUDIENCE = "notebook-api"
PASSWORD = "correct horse battery staple"
BLUEPRINT = Blueprint.model_validate(
    {
        "name": "oidc",
        "auth": {"roles": ["staff", "auditor"]},
        "resources": {
            "reports": {
                "fields": {"title": {"type": "string", "required": True}},
                "access": {"staff": "all"},
            }
        },
    }
)
INVALID_TOKEN = 'Bearer realm="bastion", error="invalid_token"'


class ProviderKey:
    """One of the provider's RSA signing keys: signs tokens, and is published as a JWK."""

    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk: dict[str, Any] = {**public, "kid": kid, "use": "sig", "alg": "RS256"}

    def sign(self, claims: dict[str, Any], *, kid: str | None = None) -> str:
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": kid or self.kid})


class Provider:
    """The identity provider: an HTTP server on a free loopback port serving its JWKS."""

    def __init__(self) -> None:
        self.keys: list[ProviderKey] = []
        self.fetches = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/realms/acme/protocol/openid-connect/certs":
                    self.send_error(404)
                    return
                provider.fetches += 1
                body = json.dumps({"keys": [key.jwk for key in provider.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Keep the test output quiet."""

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        port = self._server.server_address[1]
        self.issuer = f"http://127.0.0.1:{port}/realms/acme"
        self.jwks_url = f"{self.issuer}/protocol/openid-connect/certs"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def token(
        self,
        key: ProviderKey,
        *,
        roles: list[str],
        subject: str = "kc-user-42",
        **overrides: Any,
    ) -> str:
        """An access token as the provider issues them (Keycloak-shaped), with ``overrides``."""
        now = datetime.now(UTC)
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + timedelta(minutes=5),
            "realm_access": {"roles": roles},
            "tenant": "acme",
            **overrides,
        }
        return key.sign(claims)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def first_key() -> ProviderKey:
    return ProviderKey("kid-2024")


@pytest.fixture
def provider(first_key: ProviderKey) -> Iterator[Provider]:
    served = Provider()
    served.keys = [first_key]
    served.start()
    yield served
    served.stop()


@pytest.fixture
async def app(sqlite_url: str, provider: Provider) -> AsyncIterator[BastionApp]:
    await create_schema(BLUEPRINT, sqlite_url)
    settings = Settings(
        env="production",
        secret_key=secrets.token_urlsafe(36),
        database_url=sqlite_url,
        argon2_time_cost=1,
        argon2_memory_kib=8192,
        oidc_issuer=provider.issuer,
        oidc_audience=AUDIENCE,
        oidc_jwks_url=provider.jwks_url,
        oidc_roles_claim="realm_access.roles",
        oidc_tenant_claim="tenant",
    )
    bastion = create_app(BLUEPRINT, settings=settings)
    await bastion.start()
    yield bastion
    await bastion.stop()


@pytest.fixture
async def client(app: BastionApp) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"] == INVALID_TOKEN
    assert response.json()["status"] == 401


async def test_a_provider_token_with_a_granted_role_lists_and_creates(
    client: httpx.AsyncClient, provider: Provider, first_key: ProviderKey
) -> None:
    staff = bearer(provider.token(first_key, roles=["staff", "offline_access"]))

    created = await client.post("/v1/reports", json={"title": "Q3"}, headers=staff)
    assert created.status_code == 201, created.text
    listed = await client.get("/v1/reports", headers=staff)
    assert listed.status_code == 200, listed.text
    assert [report["title"] for report in listed.json()["data"]] == ["Q3"]
    read = await client.get(f"/v1/reports/{created.json()['id']}", headers=staff)
    assert read.status_code == 200
    assert provider.fetches == 1  # the key set is cached, not fetched per request


async def test_me_answers_what_the_provider_token_says_without_a_local_account(
    client: httpx.AsyncClient, provider: Provider, first_key: ProviderKey
) -> None:
    token = provider.token(first_key, roles=["staff", "auditor"], subject="kc-user-7")

    me = await client.get("/v1/auth/me", headers=bearer(token))

    assert me.status_code == 200, me.text
    assert me.json() == {
        "id": "kc-user-7",
        "roles": ["auditor", "staff"],
        "tenant": "acme",
        "external": True,
    }


async def test_a_provider_user_cannot_use_the_flows_of_local_accounts(
    client: httpx.AsyncClient, provider: Provider, first_key: ProviderKey
) -> None:
    external = bearer(provider.token(first_key, roles=["staff"]))

    changed = await client.post(
        "/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": PASSWORD + "!"},
        headers=external,
    )
    deleted = await client.request(
        "DELETE", "/v1/auth/me", json={"password": PASSWORD}, headers=external
    )

    for response in (changed, deleted):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": "another-api"}, id="wrong-audience"),
        pytest.param({"iss": "https://login.example.com/realms/other"}, id="wrong-issuer"),
        pytest.param(
            {
                "iat": datetime.now(UTC) - timedelta(hours=2),
                "exp": datetime.now(UTC) - timedelta(hours=1),
            },
            id="expired",
        ),
    ],
)
async def test_a_token_with_the_wrong_audience_issuer_or_lifetime_is_a_401_problem(
    client: httpx.AsyncClient,
    provider: Provider,
    first_key: ProviderKey,
    claims: dict[str, Any],
) -> None:
    token = provider.token(first_key, roles=["staff"], **claims)

    for path in ("/v1/reports", "/v1/auth/me"):
        assert_invalid_token(await client.get(path, headers=bearer(token)))


async def test_a_token_signed_by_another_key_under_the_providers_kid_is_a_401_problem(
    client: httpx.AsyncClient, provider: Provider, first_key: ProviderKey
) -> None:
    forger = ProviderKey(first_key.kid)
    forged = provider.token(forger, roles=["staff"])

    assert_invalid_token(await client.get("/v1/reports", headers=bearer(forged)))
    assert_invalid_token(
        await client.post("/v1/reports", json={"title": "x"}, headers=bearer(forged))
    )
    genuine = provider.token(first_key, roles=["staff"])
    assert (await client.get("/v1/reports", headers=bearer(genuine))).status_code == 200


async def test_a_provider_key_rotation_is_picked_up_from_its_jwks(
    client: httpx.AsyncClient,
    provider: Provider,
    first_key: ProviderKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old_token = provider.token(first_key, roles=["staff"])
    assert (await client.get("/v1/reports", headers=bearer(old_token))).status_code == 200
    assert provider.fetches == 1

    # The provider rotates: it now publishes and signs with a new key only.
    new_key = ProviderKey("kid-2025")
    provider.keys = [new_key]
    new_token = provider.token(new_key, roles=["staff"])
    # Unknown key ids refetch the JWKS at most once per 10 s (forged kids cannot make
    # Bastion flood the provider); let those 10 s pass on the verifier's clock.
    later = time.monotonic() + 11
    monkeypatch.setattr(oidc, "time", SimpleNamespace(monotonic=lambda: later))

    rotated = await client.get("/v1/reports", headers=bearer(new_token))

    assert rotated.status_code == 200, rotated.text
    assert provider.fetches == 2
    assert (
        await client.post("/v1/reports", json={"title": "new"}, headers=bearer(new_token))
    ).status_code == 201
    # The retired key is gone from the provider's set, so its tokens no longer verify.
    assert_invalid_token(await client.get("/v1/reports", headers=bearer(old_token)))


async def test_bastions_own_tokens_work_beside_the_providers(
    app: BastionApp, client: httpx.AsyncClient, provider: Provider, first_key: ProviderKey
) -> None:
    admin = app.identity.identity.admin
    assert admin is not None
    await admin.create_user(
        OPERATOR, email="ann@example.com", password=PASSWORD, roles=("staff",), email_verified=True
    )
    signed_in = await client.post(
        "/v1/auth/token",
        data={"grant_type": "password", "username": "ann@example.com", "password": PASSWORD},
    )
    assert signed_in.status_code == 200, signed_in.text
    local = bearer(signed_in.json()["access_token"])
    external = bearer(provider.token(first_key, roles=["staff"]))

    by_local = await client.post("/v1/reports", json={"title": "local"}, headers=local)
    by_external = await client.post("/v1/reports", json={"title": "external"}, headers=external)

    assert by_local.status_code == 201, by_local.text
    assert by_external.status_code == 201, by_external.text
    for headers in (local, external):
        listed = await client.get("/v1/reports", headers=headers)
        assert sorted(r["title"] for r in listed.json()["data"]) == ["external", "local"]
    me = await client.get("/v1/auth/me", headers=local)
    assert me.status_code == 200
    assert me.json()["email"] == "ann@example.com"
    assert "external" not in me.json()


async def test_a_provider_token_whose_roles_are_not_granted_is_a_403(
    client: httpx.AsyncClient, provider: Provider, first_key: ProviderKey
) -> None:
    for roles in (["auditor"], []):
        token = bearer(provider.token(first_key, roles=roles))

        listed = await client.get("/v1/reports", headers=token)
        created = await client.post("/v1/reports", json={"title": "x"}, headers=token)

        for response in (listed, created):
            assert response.status_code == 403, response.text
            assert response.headers["content-type"] == "application/problem+json"
            assert "www-authenticate" not in response.headers
