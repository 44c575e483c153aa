"""Drift: how the live database departs from what the applied revisions describe.

Autogenerate run against the last revision's snapshot yields the operations
that would bring the database back to it; each is told here from the
database's side ("exists in the database but no revision describes it"),
since the fix is a decision for the user, not something a plan does silently.
"""

from __future__ import annotations

from alembic.operations import ops

from bastion.adapters.sql.migrations.compare import default_literal
from bastion.adapters.sql.migrations.operations import table_operations
from bastion.adapters.sql.migrations.signatures import display_type
from bastion.adapters.sql.schema import Dialect

__all__ = ["describe_drift"]

_EXTRA = "exists in the database but no revision describes it"
_MISSING = "is missing from the database"


def describe_drift(container: ops.OpContainer, dialect: Dialect) -> list[str]:
    """One line per difference ``container`` (database -> last revision) would undo."""
    lines: list[str] = []
    for table, operation in table_operations(container):
        lines.extend(_describe(operation, table, dialect))
    return lines


def _describe(operation: ops.MigrateOperation, table: str, dialect: Dialect) -> list[str]:
    match operation:
        case ops.CreateTableOp():
            return [f"table {table} {_MISSING}"]
        case ops.DropTableOp():
            return [f"table {table} {_EXTRA}"]
        case ops.AddColumnOp(column=column):
            return [f"column {table}.{column.name} {_MISSING}"]
        case ops.DropColumnOp(column_name=name):
            return [f"column {table}.{name} {_EXTRA}"]
        case ops.AlterColumnOp():
            return _altered(operation, table, dialect)
        case ops.CreateIndexOp():
            return [f"index {operation.index_name} on {table} {_MISSING}"]
        case ops.DropIndexOp():
            return [f"index {operation.index_name} on {table} {_EXTRA}"]
        case ops.CreateForeignKeyOp():
            local = ", ".join(operation.local_cols)
            return [f"foreign key {table}({local}) -> {operation.referent_table} {_MISSING}"]
        case ops.DropConstraintOp():
            return [f"constraint {operation.constraint_name} on {table} {_EXTRA}"]
        case ops.CreateTableCommentOp() | ops.DropTableCommentOp():
            return [f"the comment of table {table} differs from the revisions"]
    return [f"{table}: {type(operation).__name__} differs from the revisions"]


def _altered(operation: ops.AlterColumnOp, table: str, dialect: Dialect) -> list[str]:
    column = f"column {table}.{operation.column_name}"
    lines: list[str] = []
    if operation.modify_type is not None and operation.existing_type is not None:
        live = display_type(operation.existing_type, dialect)
        wanted = display_type(operation.modify_type, dialect)
        lines.append(f"{column} is {live} in the database, {wanted} in the revisions")
    if operation.modify_nullable is not None:
        live_null = "NOT NULL" if operation.modify_nullable else "nullable"
        wanted_null = "nullable" if operation.modify_nullable else "NOT NULL"
        lines.append(f"{column} is {live_null} in the database, {wanted_null} in the revisions")
    if operation.modify_server_default is not False:
        live_default = default_literal(operation.existing_server_default or None)
        wanted_default = default_literal(operation.modify_server_default)
        lines.append(
            f"{column} defaults to {live_default!r} in the database, "
            f"{wanted_default!r} in the revisions"
        )
    if operation.modify_comment is not False:
        lines.append(f"the comment of {column} differs from the revisions")
    return lines or [f"{column} differs from the revisions"]
