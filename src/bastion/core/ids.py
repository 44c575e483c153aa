"""Record ids: UUIDv7, sortable by creation time and not guessable."""

from __future__ import annotations

from uuid import UUID

from uuid_utils.compat import uuid7

__all__ = ["new_id", "parse_id"]


def new_id() -> UUID:
    """A fresh UUIDv7 (48-bit millisecond timestamp, 74 random bits)."""
    return uuid7()


def parse_id(text: str) -> UUID | None:
    """The UUID written in ``text``, or ``None`` if it is not one."""
    try:
        return UUID(text)
    except ValueError:
        return None
