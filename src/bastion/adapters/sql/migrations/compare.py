"""How Alembic's autogenerate compares the live database with the blueprint's metadata.

Reflection never gives back exactly the objects the metadata declares:
PostgreSQL reports ``VARCHAR(n) COLLATE "C"`` and ``'x'::character varying``,
SQLite keeps default expressions in parentheses. Comparing raw forms would
propose changes on every plan, so types are compared by *shape* (kind, length,
precision, time zone) and server defaults by their normalized literal.

Metadata types carry their SQLite form as a variant (see
:mod:`bastion.adapters.sql.types`); a type is always judged in the form it
takes on a given dialect.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from sqlalchemy.dialects import postgresql

from bastion.adapters.sql.search import SEARCH_COLUMN, is_search_index
from bastion.adapters.sql.types import DIALECTS, Dialect, for_dialect

__all__ = [
    "VERSION_TABLE",
    "TypeShape",
    "autogenerate_options",
    "default_literal",
    "is_widening",
    "normalize_default",
    "type_changes_on",
    "type_shape",
]

VERSION_TABLE = "bastion_migrations"
"""The table recording which revision a database is at."""

TypeShape = tuple[str | int | bool | None, ...]
"""What matters about a column type: its kind and the parameters that bound its values."""

_CAST = re.compile(r"::[\w\s\".]+(\(\d+(,\s*\d+)?\))?(\[\])?$")


def type_shape(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> TypeShape | None:
    """The shape of ``type_`` on ``dialect``, or ``None`` for a type Bastion does not generate."""
    type_ = for_dialect(type_, dialect)
    # Order matters: Text and the float types subclass String and Numeric.
    if isinstance(type_, sa.Uuid):
        return ("uuid",)
    if isinstance(type_, sa.JSON):
        return ("json", isinstance(type_, postgresql.JSONB))
    if isinstance(type_, sa.Boolean):
        return ("boolean",)
    if isinstance(type_, sa.DateTime):
        return ("datetime", bool(type_.timezone))
    if isinstance(type_, sa.Date):
        return ("date",)
    if isinstance(type_, sa.Float):
        return ("float",)
    if isinstance(type_, sa.Numeric):
        return ("numeric", type_.precision, type_.scale)
    if isinstance(type_, sa.BigInteger):
        return ("integer", 8)
    if isinstance(type_, sa.SmallInteger):
        return ("integer", 2)
    if isinstance(type_, sa.Integer):
        return ("integer", 4)
    if isinstance(type_, sa.Text) or (isinstance(type_, sa.String) and type_.length is None):
        return ("text",)
    if isinstance(type_, sa.String):
        return ("string", type_.length)
    return None


def type_changes_on(
    old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]
) -> tuple[Dialect, ...]:
    """The dialects on which ``old`` and ``new`` are different column types.

    A decimal's precision, for one, matters on PostgreSQL only (SQLite keeps a
    ``BIGINT`` either way).
    """
    return tuple(d for d in DIALECTS if type_shape(old, d) != type_shape(new, d))


def is_widening(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> bool:
    """Whether every value of ``old`` fits ``new`` unchanged on every dialect."""
    return all(_widens(old, new, dialect) for dialect in DIALECTS)


def _widens(old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any], dialect: Dialect) -> bool:
    before, after = type_shape(old, dialect), type_shape(new, dialect)
    if before is None or after is None:
        return False
    if before == after or (after == ("text",) and before[0] == "string"):
        return True
    if before[0] != after[0]:
        return False
    kind = before[0]
    if kind in ("string", "integer"):
        return int(after[1] or 0) >= int(before[1] or 0)
    if kind == "numeric":
        _, old_precision, old_scale = before
        _, new_precision, new_scale = after
        if new_precision is None:  # unbounded NUMERIC holds anything
            return True
        if old_precision is None:
            return False
        old_int = int(old_precision) - int(old_scale or 0)
        new_int = int(new_precision) - int(new_scale or 0)
        return int(new_scale or 0) >= int(old_scale or 0) and new_int >= old_int
    return False


def normalize_default(text: str | None) -> str | None:
    """A server default reduced to its literal: casts, parentheses and quotes removed."""
    if text is None:
        return None
    value = text.strip()
    while True:
        stripped = _CAST.sub("", value).strip()
        if stripped.startswith("(") and stripped.endswith(")"):
            stripped = stripped[1:-1].strip()
        if stripped == value:
            break
        value = stripped
    if len(value) >= 2 and value[0] == value[-1] == "'":
        value = value[1:-1].replace("''", "'")
    return value.lower() if value.lower() in ("true", "false") else value


def default_literal(default: object) -> str | None:
    """The normalized literal of a server default, however Alembic or SQLAlchemy hold it.

    Accepts a column's ``server_default``, the text or clause Alembic keeps in an
    operation, or ``None``/``False`` for none.
    """
    if isinstance(default, sa.DefaultClause):
        default = default.arg
    if isinstance(default, str):
        return normalize_default(default)
    if isinstance(default, sa.TextClause):
        return normalize_default(default.text)
    if isinstance(default, sa.ColumnElement):
        return normalize_default(str(default.compile(compile_kwargs={"literal_binds": True})))
    return None


def _compare_type(
    context: MigrationContext,
    inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_type: sa.types.TypeEngine[Any],
    metadata_type: sa.types.TypeEngine[Any],
) -> bool | None:
    dialect = _dialect_of(context)
    reflected, declared = type_shape(inspected_type, dialect), type_shape(metadata_type, dialect)
    if reflected is None or declared is None:
        return None  # not a Bastion type: let Alembic decide
    return reflected != declared


def _compare_server_default(
    context: MigrationContext,
    inspected_column: sa.Column[Any],
    metadata_column: sa.Column[Any],
    inspected_default: str | None,
    metadata_default: sa.schema.FetchedValue | None,
    rendered_metadata_default: str | None,
) -> bool:
    type_ = for_dialect(metadata_column.type, _dialect_of(context))
    live = _canonical(normalize_default(inspected_default), type_)
    return live != _canonical(normalize_default(rendered_metadata_default), type_)


_BOOLEAN = {"true": "1", "t": "1", "1": "1", "false": "0", "f": "0", "0": "0"}


def _canonical(value: str | None, type_: sa.types.TypeEngine[Any]) -> str | None:
    """``value`` as the same default always reads, whoever wrote it."""
    if value is None:
        return None
    if isinstance(type_, sa.Boolean):
        # Revisions write '1'/'0'; PostgreSQL reports them back as true/false.
        return _BOOLEAN.get(value, value)
    if isinstance(type_, sa.Numeric | sa.Integer):
        try:  # '0' and '0.00' are the same NUMERIC default
            return str(Decimal(value).normalize())
        except ArithmeticError:
            return value
    return value


def _dialect_of(context: MigrationContext) -> Dialect:
    return "postgresql" if context.dialect.name == "postgresql" else "sqlite"


def _is_search_object(obj: Any, name: str | None, type_: str) -> bool:
    """Whether ``obj`` is PostgreSQL's full-text search column or its index.

    They are not in the metadata (the store must not read them): the revisions
    manage them from the blueprints' difference instead (see
    :mod:`bastion.adapters.sql.migrations.search`), so they are neither planned
    away nor reported as drift.
    """
    if type_ == "column":
        return name == SEARCH_COLUMN
    return type_ == "index" and is_search_index(name, str(obj.table.name))


def autogenerate_options(*, metadata: sa.MetaData, tables: set[str]) -> dict[str, Any]:
    """``MigrationContext`` options comparing only ``tables`` with ``metadata``.

    Args:
        metadata: The schema wanted.
        tables: The tables compared; any other table (the user's own, the
            version table) is never reflected, so never proposed for a drop,
            and tables of ``metadata`` not in it are left out too.
    """

    def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        return type_ != "table" or (name in tables and name != VERSION_TABLE)

    def include_object(
        obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if reflected and compare_to is None and _is_search_object(obj, name, type_):
            return False
        # The metadata's side of ``include_name``: its other tables are not looked at either.
        return type_ != "table" or name in tables

    return {
        "target_metadata": metadata,
        "version_table": VERSION_TABLE,
        "compare_type": _compare_type,
        "compare_server_default": _compare_server_default,
        "include_name": include_name,
        "include_object": include_object,
    }
