"""Opaque secrets: random tokens (sessions, refresh tokens, email links) and API keys.

Only a digest of each secret is stored. These secrets are high-entropy random
values, not passwords, so a fast hash is the right one: nobody can guess
their way to a 256-bit token, slow hashing would protect nothing and would
cost a slow hash on every request.
"""

from __future__ import annotations

import hashlib
import secrets
import zlib

__all__ = [
    "API_KEY_LENGTH",
    "API_KEY_LOOKUP_LENGTH",
    "API_KEY_PREFIX",
    "looks_like_api_key",
    "new_api_key",
    "new_opaque_token",
    "token_digest",
]

API_KEY_PREFIX = "bst_"
"""How every API key starts, so secret scanners can recognise one."""

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_RANDOM_LENGTH = 40
_CHECKSUM_LENGTH = 6  # 62**6 > 2**32: any CRC32 fits

API_KEY_LENGTH = len(API_KEY_PREFIX) + _RANDOM_LENGTH + _CHECKSUM_LENGTH
"""The length of every API key (50)."""

API_KEY_LOOKUP_LENGTH = 12
"""How many leading characters of a key (prefix included) identify it for lookup."""


def new_opaque_token(nbytes: int = 32) -> str:
    """A random token of ``nbytes`` bytes, base64url-encoded without padding."""
    return secrets.token_urlsafe(nbytes)


def token_digest(token: str) -> str:
    """The SHA-256 (hex) of ``token``: what to store and look up instead of the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _checksum(random_part: str) -> str:
    value = zlib.crc32(random_part.encode("ascii"))
    digits: list[str] = []
    for _ in range(_CHECKSUM_LENGTH):
        value, digit = divmod(value, 62)
        digits.append(_BASE62[digit])
    return "".join(reversed(digits))


def new_api_key() -> tuple[str, str]:
    """A new API key, and its lookup prefix (its first :data:`API_KEY_LOOKUP_LENGTH` characters).

    The key is ``bst_``, 40 random base62 characters (about 238 bits) and 6
    base62 characters of their CRC32, so a scanner can tell a real key from a
    look-alike string without asking Bastion. Show the key once; store its
    :func:`token_digest` and the prefix.
    """
    random_part = "".join(secrets.choice(_BASE62) for _ in range(_RANDOM_LENGTH))
    key = f"{API_KEY_PREFIX}{random_part}{_checksum(random_part)}"
    return key, key[:API_KEY_LOOKUP_LENGTH]


def looks_like_api_key(value: str) -> bool:
    """Whether ``value`` has an API key's prefix, length, alphabet and a matching checksum.

    It says nothing about whether the key exists: it only rejects typos and
    look-alikes before any lookup.
    """
    if len(value) != API_KEY_LENGTH or not value.startswith(API_KEY_PREFIX):
        return False
    body = value[len(API_KEY_PREFIX) :]
    if any(ch not in _BASE62 for ch in body):
        return False
    random_part, checksum = body[:_RANDOM_LENGTH], body[_RANDOM_LENGTH:]
    return secrets.compare_digest(_checksum(random_part), checksum)
