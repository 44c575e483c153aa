"""External OIDC tokens, verified against a JWKS served over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from jwt.warnings import InsecureKeyLengthWarning

from bastion.adapters.identity import ExternalIssuer, IssuerUnavailable
from bastion.core.ports import ExternalClaims, ExternalVerifier, TokenRejected

ISSUER = "https://login.example.com/realms/shop"
AUDIENCE = "shop-api"


class Provider:
    """What the fake provider serves: its JWKS, or an error status."""

    def __init__(self) -> None:
        self.jwks: dict[str, Any] = {"keys": []}
        self.status = 200
        self.hits = 0


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:
        provider = self.server.provider
        provider.hits += 1
        body = json.dumps(provider.jwks).encode()
        self.send_response(provider.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    provider: Provider


class SigningKeyPair:
    """A provider's key: signs test tokens and appears in its JWKS."""

    def __init__(self, kid: str, *, algorithm: str = "RS256", bits: int = 2048) -> None:
        self.kid = kid
        self.algorithm = algorithm
        if algorithm.startswith("ES"):
            self.private: Any = ec.generate_private_key(ec.SECP256R1())
            public = ECAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        else:
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=bits)
            public = RSAAlgorithm.to_jwk(self.private.public_key(), as_dict=True)
        self.jwk: dict[str, Any] = {**public, "kid": kid, "use": "sig"}

    def sign(self, claims: dict[str, Any], **header: Any) -> str:
        return jwt.encode(
            claims,
            self.private,
            algorithm=header.pop("alg", self.algorithm),
            headers={"kid": self.kid, **header},
        )


RSA_KEY = SigningKeyPair("rsa-1")


@pytest.fixture
def provider() -> Iterator[tuple[Provider, str]]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.provider = Provider()
    server.provider.jwks = {"keys": [RSA_KEY.jwk]}
    thread = threading.Thread(target=server.serve_forever, args=(0.01,), daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield server.provider, f"http://{host!s}:{port}/protocol/openid-connect/certs"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
async def issuer(provider: tuple[Provider, str]) -> AsyncIterator[ExternalIssuer]:
    verifier = ExternalIssuer(ISSUER, AUDIENCE, provider[1], roles_claim="realm_access.roles")
    yield verifier
    await verifier.aclose()


def claims(**overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    base = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "kc-user-7",
        "iat": now,
        "exp": now + timedelta(minutes=5),
        "realm_access": {"roles": ["admin", "billing"]},
        "tenant": "acme",
        "scope": "openid orders:read orders:write",
    }
    return {**base, **overrides}


async def reason(issuer: ExternalIssuer, token: str) -> str:
    with pytest.raises(TokenRejected) as caught:
        await issuer.verify(token)
    return caught.value.reason


async def test_a_valid_token_maps_to_subject_roles_tenant_and_scopes(
    issuer: ExternalIssuer,
) -> None:
    identity = await issuer.verify(RSA_KEY.sign(claims()))
    assert identity.subject == "kc-user-7"
    assert identity.roles == {"admin", "billing"}
    assert identity.tenant == "acme"
    assert identity.scopes == frozenset({"openid", "orders:read", "orders:write"})
    assert identity.claims["iss"] == ISSUER


async def test_scopes_may_come_as_an_scp_list(issuer: ExternalIssuer) -> None:
    token = RSA_KEY.sign({**claims(scp=["orders:read"]), "scope": None})
    assert (await issuer.verify(token)).scopes == frozenset({"orders:read"})


async def test_missing_roles_and_tenant_map_to_empty_and_none(issuer: ExternalIssuer) -> None:
    token = RSA_KEY.sign(claims(realm_access={}, tenant=None, scope=None))
    identity = await issuer.verify(token)
    assert (identity.roles, identity.tenant, identity.scopes) == (frozenset(), None, None)


async def test_the_issuer_is_an_external_verifier(issuer: ExternalIssuer) -> None:
    verifier: ExternalVerifier = issuer
    claims_seen: ExternalClaims = await verifier.verify(RSA_KEY.sign(claims()))
    assert claims_seen.subject == "kc-user-7"


async def test_a_claim_name_with_dots_is_found_before_a_path(
    provider: tuple[Provider, str],
) -> None:
    verifier = ExternalIssuer(
        ISSUER, AUDIENCE, provider[1], roles_claim="https://shop.example.com/roles"
    )
    try:
        token = RSA_KEY.sign(claims(**{"https://shop.example.com/roles": ["support"]}))
        assert (await verifier.verify(token)).roles == {"support"}
    finally:
        await verifier.aclose()


async def test_a_token_from_another_issuer_is_refused(issuer: ExternalIssuer) -> None:
    token = RSA_KEY.sign(claims(iss="https://evil.example.com"))
    assert await reason(issuer, token) == "wrong_issuer"


async def test_a_token_for_another_audience_is_refused(issuer: ExternalIssuer) -> None:
    assert await reason(issuer, RSA_KEY.sign(claims(aud="billing-api"))) == "wrong_audience"


async def test_an_expired_token_is_refused(issuer: ExternalIssuer) -> None:
    past = datetime.now(UTC) - timedelta(hours=1)
    token = RSA_KEY.sign(claims(iat=past, exp=past + timedelta(minutes=5)))
    assert await reason(issuer, token) == "expired"


async def test_a_token_without_subject_is_refused(issuer: ExternalIssuer) -> None:
    token = RSA_KEY.sign({k: v for k, v in claims().items() if k != "sub"})
    assert await reason(issuer, token) == "missing_claim"


async def test_a_token_signed_by_a_key_not_in_the_jwks_is_refused(
    issuer: ExternalIssuer,
) -> None:
    impostor = SigningKeyPair("rsa-1")
    assert await reason(issuer, impostor.sign(claims())) == "bad_signature"


async def test_an_algorithm_not_accepted_is_refused(issuer: ExternalIssuer) -> None:
    assert await reason(issuer, RSA_KEY.sign(claims(), alg="RS512")) == "algorithm_not_allowed"


async def test_a_token_whose_alg_differs_from_its_keys_is_refused(
    provider: tuple[Provider, str],
) -> None:
    provider[0].jwks = {"keys": [{**RSA_KEY.jwk, "alg": "RS256"}]}
    verifier = ExternalIssuer(ISSUER, AUDIENCE, provider[1], algorithms=("RS256", "PS256"))
    try:
        token = RSA_KEY.sign(claims(), alg="PS256")
        assert await reason(verifier, token) == "algorithm_not_allowed"
    finally:
        await verifier.aclose()


async def test_a_weak_rsa_key_is_refused(provider: tuple[Provider, str]) -> None:
    weak = SigningKeyPair("weak", bits=1024)
    provider[0].jwks = {"keys": [weak.jwk]}
    verifier = ExternalIssuer(ISSUER, AUDIENCE, provider[1])
    try:
        with pytest.warns(InsecureKeyLengthWarning):
            token = weak.sign(claims())
        assert await reason(verifier, token) == "unknown_key"
    finally:
        await verifier.aclose()


async def test_an_ec_key_verifies_too(provider: tuple[Provider, str]) -> None:
    ec_key = SigningKeyPair("ec-1", algorithm="ES256")
    provider[0].jwks = {"keys": [RSA_KEY.jwk, ec_key.jwk]}
    verifier = ExternalIssuer(ISSUER, AUDIENCE, provider[1])
    try:
        assert (await verifier.verify(ec_key.sign(claims()))).subject == "kc-user-7"
    finally:
        await verifier.aclose()


async def test_a_token_without_kid_uses_the_only_key(issuer: ExternalIssuer) -> None:
    token = jwt.encode(claims(), RSA_KEY.private, algorithm="RS256")
    assert (await issuer.verify(token)).subject == "kc-user-7"


def test_symmetric_algorithms_cannot_be_accepted() -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        ExternalIssuer(ISSUER, AUDIENCE, "http://127.0.0.1:1/jwks", algorithms=("HS256",))


# The key set: caching, provider rotation, outages


async def test_the_key_set_is_fetched_once_and_cached(
    issuer: ExternalIssuer, provider: tuple[Provider, str]
) -> None:
    for _ in range(3):
        await issuer.verify(RSA_KEY.sign(claims()))
    assert provider[0].hits == 1


async def test_a_new_key_at_the_provider_is_fetched_when_a_token_names_it(
    provider: tuple[Provider, str],
) -> None:
    state, url = provider
    verifier = ExternalIssuer(ISSUER, AUDIENCE, url, min_refetch_interval=timedelta(0))
    try:
        await verifier.verify(RSA_KEY.sign(claims()))
        rotated = SigningKeyPair("rsa-2")
        state.jwks = {"keys": [RSA_KEY.jwk, rotated.jwk]}
        assert (await verifier.verify(rotated.sign(claims()))).subject == "kc-user-7"
        assert state.hits == 2
    finally:
        await verifier.aclose()


async def test_unknown_kids_refetch_the_key_set_at_most_once_per_interval(
    issuer: ExternalIssuer, provider: tuple[Provider, str]
) -> None:
    await issuer.verify(RSA_KEY.sign(claims()))
    stranger = SigningKeyPair("nobody")
    for _ in range(5):
        assert await reason(issuer, stranger.sign(claims())) == "unknown_key"
    assert provider[0].hits == 1


async def test_an_unreachable_provider_without_cached_keys_is_unavailable(
    provider: tuple[Provider, str],
) -> None:
    state, url = provider
    state.status = 503
    verifier = ExternalIssuer(ISSUER, AUDIENCE, url)
    try:
        with pytest.raises(IssuerUnavailable):
            await verifier.verify(RSA_KEY.sign(claims()))
    finally:
        await verifier.aclose()


async def test_cached_keys_keep_working_while_the_provider_is_down(
    provider: tuple[Provider, str],
) -> None:
    state, url = provider
    verifier = ExternalIssuer(
        ISSUER, AUDIENCE, url, cache_ttl=timedelta(0), min_refetch_interval=timedelta(0)
    )
    try:
        await verifier.verify(RSA_KEY.sign(claims()))
        state.status = 500
        assert (await verifier.verify(RSA_KEY.sign(claims()))).subject == "kc-user-7"
        assert state.hits == 2
    finally:
        await verifier.aclose()


async def test_an_injected_http_client_is_used_and_left_open(
    provider: tuple[Provider, str],
) -> None:
    async with httpx.AsyncClient() as http:
        verifier = ExternalIssuer(ISSUER, AUDIENCE, provider[1], http=http)
        await verifier.verify(RSA_KEY.sign(claims()))
        await verifier.aclose()
        assert not http.is_closed


# Routing


def test_matches_compares_the_unverified_issuer(issuer: ExternalIssuer) -> None:
    assert issuer.matches(RSA_KEY.sign(claims()))
    assert issuer.matches(SigningKeyPair("x", algorithm="ES256").sign(claims()))
    assert not issuer.matches(RSA_KEY.sign(claims(iss="https://other.example.com")))
    assert not issuer.matches("not a token")
