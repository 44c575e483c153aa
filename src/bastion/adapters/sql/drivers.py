"""The two drivers behind one small interface: run SQL text with positional arguments.

:class:`SqliteDriver` keeps a pool of aiosqlite connections (WAL mode,
foreign keys on, busy timeout) and opens write transactions with
``BEGIN IMMEDIATE`` so writers queue instead of failing on lock upgrade.
:class:`PostgresDriver` wraps an asyncpg pool.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol

import aiosqlite
import asyncpg
import orjson

from bastion.adapters.sql.sqlite_functions import json_contains
from bastion.core.errors import StoreUnavailable

__all__ = ["Connection", "Driver", "PoolConfig", "PostgresDriver", "SqliteDriver"]


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """Connection pool sizes and time limits."""

    min_size: int = 1
    max_size: int = 10
    connect_timeout: float = 5.0
    statement_timeout: float = 30.0
    acquire_timeout: float = 5.0
    busy_timeout: float = 5.0


class Connection(Protocol):
    """One connection inside (or outside) a transaction."""

    async def fetch_one(self, sql: str, args: Sequence[Any]) -> Sequence[Any] | None:
        """The first row, or ``None``."""
        ...

    async def fetch_all(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        """Every row."""
        ...

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        """Run a write; the number of rows it touched."""
        ...


class Driver(Protocol):
    """Hands out connections, in a transaction or not."""

    def connection(self, *, write: bool) -> Any:
        """An async context manager yielding a :class:`Connection`."""
        ...

    async def start(self) -> None:
        """Open the pool."""
        ...

    async def close(self) -> None:
        """Close every connection."""
        ...


class _SqliteConnection:
    __slots__ = ("_conn",)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def fetch_one(self, sql: str, args: Sequence[Any]) -> Sequence[Any] | None:
        async with self._conn.execute(sql, args) as cursor:
            row: Sequence[Any] | None = await cursor.fetchone()
            return row

    async def fetch_all(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        async with self._conn.execute(sql, args) as cursor:
            return list(await cursor.fetchall())

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        async with self._conn.execute(sql, args) as cursor:
            return int(cursor.rowcount)


class SqliteDriver:
    """A pool of aiosqlite connections to one database file."""

    def __init__(self, path: str, config: PoolConfig) -> None:
        self._path = path
        self._config = config
        self._idle: asyncio.LifoQueue[aiosqlite.Connection] = asyncio.LifoQueue()
        self._opened = 0
        self._all: list[aiosqlite.Connection] = []
        self._lock = asyncio.Lock()

    async def _open(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(
            self._path, timeout=self._config.busy_timeout, isolation_level=None
        )
        busy_ms = int(self._config.busy_timeout * 1000)
        for pragma in (
            "PRAGMA journal_mode=WAL",
            "PRAGMA foreign_keys=ON",
            f"PRAGMA busy_timeout={busy_ms}",
            "PRAGMA synchronous=NORMAL",
        ):
            await conn.execute(pragma)
        await conn.create_function("bastion_json_contains", 2, json_contains, deterministic=True)
        self._all.append(conn)
        return conn

    async def start(self) -> None:
        """Open the first connection (and fail early if the file cannot be opened)."""
        try:
            self._idle.put_nowait(await self._open())
            self._opened = 1
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"cannot open the SQLite database {self._path!r}: {exc}"
            ) from exc

    async def _acquire(self) -> aiosqlite.Connection:
        if self._idle.empty() and self._opened < self._config.max_size:
            self._opened += 1
            try:
                return await self._open()
            except BaseException:
                self._opened -= 1
                raise
        try:
            return await asyncio.wait_for(self._idle.get(), self._config.acquire_timeout)
        except TimeoutError as exc:
            raise StoreUnavailable("no database connection became free in time") from exc

    @asynccontextmanager
    async def connection(self, *, write: bool) -> AsyncIterator[_SqliteConnection]:
        """A connection; with ``write``, inside ``BEGIN IMMEDIATE`` … ``COMMIT``."""
        conn = await self._acquire()
        try:
            if not write:
                yield _SqliteConnection(conn)
                return
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteConnection(conn)
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")
        finally:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            self._idle.put_nowait(conn)

    async def close(self) -> None:
        """Close every connection."""
        for conn in self._all:
            await conn.close()
        self._all.clear()


class _PostgresConnection:
    __slots__ = ("_conn",)

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn

    async def fetch_one(self, sql: str, args: Sequence[Any]) -> Sequence[Any] | None:
        row: Sequence[Any] | None = await self._conn.fetchrow(sql, *args)
        return row

    async def fetch_all(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        return list(await self._conn.fetch(sql, *args))

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        status: str = await self._conn.execute(sql, *args)
        # asyncpg returns the command tag, e.g. "UPDATE 1".
        return int(status.rsplit(" ", 1)[-1])


async def _init_postgres_connection(conn: asyncpg.Connection) -> None:
    for json_type in ("json", "jsonb"):
        await conn.set_type_codec(
            json_type,
            encoder=lambda value: orjson.dumps(value).decode(),
            decoder=orjson.loads,
            schema="pg_catalog",
        )


class PostgresDriver:
    """An asyncpg pool with prepared-statement caching."""

    def __init__(self, dsn: str, config: PoolConfig) -> None:
        self._dsn = dsn
        self._config = config
        self._pool: asyncpg.Pool | None = None

    async def start(self) -> None:
        """Open the pool's first connections."""
        try:
            self._pool = await asyncpg.create_pool(
                self._dsn,
                min_size=self._config.min_size,
                max_size=self._config.max_size,
                timeout=self._config.connect_timeout,
                command_timeout=self._config.statement_timeout,
                init=_init_postgres_connection,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc

    @asynccontextmanager
    async def connection(self, *, write: bool) -> AsyncIterator[_PostgresConnection]:
        """A pooled connection; with ``write``, inside a transaction."""
        if self._pool is None:
            raise StoreUnavailable("the database pool is not open")
        try:
            conn = await self._pool.acquire(timeout=self._config.acquire_timeout)
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise StoreUnavailable(f"no database connection available: {exc}") from exc
        try:
            if not write:
                yield _PostgresConnection(conn)
                return
            async with conn.transaction():
                yield _PostgresConnection(conn)
        finally:
            await self._pool.release(conn)

    async def close(self) -> None:
        """Close every connection, waiting briefly for those in use."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None
