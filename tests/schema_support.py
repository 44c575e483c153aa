"""Test support: create a blueprint's tables directly, for tests that are not about migrations.

Many tests create the same blueprint's tables in a fresh database of their own,
and that took longer than most of them. So the first time a process creates a
blueprint's tables in a fresh database, what came of it is kept, and later
creations in another fresh database repeat it instead of running ``create_all``
again:

* SQLite: the new database file is a copy of the first one made.
* PostgreSQL: the statements ``create_all`` ran are sent again as one script, in
  one transaction. Its only reads are of the catalog (``checkfirst``), and in a
  fresh database they find nothing, so it runs the same statements every time.

A database that is not fresh (a SQLite file that exists, a PostgreSQL database
with objects of its own: a test creating a second blueprint's tables beside the
first, or the same tables twice) gets ``create_all`` with ``checkfirst``, as before.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.adapters.sql.schema import build_metadata
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import Blueprint, with_identity

__all__ = ["create_schema"]

_FIRST_USER_OID = 16384
"""PostgreSQL's FirstNormalObjectId: every object made after ``initdb`` has an oid from here."""

_FRESH_SQL = " AND ".join(
    f"NOT EXISTS (SELECT FROM pg_catalog.{catalog} WHERE oid >= {_FIRST_USER_OID})"
    for catalog in ("pg_namespace", "pg_class", "pg_type", "pg_proc", "pg_extension")
)
"""True in a database that has nothing but what ``CREATE DATABASE`` copies from template1."""

_scripts: dict[str, str | None] = {}
"""PostgreSQL: per blueprint, the DDL script ``create_all`` ran in a fresh database
(``None``: it ran something a script cannot repeat)."""
_files: dict[str, Path] = {}
"""SQLite: per blueprint, a database file ``create_all`` made."""
_folder = Path(tempfile.mkdtemp(prefix="bastion-schemas-"))
"""Where the SQLite files are kept; removed when the process exits."""
atexit.register(shutil.rmtree, _folder, ignore_errors=True)


async def create_schema(blueprint: Blueprint, url: str) -> None:
    """Create every table of ``blueprint`` in the database at ``url``, with the identity
    resources every application serves and Bastion's own tables."""
    parsed = parse_database_url(url)
    key = repr(blueprint)
    if parsed.dialect == "postgresql":
        await _create_on_postgresql(blueprint, key, parsed.sqlalchemy_url)
    else:
        await _create_on_sqlite(blueprint, key, parsed.sqlalchemy_url)


async def _create_all(
    blueprint: Blueprint, sqlalchemy_url: str, *, record: list[tuple[str, bool]] | None = None
) -> None:
    """``create_all`` (with ``checkfirst``); each statement it ran goes to ``record``, with
    whether it had parameters."""
    metadata = build_metadata(with_identity(blueprint), parse_database_url(sqlalchemy_url).dialect)

    def before_cursor_execute(
        conn: sa.Connection,
        cursor: object,
        statement: str,
        parameters: object,
        context: object,
        executemany: bool,
    ) -> None:
        assert record is not None
        record.append((statement, bool(parameters) or executemany))

    def create(connection: sa.Connection) -> None:
        if record is not None:
            sa.event.listen(connection, "before_cursor_execute", before_cursor_execute)
        metadata.create_all(connection)

    engine = create_async_engine(sqlalchemy_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(create)
    finally:
        await engine.dispose()


def _script(record: list[tuple[str, bool]]) -> str | None:
    """The statements of ``record`` that change the schema, as one script; ``None`` if one
    of them has parameters (a script has none) or a read is not of the catalog."""
    statements = []
    for statement, has_parameters in record:
        if statement.lstrip().upper().startswith("SELECT"):
            if "pg_catalog." not in statement:
                return None
            continue  # checkfirst: in a fresh database it finds no table
        if has_parameters:
            return None
        statements.append(statement.strip().rstrip(";"))
    return ";\n".join(statements)


async def _create_on_postgresql(blueprint: Blueprint, key: str, sqlalchemy_url: str) -> None:
    """Replay the blueprint's script in a fresh database; else ``create_all`` (recorded
    the first time, in a fresh database)."""
    dsn = sa.make_url(sqlalchemy_url).set(drivername="postgresql")
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        fresh = bool(await conn.fetchval(f"SELECT {_FRESH_SQL}"))
        script = _scripts.get(key) if fresh else None
        if script is not None:
            async with conn.transaction():
                await conn.execute(script)
            return
    finally:
        await conn.close()
    if not fresh or key in _scripts:
        await _create_all(blueprint, sqlalchemy_url)
        return
    record: list[tuple[str, bool]] = []
    await _create_all(blueprint, sqlalchemy_url, record=record)
    script = _script(record)
    # asyncpg takes a statement's text as it is (no driver escapes it for a paramstyle);
    # a statement naming this database would name the wrong one in the next.
    driver = sa.make_url(sqlalchemy_url).get_driver_name()
    repeatable = driver == "asyncpg" and str(dsn.database) not in (script or "")
    _scripts[key] = script if repeatable else None


async def _create_on_sqlite(blueprint: Blueprint, key: str, sqlalchemy_url: str) -> None:
    """Copy the blueprint's file to a database file not made yet; else ``create_all`` (the
    first time, the file made is kept)."""
    url = sa.make_url(sqlalchemy_url)
    name = url.database or ""
    path = None if url.query or name in ("", ":memory:") else Path(name)
    if path is None or path.exists():
        await _create_all(blueprint, sqlalchemy_url)
        return
    made = _files.get(key)
    if made is not None:
        shutil.copyfile(made, path)
        return
    await _create_all(blueprint, sqlalchemy_url)
    if not any(path.with_name(path.name + end).exists() for end in ("-journal", "-wal")):
        made = _folder / f"{len(_files)}.db"
        shutil.copyfile(path, made)
        _files[key] = made
