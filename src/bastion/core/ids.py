"""Record ids (UUIDv7, sortable by creation time and not guessable) and request ids."""

from __future__ import annotations

import random
import re
from uuid import UUID

from uuid_utils.compat import uuid7

__all__ = ["new_id", "parse_id", "request_id_or_new"]

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def new_id() -> UUID:
    """A fresh UUIDv7 (48-bit millisecond timestamp, 74 random bits)."""
    return uuid7()


def parse_id(text: str) -> UUID | None:
    """The UUID written in ``text``, or ``None`` if it is not one."""
    try:
        return UUID(text)
    except ValueError:
        return None


def request_id_or_new(given: str | None) -> str:
    """``given`` (a client's ``X-Request-ID``) if it is 1-128 of ``A-Za-z0-9._:-``, else a
    new id: 32 random hex digits from the random module (reseeded in every forked worker),
    so no system call per request; a request id needs no secrecy."""
    if given is not None and _REQUEST_ID.match(given):
        return given
    return f"{random.getrandbits(128):032x}"
