"""Bastion's own tables, beside the blueprint's: named ``bastion_*``, a prefix
the blueprint refuses for resources.

``bastion_idempotency_keys`` holds one row per used idempotency key: the
request's fingerprint and the response to replay. Like the resource tables,
each column type is right on both databases at once (the PostgreSQL type with
its SQLite form as a ``with_variant``), so one revision file creates the table
on either; datetimes are ``TIMESTAMPTZ`` on PostgreSQL and fixed-width UTC
text on SQLite, so ``expires_at`` compares correctly on both.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

__all__ = ["IDEMPOTENCY_TABLE", "INTERNAL_TABLES", "add_internal_tables"]

IDEMPOTENCY_TABLE = "bastion_idempotency_keys"
"""One row per used idempotency key, until it expires."""

INTERNAL_TABLES = frozenset({IDEMPOTENCY_TABLE})
"""Every table this module defines (the migrations own them like resource tables)."""


_SQLITE = "sqlite"


def _string(length: int) -> sa.types.TypeEngine[Any]:
    return sa.String(length, collation="C").with_variant(sa.String(length), _SQLITE)


def _timestamp() -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True).with_variant(sa.String(27), _SQLITE)


def _idempotency_table(metadata: sa.MetaData) -> sa.Table:
    table = sa.Table(
        IDEMPOTENCY_TABLE,
        metadata,
        sa.Column("scope", _string(512), primary_key=True),
        sa.Column("key", _string(255), primary_key=True),
        sa.Column("endpoint", _string(512), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _timestamp(), nullable=False),
        sa.Column("expires_at", _timestamp(), nullable=False),
        comment="Used idempotency keys and the responses to replay (Bastion's own)",
    )
    # Purging finds expired keys by this column.
    sa.Index(f"ix_{IDEMPOTENCY_TABLE}_expires_at", table.c.expires_at)
    return table


def add_internal_tables(metadata: sa.MetaData) -> None:
    """Add Bastion's own tables to ``metadata`` (those it does not have yet).

    Safe to call twice on the same metadata, so both ``build_metadata`` and the
    store may call it.
    """
    if IDEMPOTENCY_TABLE not in metadata.tables:
        _idempotency_table(metadata)
