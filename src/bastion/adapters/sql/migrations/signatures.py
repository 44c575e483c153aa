"""Schema objects reduced to comparable signatures, without a database.

Two uses: telling which live differences the blueprint asked for (an object
whose signature is the same in the last revision's snapshot and in the
blueprint was changed by hand, not by the blueprint), and listing the
blueprint changes no revision covers yet for ``migrate status``.

Signatures hold what an object is on *every* dialect (the type compiled for
each, comments although SQLite drops them), so a change that only shows on
PostgreSQL still counts when the plan runs on SQLite.
"""

from __future__ import annotations

import functools
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops

from bastion.adapters.sql.migrations.compare import default_literal
from bastion.adapters.sql.migrations.snapshot import Rename
from bastion.adapters.sql.schema import Dialect, PerDialectDefault
from bastion.adapters.sql.types import DIALECTS

__all__ = [
    "ObjectKey",
    "display_type",
    "operation_key",
    "schema_signatures",
    "sql_dialect",
    "unplanned_changes",
]

ObjectKey = tuple[str, str, str]
"""``(kind, table, name)``: ``("table", t, "")``, ``("column", t, c)``, ``("index", t, i)``."""

_COLLATE = " COLLATE "


@functools.cache
def sql_dialect(dialect: Dialect) -> sa.engine.Dialect:
    """SQLAlchemy's dialect object for ``dialect``, to compile types and DDL (no driver needed)."""
    return sa.make_url(f"{dialect}://").get_dialect()()


def display_type(type_: sa.types.TypeEngine[Any], dialect: Dialect) -> str:
    """``type_`` as the database names it, without the collation (always ``C`` here)."""
    compiled = str(type_.compile(dialect=sql_dialect(dialect)))
    return compiled.split(_COLLATE, 1)[0]


def _column_signature(column: sa.Column[Any]) -> str:
    references = sorted(f"{fk.target_fullname}:{fk.ondelete}" for fk in column.foreign_keys)
    default = column.server_default
    literals = (
        sorted(default.literals.items())
        if isinstance(default, PerDialectDefault)
        else default_literal(default)
    )
    return "|".join(
        [
            *(str(column.type.compile(dialect=sql_dialect(d))) for d in DIALECTS),
            f"nullable={column.nullable}",
            f"default={literals}",
            f"comment={column.comment}",
            *references,
        ]
    )


def schema_signatures(metadata: sa.MetaData) -> dict[ObjectKey, str]:
    """A signature for every table, column and index of ``metadata``, in declaration order."""
    signatures: dict[ObjectKey, str] = {}
    for table in metadata.tables.values():
        signatures["table", table.name, ""] = f"comment={table.comment}"
        for column in table.columns:
            signatures["column", table.name, column.name] = _column_signature(column)
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            columns = ",".join(str(getattr(c, "name", c)) for c in index.expressions)
            signatures["index", table.name, str(index.name)] = f"unique={index.unique}:{columns}"
    return signatures


def operation_key(operation: ops.MigrateOperation, table: str) -> ObjectKey | None:
    """The schema object ``operation`` (on ``table``) changes; ``None`` if not known."""
    if isinstance(
        operation,
        ops.CreateTableOp | ops.DropTableOp | ops.CreateTableCommentOp | ops.DropTableCommentOp,
    ):
        return ("table", table, "")
    if isinstance(operation, ops.AddColumnOp):
        return ("column", table, operation.column.name)
    if isinstance(operation, ops.DropColumnOp | ops.AlterColumnOp):
        return ("column", table, operation.column_name)
    if isinstance(operation, ops.CreateIndexOp | ops.DropIndexOp):
        return ("index", table, str(operation.index_name))
    if isinstance(operation, ops.CreateForeignKeyOp) and len(operation.local_cols) == 1:
        # A reference is part of its column's signature.
        return ("column", table, operation.local_cols[0])
    if isinstance(operation, ops.DropConstraintOp) and operation.constraint_type == "foreignkey":
        try:
            constraint = operation.to_constraint()
        except ValueError:  # no reverse: built by hand, not by autogenerate
            return None
        if not isinstance(constraint, sa.ForeignKeyConstraint):
            return None
        columns = list(constraint.column_keys)
        return ("column", table, columns[0]) if len(columns) == 1 else None
    return None


def unplanned_changes(
    before: sa.MetaData, after: sa.MetaData, *, dialect: Dialect, renames: list[Rename]
) -> list[str]:
    """What changes from ``before`` (the last revision) to ``after`` (the blueprint).

    ``dialect`` only chooses how column types are shown.
    """
    old, new = schema_signatures(before), schema_signatures(after)
    created = [t for t in after.tables if t not in before.tables]
    dropped = [t for t in before.tables if t not in after.tables]
    changes = [f"create table {t}" for t in created] + [f"drop table {t}" for t in dropped]
    renamed: set[ObjectKey] = set()
    for table, source, target in renames:
        source_key, target_key = ("column", table, source), ("column", table, target)
        if (
            source_key in old
            and source_key not in new
            and target_key in new
            and target_key not in old
        ):
            changes.append(f"rename column {table}.{source} -> {table}.{target}")
            renamed |= {source_key, target_key}
    for key in [*new, *(k for k in old if k not in new)]:
        kind, table, name = key
        if table in created or table in dropped or key in renamed or old.get(key) == new.get(key):
            continue
        if kind == "table":
            changes.append(f"change comment of table {table}")
        elif kind == "column" and key not in old:
            column_type = display_type(after.tables[table].c[name].type, dialect)
            changes.append(f"add column {table}.{name} ({column_type})")
        elif kind == "column":
            changes.append(f"{'drop' if key not in new else 'alter'} column {table}.{name}")
        else:
            verb = "create" if key not in old else "drop" if key not in new else "recreate"
            changes.append(f"{verb} index {name} on {table}")
    return changes
