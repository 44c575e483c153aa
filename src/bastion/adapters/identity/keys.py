"""The key ring: signs Bastion's access tokens (EdDSA JWTs) and verifies them.

The keys live in a :class:`~bastion.core.ports.SigningKeyRepository` shared by
every process. One key signs; after a rotation the previous one only verifies,
until every token it signed has expired, and is then removed. Each ring
reloads the repository every ``reload_interval``, and at once (at most once a
second) when a token names a key it does not know, so a rotation made by one
process reaches the others without a restart.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import logging
import math
import secrets
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bastion.adapters.identity.key_material import (
    decrypt_private_key,
    ed25519_public_key,
    encrypt_private_key,
    jwk_thumbprint,
    load_private_key,
    new_ed25519_key,
)
from bastion.adapters.identity.rejections import rejection
from bastion.core.ports import SigningKey, SigningKeyRepository, TokenRejected

__all__ = ["ALGORITHM", "KeyRing", "now_utc"]

log = logging.getLogger(__name__)

ALGORITHM = "EdDSA"
"""The only ``alg`` the ring signs with and accepts."""

_RETIRED_LEEWAY = timedelta(seconds=60)
_FORCED_RELOAD_INTERVAL = timedelta(seconds=1)
# Processes' clocks drift apart a little: a token issued by another process may
# look a few seconds young.
_CLOCK_SKEW = timedelta(seconds=30)
_REQUIRED_CLAIMS = ["exp", "iat", "iss", "aud", "sub", "jti"]
_RING_CLAIMS = frozenset({"iss", "aud", "iat", "exp", "nbf"})


def now_utc() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class _Entry:
    key: SigningKey
    public: Ed25519PublicKey


class KeyRing:
    """Signs and verifies access tokens with Ed25519 keys kept in ``repository``.

    Args:
        repository: Where the keys are stored, shared by every process.
        secret: Encrypts the private keys in the repository (a long random value).
        issuer: The ``iss`` of the tokens signed and required of those verified.
        audience: The ``aud`` of the tokens signed and required of those verified.
        access_ttl: How long a token is valid.
        clock: The current time (for tests).
        reload_interval: How often the ring looks for keys added or retired elsewhere.

    Call :meth:`ensure_key` once at startup, before signing.
    """

    def __init__(
        self,
        repository: SigningKeyRepository,
        *,
        secret: str,
        issuer: str,
        audience: str,
        access_ttl: timedelta,
        clock: Callable[[], datetime] = now_utc,
        reload_interval: timedelta = timedelta(seconds=30),
    ) -> None:
        if not secret:
            raise ValueError("the signing key secret must not be empty")
        if access_ttl <= timedelta(0):
            raise ValueError("access_ttl must be positive")
        self._repository = repository
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._access_ttl = access_ttl
        self._clock = clock
        self._reload_interval = reload_interval
        self._entries: dict[str, _Entry] = {}
        self._signers: dict[str, Ed25519PrivateKey] = {}
        self._verified: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._loaded_at: datetime | None = None
        self._lock = asyncio.Lock()

    @property
    def verify_window(self) -> timedelta:
        """How long a retired key keeps verifying: the tokens' lifetime and a minute."""
        return self._access_ttl + _RETIRED_LEEWAY

    async def ensure_key(self) -> None:
        """Load the keys, and create a signing key if none is active.

        An active key this ring cannot decrypt (``BASTION_SECRET_KEY`` changed)
        is retired and replaced: it still verifies the tokens it signed.
        """
        async with self._lock:
            await self._reload()
            active = self._active()
            if active is None or not self._can_sign(active.key):
                if active is not None:
                    log.warning(
                        "signing key %s cannot be decrypted with the current secret key "
                        "(was BASTION_SECRET_KEY changed?); a new key signs from now on",
                        active.key.kid,
                    )
                new = self._new_key()
                await self._repository.add(new)
                for entry in list(self._entries.values()):
                    if entry.key.retired_at is None:
                        await self._repository.retire(entry.key.kid, self._clock())
            await self._prune()
            await self._reload()

    def _can_sign(self, key: SigningKey) -> bool:
        try:
            self._signer(key)
        except ValueError:
            return False
        return True

    async def rotate(self) -> str:
        """Sign with a new key from now on, and return its ``kid``.

        The keys that signed until now are retired: they verify until their
        tokens have expired. Keys retired longer ago than that are removed.
        """
        async with self._lock:
            await self._reload()
            new = self._new_key()
            # The new key is stored before the old one retires, so that a process
            # reloading in between still finds a key to sign with.
            await self._repository.add(new)
            now = self._clock()
            for entry in list(self._entries.values()):
                if entry.key.retired_at is None:
                    await self._repository.retire(entry.key.kid, now)
            await self._prune()
            await self._reload()
            return new.kid

    async def sign(self, claims: dict[str, Any]) -> str:
        """A signed access token carrying ``claims``.

        The ring adds ``iss``, ``aud``, ``iat``, ``exp`` and, unless given, ``jti``;
        the caller gives ``sub`` and whatever else the token carries (roles,
        scopes, tenant...).

        Raises:
            ValueError: ``sub`` is missing, or ``claims`` sets a claim the ring owns.
        The first signature creates the first key when the repository has none.
        """
        if not isinstance(claims.get("sub"), str) or not claims["sub"]:
            raise ValueError("an access token needs a 'sub' claim (a non-empty string)")
        owned = _RING_CLAIMS & claims.keys()
        if owned:
            raise ValueError(f"the key ring sets these claims itself: {sorted(owned)}")
        await self._reload_if_due()
        entry = self._active()
        if entry is None or not self._can_sign(entry.key):
            await self.ensure_key()
            entry = self._active()
            assert entry is not None, "ensure_key leaves an active key"
        now = int(self._clock().timestamp())
        payload = {
            **claims,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": now,
            "exp": now + int(self._access_ttl.total_seconds()),
        }
        payload.setdefault("jti", _new_jti())
        return jwt.encode(
            payload, self._signer(entry.key), algorithm=ALGORITHM, headers={"kid": entry.key.kid}
        )

    async def verify(self, token: str) -> dict[str, Any]:
        """The claims of ``token`` once its signature, issuer, audience and times are checked.

        Raises:
            TokenRejected: The token cannot be trusted; ``reason`` says why.
        """
        # Checking a signature costs ~300 us (PyJWT's parsing and Ed25519), about a
        # third of a whole request; a client sends the same token for its lifetime.
        # The token's text fixes its claims and signature, so a verified one is
        # remembered; only its times are checked again. Keys are removed only after
        # every token they signed has expired, so a remembered token never outlives
        # its key's trust.
        remembered = self._verified.get(token)
        if remembered is not None:
            self._verified.move_to_end(token)
            self._check_times(remembered)
            return copy.deepcopy(remembered)
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise rejection(exc) from None
        if header.get("alg") != ALGORITHM:
            raise TokenRejected("algorithm_not_allowed", f"alg {header.get('alg')!r}")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise TokenRejected("unknown_key", "the token names no key")
        public = await self._verifying_key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                public,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                options={
                    "require": _REQUIRED_CLAIMS,
                    # Times are checked below against the ring's clock.
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise rejection(exc) from None
        self._check_times(claims)
        self._verified[token] = copy.deepcopy(claims)
        if len(self._verified) > _REMEMBERED_TOKENS:
            self._verified.popitem(last=False)
        return claims

    async def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of the public keys that still verify, newest first."""
        await self._reload_if_due()
        if self._active() is None:
            await self.ensure_key()
        now = self._clock()
        entries = sorted(
            (e for e in self._entries.values() if self._verifies(e.key, now)),
            key=lambda e: e.key.created_at,
            reverse=True,
        )
        return {
            "keys": [
                {**e.key.public_jwk, "kid": e.key.kid, "alg": ALGORITHM, "use": "sig"}
                for e in entries
            ]
        }

    async def _verifying_key(self, kid: str) -> Ed25519PublicKey:
        await self._reload_if_due()
        entry = self._entries.get(kid)
        if entry is None:
            await self._reload_if_due(_FORCED_RELOAD_INTERVAL)
            entry = self._entries.get(kid)
        if entry is None or not self._verifies(entry.key, self._clock()):
            raise TokenRejected("unknown_key", f"no key {kid!r}")
        return entry.public

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock().timestamp()
        times = {name: claims.get(name) for name in ("exp", "iat", "nbf")}
        for name, value in times.items():
            if value is not None and not _is_number(value):
                raise TokenRejected("malformed", f"{name} is not a number")
        if now >= claims["exp"]:
            raise TokenRejected("expired")
        latest_start = now + _CLOCK_SKEW.total_seconds()
        if claims["iat"] > latest_start or (times["nbf"] or now) > latest_start:
            raise TokenRejected("not_yet_valid")

    def _verifies(self, key: SigningKey, now: datetime) -> bool:
        return key.retired_at is None or now < key.retired_at + self.verify_window

    def _active(self) -> _Entry | None:
        active = [e for e in self._entries.values() if e.key.retired_at is None]
        # Two processes may each create a first key at once: the newest wins.
        return max(active, key=lambda e: (e.key.created_at, e.key.kid), default=None)

    def _signer(self, key: SigningKey) -> Ed25519PrivateKey:
        signer = self._signers.get(key.kid)
        if signer is None:
            signer = load_private_key(decrypt_private_key(key.private_pem, self._secret))
            self._signers[key.kid] = signer
        return signer

    def _new_key(self) -> SigningKey:
        pem, public_jwk = new_ed25519_key()
        return SigningKey(
            kid=jwk_thumbprint(public_jwk),
            algorithm=ALGORITHM,
            private_pem=encrypt_private_key(pem, self._secret),
            public_jwk=public_jwk,
            created_at=self._clock(),
        )

    async def _prune(self) -> None:
        now = self._clock()
        for entry in list(self._entries.values()):
            if not self._verifies(entry.key, now):
                await self._repository.remove(entry.key.kid)

    async def _reload_if_due(self, interval: timedelta | None = None) -> None:
        due = self._reload_interval if interval is None else interval
        if self._is_fresh(due):
            return
        async with self._lock:
            # Another task may have reloaded while this one waited for the lock.
            if not self._is_fresh(due):
                await self._reload()

    def _is_fresh(self, interval: timedelta) -> bool:
        if self._loaded_at is None:
            return False
        age = self._clock() - self._loaded_at
        return timedelta(0) <= age < interval

    async def _reload(self) -> None:
        entries: dict[str, _Entry] = {}
        for key in await self._repository.load():
            if key.algorithm != ALGORITHM:
                continue
            try:
                entries[key.kid] = _Entry(key, ed25519_public_key(key.public_jwk))
            except ValueError:
                log.warning("signing key %s has an unusable public key; it is ignored", key.kid)
        self._entries = entries
        self._signers = {kid: s for kid, s in self._signers.items() if kid in entries}
        self._loaded_at = self._clock()


_REMEMBERED_TOKENS = 10_000
"""Verified tokens kept per process (a few MiB at most)."""


def _is_number(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return math.isfinite(value)


def _new_jti() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(16)).rstrip(b"=").decode("ascii")
