"""Full-text search objects in revisions, planned from the blueprints' difference.

The search objects (see :mod:`bastion.adapters.sql.search`) are not in the
metadata autogenerate compares, and one database cannot see the other's (an
FTS5 table and triggers on SQLite, a generated column on PostgreSQL). Like a
decimal rescale, they are planned from the last revision's snapshot and the
blueprint instead, in blocks that run on one dialect each:

- the search objects of a table whose search changes (new or dropped
  searchable fields, a new or dropped table) are dropped first thing in the
  revision and created, with the existing rows indexed, last thing;
- so are those of a table the revision alters in a way that would break them:
  on SQLite a change for which batch mode copies the table (which drops its
  triggers and renumbers its rowids), on PostgreSQL a type change of a
  searchable column (which a generated column refuses).

A plan with nothing else to do has no search work either, so planning twice
stays empty.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from alembic.operations import ops

from bastion.adapters.sql.migrations.neutral import OnDialect
from bastion.adapters.sql.migrations.operations import Change
from bastion.adapters.sql.search import SearchIndex, search_indexes
from bastion.adapters.sql.types import DIALECTS, Dialect
from bastion.blueprint import Blueprint

__all__ = ["SearchPlan", "search_differences", "search_plan"]

_IN_PLACE_ON_SQLITE = (ops.AddColumnOp, ops.CreateIndexOp, ops.DropIndexOp)
"""What SQLite's batch mode does without copying the table (Alembic's
``requires_recreate_in_batch``; Bastion's server defaults are plain literals)."""

_DIALECT_NAMES: dict[Dialect, str] = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}


@dataclass
class SearchPlan:
    """The search work of one revision, in the four places it goes."""

    changes: list[Change] = field(default_factory=list)
    """What it does, described."""
    upgrade_first: list[ops.MigrateOperation] = field(default_factory=list)
    """Drops before the upgrade's other operations."""
    upgrade_last: list[ops.MigrateOperation] = field(default_factory=list)
    """Creations after them."""
    downgrade_first: list[ops.MigrateOperation] = field(default_factory=list)
    """Drops before the downgrade's other operations."""
    downgrade_last: list[ops.MigrateOperation] = field(default_factory=list)
    """Creations after them."""


def search_differences(*, recorded: Blueprint, wanted: Blueprint) -> list[str]:
    """The search changes from ``recorded`` to ``wanted``, described (for ``migrate status``)."""
    old, new = search_indexes(recorded), search_indexes(wanted)
    return [
        _describe(old.get(table), new.get(table), table)
        for table in sorted(old.keys() | new.keys())
        if old.get(table) != new.get(table)
    ]


def search_plan(*, recorded: Blueprint, wanted: Blueprint, upgrade: ops.UpgradeOps) -> SearchPlan:
    """The search work a revision doing ``upgrade`` from ``recorded`` to ``wanted`` needs."""
    old, new = search_indexes(recorded), search_indexes(wanted)
    altered = {dialect: _altered_tables(upgrade, dialect, old) for dialect in DIALECTS}
    plan = SearchPlan()
    for table in sorted(old.keys() | new.keys()):
        before, after = old.get(table), new.get(table)
        if before != after:
            dialects: tuple[Dialect, ...] = DIALECTS
            plan.changes.append(Change(_describe(before, after, table)))
        else:
            dialects = tuple(d for d in DIALECTS if table in altered[d])
            for dialect in dialects:
                text = f"rebuild full-text search on {table} ({_DIALECT_NAMES[dialect]} only)"
                plan.changes.append(Change(text))
        for dialect in dialects:
            plan.upgrade_first += _block(before, dialect, create=False)
            plan.upgrade_last += _block(after, dialect, create=True)
            plan.downgrade_first += _block(after, dialect, create=False)
            plan.downgrade_last += _block(before, dialect, create=True)
    return plan


def _describe(before: SearchIndex | None, after: SearchIndex | None, table: str) -> str:
    if after is None:
        return f"drop full-text search on {table}"
    fields = ", ".join(after.fields)
    if before is None:
        return f"create full-text search on {table} ({fields})"
    return f"change full-text search on {table} to ({fields})"


def _block(index: SearchIndex | None, dialect: Dialect, *, create: bool) -> list[OnDialect]:
    if index is None:
        return []
    statements = index.create(dialect) if create else index.drop(dialect)
    return [OnDialect(dialect, [ops.ExecuteSQLOp(statement) for statement in statements])]


def _altered_tables(
    upgrade: ops.UpgradeOps, dialect: Dialect, searched: dict[str, SearchIndex]
) -> set[str]:
    """The tables with search that ``upgrade`` changes in a way breaking it on ``dialect``."""
    tables: set[str] = set()
    for table, operation in _operations_on(upgrade.ops, dialect):
        if table not in searched:
            continue
        if dialect == "sqlite":
            if not isinstance(operation, _IN_PLACE_ON_SQLITE):
                tables.add(table)
        elif (
            isinstance(operation, ops.AlterColumnOp)
            and operation.modify_type is not None
            and operation.column_name in searched[table].fields
        ):
            tables.add(table)
    return tables


def _operations_on(
    operations: list[ops.MigrateOperation], dialect: Dialect
) -> Iterator[tuple[str, ops.MigrateOperation]]:
    """Every table operation that runs on ``dialect``, with its table."""
    for operation in operations:
        if isinstance(operation, OnDialect):
            if operation.dialect == dialect:
                yield from _operations_on(operation.operations, dialect)
        elif isinstance(operation, ops.ModifyTableOps):
            for inner in operation.ops:
                yield operation.table_name, inner
