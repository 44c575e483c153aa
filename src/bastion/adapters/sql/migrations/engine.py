"""The SQLAlchemy async engine migrations run on.

Python's ``sqlite3`` commits before every DDL statement by itself, which would
leave a half-applied revision behind after a failure. Turning that off and
emitting ``BEGIN`` ourselves gives SQLite transactional DDL, so a revision is
all or nothing on both databases.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bastion.adapters.sql.urls import DatabaseUrl

__all__ = ["migration_engine"]


def migration_engine(url: DatabaseUrl) -> AsyncEngine:
    """An engine for ``url`` that opens a connection per use and keeps none."""
    engine = create_async_engine(url.sqlalchemy_url, poolclass=NullPool)
    if url.dialect == "sqlite":
        sa.event.listen(engine.sync_engine, "connect", _driver_autocommit)
        sa.event.listen(engine.sync_engine, "begin", _begin)
    return engine


def _driver_autocommit(dbapi_connection: Any, connection_record: Any) -> None:
    dbapi_connection.isolation_level = None


def _begin(connection: sa.Connection) -> None:
    connection.exec_driver_sql("BEGIN")
