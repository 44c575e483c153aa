"""SQLAlchemy metadata built from a blueprint, for one SQL dialect.

The same metadata drives the DDL (Alembic migrations) and the statements the
store compiles. Column types are chosen per dialect so both databases keep the
conventions in ``shared/DESIGN.md``:

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

from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from bastion.blueprint import AnyField, BelongsTo, Blueprint, DecimalField, Resource

__all__ = ["NAMING_CONVENTION", "Dialect", "build_metadata", "column_type", "server_default"]

Dialect = Literal["sqlite", "postgresql"]

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s",
    "pk": "pk_%(table_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
}
"""Deterministic constraint names, so migrations and error messages agree."""

_ON_DELETE_SQL = {"cascade": "CASCADE", "restrict": "RESTRICT", "set_null": "SET NULL"}


def _id_type(dialect: Dialect) -> sa.types.TypeEngine[Any]:
    return sa.Uuid(as_uuid=True) if dialect == "postgresql" else sa.String(36)


def _datetime_type(dialect: Dialect) -> sa.types.TypeEngine[Any]:
    return sa.DateTime(timezone=True) if dialect == "postgresql" else sa.String(27)


def _string_type(length: int, dialect: Dialect) -> sa.types.TypeEngine[Any]:
    return sa.String(length, collation="C") if dialect == "postgresql" else sa.String(length)


def column_type(field: AnyField, dialect: Dialect) -> sa.types.TypeEngine[Any]:
    """The column type that stores ``field`` on ``dialect``."""
    match field.type:
        case "string" | "email" | "url":
            return _string_type(field.max_length, dialect)
        case "text":
            return sa.Text(collation="C") if dialect == "postgresql" else sa.Text()
        case "enum":
            longest = max((len(value) for value in field.values), default=1)
            return _string_type(max(64, longest), dialect)
        case "integer":
            return sa.BigInteger()
        case "float":
            return sa.Double()
        case "decimal":
            if dialect == "postgresql":
                return sa.Numeric(field.precision, field.scale)
            return sa.BigInteger()
        case "boolean":
            return sa.Boolean()
        case "date":
            return sa.Date() if dialect == "postgresql" else sa.String(10)
        case "datetime":
            return _datetime_type(dialect)
        case "uuid" | "belongs_to":
            return _id_type(dialect)
        case "json":
            # TEXT, not JSON: SQLite gives a column declared JSON numeric affinity,
            # which would turn the document "0" into the integer 0.
            return postgresql.JSONB() if dialect == "postgresql" else sa.Text()
    raise AssertionError(f"unhandled field type {field.type!r}")  # pragma: no cover


def server_default(field: AnyField, dialect: Dialect) -> str | None:
    """A literal the database fills existing rows with when the column is added.

    Only simple defaults become server defaults; the application applies every
    default itself on create, so this matters for migrations only. The value is
    a plain string (SQLAlchemy quotes it, and both databases cast the quoted
    literal to the column's type): Alembic can then add the column to a SQLite
    table in place instead of copying the whole table.
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
            if dialect == "postgresql":
                return "true" if value else "false"
            return "1" if value else "0"
        case "decimal":
            assert isinstance(field, DecimalField)
            if dialect == "postgresql":
                return str(Decimal(str(value)))
            return str(int(Decimal(str(value)).scaleb(field.scale or 0)))
    return None
    value = field.default
    match field.type:
        case "string" | "text" | "email" | "url" | "enum" | "date" | "uuid":
            return sa.text("'" + str(value).replace("'", "''") + "'")
        case "integer" | "float":
            return sa.text(str(value))
        case "boolean":
            if dialect == "postgresql":
                return sa.text("true" if value else "false")
            return sa.text("1" if value else "0")
        case "decimal":
            assert isinstance(field, DecimalField)
            if dialect == "postgresql":
                return sa.text(str(Decimal(str(value))))
            return sa.text(str(int(Decimal(str(value)).scaleb(field.scale or 0))))
    return None


def _field_column(name: str, field: AnyField, dialect: Dialect) -> sa.Column[Any]:
    args: list[Any] = []
    if isinstance(field, BelongsTo):
        args.append(sa.ForeignKey(f"{field.resource}.id", ondelete=_ON_DELETE_SQL[field.on_delete]))
    return sa.Column(
        name,
        column_type(field, dialect),
        *args,
        nullable=not field.required,
        server_default=server_default(field, dialect),
        comment=field.description,
    )


def _table(name: str, resource: Resource, metadata: sa.MetaData, dialect: Dialect) -> sa.Table:
    columns: list[sa.Column[Any]] = [
        sa.Column("id", _id_type(dialect), primary_key=True),
        sa.Column("created_at", _datetime_type(dialect), nullable=False),
        sa.Column("updated_at", _datetime_type(dialect), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
    ]
    columns += [_field_column(fname, field, dialect) for fname, field in resource.fields.items()]
    table = sa.Table(name, metadata, *columns, comment=resource.description)
    for fname, field in resource.fields.items():
        if field.unique:
            sa.Index(f"uq_{name}_{fname}", table.c[fname], unique=True)
        elif isinstance(field, BelongsTo):
            # Cascades and restrict checks look records up by this column.
            sa.Index(f"ix_{name}_{fname}", table.c[fname])
    for index in resource.indexes:
        prefix = "uq" if index.unique else "ix"
        index_name = index.name or f"{prefix}_{name}_{'_'.join(index.fields)}"
        sa.Index(index_name, *(table.c[f] for f in index.fields), unique=index.unique)
    return table


def build_metadata(blueprint: Blueprint, dialect: Dialect) -> sa.MetaData:
    """Tables for every resource of ``blueprint``, typed for ``dialect``."""
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    for name, resource in blueprint.resources.items():
        _table(name, resource, metadata, dialect)
    return metadata
