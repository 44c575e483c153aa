"""The key ring: signing, every kind of forged or stale token refused, rotation across processes."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from bastion.adapters.identity import (
    KeyRing,
    MemorySigningKeys,
    decrypt_private_key,
    jwk_thumbprint,
)
from bastion.adapters.identity.key_material import load_private_key
from bastion.core.errors import NotAuthenticated
from bastion.core.ports import SigningKey, TokenRejected, TokenSigner

SECRET = "a long random secret from the deployment settings"
TTL = timedelta(minutes=15)
START = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class CountingKeys(MemorySigningKeys):
    """Counts the loads, to see when a ring goes back to the repository."""

    def __init__(self) -> None:
        super().__init__()
        self.loads = 0

    async def load(self) -> list[SigningKey]:
        self.loads += 1
        return await super().load()


def ring(repository: MemorySigningKeys, clock: Clock, **overrides: Any) -> KeyRing:
    options: dict[str, Any] = {
        "secret": SECRET,
        "issuer": "https://shop.example.com",
        "audience": "shop-api",
        "access_ttl": TTL,
        "clock": clock,
    }
    return KeyRing(repository, **(options | overrides))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def keys() -> CountingKeys:
    return CountingKeys()


@pytest.fixture
async def signer(keys: CountingKeys, clock: Clock) -> KeyRing:
    key_ring = ring(keys, clock)
    await key_ring.ensure_key()
    return key_ring


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forge(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = b64(json.dumps(header).encode())
    body = b64(json.dumps(claims).encode())
    return f"{head}.{body}.{b64(signature)}"


def parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    head, body, _ = token.split(".")
    return (
        json.loads(base64.urlsafe_b64decode(head + "==")),
        json.loads(base64.urlsafe_b64decode(body + "==")),
    )


async def rejection(key_ring: KeyRing, token: str) -> str:
    with pytest.raises(TokenRejected) as caught:
        await key_ring.verify(token)
    return caught.value.reason


# Keys


def test_the_ring_is_a_token_signer(signer: KeyRing) -> None:
    token_signer: TokenSigner = signer
    assert token_signer is signer


def test_a_rejection_is_a_401_that_tells_clients_little() -> None:
    rejected = TokenRejected("bad_signature", "Signature verification failed")
    assert isinstance(rejected, NotAuthenticated)
    assert rejected.reason == "bad_signature"
    assert rejected.detail == "the access token is invalid"
    assert rejected.diagnostic == "Signature verification failed"
    assert TokenRejected("expired").detail == "the access token has expired"


async def test_ensure_key_creates_one_key_and_only_once(
    signer: KeyRing, keys: CountingKeys
) -> None:
    await signer.ensure_key()
    (key,) = await keys.load()
    assert key.algorithm == "EdDSA"
    assert key.retired_at is None
    assert key.kid == jwk_thumbprint(key.public_jwk)


async def test_the_stored_private_key_is_encrypted_with_the_secret(
    signer: KeyRing, keys: CountingKeys
) -> None:
    (key,) = await keys.load()
    assert b"PRIVATE KEY" not in key.private_pem
    assert decrypt_private_key(key.private_pem, SECRET).startswith(b"-----BEGIN PRIVATE KEY")


async def test_a_changed_secret_retires_the_undecryptable_key_and_signs_with_a_new_one(
    keys: CountingKeys, clock: Clock
) -> None:
    before = ring(keys, clock)
    old_token = await before.sign({"sub": "u1"})
    after = ring(keys, clock, secret="another secret")

    new_token = await after.sign({"sub": "u2"})

    assert (
        jwt.get_unverified_header(new_token)["kid"] != jwt.get_unverified_header(old_token)["kid"]
    )
    assert (await after.verify(old_token))["sub"] == "u1"
    assert (await after.verify(new_token))["sub"] == "u2"


async def test_the_first_signature_creates_the_first_key(keys: CountingKeys, clock: Clock) -> None:
    signer = ring(keys, clock)
    token = await signer.sign({"sub": "u1"})
    assert len(await keys.load()) == 1
    assert (await signer.verify(token))["sub"] == "u1"


# Signing and verifying


async def test_a_signed_token_verifies_with_the_claims_the_ring_adds(signer: KeyRing) -> None:
    token = await signer.sign({"sub": "user-1", "roles": ["admin"], "tenant": "acme"})
    claims = await signer.verify(token)
    now = int(START.timestamp())
    assert claims["sub"] == "user-1"
    assert claims["roles"] == ["admin"]
    assert claims["tenant"] == "acme"
    assert claims["iss"] == "https://shop.example.com"
    assert claims["aud"] == "shop-api"
    assert (claims["iat"], claims["exp"]) == (now, now + 900)
    assert len(base64.urlsafe_b64decode(claims["jti"] + "==")) == 16
    header, _ = parts(token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == (await signer.jwks())["keys"][0]["kid"]


async def test_every_token_gets_its_own_jti_unless_given(signer: KeyRing) -> None:
    first = await signer.verify(await signer.sign({"sub": "u"}))
    second = await signer.verify(await signer.sign({"sub": "u"}))
    assert first["jti"] != second["jti"]
    assert (await signer.verify(await signer.sign({"sub": "u", "jti": "mine"})))["jti"] == "mine"


@pytest.mark.parametrize("claim", ["iss", "aud", "iat", "exp", "nbf"])
async def test_the_caller_cannot_set_the_claims_the_ring_owns(signer: KeyRing, claim: str) -> None:
    with pytest.raises(ValueError, match=claim):
        await signer.sign({"sub": "u", claim: 1})


@pytest.mark.parametrize("claims", [{}, {"sub": ""}, {"sub": 42}])
async def test_a_token_needs_a_subject(signer: KeyRing, claims: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="sub"):
        await signer.sign(claims)


# Forged and stale tokens


async def test_an_unsigned_alg_none_token_is_refused(signer: KeyRing) -> None:
    header, claims = parts(await signer.sign({"sub": "u"}))
    token = forge({**header, "alg": "none"}, {**claims, "sub": "admin"})
    assert await rejection(signer, token) == "algorithm_not_allowed"


@pytest.mark.parametrize("form", ["pem", "raw", "jwk"])
async def test_hs256_signed_with_the_public_key_as_secret_is_refused(
    signer: KeyRing, keys: CountingKeys, form: str
) -> None:
    (key,) = await keys.load()
    public = load_private_key(decrypt_private_key(key.private_pem, SECRET)).public_key()
    hmac_secret = {
        "pem": public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ),
        "raw": public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
        "jwk": json.dumps((await signer.jwks())["keys"][0]).encode(),
    }[form]
    header, claims = parts(await signer.sign({"sub": "u"}))
    unsigned = forge({**header, "alg": "HS256"}, {**claims, "roles": ["admin"]})
    signing_input = unsigned.rsplit(".", 1)[0].encode()
    signature = hmac.new(hmac_secret, signing_input, hashlib.sha256).digest()
    assert await rejection(signer, f"{signing_input.decode()}.{b64(signature)}") == (
        "algorithm_not_allowed"
    )


async def test_a_tampered_payload_is_refused(signer: KeyRing) -> None:
    token = await signer.sign({"sub": "user-1", "roles": ["reader"]})
    head, _, signature = token.split(".")
    _, claims = parts(token)
    body = b64(json.dumps({**claims, "roles": ["admin"]}).encode())
    assert await rejection(signer, f"{head}.{body}.{signature}") == "bad_signature"


async def test_a_tampered_signature_is_refused(signer: KeyRing) -> None:
    token = await signer.sign({"sub": "user-1"})
    flipped = "A" if token[-3] != "A" else "B"
    assert await rejection(signer, token[:-3] + flipped + token[-2:]) == "bad_signature"


async def test_a_verified_token_is_remembered_without_trusting_its_variants(
    signer: KeyRing,
) -> None:
    token = await signer.sign({"sub": "user-1", "roles": ["member"]})
    first = await signer.verify(token)
    first["roles"].append("admin")  # a caller changing its copy changes nothing
    first["sub"] = "someone else"

    again = await signer.verify(token)
    flipped = "A" if token[-3] != "A" else "B"

    assert (again["sub"], again["roles"]) == ("user-1", ["member"])
    assert await rejection(signer, token[:-3] + flipped + token[-2:]) == "bad_signature"


async def test_an_expired_token_is_refused(signer: KeyRing, clock: Clock) -> None:
    token = await signer.sign({"sub": "u"})
    clock.advance(seconds=TTL.total_seconds() - 1)
    assert (await signer.verify(token))["sub"] == "u"
    clock.advance(seconds=1)
    assert await rejection(signer, token) == "expired"


async def test_a_token_for_another_audience_is_refused(keys: CountingKeys, clock: Clock) -> None:
    other = ring(keys, clock, audience="billing-api")
    await other.ensure_key()
    token = await other.sign({"sub": "u"})
    assert await rejection(ring(keys, clock), token) == "wrong_audience"


async def test_a_token_from_another_issuer_is_refused(keys: CountingKeys, clock: Clock) -> None:
    other = ring(keys, clock, issuer="https://evil.example.com")
    await other.ensure_key()
    token = await other.sign({"sub": "u"})
    assert await rejection(ring(keys, clock), token) == "wrong_issuer"


async def test_a_token_signed_by_an_unknown_key_is_refused(signer: KeyRing, clock: Clock) -> None:
    stranger = ring(MemorySigningKeys(), clock)
    await stranger.ensure_key()
    assert await rejection(signer, await stranger.sign({"sub": "u"})) == "unknown_key"


async def test_a_token_without_kid_is_refused(signer: KeyRing, keys: CountingKeys) -> None:
    (key,) = await keys.load()
    private = load_private_key(decrypt_private_key(key.private_pem, SECRET))
    _, claims = parts(await signer.sign({"sub": "u"}))
    token = jwt.encode(claims, private, algorithm="EdDSA")
    assert await rejection(signer, token) == "unknown_key"


@pytest.mark.parametrize("missing", ["exp", "iat", "sub", "jti"])
async def test_a_validly_signed_token_missing_a_required_claim_is_refused(
    signer: KeyRing, keys: CountingKeys, missing: str
) -> None:
    (key,) = await keys.load()
    private = load_private_key(decrypt_private_key(key.private_pem, SECRET))
    header, claims = parts(await signer.sign({"sub": "u"}))
    del claims[missing]
    token = jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": header["kid"]})
    assert await rejection(signer, token) == "missing_claim"


@pytest.mark.parametrize(("claim", "value"), [("exp", "soon"), ("iat", True), ("nbf", "now")])
async def test_a_time_claim_that_is_not_a_number_is_refused(
    signer: KeyRing, keys: CountingKeys, claim: str, value: Any
) -> None:
    (key,) = await keys.load()
    private = load_private_key(decrypt_private_key(key.private_pem, SECRET))
    header, claims = parts(await signer.sign({"sub": "u"}))
    token = jwt.encode(
        {**claims, claim: value}, private, algorithm="EdDSA", headers={"kid": header["kid"]}
    )
    assert await rejection(signer, token) == "malformed"


async def test_a_token_issued_in_the_future_is_refused(signer: KeyRing, clock: Clock) -> None:
    clock.advance(minutes=5)
    token = await signer.sign({"sub": "u"})
    clock.advance(minutes=-5)
    assert await rejection(signer, token) == "not_yet_valid"


async def test_a_token_not_valid_before_a_future_time_is_refused(
    signer: KeyRing, keys: CountingKeys, clock: Clock
) -> None:
    (key,) = await keys.load()
    private = load_private_key(decrypt_private_key(key.private_pem, SECRET))
    header, claims = parts(await signer.sign({"sub": "u"}))
    nbf = int(clock.now.timestamp()) + 600
    token = jwt.encode({**claims, "nbf": nbf}, private, algorithm="EdDSA", headers=header)
    assert await rejection(signer, token) == "not_yet_valid"
    clock.advance(minutes=10)
    assert (await signer.verify(token))["nbf"] == nbf


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "e30", "ü.ü.ü"])
async def test_a_malformed_token_is_refused(signer: KeyRing, token: str) -> None:
    assert await rejection(signer, token) == "malformed"


async def test_a_token_without_alg_is_refused(signer: KeyRing) -> None:
    assert await rejection(signer, "e30.e30.") == "algorithm_not_allowed"


# Rotation


async def test_after_rotation_the_new_key_signs_and_the_old_still_verifies(
    signer: KeyRing, keys: CountingKeys, clock: Clock
) -> None:
    old_token = await signer.sign({"sub": "u"})
    clock.advance(minutes=1)
    new_kid = await signer.rotate()
    new_token = await signer.sign({"sub": "u"})
    assert parts(new_token)[0]["kid"] == new_kid != parts(old_token)[0]["kid"]
    assert (await signer.verify(old_token))["sub"] == "u"
    assert (await signer.verify(new_token))["sub"] == "u"
    stored = {key.kid: key for key in await keys.load()}
    assert stored[new_kid].retired_at is None
    assert stored[parts(old_token)[0]["kid"]].retired_at == clock.now
    assert [key["kid"] for key in (await signer.jwks())["keys"]] == [
        new_kid,
        parts(old_token)[0]["kid"],
    ]


async def test_a_retired_key_leaves_once_its_tokens_have_expired(
    signer: KeyRing, keys: CountingKeys, clock: Clock
) -> None:
    old_kid = parts(await signer.sign({"sub": "u"}))[0]["kid"]
    await signer.rotate()
    clock.advance(seconds=(TTL + timedelta(seconds=59)).total_seconds())
    assert old_kid in {key["kid"] for key in (await signer.jwks())["keys"]}
    clock.advance(seconds=1)
    assert old_kid not in {key["kid"] for key in (await signer.jwks())["keys"]}
    latest = await signer.rotate()
    assert old_kid not in {key.kid for key in await keys.load()}
    assert latest in {key.kid for key in await keys.load()}


async def test_a_token_of_a_removed_key_is_refused_as_unknown(
    signer: KeyRing, clock: Clock
) -> None:
    old_token = await signer.sign({"sub": "u"})
    await signer.rotate()
    clock.advance(hours=1)
    await signer.rotate()
    assert await rejection(signer, old_token) == "unknown_key"


async def test_another_process_picks_up_a_rotation_when_it_meets_the_new_kid(
    signer: KeyRing, keys: CountingKeys, clock: Clock
) -> None:
    other = ring(keys, clock)
    await other.ensure_key()
    clock.advance(seconds=1)
    await signer.rotate()
    token = await signer.sign({"sub": "u"})
    assert (await other.verify(token))["sub"] == "u"


async def test_unknown_kids_reload_the_repository_at_most_once_a_second(
    signer: KeyRing, keys: CountingKeys, clock: Clock
) -> None:
    stranger = ring(MemorySigningKeys(), clock)
    await stranger.ensure_key()
    forged = await stranger.sign({"sub": "u"})
    clock.advance(seconds=1)
    before = keys.loads
    for _ in range(20):
        assert await rejection(signer, forged) == "unknown_key"
    assert keys.loads == before + 1
    clock.advance(seconds=1)
    await rejection(signer, forged)
    assert keys.loads == before + 2


async def test_another_process_signs_with_the_new_key_after_the_reload_interval(
    signer: KeyRing, keys: CountingKeys, clock: Clock
) -> None:
    other = ring(keys, clock, reload_interval=timedelta(seconds=30))
    await other.ensure_key()
    new_kid = await signer.rotate()
    assert parts(await other.sign({"sub": "u"}))[0]["kid"] != new_kid
    clock.advance(seconds=30)
    assert parts(await other.sign({"sub": "u"}))[0]["kid"] == new_kid


class YieldingKeys(MemorySigningKeys):
    """Lets other tasks run during a load, as a database round trip would."""

    async def load(self) -> list[SigningKey]:
        snapshot = await super().load()
        await asyncio.sleep(0)
        return snapshot


async def test_first_keys_made_by_two_processes_at_once_both_verify_and_converge(
    clock: Clock,
) -> None:
    keys = YieldingKeys()
    first, second = ring(keys, clock), ring(keys, clock)
    await asyncio.gather(first.ensure_key(), second.ensure_key())
    assert len(await keys.load()) == 2
    clock.advance(seconds=1)
    assert (await second.verify(await first.sign({"sub": "u"})))["sub"] == "u"
    assert (await first.verify(await second.sign({"sub": "u"})))["sub"] == "u"
    clock.advance(seconds=30)
    token = await first.sign({"sub": "u"})
    assert parts(token)[0]["kid"] == parts(await second.sign({"sub": "u"}))[0]["kid"]


# JWKS


async def test_the_jwks_lets_any_jwt_library_verify_the_tokens(signer: KeyRing) -> None:
    token = await signer.sign({"sub": "user-1"})
    (published,) = (await signer.jwks())["keys"]
    assert published["use"] == "sig"
    assert published["alg"] == "EdDSA"
    assert published["kty"] == "OKP"
    assert "d" not in published
    claims = jwt.decode(
        token,
        jwt.PyJWK(published),
        audience="shop-api",
        issuer="https://shop.example.com",
        options={"verify_exp": False, "verify_iat": False},
    )
    assert claims["sub"] == "user-1"
