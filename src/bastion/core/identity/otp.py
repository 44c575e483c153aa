"""Second factors: time-based one-time passwords (TOTP, RFC 6238) and recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime

import pyotp

__all__ = [
    "RECOVERY_CODE_ALPHABET",
    "TOTP_PERIOD",
    "hash_recovery_code",
    "new_recovery_codes",
    "new_totp_secret",
    "normalize_recovery_code",
    "provisioning_uri",
    "totp_step",
    "verify_totp",
]

TOTP_PERIOD = 30
"""Seconds per time step, the value every authenticator app assumes."""

_DIGITS = 6
_DRIFT_STEPS = 1

RECOVERY_CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
"""Lowercase letters and digits without the look-alikes ``0 o 1 l i``."""

_RECOVERY_HALF = 5


def new_totp_secret() -> str:
    """A new random TOTP secret: 160 bits, as 32 base32 characters."""
    return pyotp.random_base32(length=32)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://`` URI an authenticator app reads (usually from a QR code)."""
    uri: str = pyotp.TOTP(secret, digits=_DIGITS, interval=TOTP_PERIOD).provisioning_uri(
        name=account, issuer_name=issuer
    )
    return uri


def totp_step(at: datetime) -> int:
    """The TOTP time step that ``at`` falls in.

    Raises:
        ValueError: ``at`` is naive (has no timezone).
    """
    if at.tzinfo is None:
        raise ValueError("a TOTP time must be timezone-aware")
    return int(at.timestamp()) // TOTP_PERIOD


def verify_totp(secret: str, code: str, *, at: datetime, last_used_step: int | None) -> int | None:
    """The time step whose code ``code`` is, or ``None`` if it is not a valid code.

    The steps just before and after ``at``'s are accepted too, for clocks that
    drift. A step at or before ``last_used_step`` is refused, so a code cannot
    be used twice; store the step returned as the next ``last_used_step``.
    """
    candidate = "".join(code.split())
    if len(candidate) != _DIGITS or not (candidate.isascii() and candidate.isdigit()):
        return None
    totp = pyotp.TOTP(secret, digits=_DIGITS, interval=TOTP_PERIOD)
    current = totp_step(at)
    matched: int | None = None
    for step in range(current - _DRIFT_STEPS, current + _DRIFT_STEPS + 1):
        if last_used_step is not None and step <= last_used_step:
            continue
        # Every candidate step is compared, in constant time, whatever matched before.
        if hmac.compare_digest(totp.generate_otp(step), candidate) and matched is None:
            matched = step
    return matched


def new_recovery_codes(count: int = 10) -> list[str]:
    """``count`` distinct single-use recovery codes, formatted ``xxxxx-xxxxx``."""
    codes: list[str] = []
    while len(codes) < count:
        chars = "".join(secrets.choice(RECOVERY_CODE_ALPHABET) for _ in range(2 * _RECOVERY_HALF))
        code = f"{chars[:_RECOVERY_HALF]}-{chars[_RECOVERY_HALF:]}"
        if code not in codes:
            codes.append(code)
    return codes


def normalize_recovery_code(code: str) -> str:
    """``code`` as stored: lowercase, without dashes or whitespace."""
    return "".join(ch for ch in code if ch != "-" and not ch.isspace()).lower()


def hash_recovery_code(code: str) -> str:
    """The SHA-256 (hex) of the normalized ``code``: what to store and look up."""
    return hashlib.sha256(normalize_recovery_code(code).encode("utf-8")).hexdigest()
