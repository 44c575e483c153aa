"""Applying and inspecting migrations: ``bastion migrate apply|status``, and what
``bastion serve`` does in development.

Example::

    await apply_migrations(database_url=url, migrations_dir=Path("migrations"),
                           on_progress=lambda revision, done, total: print(done, total))
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy.ext.asyncio import AsyncConnection

from bastion.adapters.sql.migrations.compare import VERSION_TABLE
from bastion.adapters.sql.migrations.engine import migration_engine
from bastion.adapters.sql.migrations.errors import MigrationFailed
from bastion.adapters.sql.migrations.history import (
    History,
    Revision,
    database_revision,
    load_history,
)
from bastion.adapters.sql.migrations.lock import alembic_proxy, migration_lock
from bastion.adapters.sql.migrations.planner import plan_migration
from bastion.adapters.sql.migrations.reports import (
    MigrationStatus,
    ProgressCallback,
    RevisionInfo,
)
from bastion.adapters.sql.migrations.rescale import decimal_rescales
from bastion.adapters.sql.migrations.signatures import unplanned_changes
from bastion.adapters.sql.migrations.snapshot import renames_of
from bastion.adapters.sql.schema import build_metadata
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import Blueprint

__all__ = ["apply_migrations", "migration_status", "sync_schema_for_development"]


async def apply_migrations(
    *,
    database_url: str,
    migrations_dir: Path,
    on_progress: ProgressCallback | None = None,
) -> list[RevisionInfo]:
    """Apply every pending revision in order, each in its own transaction.

    A lock held for the whole run (PostgreSQL advisory lock, SQLite file lock)
    makes a second deploy wait, then find nothing left to do.

    Args:
        database_url: The database to migrate.
        migrations_dir: The project's migrations folder.
        on_progress: Called after each revision with it, its position and the total.

    Returns:
        The revisions applied, oldest first (empty when the database was up to date).

    Raises:
        MigrationFailed: the database refused a revision; earlier ones stay applied.
    """
    url = parse_database_url(database_url)
    history = load_history(migrations_dir)
    engine = migration_engine(url)
    applied: list[RevisionInfo] = []
    try:
        async with migration_lock(engine, url), engine.connect() as connection:
            pending = history.after(await connection.run_sync(database_revision))
            await connection.commit()
            for position, revision in enumerate(pending, start=1):
                await _apply_one(connection, history, revision)
                info = RevisionInfo(revision.id, revision.message, True, revision.path)
                applied.append(info)
                if on_progress is not None:
                    on_progress(info, position, len(pending))
    finally:
        await engine.dispose()
    return applied


async def migration_status(
    *, blueprint: Blueprint, database_url: str, migrations_dir: Path
) -> MigrationStatus:
    """Which revisions the database has applied, and what the blueprint changes beyond them."""
    url = parse_database_url(database_url)
    history = load_history(migrations_dir)
    engine = migration_engine(url)
    try:
        async with engine.connect() as connection:
            current = await connection.run_sync(database_revision)
    finally:
        await engine.dispose()
    pending = {revision.id for revision in history.after(current)}
    head, recorded, renames = history.head, history.schema(), renames_of(blueprint)
    rescales = decimal_rescales(
        recorded=recorded, wanted=blueprint, renames=renames, dialect=url.dialect
    )
    return MigrationStatus(
        revisions=[
            RevisionInfo(r.id, r.message, r.id not in pending, r.path) for r in history.revisions
        ],
        current=current,
        head=head.id if head else None,
        pending=[r.id for r in history.revisions if r.id in pending],
        unplanned=unplanned_changes(
            build_metadata(recorded, url.dialect),
            build_metadata(blueprint, url.dialect),
            dialect=url.dialect,
            renames=renames,
        )
        + [rescale.change.description for rescale in rescales],
    )


async def sync_schema_for_development(
    *,
    blueprint: Blueprint,
    database_url: str,
    migrations_dir: Path,
    on_progress: ProgressCallback | None = None,
) -> list[RevisionInfo]:
    """What ``bastion serve`` does in development: apply, plan what is left, apply that.

    Returns:
        Every revision applied, including one planned (and written) here.

    Raises:
        DestructiveChange: the blueprint change can lose data; plan it explicitly.
    """
    applied = await apply_migrations(
        database_url=database_url, migrations_dir=migrations_dir, on_progress=on_progress
    )
    plan = await plan_migration(
        blueprint=blueprint, database_url=database_url, migrations_dir=migrations_dir
    )
    if plan.revision is not None:
        applied += await apply_migrations(
            database_url=database_url, migrations_dir=migrations_dir, on_progress=on_progress
        )
    return applied


async def _apply_one(connection: AsyncConnection, history: History, revision: Revision) -> None:
    assert history.script is not None
    script = history.script
    try:
        async with connection.begin(), alembic_proxy():
            await connection.run_sync(lambda sync: _upgrade(sync, script, revision))
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        raise MigrationFailed(
            f"revision {revision.id} ({revision.message}) failed and was rolled back: "
            f"{getattr(exc, 'orig', None) or exc}",
            revision=revision.id,
        ) from exc


def _upgrade(connection: sa.Connection, script: ScriptDirectory, revision: Revision) -> None:
    context = MigrationContext.configure(
        connection=connection, opts={"version_table": VERSION_TABLE}
    )
    with Operations.context(context):
        revision.module.upgrade()
    context.stamp(script, revision.id)
