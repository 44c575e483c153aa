"""What a list request asks for, independent of HTTP and SQL."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from bastion.core.errors import FieldError, InvalidQuery

__all__ = ["Page", "QuerySpec", "decode_cursor", "encode_cursor"]


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """A page of a resource's records, in id order (UUIDv7: creation order).

    The full query language (filters, sort, sparse fields, expansion) extends
    this spec; keyset pagination stays ``after`` an id so deep pages cost the
    same as the first.
    """

    limit: int = 20
    after: UUID | None = None
    """Return records whose id sorts after this one (the cursor)."""


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records and whether more follow."""

    records: list[dict[str, Any]]
    has_more: bool


_CURSOR_VERSION = b"\x01"


def encode_cursor(after: UUID) -> str:
    """An opaque cursor that resumes a listing after the record ``after``."""
    return base64.urlsafe_b64encode(_CURSOR_VERSION + after.bytes).rstrip(b"=").decode()


def decode_cursor(token: str) -> UUID:
    """The position an opaque cursor stands for.

    Raises:
        InvalidQuery: if the cursor was not made by :func:`encode_cursor`.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, binascii.Error):
        raw = b""
    if len(raw) != 17 or raw[:1] != _CURSOR_VERSION:
        raise InvalidQuery(
            "the cursor is not valid: pass the next_cursor of a previous page unchanged",
            errors=(FieldError("cursor", "is not a cursor this server issued"),),
        )
    return UUID(bytes=raw[1:])
