"""The SQLAlchemy async engine migrations run on, and connecting with it.

Python's ``sqlite3`` commits before every DDL statement by itself, which would
leave a half-applied revision behind after a failure. Turning that off and
emitting ``BEGIN`` ourselves gives SQLite transactional DDL, so a revision is
all or nothing on both databases.

A connection that cannot be made (server down, wrong password, no such
database) becomes :class:`DatabaseUnreachable`, naming the database and what
to check, instead of the driver's traceback; PostgreSQL's ``permission
denied`` on a connection that was made becomes :class:`SchemaAccessDenied`
(the server's runtime role used to migrate).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import asyncpg
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bastion.adapters.sql.migrations.errors import DatabaseUnreachable, SchemaAccessDenied
from bastion.adapters.sql.urls import DatabaseUrl

__all__ = [
    "CONNECT_TIMEOUT_SECONDS",
    "access_denied",
    "connect",
    "migration_engine",
    "unreachable",
]

_INSUFFICIENT_PRIVILEGE = "42501"
"""PostgreSQL's SQLSTATE for ``permission denied``."""

CONNECT_TIMEOUT_SECONDS = 10.0
"""How long to wait for PostgreSQL to accept a connection before giving up."""

_CONNECT_ERRORS = (
    OSError,
    TimeoutError,
    sa.exc.DBAPIError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
)


def migration_engine(url: DatabaseUrl) -> AsyncEngine:
    """An engine for ``url`` that opens a connection per use and keeps none."""
    if url.dialect == "postgresql":
        return create_async_engine(
            url.sqlalchemy_url,
            poolclass=NullPool,
            connect_args={"timeout": CONNECT_TIMEOUT_SECONDS},
        )
    engine = create_async_engine(url.sqlalchemy_url, poolclass=NullPool)
    sa.event.listen(engine.sync_engine, "connect", _driver_autocommit)
    sa.event.listen(engine.sync_engine, "begin", _begin)
    return engine


@asynccontextmanager
async def connect(engine: AsyncEngine, url: DatabaseUrl) -> AsyncIterator[AsyncConnection]:
    """A connection to ``url``'s database, closed on exit.

    Raises:
        DatabaseUnreachable: the connection cannot be made.
        SchemaAccessDenied: the database refused a statement for want of privileges.
    """
    folder = _sqlite_folder(url)
    if folder is not None and not folder.is_dir():
        # Checked first: a failed aiosqlite connect leaves its worker thread behind.
        raise unreachable(url, FileNotFoundError(f"no folder {folder}"))
    connection = engine.connect()
    try:
        await connection.start()
    except _CONNECT_ERRORS as exc:
        raise unreachable(url, exc) from exc
    try:
        yield connection
    except (sa.exc.DBAPIError, asyncpg.PostgresError) as exc:
        denied = access_denied(url, exc)
        if denied is None:
            raise
        raise denied from exc
    finally:
        await connection.close()


def access_denied(url: DatabaseUrl, exc: BaseException) -> SchemaAccessDenied | None:
    """The error telling that ``url``'s user may not migrate, if ``exc`` is PostgreSQL's
    ``permission denied`` (raw or wrapped by SQLAlchemy); ``None`` for any other error."""
    cause = _root_cause(exc)
    refused = isinstance(cause, asyncpg.InsufficientPrivilegeError) or (
        getattr(cause, "sqlstate", None) == _INSUFFICIENT_PRIVILEGE
    )
    if not refused:
        return None
    user = sa.make_url(url.sqlalchemy_url).username
    who = f"the database user {user!r}" if user else "the database user"
    return SchemaAccessDenied(
        f"{who} of {url.redacted} may not read or change the schema ({cause}): it looks "
        "like the server's runtime role, which has only the rights the server needs. "
        "Migrations and their checks run as the role owning the tables: set "
        "BASTION_MIGRATE_DATABASE_URL to that role's URL (see docs/events.md, "
        '"Append-only storage and database roles")',
        database=url.redacted,
    )


def unreachable(url: DatabaseUrl, exc: BaseException) -> DatabaseUnreachable:
    """The error telling why the database at ``url`` cannot be reached, from what was raised."""
    cause = _root_cause(exc)
    where = url.redacted
    if url.dialect == "sqlite":
        detail = (
            f"cannot open the SQLite database {url.driver_dsn!r} ({cause}): check that its "
            "folder exists and is writable, or fix the path in the database URL"
        )
        return DatabaseUnreachable(detail, database=where)
    parsed = sa.make_url(url.sqlalchemy_url)
    server = f"{parsed.host or 'localhost'}:{parsed.port or 5432}"
    if isinstance(cause, asyncpg.InvalidCatalogNameError):
        detail = (
            f"the database {parsed.database!r} does not exist on the PostgreSQL server at "
            f"{server} ({where}): create it (e.g. `createdb {parsed.database}`) or fix the "
            "database name in the URL"
        )
    elif isinstance(
        cause, asyncpg.InvalidPasswordError | asyncpg.InvalidAuthorizationSpecificationError
    ):
        detail = (
            f"the PostgreSQL server at {server} refused the login ({cause}) for {where}: "
            "check the user name and password in the database URL"
        )
    elif isinstance(cause, socket.gaierror):
        detail = (
            f"cannot find the host {parsed.host!r} of the database {where}: "
            "check the host name in the database URL"
        )
    elif isinstance(cause, TimeoutError):
        detail = (
            f"the PostgreSQL server at {server} did not answer within "
            f"{CONNECT_TIMEOUT_SECONDS:g} seconds ({where}): check that it is running and "
            "that no firewall blocks the port"
        )
    elif isinstance(cause, OSError):
        detail = (
            f"cannot connect to the PostgreSQL server at {server} ({where}): {cause}. "
            "Check that PostgreSQL is running and that the host and port in the database "
            "URL are right"
        )
    else:
        detail = (
            f"cannot connect to the database {where}: {cause}. Check that the server is "
            "running and that the database URL (host, port, user, password, database name) "
            "is right"
        )
    return DatabaseUnreachable(detail, database=where)


def _sqlite_folder(url: DatabaseUrl) -> Path | None:
    """The folder of a SQLite database file; ``None`` for other databases and in-memory ones."""
    if url.dialect != "sqlite" or url.driver_dsn in ("", ":memory:"):
        return None
    if url.driver_dsn.startswith("file:"):
        return None
    return Path(url.driver_dsn).parent


def _root_cause(exc: BaseException) -> BaseException:
    """The driver's own error under SQLAlchemy's wrappers."""
    seen = {id(exc)}
    while True:
        inner = getattr(exc, "orig", None) or exc.__cause__
        if not isinstance(inner, BaseException) or id(inner) in seen:
            return exc
        seen.add(id(inner))
        exc = inner


def _driver_autocommit(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")
