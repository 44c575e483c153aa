"""Identity adapters: password hashing, the key ring that signs access tokens,
and verification of tokens from external OpenID Connect providers."""

from bastion.adapters.identity.key_material import (
    decrypt_private_key,
    encrypt_private_key,
    jwk_thumbprint,
)
from bastion.adapters.identity.keys import KeyRing
from bastion.adapters.identity.keys_memory import MemorySigningKeys
from bastion.adapters.identity.oidc import ExternalIdentity, ExternalIssuer, IssuerUnavailable
from bastion.adapters.identity.passwords import Argon2Hasher

__all__ = [
    "Argon2Hasher",
    "ExternalIdentity",
    "ExternalIssuer",
    "IssuerUnavailable",
    "KeyRing",
    "MemorySigningKeys",
    "decrypt_private_key",
    "encrypt_private_key",
    "jwk_thumbprint",
]
