"""Revisions that are right on every dialect, whichever one they were planned on.

Users plan on SQLite and deploy on PostgreSQL with the same revision files.
Autogenerate compares the live database with the metadata on *its* dialect
only, so three steps on its operations make them hold for both:

1. :func:`use_recorded`: drops and alterations describe the old columns and
   tables as the last revision's snapshot declares them (types with their
   SQLite variants), not as reflected from this database, so downgrades are
   neutral too.
2. :func:`add_unseen_changes`: changes this dialect cannot see are added from
   the difference between the snapshot and the blueprint: a decimal's new
   precision (SQLite keeps a ``BIGINT`` either way), a ``uuid`` field that
   was a 36-character string, any comment (SQLite stores none).
3. :func:`split_by_dialect`: the part of an alteration that changes one
   dialect only moves into an :class:`OnDialect` block, so the other is not
   asked for a pointless table copy (SQLite's batch mode recreates a table
   for every ``ALTER COLUMN``).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.operations import ops

from bastion.adapters.sql.migrations.compare import type_changes_on, type_shape
from bastion.adapters.sql.migrations.signatures import display_type
from bastion.adapters.sql.migrations.snapshot import Rename
from bastion.adapters.sql.types import DIALECTS, Dialect

__all__ = [
    "CastingAlterColumnOp",
    "OnDialect",
    "add_unseen_changes",
    "split_by_dialect",
    "use_recorded",
]

_TABLE_COMMENT_OPS = (ops.CreateTableCommentOp, ops.DropTableCommentOp)


class OnDialect(ops.MigrateOperation):
    """Operations that run on one dialect only.

    A revision file spells it ``if op.get_bind().dialect.name == "sqlite":``
    followed by the operations.

    Attributes:
        dialect: Where the operations run.
        operations: What runs there, in order.
    """

    def __init__(self, dialect: Dialect, operations: list[ops.MigrateOperation]) -> None:
        """Run ``operations`` on ``dialect`` only."""
        self.dialect = dialect
        self.operations = operations

    def reverse(self) -> OnDialect:
        """The operations undoing these, on the same dialect."""
        return OnDialect(self.dialect, [o.reverse() for o in reversed(self.operations)])


class CastingAlterColumnOp(ops.AlterColumnOp):
    """A column alteration PostgreSQL can only make by casting each value (``USING``).

    ``VARCHAR`` to ``UUID``, ``TEXT`` to ``JSONB``: PostgreSQL refuses such a
    type change unless told how to convert the values.

    Attributes:
        using: The conversion: ``"owner"::UUID``.
    """

    def __init__(self, alteration: ops.AlterColumnOp, *, using: str) -> None:
        """The same alteration as ``alteration``, converting values with ``using``."""
        super().__init__(
            alteration.table_name,
            alteration.column_name,
            schema=alteration.schema,
            existing_type=alteration.existing_type,
            existing_server_default=alteration.existing_server_default,
            existing_nullable=alteration.existing_nullable,
            existing_comment=alteration.existing_comment,
            modify_nullable=alteration.modify_nullable,
            modify_comment=alteration.modify_comment,
            modify_server_default=alteration.modify_server_default,
            modify_name=alteration.modify_name,
            modify_type=alteration.modify_type,
            **alteration.kw,
        )
        self.using = using


def use_recorded(upgrade: ops.UpgradeOps, recorded: sa.MetaData) -> None:
    """Describe what ``upgrade`` drops or alters as ``recorded`` declares it (in place)."""
    for position, operation in enumerate(upgrade.ops):
        if isinstance(operation, ops.DropTableOp) and operation.table_name in recorded.tables:
            upgrade.ops[position] = ops.DropTableOp.from_table(
                recorded.tables[operation.table_name]
            )
        elif isinstance(operation, ops.ModifyTableOps) and operation.table_name in recorded.tables:
            table = recorded.tables[operation.table_name]
            operation.ops = [_recorded_form(inner, table) for inner in operation.ops]


def _recorded_form(operation: ops.MigrateOperation, table: sa.Table) -> ops.MigrateOperation:
    if isinstance(operation, ops.DropColumnOp) and operation.column_name in table.c:
        return ops.DropColumnOp.from_column_and_tablename(
            operation.schema, table.name, table.c[operation.column_name]
        )
    if isinstance(operation, ops.DropIndexOp):
        for index in table.indexes:
            if index.name == operation.index_name:
                return ops.DropIndexOp.from_index(index)
    if isinstance(operation, ops.AlterColumnOp) and operation.column_name in table.c:
        column = table.c[operation.column_name]
        operation.existing_type = column.type
        operation.existing_nullable = column.nullable
        operation.existing_server_default = column.server_default or False
        operation.existing_comment = column.comment
    return operation


def add_unseen_changes(
    upgrade: ops.UpgradeOps, *, recorded: sa.MetaData, wanted: sa.MetaData, renames: list[Rename]
) -> None:
    """Add to ``upgrade`` the type and comment changes from ``recorded`` to ``wanted`` it lacks.

    Renamed columns are left out: folding the rename compares them itself.
    """
    renamed = {(table, name) for table, old, new in renames for name in (old, new)}
    for name, table in wanted.tables.items():
        before = recorded.tables.get(name)
        if before is None:
            continue
        batch = _batch_of(upgrade, name)
        if before.comment != table.comment and not any(
            isinstance(o, _TABLE_COMMENT_OPS) for o in batch.ops
        ):
            batch.ops.append(
                ops.DropTableCommentOp(name, existing_comment=before.comment)
                if table.comment is None
                else ops.CreateTableCommentOp(name, table.comment, existing_comment=before.comment)
            )
        for column in table.columns:
            if (name, column.name) in renamed or column.name not in before.c:
                continue
            old = before.c[column.name]
            new_type = bool(type_changes_on(old.type, column.type))
            new_comment = old.comment != column.comment
            if not (new_type or new_comment):
                continue
            alteration = _alteration_of(batch, old)
            if new_type and alteration.modify_type is None:
                alteration.modify_type = column.type
            if new_comment and alteration.modify_comment is False:
                alteration.modify_comment = column.comment
        if batch.ops and batch not in upgrade.ops:
            upgrade.ops.insert(_before_drops(upgrade), batch)


def _batch_of(upgrade: ops.UpgradeOps, table: str) -> ops.ModifyTableOps:
    for operation in upgrade.ops:
        if isinstance(operation, ops.ModifyTableOps) and operation.table_name == table:
            return operation
    return ops.ModifyTableOps(table, [])


def _alteration_of(batch: ops.ModifyTableOps, column: sa.Column[Any]) -> ops.AlterColumnOp:
    for operation in batch.ops:
        if isinstance(operation, ops.AlterColumnOp) and operation.column_name == column.name:
            return operation
    alteration = ops.AlterColumnOp(
        batch.table_name,
        column.name,
        existing_type=column.type,
        existing_nullable=column.nullable,
        existing_server_default=column.server_default or False,
        existing_comment=column.comment,
    )
    batch.ops.append(alteration)
    return alteration


def _before_drops(upgrade: ops.UpgradeOps) -> int:
    dropped = {o.table_name for o in upgrade.ops if isinstance(o, ops.DropTableOp)}
    for position, operation in enumerate(upgrade.ops):
        if isinstance(operation, ops.DropTableOp) or (
            isinstance(operation, ops.ModifyTableOps) and operation.table_name in dropped
        ):
            return position
    return len(upgrade.ops)


def split_by_dialect(container: ops.OpContainer) -> None:
    """Move what changes one dialect only into :class:`OnDialect` blocks (in place).

    Each block follows the batch it came from. Comments go to PostgreSQL only
    (SQLite has none); a type change goes where the type really changes.
    """
    result: list[ops.MigrateOperation] = []
    for operation in container.ops:
        if not isinstance(operation, ops.ModifyTableOps):
            result.append(operation)
            continue
        kept: list[ops.MigrateOperation] = []
        only: dict[Dialect, list[ops.MigrateOperation]] = {d: [] for d in DIALECTS}
        for inner in operation.ops:
            if isinstance(inner, _TABLE_COMMENT_OPS):
                only["postgresql"].append(inner)
            elif isinstance(inner, ops.AlterColumnOp):
                kept_part, parts = _split_alteration(inner)
                for dialect, part in parts:
                    only[dialect].append(part)
                if _alters_anything(kept_part):
                    kept.append(kept_part)
            else:
                kept.append(inner)
        if kept:
            result.append(ops.ModifyTableOps(operation.table_name, kept, schema=operation.schema))
        for dialect in DIALECTS:
            if only[dialect]:
                block = ops.ModifyTableOps(operation.table_name, only[dialect])
                result.append(OnDialect(dialect, [block]))
    container.ops = result


def _split_alteration(
    alteration: ops.AlterColumnOp,
) -> tuple[ops.AlterColumnOp, list[tuple[Dialect, ops.AlterColumnOp]]]:
    """``alteration`` without its one-dialect parts, and those parts as alterations of their own."""
    parts: list[tuple[Dialect, ops.AlterColumnOp]] = []
    column = alteration.modify_name or alteration.column_name
    old_type, new_type = alteration.existing_type, alteration.modify_type
    using = None
    if new_type is not None and old_type is not None:
        using = _using(column, old_type, new_type)
        changed = type_changes_on(old_type, new_type)
        if len(changed) < len(DIALECTS):
            alteration.modify_type = None
            for dialect in changed:
                part = _part(alteration, modify_type=new_type)
                cast = using if dialect == "postgresql" else None
                parts.append(
                    (dialect, part if cast is None else CastingAlterColumnOp(part, using=cast))
                )
            using = None
    if alteration.modify_comment is not False:
        comment = alteration.modify_comment
        alteration.modify_comment = False
        part = _part(alteration, modify_comment=comment)
        part.existing_type = new_type or old_type
        parts.append(("postgresql", part))
    if using is not None:
        alteration = CastingAlterColumnOp(alteration, using=using)
    return alteration, parts


def _part(alteration: ops.AlterColumnOp, **change: Any) -> ops.AlterColumnOp:
    """An alteration of the same column, as it is once what stays in ``alteration`` has run."""
    nullable, default = alteration.modify_nullable, alteration.modify_server_default
    return ops.AlterColumnOp(
        alteration.table_name,
        alteration.modify_name or alteration.column_name,
        existing_type=alteration.modify_type or alteration.existing_type,
        existing_nullable=alteration.existing_nullable if nullable is None else nullable,
        existing_server_default=(
            alteration.existing_server_default if default is False else default
        ),
        existing_comment=alteration.existing_comment,
        **change,
    )


def _using(column: str, old: sa.types.TypeEngine[Any], new: sa.types.TypeEngine[Any]) -> str | None:
    """The ``USING`` cast when PostgreSQL cannot convert the values by itself."""
    before, after = type_shape(old, "postgresql"), type_shape(new, "postgresql")
    if before is None or after is None or before[0] == after[0]:
        return None
    quoted = column.replace('"', '""')
    return f'"{quoted}"::{display_type(new, "postgresql")}'


def _alters_anything(alteration: ops.AlterColumnOp) -> bool:
    return (
        alteration.modify_type is not None
        or alteration.modify_nullable is not None
        or alteration.modify_server_default is not False
        or alteration.modify_comment is not False
        or alteration.modify_name is not None
    )
