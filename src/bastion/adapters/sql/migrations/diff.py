"""The difference between the live database and the blueprint, as Alembic operations.

These rules on top of Alembic's autogenerate make the result safe to replay
on every other copy of the database (staging, production, a colleague's
laptop):

- Only objects the blueprint changed are touched. An object with the same
  definition in the last revision's snapshot and in the blueprint was changed
  by hand if the live database differs; that is *drift*, reported, never
  folded into the revision (where it would fail on databases without it).
- A field declared with ``renamed_from`` turns the pair "drop old column, add
  new column" into a column rename, so the data stays.
- Only Bastion's tables are compared (see :func:`autogenerate_options`).
- Bastion's own tables (``bastion_*``) are shaped by Bastion's code, not by
  the blueprint: every difference in them is planned, none is drift.
- An index created on a table that already exists is created
  ``if_not_exists`` (and dropped ``if_exists``), after (before) its table's
  batch: a copy of the database that has it already runs the revision
  unchanged. That copy may be one where the index was built ahead by hand, as
  a big PostgreSQL table wants (``CREATE INDEX CONCURRENTLY``, which does not
  block writes, cannot run in the transaction each revision runs in). For the
  same reason an index change from the snapshot to the blueprint is planned
  even when the live database made it ahead: every other copy needs it.

"The last revision's snapshot" is the schema the revisions left behind, with
the indexes they really created (see
:mod:`~bastion.adapters.sql.migrations.recorded`), so an index a newer Bastion
derives is planned like a blueprint change.

The result holds on every dialect, whichever one the live database uses
(see :mod:`~bastion.adapters.sql.migrations.neutral`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from alembic.autogenerate import produce_migrations
from alembic.migration import MigrationContext
from alembic.operations import ops

from bastion.adapters.sql.internal_tables import INTERNAL_TABLES, add_internal_tables
from bastion.adapters.sql.migrations.compare import (
    autogenerate_options,
    default_literal,
    type_changes_on,
)
from bastion.adapters.sql.migrations.drift import describe_drift
from bastion.adapters.sql.migrations.neutral import (
    add_unseen_changes,
    split_by_dialect,
    use_recorded,
)
from bastion.adapters.sql.migrations.operations import describe_changes, table_operations
from bastion.adapters.sql.migrations.ordering import canonical_order
from bastion.adapters.sql.migrations.signatures import (
    ObjectKey,
    operation_key,
    schema_signatures,
)
from bastion.adapters.sql.migrations.snapshot import Rename
from bastion.adapters.sql.schema import NAMING_CONVENTION, Dialect

__all__ = ["SchemaDiff", "compare_schema", "internal_changes", "live_drift"]

_ColumnOp = TypeVar("_ColumnOp", ops.AddColumnOp, ops.DropColumnOp)


@dataclass(frozen=True)
class SchemaDiff:
    """What a new revision must do, and how the database drifted from the last one."""

    upgrade: ops.UpgradeOps
    """Operations from the live database to the blueprint."""
    downgrade: ops.DowngradeOps
    """Operations undoing ``upgrade``."""
    drift: list[str]
    """Differences between the live database and the last revision, described."""


def compare_schema(
    connection: sa.Connection,
    *,
    wanted: sa.MetaData,
    recorded: sa.MetaData,
    tables: set[str],
    dialect: Dialect,
    renames: list[Rename],
) -> SchemaDiff:
    """Compare the database behind ``connection`` with ``wanted``.

    Args:
        connection: A connection to the live database (run through ``run_sync``).
        wanted: The metadata of the blueprint.
        recorded: The metadata of the last revision's snapshot (empty before the first).
        tables: The tables Bastion owns: blueprint resources and every table a
            revision created. Nothing else is looked at.
        dialect: The database's dialect.
        renames: The blueprint's ``renamed_from`` declarations.
    """
    upgrade = canonical_order(
        _blueprint_changes(
            _autogenerate(connection, wanted, tables),
            schema_signatures(recorded),
            schema_signatures(wanted),
        )
    )
    use_recorded(upgrade, recorded)
    add_unseen_changes(upgrade, recorded=recorded, wanted=wanted, renames=renames)
    _add_index_changes_made_ahead(upgrade, recorded=recorded, wanted=wanted)
    downgrade = upgrade.reverse()
    _fold_renames(upgrade, renames, forward=True)
    _fold_renames(downgrade, renames, forward=False)
    split_by_dialect(upgrade)
    split_by_dialect(downgrade)
    _guard_index_changes(upgrade)
    _guard_index_changes(downgrade)
    return SchemaDiff(
        upgrade=upgrade,
        downgrade=downgrade,
        drift=live_drift(connection, recorded=recorded, tables=tables, dialect=dialect),
    )


def live_drift(
    connection: sa.Connection, *, recorded: sa.MetaData, tables: set[str], dialect: Dialect
) -> list[str]:
    """How the database behind ``connection`` differs from ``recorded``, described.

    Wrong column types are among them: a PostgreSQL database whose ids are
    ``VARCHAR(36)`` reports each such column. Bastion's own tables are left
    out: any difference in them is planned (see :func:`internal_changes`).
    """
    compared = tables - INTERNAL_TABLES
    return describe_drift(canonical_order(_autogenerate(connection, recorded, compared)), dialect)


def internal_changes(connection: sa.Connection, *, dialect: Dialect) -> list[str]:
    """What a plan would change in Bastion's own tables, described (for ``migrate status``).

    Their shape comes with Bastion's code, so a newer Bastion can need a
    revision that no blueprint change asked for.
    """
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    add_internal_tables(metadata)
    upgrade = _autogenerate(connection, metadata, set(metadata.tables))
    return [change.description for change in describe_changes(upgrade, dialect)]


def _autogenerate(
    connection: sa.Connection, metadata: sa.MetaData, tables: set[str]
) -> ops.UpgradeOps:
    options = autogenerate_options(metadata=metadata, tables=tables)
    context = MigrationContext.configure(connection=connection, opts=options)
    upgrade = produce_migrations(context, metadata).upgrade_ops
    assert upgrade is not None  # produce_migrations always fills it
    return upgrade


def _blueprint_changes(
    upgrade: ops.UpgradeOps, recorded: dict[ObjectKey, str], wanted: dict[ObjectKey, str]
) -> ops.UpgradeOps:
    def asked_for(operation: ops.MigrateOperation, table: str) -> bool:
        key = operation_key(operation, table)
        return table in INTERNAL_TABLES or key is None or recorded.get(key) != wanted.get(key)

    kept: list[ops.MigrateOperation] = []
    for operation in upgrade.ops:
        if isinstance(operation, ops.ModifyTableOps):
            inner = [o for o in operation.ops if asked_for(o, operation.table_name)]
            if inner:
                kept.append(ops.ModifyTableOps(operation.table_name, inner))
        elif asked_for(operation, str(getattr(operation, "table_name", ""))):
            kept.append(operation)
    return ops.UpgradeOps(ops=kept)


def _add_index_changes_made_ahead(
    upgrade: ops.UpgradeOps, *, recorded: sa.MetaData, wanted: sa.MetaData
) -> None:
    """Add to ``upgrade`` the index changes from ``recorded`` to ``wanted`` it lacks (in place).

    Autogenerate proposes none for an index the live database already has as
    wanted (built ahead by hand), nor for one it already lacks.
    """
    planned = {operation_key(o, table) for table, o in table_operations(upgrade)}
    old, new = schema_signatures(recorded), schema_signatures(wanted)
    batches: list[ops.MigrateOperation] = []
    for name, table in wanted.tables.items():
        before = recorded.tables.get(name)
        if before is None:
            continue
        added: list[ops.MigrateOperation] = []
        for index in sorted(before.indexes, key=lambda index: str(index.name)):
            key = ("index", name, str(index.name))
            if key not in planned and old[key] != new.get(key):
                added.append(ops.DropIndexOp.from_index(index))
        for index in sorted(table.indexes, key=lambda index: str(index.name)):
            key = ("index", name, str(index.name))
            if key not in planned and old.get(key) != new[key]:
                added.append(ops.CreateIndexOp.from_index(index))
        if added:
            batches.append(ops.ModifyTableOps(name, added))
    # Before the tables dropped, which come last (see ``canonical_order``).
    kept = set(wanted.tables)
    position = next(
        (i for i, o in enumerate(upgrade.ops) if getattr(o, "table_name", None) not in kept),
        len(upgrade.ops),
    )
    upgrade.ops[position:position] = batches


def _guard_index_changes(container: ops.OpContainer) -> None:
    """Make index changes on tables that exist before ``container`` runs idempotent (in place).

    They leave their table's batch, drops first and creations last: on SQLite a
    batch that copies the table rebuilds the indexes it finds, ignoring
    ``if_not_exists``.
    """
    new = {o.table_name for o in container.ops if isinstance(o, ops.CreateTableOp)}
    result: list[ops.MigrateOperation] = []
    for operation in container.ops:
        if not isinstance(operation, ops.ModifyTableOps) or operation.table_name in new:
            result.append(operation)
            continue
        rest: list[ops.MigrateOperation] = []
        created: list[ops.MigrateOperation] = []
        for inner in operation.ops:
            if isinstance(inner, ops.DropIndexOp):
                inner.if_exists = True
                result.append(inner)
            elif isinstance(inner, ops.CreateIndexOp):
                inner.if_not_exists = True
                created.append(inner)
            else:
                rest.append(inner)
        if rest:
            result.append(ops.ModifyTableOps(operation.table_name, rest, schema=operation.schema))
        result += created
    container.ops = result


def _fold_renames(container: ops.OpContainer, renames: list[Rename], *, forward: bool) -> None:
    folded: list[ops.MigrateOperation] = []
    for operation in container.ops:
        if not isinstance(operation, ops.ModifyTableOps):
            folded.append(operation)
            continue
        renamed: list[ops.MigrateOperation] = []
        for table, old, new in renames:
            if table != operation.table_name:
                continue
            source, target = (old, new) if forward else (new, old)
            dropped = _find(operation, ops.DropColumnOp, source)
            added = _find(operation, ops.AddColumnOp, target)
            if dropped is None or added is None:
                continue
            operation.ops.remove(dropped)
            operation.ops.remove(added)
            renamed.append(_rename(table, dropped.to_column(), added.column))
        # Renames go in a batch of their own, before the table's other changes: SQLite's
        # batch mode cannot build an index on a column renamed in the same batch.
        if renamed:
            folded.append(ops.ModifyTableOps(operation.table_name, renamed))
        if operation.ops:
            folded.append(operation)
    container.ops = folded


def _find(batch: ops.ModifyTableOps, kind: type[_ColumnOp], column: str) -> _ColumnOp | None:
    for operation in batch.ops:
        if isinstance(operation, kind):
            if isinstance(operation, ops.AddColumnOp):
                name = operation.column.name
            else:
                name = operation.column_name
            if name == column:
                return operation
    return None


def _rename(table: str, source: sa.Column[Any], target: sa.Column[Any]) -> ops.AlterColumnOp:
    rename = ops.AlterColumnOp(
        table,
        source.name,
        modify_name=target.name,
        existing_type=source.type,
        existing_nullable=source.nullable,
        existing_server_default=source.server_default or False,
        existing_comment=source.comment,
    )
    if type_changes_on(source.type, target.type):
        rename.modify_type = target.type
    if source.nullable != target.nullable:
        rename.modify_nullable = target.nullable
    if default_literal(source.server_default) != default_literal(target.server_default):
        rename.modify_server_default = target.server_default
    if source.comment != target.comment:
        rename.modify_comment = target.comment
    return rename
