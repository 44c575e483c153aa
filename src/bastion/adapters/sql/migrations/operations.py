"""Planned operations described for people, and judged for the data they can lose."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from alembic.operations import ops

from bastion.adapters.sql.migrations.compare import default_literal, is_widening
from bastion.adapters.sql.migrations.neutral import OnDialect
from bastion.adapters.sql.migrations.signatures import display_type
from bastion.adapters.sql.schema import Dialect, PerDialectDefault

__all__ = ["Change", "describe_changes", "table_operations"]

_DIALECT_NAMES: dict[Dialect, str] = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

_CONSTRAINT_KINDS = {
    "foreignkey": "foreign key",
    "unique": "unique constraint",
    "check": "check constraint",
    "primary": "primary key",
}


@dataclass(frozen=True, slots=True)
class Change:
    """One change a revision makes."""

    description: str
    """What it does: ``add column orders.note (VARCHAR(200))``."""
    loses_data: str | None = None
    """Why it can lose data, for a destructive change; ``None`` otherwise."""
    unsatisfiable: str | None = None
    """For a NOT NULL column without a default added to a table that may already hold
    rows (existing rows cannot satisfy it): the column, as ``table.column``."""


def table_operations(
    container: ops.OpContainer,
) -> Iterator[tuple[str, ops.MigrateOperation]]:
    """Every operation of ``container`` with the table it changes, batches flattened."""
    for operation in container.ops:
        if isinstance(operation, ops.ModifyTableOps):
            for inner in operation.ops:
                yield operation.table_name, inner
        else:
            yield str(getattr(operation, "table_name", "")), operation


def describe_changes(container: ops.OpContainer, dialect: Dialect) -> list[Change]:
    """The changes ``container`` makes, in the order it makes them."""
    changes: list[Change] = []
    for table, operation in table_operations(container):
        changes.extend(_describe(operation, table, dialect))
    return changes


def _describe(operation: ops.MigrateOperation, table: str, dialect: Dialect) -> list[Change]:
    match operation:
        case ops.CreateTableOp():
            return [Change(f"create table {table}")]
        case ops.DropTableOp():
            return [Change(f"drop table {table}", f"every row of {table} is deleted")]
        case ops.AddColumnOp(column=column):
            return [_add_column(table, column, dialect)]
        case ops.DropColumnOp(column_name=name):
            return [
                Change(f"drop column {table}.{name}", f"every value of {table}.{name} is deleted")
            ]
        case ops.AlterColumnOp():
            return _alter_column(operation, table, dialect)
        case ops.CreateIndexOp():
            unique = "unique " if operation.unique else ""
            columns = ", ".join(str(getattr(c, "name", c)) for c in operation.columns)
            return [Change(f"create {unique}index {operation.index_name} on {table} ({columns})")]
        case ops.DropIndexOp():
            return [Change(f"drop index {operation.index_name} on {table}")]
        case ops.CreateForeignKeyOp():
            local = ", ".join(operation.local_cols)
            remote = ", ".join(operation.remote_cols)
            return [
                Change(f"add foreign key {table}({local}) -> {operation.referent_table}({remote})")
            ]
        case ops.DropConstraintOp():
            kind = _CONSTRAINT_KINDS.get(operation.constraint_type or "", "constraint")
            return [Change(f"drop {kind} {operation.constraint_name} on {table}")]
        case ops.CreateTableCommentOp() | ops.DropTableCommentOp():
            return [Change(f"change comment of table {table}")]
        case OnDialect():
            only = f" ({_DIALECT_NAMES[operation.dialect]} only)"
            inner = ops.UpgradeOps(ops=operation.operations)
            return [
                Change(change.description + only, change.loses_data, change.unsatisfiable)
                for change in describe_changes(inner, operation.dialect)
            ]
        case ops.ExecuteSQLOp():
            return [Change(f"run SQL: {operation.sqltext}")]
    return [Change(f"{type(operation).__name__} on {table}")]


def _add_column(table: str, column: sa.Column[Any], dialect: Dialect) -> Change:
    details = display_type(column.type, dialect)
    default = (
        column.server_default.literals["postgresql"]  # the value, not SQLite's scaled integer
        if isinstance(column.server_default, PerDialectDefault)
        else default_literal(column.server_default)
    )
    if not column.nullable:
        details += ", NOT NULL"
    if default is not None:
        details += f", default {default!r}"
    return Change(
        f"add column {table}.{column.name} ({details})",
        unsatisfiable=(
            f"{table}.{column.name}"
            if not column.nullable and column.server_default is None
            else None
        ),
    )


def _alter_column(operation: ops.AlterColumnOp, table: str, dialect: Dialect) -> list[Change]:
    # A rename runs last in the ALTER, but readers think of the column by its new name.
    column = f"{table}.{operation.modify_name or operation.column_name}"
    changes: list[Change] = []
    if operation.modify_type is not None:
        before = display_type(operation.existing_type, dialect) if operation.existing_type else "?"
        after = display_type(operation.modify_type, dialect)
        loses = None
        if operation.existing_type is None or not is_widening(
            operation.existing_type, operation.modify_type
        ):
            loses = f"values of {column} that do not fit {after} are converted, cut or refused"
        changes.append(Change(f"change type of {column} from {before} to {after}", loses))
    if operation.modify_nullable is False:
        changes.append(
            Change(
                f"make {column} NOT NULL",
                f"rows where {column} is null make the migration fail until they are filled",
            )
        )
    elif operation.modify_nullable is True:
        changes.append(Change(f"make {column} nullable"))
    if operation.modify_server_default is not False:
        literal = default_literal(operation.modify_server_default)
        text = f"set default of {column} to {literal!r}" if literal else f"drop default of {column}"
        changes.append(Change(text))
    if operation.modify_comment is not False:
        changes.append(Change(f"change comment of {column}"))
    if operation.modify_name is not None:
        renamed = f"rename column {table}.{operation.column_name} -> {column}"
        changes.insert(0, Change(renamed))
    return changes
