"""Column types that are right on both databases at once.

Each storage type is the PostgreSQL type carrying its SQLite form as a
variant (``with_variant``). SQLAlchemy picks the variant when it compiles for
SQLite, so the same metadata, and the same revision file rendered from it,
give ``UUID`` on PostgreSQL and ``VARCHAR(36)`` on SQLite::

    >>> from sqlalchemy.dialects import postgresql, sqlite
    >>> str(uuid_type().compile(dialect=sqlite.dialect()))
    'VARCHAR(36)'
    >>> str(uuid_type().compile(dialect=postgresql.dialect()))
    'UUID'

A revision file spells them with plain SQLAlchemy
(``sa.Uuid().with_variant(sa.String(length=36), "sqlite")``): it never
imports Bastion, so revisions keep working whatever this package becomes.
"""

from __future__ import annotations

import hashlib
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

__all__ = [
    "DIALECTS",
    "MAX_IDENTIFIER_LENGTH",
    "Dialect",
    "date_type",
    "decimal_type",
    "for_dialect",
    "identifier",
    "json_type",
    "string_type",
    "text_type",
    "timestamp_type",
    "uuid_type",
]

Dialect = Literal["sqlite", "postgresql"]
"""The SQL databases Bastion runs on."""

DIALECTS: tuple[Dialect, ...] = ("sqlite", "postgresql")
"""Every database Bastion runs on: a revision must be right on each."""

MAX_IDENTIFIER_LENGTH = 63
"""PostgreSQL cuts longer identifiers, so names Bastion makes up stay within it."""

_SQLITE = "sqlite"


def identifier(name: str) -> str:
    """``name``, or when longer than 63 characters a shortened form unique to it.

    PostgreSQL would silently cut a longer name, so reflection would find
    another name than the metadata's on every plan. The shortened form keeps
    the start (for people) and ends with a digest of the whole name::

        >>> identifier("ix_" + "x" * 70)[-9:]
        '_812d0a07'
        >>> len(identifier("ix_" + "x" * 70))
        63
    """
    if len(name) <= MAX_IDENTIFIER_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_IDENTIFIER_LENGTH - 9].rstrip('_')}_{digest}"


def uuid_type() -> sa.types.TypeEngine[Any]:
    """Ids and uuids: ``UUID``; on SQLite ``VARCHAR(36)``, lower-case with dashes."""
    return sa.Uuid().with_variant(sa.String(36), _SQLITE)


def timestamp_type() -> sa.types.TypeEngine[Any]:
    """Datetimes: ``TIMESTAMPTZ``; on SQLite fixed-width UTC text that sorts like the value."""
    return sa.DateTime(timezone=True).with_variant(sa.String(27), _SQLITE)


def date_type() -> sa.types.TypeEngine[Any]:
    """Dates: ``DATE``; on SQLite ``VARCHAR(10)`` holding ``YYYY-MM-DD``."""
    return sa.Date().with_variant(sa.String(10), _SQLITE)


def decimal_type(precision: int | None, scale: int | None) -> sa.types.TypeEngine[Any]:
    """Decimals: ``NUMERIC(p, s)``; on SQLite ``BIGINT`` holding the value times 10**scale."""
    return sa.Numeric(precision, scale).with_variant(sa.BigInteger(), _SQLITE)


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON documents: ``JSONB``; on SQLite ``TEXT``.

    Not SQLite's ``JSON``: a column declared JSON gets numeric affinity there,
    which would turn the document ``"0"`` into the integer 0.
    """
    return postgresql.JSONB().with_variant(sa.Text(), _SQLITE)


def string_type(length: int) -> sa.types.TypeEngine[Any]:
    """Bounded text: ``VARCHAR(n) COLLATE "C"`` (byte order); SQLite compares bytes anyway."""
    return sa.String(length, collation="C").with_variant(sa.String(length), _SQLITE)


def text_type() -> sa.types.TypeEngine[Any]:
    """Unbounded text: ``TEXT COLLATE "C"``; on SQLite ``TEXT``."""
    return sa.Text(collation="C").with_variant(sa.Text(), _SQLITE)


def for_dialect(type_: sa.types.TypeEngine[Any], dialect: str) -> sa.types.TypeEngine[Any]:
    """The type ``type_`` stands for on ``dialect``: its variant there, or itself."""
    # The mapping ``with_variant`` fills; Alembic reads the same attribute to render variants.
    return type_._variant_mapping.get(dialect, type_)
