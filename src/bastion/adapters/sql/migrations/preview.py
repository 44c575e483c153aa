"""The SQL a revision will run, shown to the user before anything is applied.

PostgreSQL: Alembic's offline mode writes the statements without a database.
SQLite cannot be previewed offline, because batch mode copies each altered
table and must read its current definition; the revision runs instead
against an empty in-memory copy of the live schema, and the statements it
sends are recorded. The live database is never touched.
"""

from __future__ import annotations

import io
from pathlib import Path
from types import ModuleType
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bastion.adapters.sql.migrations.engine import connect
from bastion.adapters.sql.migrations.lock import alembic_proxy
from bastion.adapters.sql.migrations.signatures import sql_dialect
from bastion.adapters.sql.urls import DatabaseUrl

__all__ = ["preview_sql"]

_NOT_SHOWN = ("PRAGMA", "SELECT")  # reflection by batch mode, not part of the change


async def preview_sql(*, source: str, path: Path, url: DatabaseUrl, engine: AsyncEngine) -> str:
    """The SQL the revision module ``source`` runs on the database at ``url`` (via ``engine``)."""
    module = _load(source, path)
    if url.dialect == "postgresql":
        buffer = io.StringIO()
        context = MigrationContext.configure(
            dialect=sql_dialect(url.dialect),
            opts={"as_sql": True, "output_buffer": buffer, "literal_binds": True},
        )
        async with alembic_proxy():
            with Operations.context(context):
                module.upgrade()
        return buffer.getvalue().strip()
    async with connect(engine, url) as live:
        schema = await live.run_sync(_schema_of)
    scratch = create_async_engine("sqlite+aiosqlite://", poolclass=NullPool)
    try:
        async with scratch.connect() as connection, alembic_proxy():
            statements = await connection.run_sync(_run_recording, schema, module)
    finally:
        await scratch.dispose()
    return "".join(f"{statement};\n\n" for statement in statements).strip()


def _load(source: str, path: Path) -> ModuleType:
    module = ModuleType(f"bastion_revision_{path.stem}")
    module.__file__ = str(path)
    exec(compile(source, str(path), "exec"), module.__dict__)
    return module


_SHADOW_SUFFIXES = ("_data", "_idx", "_content", "_docsize", "_config")
"""The tables an FTS5 virtual table makes for itself (full-text search)."""


def _schema_of(connection: sa.Connection) -> list[str]:
    rows = connection.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%' "
        "ORDER BY CASE type WHEN 'table' THEN 0 WHEN 'index' THEN 1 ELSE 2 END, rowid"
    ).all()
    virtual = [str(name) for name, sql in rows if str(sql).upper().startswith("CREATE VIRTUAL")]
    # Creating a virtual table creates its shadow tables again: they are left out.
    shadows = {f"{name}{suffix}" for name in virtual for suffix in _SHADOW_SUFFIXES}
    return [str(sql) for name, sql in rows if name not in shadows]


def _run_recording(connection: sa.Connection, schema: list[str], module: ModuleType) -> list[str]:
    for statement in schema:
        connection.exec_driver_sql(statement)
    statements: list[str] = []

    def record(*args: Any) -> None:
        statement = str(args[2]).strip()
        if not statement.upper().startswith(_NOT_SHOWN):
            statements.append(statement)

    sa.event.listen(connection, "before_cursor_execute", record)
    with Operations.context(MigrationContext.configure(connection=connection)):
        module.upgrade()
    return statements
