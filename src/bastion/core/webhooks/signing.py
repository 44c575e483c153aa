"""Webhook signatures as the Standard Webhooks specification defines them.

Every delivery carries three headers (https://www.standardwebhooks.com):

- ``webhook-id``: the message id, the same on every retry (receivers deduplicate on it);
- ``webhook-timestamp``: Unix seconds of this attempt (receivers reject stale ones);
- ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``,
  space-separated when several secrets sign during a secret rotation.

The key is the base64-decoded part of the secret after ``whsec_``, so any
Standard Webhooks library verifies a Bastion delivery.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections.abc import Sequence
from datetime import datetime

__all__ = ["SECRET_PREFIX", "new_secret", "sign", "signed_headers"]

SECRET_PREFIX = "whsec_"
"""The prefix of a webhook secret; the rest is the base64 of the key."""

_SECRET_BYTES = 32


def new_secret() -> str:
    """A new random webhook secret, ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if not key:
        # The secret itself never goes into the message: it may end up in a log.
        raise ValueError(
            "a webhook secret must be 'whsec_' followed by base64 (as new_secret() makes it)"
        )
    return key


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value of one message: ``v1,<base64 HMAC-SHA256>``.

    Args:
        secret: The endpoint's secret, ``whsec_<base64 key>``.
        message_id: The ``webhook-id`` header value.
        timestamp: The ``webhook-timestamp`` header value, Unix seconds.
        body: The exact bytes sent as the request body.

    Raises:
        ValueError: ``secret`` is not ``whsec_`` followed by non-empty base64.
    """
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(
    secret: str,
    message_id: str,
    body: bytes,
    now: datetime,
    *,
    previous_secrets: Sequence[str] = (),
) -> dict[str, str]:
    """The headers of one delivery attempt: id, timestamp, signature, JSON content type.

    Args:
        secret: The endpoint's current secret.
        message_id: A stable id of the message (the event id): the same on every retry.
        body: The exact request body.
        now: When the attempt is made (timezone-aware).
        previous_secrets: Secrets being rotated out: each signs too, so receivers
            still holding an old secret keep verifying until they switch.

    Raises:
        ValueError: ``now`` is naive, or a secret is malformed.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware, e.g. datetime.now(UTC)")
    timestamp = int(now.timestamp())
    signatures = [sign(s, message_id, timestamp, body) for s in (secret, *previous_secrets)]
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signatures),
        "content-type": "application/json",
    }
