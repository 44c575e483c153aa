"""The schema the revisions leave behind, with the indexes they really made.

Plans and drift both compare against it: what the blueprint asks beyond it is
a change to plan; what the live database lacks of it was changed by hand
(drift). Its tables and columns come from the newest revision's snapshot.
Its *automatic* indexes (those Bastion derives from fields and from what
lists may ask, see :func:`bastion.adapters.sql.schema.automatic_indexes`)
cannot come from applying today's rules to that snapshot: the rules belong to
Bastion's code, and when a newer Bastion derives one more index, every
existing database would lack it although no revision ever created it, and
the plan would see nothing to do (the snapshot and the blueprint agree). So
the recorded schema takes them from what the revisions made:

- a snapshot records the indexes derived when it was planned (see
  :mod:`~bastion.adapters.sql.migrations.snapshot`), and those are used as
  recorded, whatever the rules say today;
- a snapshot written before that record existed gets the indexes today's
  rules derive from it that the revision files really created: they are run
  on an empty in-memory SQLite database, whose indexes are read back (the
  indexes every database that applied them got).

A rule that adds an index is then a blueprint change like any other: listed
by ``migrate status`` as unplanned, created by the next plan (which records
it), and only reported as drift once a revision made it and it went missing.
With a record, a rule that no longer derives an index plans its drop too.

Both, because neither does alone: a record cannot be added to the revisions
already applied everywhere, and running every revision at each ``status``,
plan and production start would cost more as the history grows. The replay
runs only while the newest snapshot has no record, so until the first plan
after upgrading Bastion (about 0.1 s for the example's first revision). Only
indexes today's rules derive are taken from it: an index a hand-written
revision made beside the blueprint stays out of the recorded schema, as
before. Should the revision files not run on SQLite (hand-written SQL for
PostgreSQL only), today's rules stand in for the record, as before it
existed: a missing new index then shows as drift.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from bastion.adapters.sql.migrations.errors import InvalidRevisionFiles
from bastion.adapters.sql.migrations.history import History, Revision
from bastion.adapters.sql.migrations.lock import alembic_proxy
from bastion.adapters.sql.schema import Dialect, IndexSpec, automatic_indexes, build_metadata
from bastion.blueprint import Blueprint

__all__ = ["recorded_metadata"]

_SYSTEM_COLUMNS = frozenset({"id", "created_at", "updated_at", "version"})


async def recorded_metadata(history: History, dialect: Dialect) -> sa.MetaData:
    """The metadata of the schema ``history``'s revisions leave behind, on ``dialect``.

    Raises:
        InvalidRevisionFiles: the newest snapshot does not describe a schema.
    """
    blueprint = history.schema()
    recorded = history.automatic_indexes()
    if recorded is None:
        recorded = await _created_by_revisions(history.revisions, blueprint)
    else:
        _check_columns(recorded, blueprint)
    return build_metadata(blueprint, dialect, automatic=recorded)


async def _created_by_revisions(
    revisions: list[Revision], blueprint: Blueprint
) -> dict[str, list[IndexSpec]] | None:
    """Today's automatic indexes of ``blueprint`` that ``revisions`` create (``None``: unknown)."""
    scratch = create_async_engine("sqlite+aiosqlite://", poolclass=NullPool)
    try:
        async with scratch.connect() as connection, alembic_proxy():
            created = await connection.run_sync(_replay, revisions)
    finally:
        await scratch.dispose()
    if created is None:
        return None
    return {
        table: [spec for spec in specs if spec[0] in created.get(table, set())]
        for table, specs in automatic_indexes(blueprint).items()
    }


def _replay(connection: sa.Connection, revisions: list[Revision]) -> dict[str, set[str]] | None:
    """Each table's index names once ``revisions`` ran on the empty database ``connection``."""
    try:
        with Operations.context(MigrationContext.configure(connection=connection)):
            for revision in revisions:
                revision.module.upgrade()
    # Revision files are the user's Python: anything may go wrong while running them.
    except Exception:
        return None
    inspector: Any = sa.inspect(connection)
    return {
        table: {str(index["name"]) for index in inspector.get_indexes(table)}
        for table in inspector.get_table_names()
    }


def _check_columns(recorded: dict[str, list[IndexSpec]], blueprint: Blueprint) -> None:
    """Refuse a record naming columns its snapshot's tables lack (tables it lacks are ignored)."""
    for table, specs in recorded.items():
        resource = blueprint.resources.get(table)
        if resource is None:
            continue
        columns = _SYSTEM_COLUMNS | set(resource.fields)
        for name, fields, _ in specs:
            if any(field not in columns for field in fields):
                raise InvalidRevisionFiles(
                    f"the newest BLUEPRINT_SNAPSHOT records index {name} on {table} "
                    f"({', '.join(fields)}), a column of which the table lacks; restore the "
                    "revision file from version control"
                )
