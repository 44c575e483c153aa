"""Planning: the revision that brings a database to the blueprint, checked before it is written.

Example::

    plan = await plan_migration(blueprint=blueprint, database_url=url,
                                migrations_dir=Path("migrations"))
    print(plan.operations, plan.destructive, plan.drift)
    print(plan.sql)                      # read it, commit plan.path, then apply

The revision holds on SQLite and PostgreSQL alike, whichever one it was
planned on: develop on one, deploy on the other with the same files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from alembic.operations import ops

from bastion.adapters.sql.migrations.append_only import append_only_plan
from bastion.adapters.sql.migrations.diff import compare_schema
from bastion.adapters.sql.migrations.engine import connect, migration_engine
from bastion.adapters.sql.migrations.errors import (
    DestructiveChange,
    MigrationsPending,
    RequiredFieldWithoutDefault,
)
from bastion.adapters.sql.migrations.history import database_revision, load_history
from bastion.adapters.sql.migrations.neutral import OnDialect
from bastion.adapters.sql.migrations.operations import Change, describe_changes, table_operations
from bastion.adapters.sql.migrations.preview import preview_sql
from bastion.adapters.sql.migrations.recorded import recorded_metadata
from bastion.adapters.sql.migrations.reports import MigrationPlan
from bastion.adapters.sql.migrations.rescale import decimal_rescales
from bastion.adapters.sql.migrations.revisions import render_revision, write_revision
from bastion.adapters.sql.migrations.search import search_plan
from bastion.adapters.sql.migrations.snapshot import renames_of, snapshot_of
from bastion.adapters.sql.schema import build_metadata
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import Blueprint, with_identity

__all__ = ["plan_migration"]


async def plan_migration(
    *,
    blueprint: Blueprint,
    database_url: str,
    migrations_dir: Path,
    message: str | None = None,
    allow_destructive: bool = False,
    write: bool = True,
) -> MigrationPlan:
    """Plan the revision that brings the database at ``database_url`` to ``blueprint``.

    Args:
        blueprint: The blueprint wanted.
        database_url: The database compared against; it must have applied every revision.
        migrations_dir: The project's migrations folder (``versions/`` is created inside).
        message: One line for the revision; by default a summary of its operations.
        allow_destructive: Plan drops, type narrowing and NOT NULL changes too.
        write: Write the revision file (``False`` only reports what it would hold).

    Raises:
        DatabaseUnreachable: the database cannot be connected to.
        MigrationsPending: the database has not applied every revision yet.
        DestructiveChange: the change can lose data and ``allow_destructive`` is false.
        RequiredFieldWithoutDefault: a required field without default is added to a table.
    """
    blueprint = with_identity(blueprint)
    url = parse_database_url(database_url)
    history = load_history(migrations_dir)
    recorded_blueprint, renames = history.schema(), renames_of(blueprint)
    recorded = await recorded_metadata(history, url.dialect)
    wanted = build_metadata(blueprint, url.dialect)
    engine = migration_engine(url)
    try:
        async with connect(engine, url) as connection:
            pending = history.after(await connection.run_sync(database_revision))
            if pending:
                raise MigrationsPending([revision.id for revision in pending])
            diff = await connection.run_sync(
                lambda sync: compare_schema(
                    sync,
                    wanted=wanted,
                    recorded=recorded,
                    tables=history.tables() | set(recorded.tables) | set(wanted.tables),
                    dialect=url.dialect,
                    renames=renames,
                )
            )
        rescales = decimal_rescales(recorded=recorded_blueprint, wanted=blueprint, renames=renames)
        search = search_plan(recorded=recorded_blueprint, wanted=blueprint, upgrade=diff.upgrade)
        changes = describe_changes(diff.upgrade, url.dialect) + [r.change for r in rescales]
        changes += search.changes
        append_only = append_only_plan(diff.upgrade)
        changes += append_only.changes
        diff.upgrade.ops[:0] = search.upgrade_first
        diff.upgrade.ops.extend(rescale.upgrade() for rescale in rescales)
        diff.upgrade.ops.extend(search.upgrade_last)
        diff.upgrade.ops.extend(append_only.upgrade_last)
        diff.downgrade.ops[:0] = [*search.downgrade_first, *(r.downgrade() for r in rescales)]
        diff.downgrade.ops.extend(search.downgrade_last)
        diff.downgrade.ops.extend(append_only.downgrade_last)
        if not changes:
            return MigrationPlan(
                revision=None, path=None, operations=[], destructive=[], sql="", drift=diff.drift
            )
        _refuse_unsafe(changes, allow_destructive=allow_destructive)
        revision = render_revision(
            history=history,
            upgrade=diff.upgrade,
            downgrade=diff.downgrade,
            message=message or _summary(diff.upgrade),
            snapshot=snapshot_of(blueprint),
        )
        sql = await preview_sql(source=revision.source, path=revision.path, url=url, engine=engine)
    finally:
        await engine.dispose()
    if write:
        write_revision(revision)
    return MigrationPlan(
        revision=revision.id,
        path=revision.path if write else None,
        operations=[change.description for change in changes],
        destructive=[change.description for change in changes if change.loses_data],
        sql=sql,
        drift=diff.drift,
    )


def _refuse_unsafe(changes: list[Change], *, allow_destructive: bool) -> None:
    unsatisfiable = [change.unsatisfiable for change in changes if change.unsatisfiable]
    if unsatisfiable:
        raise RequiredFieldWithoutDefault(unsatisfiable)
    losing = [(change.description, change.loses_data) for change in changes if change.loses_data]
    if losing and not allow_destructive:
        raise DestructiveChange(losing)


def _summary(upgrade: ops.UpgradeOps) -> str:
    """``create tags; alter orders``: the tables touched, by what happens to them."""
    verbs: dict[str, str] = {}
    for table, operation in _every_operation(upgrade):
        if not table:
            continue
        if isinstance(operation, ops.CreateTableOp):
            verbs[table] = "create"
        elif isinstance(operation, ops.DropTableOp):
            verbs[table] = "drop"
        else:
            verbs.setdefault(table, "alter")
    grouped: dict[str, list[str]] = {}
    for table, verb in verbs.items():
        grouped.setdefault(verb, []).append(table)
    return "; ".join(f"{verb} {', '.join(tables)}" for verb, tables in grouped.items())


def _every_operation(container: ops.OpContainer) -> Iterator[tuple[str, ops.MigrateOperation]]:
    """Like ``table_operations``, looking inside blocks that run on one dialect."""
    for table, operation in table_operations(container):
        if isinstance(operation, OnDialect):
            yield from _every_operation(ops.UpgradeOps(ops=operation.operations))
        else:
            yield table, operation
