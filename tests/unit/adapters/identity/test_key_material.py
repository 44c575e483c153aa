"""Key material: RFC 7638 thumbprints, Ed25519 JWKs, private keys encrypted at rest."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bastion.adapters.identity import decrypt_private_key, encrypt_private_key, jwk_thumbprint
from bastion.adapters.identity.key_material import (
    ed25519_public_key,
    load_private_key,
    new_ed25519_key,
)

# RFC 8037, appendix A.2 and A.3.
RFC8037_JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_the_thumbprint_matches_the_rfc_8037_example() -> None:
    assert jwk_thumbprint(RFC8037_JWK) == RFC8037_THUMBPRINT


def test_the_thumbprint_ignores_optional_members() -> None:
    assert jwk_thumbprint({**RFC8037_JWK, "kid": "x", "use": "sig"}) == RFC8037_THUMBPRINT


@pytest.mark.parametrize("jwk", [{"kty": "OKP", "crv": "Ed25519"}, {"kty": "XYZ"}, {}])
def test_a_thumbprint_needs_the_required_members(jwk: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="members"):
        jwk_thumbprint(jwk)


def test_a_new_key_pair_is_ed25519_and_its_halves_match() -> None:
    pem, jwk = new_ed25519_key()
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    private = load_private_key(pem)
    signature = private.sign(b"message")
    ed25519_public_key(jwk).verify(signature, b"message")


@pytest.mark.parametrize(
    "jwk",
    [
        {"kty": "OKP", "crv": "Ed448", "x": "AAAA"},
        {"kty": "OKP", "crv": "Ed25519", "x": "too-short"},
        {"kty": "RSA", "n": "AQAB", "e": "AQAB"},
    ],
)
def test_a_jwk_that_is_not_ed25519_is_refused(jwk: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="Ed25519"):
        ed25519_public_key(jwk)


def test_an_encrypted_key_decrypts_with_its_secret_only() -> None:
    pem, _ = new_ed25519_key()
    encrypted = encrypt_private_key(pem, "s3cret-of-the-deployment")
    assert b"PRIVATE KEY" not in encrypted
    assert decrypt_private_key(encrypted, "s3cret-of-the-deployment") == pem
    with pytest.raises(ValueError, match="secret"):
        decrypt_private_key(encrypted, "another secret")


def test_an_altered_encrypted_key_is_refused() -> None:
    encrypted = bytearray(encrypt_private_key(b"pem", "secret"))
    encrypted[-5] ^= 1
    with pytest.raises(ValueError, match="decrypted"):
        decrypt_private_key(bytes(encrypted), "secret")


def test_an_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="empty"):
        encrypt_private_key(b"pem", "")


def test_a_pem_of_another_key_type_is_refused() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="Ed25519"):
        load_private_key(pem)
    assert isinstance(load_private_key(new_ed25519_key()[0]), Ed25519PrivateKey)
