"""SQLAlchemy metadata built from a blueprint.

The same metadata drives the DDL (Alembic migrations) and the statements the
store compiles. Every column type is right on both databases at once (see
:mod:`bastion.adapters.sql.types`), so a revision file planned on SQLite
creates the PostgreSQL columns too, and keeps the conventions in
``shared/DESIGN.md``:

========== ============================ ===================================
type       PostgreSQL                   SQLite
========== ============================ ===================================
string     VARCHAR(n) COLLATE "C"       VARCHAR(n) (SQLite compares bytes)
decimal    NUMERIC(p, s)                BIGINT: the value times 10**scale
datetime   TIMESTAMPTZ                  VARCHAR: ``YYYY-MM-DDTHH:MM:SS.ffffffZ``
uuid / id  UUID                         VARCHAR(36), lower-case with dashes
json       JSONB                        TEXT holding the JSON document
========== ============================ ===================================

Fixed-width text for datetimes and scaled integers for decimals sort and
compare exactly like the values they hold, so filters and keyset pagination
behave the same on both.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from bastion.adapters.sql import types
from bastion.adapters.sql.internal_tables import add_internal_tables
from bastion.adapters.sql.types import Dialect
from bastion.blueprint import AnyField, BelongsTo, Blueprint, DecimalField, Resource

__all__ = [
    "NAMING_CONVENTION",
    "Dialect",
    "PerDialectDefault",
    "build_metadata",
    "column_type",
    "server_default",
]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
"""Deterministic constraint names, so migrations and error messages agree."""

_ON_DELETE_SQL = {"cascade": "CASCADE", "restrict": "RESTRICT", "set_null": "SET NULL"}


class PerDialectDefault(sa.DefaultClause):
    """A server default whose literal differs per database.

    Only decimals need one: SQLite stores the scaled integer (``150`` for
    1.50 at scale 2), PostgreSQL the value. The clause holds the literal of
    the dialect its metadata was built for; revision files get an expression
    choosing the right one when they run.

    Attributes:
        literals: The literal on each dialect.
    """

    def __init__(self, literals: Mapping[Dialect, str], dialect: Dialect) -> None:
        """Hold every literal; the clause itself is ``literals[dialect]``."""
        super().__init__(literals[dialect])
        self.literals: dict[Dialect, str] = dict(literals)


def column_type(field: AnyField) -> sa.types.TypeEngine[Any]:
    """The column type that stores ``field``, on either database."""
    match field.type:
        case "string" | "email" | "url":
            return types.string_type(field.max_length)
        case "text":
            return types.text_type()
        case "enum":
            longest = max((len(value) for value in field.values), default=1)
            return types.string_type(max(64, longest))
        case "integer":
            return sa.BigInteger()
        case "float":
            return sa.Double()
        case "decimal":
            return types.decimal_type(field.precision, field.scale)
        case "boolean":
            return sa.Boolean()
        case "date":
            return types.date_type()
        case "datetime":
            return types.timestamp_type()
        case "uuid" | "belongs_to":
            return types.uuid_type()
        case "json":
            return types.json_type()
    raise AssertionError(f"unhandled field type {field.type!r}")  # pragma: no cover


def server_default(field: AnyField, dialect: Dialect) -> str | PerDialectDefault | None:
    """A literal the database fills existing rows with when the column is added.

    Only simple defaults become server defaults; the application applies every
    default itself on create, so this matters for migrations only. The value is
    a plain string that both databases cast to the column's type (booleans as
    ``'1'``/``'0'``, which PostgreSQL reads as true/false): Alembic can then add
    the column to a SQLite table in place instead of copying the whole table.
    Decimals get a :class:`PerDialectDefault`, SQLite storing scaled integers.
    """
    if not field.has_default or isinstance(field, BelongsTo):
        return None
    value = field.default
    match field.type:
        case "string" | "text" | "email" | "url" | "enum" | "date" | "uuid":
            return str(value)
        case "integer" | "float":
            return str(value)
        case "boolean":
            return "1" if value else "0"
        case "decimal":
            assert isinstance(field, DecimalField)
            # Quantized, so 1.5 and 1.50 give the same literal on both databases.
            exact = Decimal(str(value)).quantize(Decimal(1).scaleb(-(field.scale or 0)))
            literals: dict[Dialect, str] = {
                "postgresql": str(exact),
                "sqlite": str(int(exact.scaleb(field.scale or 0))),
            }
            return PerDialectDefault(literals, dialect)
    return None


def _field_column(name: str, field: AnyField, dialect: Dialect) -> sa.Column[Any]:
    args: list[Any] = []
    if isinstance(field, BelongsTo):
        args.append(sa.ForeignKey(f"{field.resource}.id", ondelete=_ON_DELETE_SQL[field.on_delete]))
    return sa.Column(
        name,
        column_type(field),
        *args,
        nullable=not field.required,
        server_default=server_default(field, dialect),
        comment=field.description,
    )


def _table(name: str, resource: Resource, metadata: sa.MetaData, dialect: Dialect) -> sa.Table:
    columns: list[sa.Column[Any]] = [
        sa.Column("id", types.uuid_type(), primary_key=True),
        sa.Column("created_at", types.timestamp_type(), nullable=False),
        sa.Column("updated_at", types.timestamp_type(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
    ]
    columns += [_field_column(fname, field, dialect) for fname, field in resource.fields.items()]
    table = sa.Table(name, metadata, *columns, comment=resource.description)
    # An index on (a, b) also serves lookups by a alone.
    leading = {index.fields[0] for index in resource.indexes if index.fields}
    for fname, field in resource.fields.items():
        if field.unique:
            sa.Index(f"uq_{name}_{fname}", table.c[fname], unique=True)
        elif isinstance(field, BelongsTo) and fname not in leading:
            # Cascades and restrict checks look records up by this column.
            sa.Index(f"ix_{name}_{fname}", table.c[fname])
    for index in resource.indexes:
        prefix = "uq" if index.unique else "ix"
        index_name = index.name or f"{prefix}_{name}_{'_'.join(index.fields)}"
        sa.Index(index_name, *(table.c[f] for f in index.fields), unique=index.unique)
    return table


def build_metadata(blueprint: Blueprint, dialect: Dialect) -> sa.MetaData:
    """Tables for every resource of ``blueprint``, and Bastion's own tables.

    The column types are the same for both databases; ``dialect`` only picks
    the literal of server defaults that differ (:class:`PerDialectDefault`).
    Bastion's own tables (``bastion_*``, see
    :mod:`bastion.adapters.sql.internal_tables`) come along so migrations
    create them with the resources.
    """
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for name, resource in blueprint.resources.items():
        _table(name, resource, metadata, dialect)
    add_internal_tables(metadata)
    return metadata
