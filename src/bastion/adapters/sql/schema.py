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

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from bastion.adapters.sql import types
from bastion.adapters.sql.internal_tables import add_internal_tables
from bastion.adapters.sql.search import add_search_ddl, search_indexes
from bastion.adapters.sql.types import Dialect
from bastion.blueprint import (
    AnyField,
    BelongsTo,
    Blueprint,
    DecimalField,
    Resource,
)

__all__ = [
    "NAMING_CONVENTION",
    "Dialect",
    "IndexSpec",
    "PerDialectDefault",
    "automatic_indexes",
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

IndexSpec = tuple[str, tuple[str, ...], bool]
"""``(name, columns, unique)`` of one index."""

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


def _table(
    name: str,
    resource: Resource,
    metadata: sa.MetaData,
    dialect: Dialect,
    automatic: Sequence[IndexSpec] | None,
) -> sa.Table:
    columns: list[sa.Column[Any]] = [
        sa.Column("id", types.uuid_type(), primary_key=True),
        sa.Column("created_at", types.timestamp_type(), nullable=False),
        sa.Column("updated_at", types.timestamp_type(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
    ]
    columns += [_field_column(fname, field, dialect) for fname, field in resource.fields.items()]
    table = sa.Table(name, metadata, *columns, comment=resource.description)
    declared = _declared_indexes(name, resource)
    if automatic is None:
        automatic = _automatic_indexes(name, resource, declared)
    for index_name, fields, unique in [*declared, *automatic]:
        sa.Index(index_name, *(table.c[f] for f in fields), unique=unique)
    return table


def _declared_indexes(table: str, resource: Resource) -> list[IndexSpec]:
    return [
        (
            index.name or _index_name("uq" if index.unique else "ix", table, index.fields),
            tuple(index.fields),
            index.unique,
        )
        for index in resource.indexes
    ]


def _automatic_indexes(
    table: str, resource: Resource, declared: list[IndexSpec]
) -> list[IndexSpec]:
    """The indexes of ``table`` that Bastion derives, beside the ``declared`` ones.

    A unique field gets a unique index. Every list query a resource allows
    reads an index, not the whole table (``tests/integration/test_query_plans.py``
    explains each one on PostgreSQL at a million rows), so the other indexes
    follow from what lists may name:

    * ``(f, id)`` for a sortable field, and ``(created_at, id)``: keyset pages
      break ties by id, so a page is one index range read either way (``id``
      alone is the primary key).
    * ``(updated_at, id)`` on served resources: any client may sort by
      ``updated_at`` or filter ``updated_at[gt]=`` to sync changes, and
      without it that request reads every row. Its price is on writes: every
      update adds an entry (on the index's right edge, the value only grows)
      and no update stays HOT.
    * ``(f)`` for a filterable field or a relation (its filters, joins through
      ``customer.email=``, cascade and restrict checks), made only when no
      other index starts with ``f`` already.

    Filters no b-tree serves (``ne``, ``nin``, patterns starting with a
    wildcard, ``ilike``, ``contains``) get nothing more: their lists read the
    order's index up to the page's ``LIMIT``. A trigram or GIN index for them
    is the blueprint's choice (it slows every write of the column).

    Each migration revision records the indexes these rules gave, so a change
    of the rules reaches existing databases as a planned revision, never as
    drift (see :mod:`bastion.adapters.sql.migrations.recorded`).
    """
    indexes = list(declared)
    fields = resource.fields.items()
    indexes += [(_index_name("uq", table, [f]), (f,), True) for f, spec in fields if spec.unique]

    def add(columns: tuple[str, ...]) -> None:
        # A declared index may already be the one a rule asks for.
        if all(existing != columns for _, existing, _ in indexes):
            indexes.append((_index_name("ix", table, list(columns)), columns, False))

    for fname, field in fields:
        if field.sortable:
            add((fname, "id"))
    # Every change writes a row to the event log and the outbox: no list ever pages
    # them by creation time, so that index would only cost each write a b-tree insert.
    if table not in _WRITE_PATH_LOGS:
        add(("created_at", "id"))
    # By name, not ``resource.internal``: revision snapshots, which this must agree
    # with, keep fields and indexes only. Only Bastion's own resources are bastion_*.
    if not table.startswith("bastion_"):
        add(("updated_at", "id"))
    for fname, field in fields:
        looked_up = field.filterable or isinstance(field, BelongsTo)
        if looked_up and all(columns[0] != fname for _, columns, _ in indexes):
            add((fname,))
    return indexes[len(declared) :]


_WRITE_PATH_LOGS = frozenset({"bastion_events", "bastion_outbox"})


def _index_name(prefix: str, table: str, fields: list[str]) -> str:
    return types.identifier(f"{prefix}_{table}_{'_'.join(fields)}")


def automatic_indexes(blueprint: Blueprint) -> dict[str, list[IndexSpec]]:
    """Per resource table, the indexes Bastion derives from ``blueprint`` beside the declared ones.

    They follow from the fields (unique, sortable, filterable, relations) and
    from what every list may ask (see ``_automatic_indexes``).
    """
    return {
        name: _automatic_indexes(name, resource, _declared_indexes(name, resource))
        for name, resource in blueprint.resources.items()
    }


def build_metadata(
    blueprint: Blueprint,
    dialect: Dialect,
    *,
    automatic: Mapping[str, Sequence[IndexSpec]] | None = None,
) -> sa.MetaData:
    """Tables for every resource of ``blueprint``, and Bastion's own tables.

    The column types are the same for both databases; ``dialect`` only picks
    the literal of server defaults that differ (:class:`PerDialectDefault`).
    Bastion's own tables (``bastion_*``, see
    :mod:`bastion.adapters.sql.internal_tables`) come along so migrations
    create them with the resources. Full-text search objects are not part of
    the tables (the store must not read them); ``create_all`` makes them
    through DDL events (see :mod:`bastion.adapters.sql.search`).

    Args:
        blueprint: The resources.
        dialect: The database whose server default literals are used.
        automatic: Per table, the derived indexes to make instead of the ones
            today's rules derive (:func:`automatic_indexes`): those a migration
            revision recorded, when the rules may have changed since. Tables it
            does not name follow today's rules.
    """
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    searches = search_indexes(blueprint)
    chosen = automatic or {}
    for name, resource in blueprint.resources.items():
        table = _table(name, resource, metadata, dialect, chosen.get(name))
        if name in searches:
            add_search_ddl(table, searches[name])
    add_internal_tables(metadata)
    return metadata
