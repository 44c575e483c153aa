"""The credentials ports: hashing passwords, storing the keys that sign access
tokens, and the error every token verifier raises.

Adapters in ``bastion.adapters.identity`` implement them; core and the API layer
only see these interfaces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from bastion.core.errors import NotAuthenticated

__all__ = ["PasswordHasher", "SigningKey", "SigningKeyRepository", "TokenRejected"]


class PasswordHasher(Protocol):
    """Hashes passwords and checks them, without blocking the event loop."""

    async def hash(self, password: str) -> str:
        """The self-describing hash to store for ``password`` (salt and parameters included)."""
        ...

    async def verify(self, stored_hash: str, password: str) -> bool:
        """Whether ``password`` matches ``stored_hash``.

        Returns ``False`` (never raises) on a mismatch or a malformed hash.
        """
        ...

    async def verify_dummy(self, password: str) -> None:
        """Spend as long as :meth:`verify` would, against no account.

        Call it when the account is unknown, so that the answer's timing does
        not reveal whether an email address is registered.
        """
        ...

    def needs_rehash(self, stored_hash: str) -> bool:
        """Whether ``stored_hash`` was made with other parameters and should be replaced.

        Check it after a successful :meth:`verify`, and store a fresh hash if so.
        """
        ...


@dataclass(frozen=True, slots=True)
class SigningKey:
    """One key pair that signs (or, once retired, only verifies) access tokens."""

    kid: str
    """The key id sent in the token header: the RFC 7638 thumbprint of ``public_jwk``."""
    algorithm: str
    """The JWT ``alg`` the key signs with (``"EdDSA"``)."""
    private_pem: bytes
    """The private key as a PKCS#8 PEM, *encrypted*: the key ring encrypts it with
    its secret before storing and decrypts it after loading, so a repository never
    holds a usable private key."""
    public_jwk: dict[str, Any]
    """The public key as a JWK, without ``kid``, ``alg`` or ``use``."""
    created_at: datetime
    retired_at: datetime | None = None
    """When the key stopped signing (``None`` while it signs). A retired key still
    verifies the tokens it signed until they have all expired."""


class SigningKeyRepository(Protocol):
    """Where signing keys are kept, shared by every process of a deployment."""

    async def load(self) -> list[SigningKey]:
        """Every stored key, retired ones included."""
        ...

    async def add(self, key: SigningKey) -> None:
        """Store a new key."""
        ...

    async def retire(self, kid: str, at: datetime) -> None:
        """Mark the key ``kid`` as retired at ``at``; a key that is gone is ignored."""
        ...

    async def remove(self, kid: str) -> None:
        """Delete the key ``kid``; a key that is gone is ignored."""
        ...


class TokenRejected(NotAuthenticated):
    """A bearer token cannot be trusted; the REST layer answers 401.

    ``reason`` is a short machine-readable word, one of ``"malformed"``,
    ``"algorithm_not_allowed"``, ``"unknown_key"``, ``"bad_signature"``,
    ``"expired"``, ``"not_yet_valid"``, ``"wrong_issuer"``, ``"wrong_audience"``,
    ``"missing_claim"``. The ``detail`` shown to clients only says whether the
    token expired; ``diagnostic`` has the specifics, for logs.
    """

    def __init__(self, reason: str, diagnostic: str | None = None) -> None:
        super().__init__(
            "the access token has expired"
            if reason == "expired"
            else "the access token is invalid",
            reason=reason,
        )
        self.diagnostic = diagnostic or reason
