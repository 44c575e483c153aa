"""Applying and inspecting migrations: ``bastion migrate apply|status``, and what
``bastion serve`` does in development.

Example::

    await apply_migrations(database_url=owner_url, migrations_dir=Path("migrations"),
                           runtime_database_url=app_url,
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

from bastion.adapters.sql.internal_tables import INTERNAL_TABLES
from bastion.adapters.sql.migrations.compare import VERSION_TABLE
from bastion.adapters.sql.migrations.diff import internal_changes, live_drift
from bastion.adapters.sql.migrations.engine import access_denied, connect, migration_engine
from bastion.adapters.sql.migrations.errors import MigrationFailed, PrivilegesNotGranted
from bastion.adapters.sql.migrations.grants import grant_runtime_privileges, runtime_role
from bastion.adapters.sql.migrations.history import (
    History,
    Revision,
    database_revision,
    load_history,
)
from bastion.adapters.sql.migrations.lock import alembic_proxy, migration_lock
from bastion.adapters.sql.migrations.planner import plan_migration
from bastion.adapters.sql.migrations.recorded import recorded_metadata
from bastion.adapters.sql.migrations.reports import (
    MigrationStatus,
    ProgressCallback,
    RevisionInfo,
)
from bastion.adapters.sql.migrations.rescale import decimal_rescales
from bastion.adapters.sql.migrations.search import search_differences
from bastion.adapters.sql.migrations.signatures import unplanned_changes
from bastion.adapters.sql.migrations.snapshot import renames_of
from bastion.adapters.sql.schema import build_metadata
from bastion.adapters.sql.urls import DatabaseUrl, parse_database_url
from bastion.blueprint import Blueprint, with_identity

__all__ = ["apply_migrations", "migration_status", "sync_schema_for_development"]


async def apply_migrations(
    *,
    database_url: str,
    migrations_dir: Path,
    on_progress: ProgressCallback | None = None,
    runtime_database_url: str | None = None,
) -> list[RevisionInfo]:
    """Apply every pending revision in order, each in its own transaction.

    A lock held for the whole run (PostgreSQL advisory lock, SQLite file lock)
    makes a second deploy wait, then find nothing left to do.

    On PostgreSQL, when ``runtime_database_url`` names a user other than the one
    migrating, that user is then granted what the server needs on Bastion's
    tables (only ``SELECT`` and ``INSERT`` on the event log), even with nothing
    pending (see :mod:`~bastion.adapters.sql.migrations.grants`).

    Args:
        database_url: The database to migrate, as the role owning its tables.
        migrations_dir: The project's migrations folder.
        on_progress: Called after each revision with it, its position and the total.
        runtime_database_url: The URL the server runs with (``BASTION_DATABASE_URL``).

    Returns:
        The revisions applied, oldest first (empty when the database was up to date).

    Raises:
        DatabaseUnreachable: the database cannot be connected to.
        SchemaAccessDenied: the user may not read or change the schema (a runtime role).
        MigrationFailed: the database refused a revision; earlier ones stay applied.
        PrivilegesNotGranted: the revisions were applied, but the runtime user could not
            be granted its privileges (no such role, for one).
    """
    url = parse_database_url(database_url)
    history = load_history(migrations_dir)
    engine = migration_engine(url)
    applied: list[RevisionInfo] = []
    try:
        async with migration_lock(engine, url), connect(engine, url) as connection:
            pending = history.after(await connection.run_sync(database_revision))
            await connection.commit()
            for position, revision in enumerate(pending, start=1):
                await _apply_one(connection, history, revision, url)
                info = RevisionInfo(revision.id, revision.message, True, revision.path)
                applied.append(info)
                if on_progress is not None:
                    on_progress(info, position, len(pending))
            if url.dialect == "postgresql" and runtime_database_url is not None:
                await _grant(connection, history, runtime_database_url)
    finally:
        await engine.dispose()
    return applied


async def migration_status(
    *, blueprint: Blueprint, database_url: str, migrations_dir: Path
) -> MigrationStatus:
    """Which revisions the database has applied, what the blueprint changes beyond them,
    and how the live schema departs from the revisions (drift, wrong column types included).

    Raises:
        DatabaseUnreachable: the database cannot be connected to.
        SchemaAccessDenied: the user may not read the migrations' table (a runtime role).
    """
    blueprint = with_identity(blueprint)
    url = parse_database_url(database_url)
    history = load_history(migrations_dir)
    head, recorded, renames = history.head, history.schema(), renames_of(blueprint)
    recorded_schema = await recorded_metadata(history, url.dialect)
    tables = history.tables() | set(recorded_schema.tables)
    engine = migration_engine(url)
    try:
        async with connect(engine, url) as connection:
            current = await connection.run_sync(database_revision)
            pending = {revision.id for revision in history.after(current)}
            # Behind the revisions, the schema differs from the last one by design.
            drift, internal = [], []
            if not pending:
                drift = await connection.run_sync(
                    lambda sync: live_drift(
                        sync, recorded=recorded_schema, tables=tables, dialect=url.dialect
                    )
                )
                internal = await connection.run_sync(
                    lambda sync: internal_changes(sync, dialect=url.dialect)
                )
    finally:
        await engine.dispose()
    rescales = decimal_rescales(recorded=recorded, wanted=blueprint, renames=renames)
    return MigrationStatus(
        revisions=[
            RevisionInfo(r.id, r.message, r.id not in pending, r.path) for r in history.revisions
        ],
        current=current,
        head=head.id if head else None,
        pending=[r.id for r in history.revisions if r.id in pending],
        unplanned=unplanned_changes(
            recorded_schema,
            build_metadata(blueprint, url.dialect),
            dialect=url.dialect,
            renames=renames,
        )
        + [rescale.change.description for rescale in rescales]
        + search_differences(recorded=recorded, wanted=blueprint)
        + internal,
        drift=drift,
    )


async def sync_schema_for_development(
    *,
    blueprint: Blueprint,
    database_url: str,
    migrations_dir: Path,
    on_progress: ProgressCallback | None = None,
    allow_destructive: bool = False,
    runtime_database_url: str | None = None,
) -> list[RevisionInfo]:
    """What ``bastion serve`` does in development: apply, plan what is left, apply that.

    Args:
        blueprint: The blueprint to serve.
        database_url: The development database.
        migrations_dir: The project's migrations folder; a planned revision is written there.
        on_progress: Called after each revision applied (see :func:`apply_migrations`).
        allow_destructive: Plan and apply changes that can lose data too
            (``bastion serve --allow-destructive``).
        runtime_database_url: The URL the server runs with; its user is granted its
            privileges (see :func:`apply_migrations`).

    Returns:
        Every revision applied, including one planned (and written) here.

    Raises:
        DatabaseUnreachable: the database cannot be connected to.
        SchemaAccessDenied: the user may not read or change the schema (a runtime role).
        DestructiveChange: the blueprint change can lose data and ``allow_destructive``
            is false.
        RequiredFieldWithoutDefault: a required field without default is added to a table.
        PrivilegesNotGranted: the runtime user could not be granted its privileges.
    """
    blueprint = with_identity(blueprint)
    applied = await apply_migrations(
        database_url=database_url,
        migrations_dir=migrations_dir,
        on_progress=on_progress,
        runtime_database_url=runtime_database_url,
    )
    plan = await plan_migration(
        blueprint=blueprint,
        database_url=database_url,
        migrations_dir=migrations_dir,
        allow_destructive=allow_destructive,
    )
    if plan.revision is not None:
        applied += await apply_migrations(
            database_url=database_url,
            migrations_dir=migrations_dir,
            on_progress=on_progress,
            runtime_database_url=runtime_database_url,
        )
    return applied


async def _apply_one(
    connection: AsyncConnection, history: History, revision: Revision, url: DatabaseUrl
) -> None:
    assert history.script is not None
    script = history.script
    try:
        async with connection.begin(), alembic_proxy():
            await connection.run_sync(lambda sync: _upgrade(sync, script, revision))
    except (sa.exc.SQLAlchemyError, CommandError) as exc:
        denied = access_denied(url, exc)
        if denied is not None:
            raise denied from exc
        raise MigrationFailed(
            f"revision {revision.id} ({revision.message}) failed and was rolled back: "
            f"{getattr(exc, 'orig', None) or exc}",
            revision=revision.id,
        ) from exc


async def _grant(connection: AsyncConnection, history: History, runtime_url: str) -> None:
    """Grant the runtime user its privileges, unless it is the user migrating."""
    tables = history.tables() | INTERNAL_TABLES
    user = sa.make_url(runtime_url).username
    try:
        async with connection.begin():
            migrating = await connection.scalar(sa.text("SELECT current_user"))
            role = runtime_role(runtime_url, migrating_user=str(migrating))
            if role is None:
                return
            await connection.run_sync(
                lambda sync: grant_runtime_privileges(sync, role=role, tables=tables)
            )
    except sa.exc.SQLAlchemyError as exc:
        raise PrivilegesNotGranted(
            f"the migrations were applied, but the runtime user {user!r} (of "
            "BASTION_DATABASE_URL) could not be granted its privileges on Bastion's tables: "
            f"{getattr(exc, 'orig', None) or exc}. Create that role (CREATE ROLE ... LOGIN) "
            "or fix the user in the URL, then run `bastion migrate apply` again",
            role=user or "",
        ) from exc


def _upgrade(connection: sa.Connection, script: ScriptDirectory, revision: Revision) -> None:
    context = MigrationContext.configure(
        connection=connection, opts={"version_table": VERSION_TABLE}
    )
    with Operations.context(context):
        revision.module.upgrade()
    context.stamp(script, revision.id)
