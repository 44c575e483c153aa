"""The token ports: signing Bastion's access tokens, verifying an external
provider's, and encrypting secrets kept at rest.

Adapters in ``bastion.adapters.identity`` implement them (the app layer wires
them); the identity services in core only see these interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "ExternalClaims",
    "ExternalVerifier",
    "SecretBox",
    "TokenSigner",
    "open_text",
    "seal_text",
]


class TokenSigner(Protocol):
    """Signs and verifies Bastion's own access tokens (JWTs) with rotating keys."""

    async def sign(self, claims: dict[str, Any]) -> str:
        """A signed token carrying ``claims``; the signer adds ``iss``, ``aud``,
        ``iat``, ``exp`` and ``jti``."""
        ...

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` once its signature, issuer, audience and times check.

        Raises:
            TokenRejected: The token cannot be trusted.
        """
        ...

    async def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of the public keys that still verify."""
        ...

    async def rotate(self) -> str:
        """Sign with a new key from now on; returns its ``kid``."""
        ...

    async def ensure_key(self) -> None:
        """Load the keys and create the first one if there is none (at start-up)."""
        ...


@dataclass(frozen=True, slots=True)
class ExternalClaims:
    """Who a verified token of an external OpenID Connect provider speaks for."""

    subject: str
    """The user's id at the provider (the caller's ``actor``)."""
    roles: frozenset[str]
    tenant: str | None
    scopes: frozenset[str] | None
    """What the token may do; ``None``: everything the roles allow."""


class ExternalVerifier(Protocol):
    """Verifies the access tokens of one external OpenID Connect provider."""

    def matches(self, token: str) -> bool:
        """Whether ``token`` claims to come from this provider (signature unchecked)."""
        ...

    async def verify(self, token: str) -> ExternalClaims:
        """The identity ``token`` carries.

        Raises:
            TokenRejected: The token cannot be trusted.
        """
        ...


class SecretBox(Protocol):
    """Encrypts and authenticates small secrets stored at rest (MFA secrets)."""

    def encrypt(self, plaintext: bytes) -> bytes:
        """``plaintext`` encrypted; the result is ASCII (it can be stored as text)."""
        ...

    def decrypt(self, ciphertext: bytes) -> bytes:
        """What :meth:`encrypt` encrypted.

        Raises:
            ValueError: The data was altered or encrypted under another key.
        """
        ...


def seal_text(box: SecretBox, text: str) -> str:
    """``text`` encrypted by ``box``, as the string stored (e.g. ``totp_secret``)."""
    return box.encrypt(text.encode("utf-8")).decode("ascii")


def open_text(box: SecretBox, sealed: str) -> str:
    """The text :func:`seal_text` sealed."""
    return box.decrypt(sealed.encode("ascii")).decode("utf-8")
