"""The SQL store: core's ``Store`` and ``UnitOfWork`` ports on SQLite or PostgreSQL."""

from __future__ import annotations

from functools import partial
from types import TracebackType

import sqlalchemy as sa

from bastion.adapters.sql.codecs import ResourceCodec
from bastion.adapters.sql.drivers import (
    Connection,
    Driver,
    PoolConfig,
    PostgresDriver,
    SqliteDriver,
)
from bastion.adapters.sql.errors import translate_error
from bastion.adapters.sql.idempotency import IdempotencyStatements
from bastion.adapters.sql.internal_tables import IDEMPOTENCY_TABLE, add_internal_tables
from bastion.adapters.sql.outbox import EventStatements, OutboxStatements
from bastion.adapters.sql.queries import ReadStatements
from bastion.adapters.sql.schema import build_metadata
from bastion.adapters.sql.shapes import ShapeCache
from bastion.adapters.sql.statements import ResourceStatements
from bastion.adapters.sql.unit_of_work import SqlUnitOfWork, StoreTable
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import BelongsTo, Blueprint, with_identity
from bastion.core.errors import BastionError
from bastion.core.ports import PoolStats, Telemetry

__all__ = ["SqlStore", "SqlUnitOfWork"]


class SqlStore:
    """Implements :class:`bastion.core.ports.Store` on the database at ``url``."""

    def __init__(
        self,
        *,
        url: str,
        blueprint: Blueprint,
        pool: PoolConfig | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        blueprint = with_identity(blueprint)
        parsed = parse_database_url(url)
        config = pool or PoolConfig()
        self.dialect = parsed.dialect
        self.location = parsed.driver_dsn
        """The SQLite file's path, or the PostgreSQL DSN (for adapters that open their own
        connection to the same database)."""
        self._telemetry = telemetry
        # Statements get spans only when the telemetry records them (tracing on).
        self._span_system = parsed.dialect if getattr(telemetry, "records_spans", False) else None
        # Only requests that found every connection taken are timed (see Pool).
        on_wait = None if telemetry is None else partial(telemetry.observe, "db_pool_wait_seconds")
        self._driver: Driver = (
            PostgresDriver(parsed.driver_dsn, config, on_wait=on_wait)
            if parsed.dialect == "postgresql"
            else SqliteDriver(parsed.driver_dsn, config, on_wait=on_wait)
        )
        metadata = build_metadata(blueprint, parsed.dialect)
        add_internal_tables(metadata)
        self._idempotency = IdempotencyStatements(
            metadata.tables[IDEMPOTENCY_TABLE], parsed.dialect
        )
        self._tables = {
            name: StoreTable(
                ResourceCodec(resource, parsed.dialect),
                ResourceStatements(
                    metadata.tables[name],
                    parsed.dialect,
                    tuple(f for f, spec in resource.fields.items() if isinstance(spec, BelongsTo)),
                ),
            )
            for name, resource in blueprint.resources.items()
        }
        self._index_fields = _unique_index_fields(metadata)
        self._outbox = OutboxStatements(metadata, parsed.dialect)
        self._events = EventStatements(metadata, parsed.dialect)
        codecs = {name: table.codec for name, table in self._tables.items()}
        self._reads = ReadStatements.of(blueprint, metadata, parsed.dialect, codecs)

    @property
    def shape_cache(self) -> ShapeCache:
        """The compiled read statements by query shape (for metrics and tests)."""
        return self._reads.cache

    async def start(self) -> None:
        """Open the connection pool."""
        await self._driver.start()

    async def close(self) -> None:
        """Close the connection pool."""
        await self._driver.close()

    def pool_stats(self) -> PoolStats | None:
        """The connection pool's state, for metrics (``None`` while it is not open)."""
        return self._driver.pool_stats()

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers a trivial query."""
        async with self._driver.connection(write=False) as conn:
            await conn.fetch_one("SELECT 1", [])

    def unit_of_work(self, *, read_only: bool = False) -> _UnitOfWorkScope:
        """One transaction; after-commit callbacks run once it has committed."""
        return _UnitOfWorkScope(self, write=not read_only)

    def _open_unit(self, conn: Connection) -> SqlUnitOfWork:
        return SqlUnitOfWork(
            conn,
            self._tables,
            self._index_fields,
            self._telemetry,
            self._idempotency,
            reads=self._reads,
            span_system=self._span_system,
            outbox=self._outbox,
            events=self._events,
        )

    def _translated(self, exc: Exception) -> BastionError | None:
        return translate_error(exc, index_fields=self._index_fields)


class _UnitOfWorkScope:
    """``async with store.unit_of_work()``: the driver's connection scope, driver errors
    translated, after-commit callbacks run once committed.

    A class rather than a generator-based context manager: every request enters
    one (hot path).
    """

    __slots__ = ("_scope", "_store", "_uow", "_write")

    def __init__(self, store: SqlStore, *, write: bool) -> None:
        self._store = store
        self._write = write

    async def __aenter__(self) -> SqlUnitOfWork:
        try:
            self._scope = self._store._driver.connection(write=self._write)
            conn = await self._scope.__aenter__()
        except BastionError:
            raise
        except Exception as exc:
            if (error := self._store._translated(exc)) is not None:
                raise error from exc
            raise
        self._uow = self._store._open_unit(conn)
        return self._uow

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        try:
            await self._scope.__aexit__(exc_type, exc, traceback)
        except BastionError:
            raise
        except Exception as failure:
            if (error := self._store._translated(failure)) is not None:
                raise error from failure
            raise
        if exc is None:
            if self._uow.has_callbacks:
                await self._uow.run_after_commit()
        elif (
            # What the block raised (a hook's driver error, say) is translated like the rest.
            isinstance(exc, Exception)
            and not isinstance(exc, BastionError)
            and (error := self._store._translated(exc)) is not None
        ):
            raise error from exc


def _unique_index_fields(metadata: sa.MetaData) -> dict[str, tuple[str, ...]]:
    return {
        str(index.name): tuple(column.name for column in index.columns)
        for table in metadata.tables.values()
        for index in table.indexes
        if index.unique and index.name
    }
