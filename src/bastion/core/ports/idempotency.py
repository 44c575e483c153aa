"""What the unit of work stores for an idempotency key: the request's fingerprint
and the response its first execution produced.

Core never looks inside :class:`StoredResponse`: the API layer that answered
the first request encodes it and sends it again on a replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

__all__ = ["IdempotencyRecord", "StoredResponse"]


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """The response a caller got, as the API layer will send it again."""

    status: int
    """The status code (``201``)."""
    headers: tuple[tuple[str, str], ...]
    """The headers worth repeating (``Location``, ``ETag``, ``Content-Type``)."""
    body: bytes
    """The body, byte for byte."""


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    """One used idempotency key and the outcome of its first request.

    ``(scope, key)`` identifies the record: the same key sent by two callers
    names two records.
    """

    scope: str
    """Whose key it is (see :func:`bastion.core.idempotency.caller_scope`)."""
    key: str
    """The key the caller sent (1-255 printable ASCII characters)."""
    endpoint: str
    """The operation it was used for, e.g. ``POST /v1/orders``."""
    request_hash: str
    """A hash of the request body; a retry must send the same body."""
    response: StoredResponse
    created_at: datetime
    expires_at: datetime
    """After this instant the key is forgotten and may be used again."""
