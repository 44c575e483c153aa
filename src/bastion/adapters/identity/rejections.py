"""PyJWT's errors translated into :class:`~bastion.core.ports.TokenRejected` reasons."""

from __future__ import annotations

import jwt

from bastion.core.ports import TokenRejected

__all__ = ["rejection"]

# Most specific first: InvalidSignatureError is a DecodeError, for instance.
_REASONS: tuple[tuple[type[jwt.PyJWTError], str], ...] = (
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.InvalidKeyError, "unknown_key"),
    (jwt.PyJWKError, "unknown_key"),
)


def rejection(error: jwt.PyJWTError) -> TokenRejected:
    """The :class:`TokenRejected` to raise for ``error`` (``"malformed"`` if nothing closer)."""
    for kind, reason in _REASONS:
        if isinstance(error, kind):
            return TokenRejected(reason, str(error))
    return TokenRejected("malformed", str(error))
