"""The two drivers behind one small interface: run SQL text with positional arguments.

:class:`SqliteDriver` keeps a pool of stdlib ``sqlite3`` connections (WAL
mode, foreign keys on, busy timeout), runs quick statements on the event
loop and slow ones in threads, and opens write transactions with
``BEGIN IMMEDIATE`` so writers queue instead of failing on lock upgrade.
:class:`PostgresDriver` wraps an asyncpg pool.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Protocol

import asyncpg
import orjson

from bastion.adapters.sql.pool import Pool
from bastion.adapters.sql.sqlite_functions import json_contains
from bastion.core.errors import StoreUnavailable
from bastion.core.ports import PoolStats

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

    def pool_stats(self) -> PoolStats | None:
        """The pool's state (``None`` while it is not open)."""
        ...


_INLINE_BUDGET = 0.002
"""CPU seconds a read may take on the event loop before it is moved to a thread."""
_PROGRESS_STEPS = 2000
"""SQLite virtual-machine steps between two looks at the clock (a quick read takes fewer,
and never looks)."""
_SLOW_STATEMENTS = 256
"""How many slow statements are remembered (then all forgotten at once)."""
_CACHED_STATEMENTS = 512
"""Prepared statements kept per connection (as many as the shape cache holds)."""
_LOCK_SPIN = 2
"""Times a writer tries the write lock again at the next turn of the event loop (the
loop's timers count whole milliseconds: there is nothing in between)."""
_LOCK_POLL_MAX = 0.004
"""The longest pause between two tries after that (the pause doubles up to it)."""
_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


class _SqliteConnection:
    """One stdlib ``sqlite3`` connection; implements :class:`Connection`.

    Hot path: a statement runs right on the event loop thread, as a
    hand-written service would run it. A point query or a page of rows
    takes microseconds there, where a hop to a worker thread and back costs
    tens of microseconds and makes the thread fight the loop for the GIL.
    What could stall the loop moves to a thread instead:

    * a read that has used :data:`_INLINE_BUDGET` of CPU time is interrupted
      (the progress handler) and run again in a thread; reads repeat safely,
      and an interrupted ``SELECT`` leaves an open transaction as it was.
      While its runs in the thread stay slow, the statement goes there
      directly. CPU time, not the wall clock: a process the system did not
      schedule for a while must not send its quick statements away;
    * a read or a ``COMMIT`` that meets a lock (``SQLITE_BUSY``: another
      connection writes) is run again in a thread, where the busy timeout
      waits for it; ``BEGIN IMMEDIATE`` waits for the write lock by polling
      from the loop (:meth:`begin`). On the loop the busy timeout is 0, so
      waiting never blocks it.
    """

    __slots__ = ("_calls", "_driver", "_inline", "_pending", "_started", "raw")

    def __init__(self, raw: sqlite3.Connection, driver: SqliteDriver) -> None:
        self.raw = raw
        self._driver = driver
        self._inline = False
        self._calls = 0
        self._started = 0.0
        self._pending: asyncio.Future[Any] | None = None
        raw.set_progress_handler(self._over_budget, _PROGRESS_STEPS)

    def _over_budget(self) -> bool:
        # SQLite calls this every _PROGRESS_STEPS steps a statement takes, counted over
        # all its runs: one call within a run proves no work. The second starts the CPU
        # clock (a system call quick reads never make), later ones read it.
        if not self._inline:
            return False
        self._calls += 1
        if self._calls < 2:
            return False
        if self._calls == 2:
            self._started = time.thread_time()
            return False
        return time.thread_time() - self._started > _INLINE_BUDGET

    async def fetch_one(self, sql: str, args: Sequence[Any]) -> Sequence[Any] | None:
        row: Sequence[Any] | None = await self._read(_fetch_one, sql, args)
        return row

    async def fetch_all(self, sql: str, args: Sequence[Any]) -> list[Sequence[Any]]:
        rows: list[Sequence[Any]] = await self._read(_fetch_all, sql, args)
        return rows

    async def execute(self, sql: str, args: Sequence[Any]) -> int:
        # Never interrupted: an interrupted write inside a transaction rolls it all back.
        try:
            return _execute(self.raw, sql, args)
        except sqlite3.OperationalError as exc:
            # Outside a transaction nothing was written: waiting for the lock is safe.
            if self.raw.in_transaction or not _is_busy(exc):
                raise
        count: int
        count, _ = await self.in_thread(_execute, sql, args)
        return count

    async def _read(self, step: _Step, sql: str, args: Sequence[Any]) -> Any:
        slow = self._driver.slow
        if sql not in slow:
            self._inline = True
            self._calls = 0
            try:
                return step(self.raw, sql, args)
            except sqlite3.OperationalError as exc:
                if not (_is_interrupted(exc) or _is_busy(exc)):
                    raise
            finally:
                self._inline = False
        result, seconds = await self.in_thread(step, sql, args)
        # Its CPU time in the thread decides where it runs next.
        if seconds < _INLINE_BUDGET:
            slow.pop(sql, None)
        else:
            if len(slow) >= _SLOW_STATEMENTS:
                slow.clear()
            slow[sql] = None
        return result

    async def begin(self) -> None:
        """``BEGIN IMMEDIATE``: take the database's write lock, waiting for it if another
        connection (another worker process, say) holds it.

        The wait polls from the event loop: at the next turn of the loop the
        first :data:`_LOCK_SPIN` times (other writers hold the lock for well
        under a millisecond), then every 1, 2, 4... up to :data:`_LOCK_POLL_MAX`
        seconds, for up to the busy timeout. SQLite's own busy handler, waiting
        in a thread, sleeps 1, 2, 5, 10... milliseconds, and the waits grow with
        every collision; polling without pauses would burn the CPU the lock's
        holder needs.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._driver.busy_ms / 1000
        tries = 0
        pause = 0.0
        while True:
            try:
                self.raw.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or loop.time() + pause > deadline:
                    raise
            await asyncio.sleep(pause)
            tries += 1
            if tries >= _LOCK_SPIN:
                pause = min(max(pause * 2, 0.001), _LOCK_POLL_MAX)

    async def control(self, sql: str) -> None:
        """Run ``COMMIT`` or ``ROLLBACK`` (in a thread if it must wait for a lock)."""
        try:
            self.raw.execute(sql)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc):
                raise
            await self.in_thread(_execute, sql, ())

    async def in_thread(self, step: _Step, sql: str, args: Sequence[Any]) -> tuple[Any, float]:
        """``step``'s result and the CPU seconds it took, run in the driver's threads,
        where it may wait up to the busy timeout for locks."""
        future = self._driver.submit(_patient, step, self.raw, sql, args, self._driver.busy_ms)
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # The statement goes on in its thread: the connection is not free until it ends.
            self._pending = future
            raise

    def release(self) -> None:
        """Roll back what is left open and give the connection back to the pool."""
        pending, self._pending = self._pending, None
        if pending is not None and not pending.done():
            pending.add_done_callback(lambda _: self.release())
            return
        try:
            if self.raw.in_transaction:
                self.raw.execute("ROLLBACK")
        except sqlite3.Error:
            self._driver.discard(self)
            return
        self._driver.give_back(self)


class _SqliteScope:
    """``async with``: a pooled connection, in a write transaction if asked.

    A class rather than a generator-based context manager: it is entered on
    every request (hot path).
    """

    __slots__ = ("_conn", "_pool", "_write")

    def __init__(self, pool: Pool[_SqliteConnection], write: bool) -> None:
        self._pool = pool
        self._write = write

    async def __aenter__(self) -> _SqliteConnection:
        conn = await self._pool.acquire()
        if self._write:
            try:
                await conn.begin()
            except BaseException:
                conn.release()
                raise
        self._conn = conn
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        conn = self._conn
        try:
            if self._write and exc is None:
                await conn.control("COMMIT")
        finally:
            conn.release()  # rolls back what is still open


_Step = Callable[[sqlite3.Connection, str, Sequence[Any]], Any]


def _fetch_one(raw: sqlite3.Connection, sql: str, args: Sequence[Any]) -> Any:
    return raw.execute(sql, args).fetchone()


def _fetch_all(raw: sqlite3.Connection, sql: str, args: Sequence[Any]) -> Any:
    return raw.execute(sql, args).fetchall()


def _execute(raw: sqlite3.Connection, sql: str, args: Sequence[Any]) -> int:
    return raw.execute(sql, args).rowcount


def _patient(
    step: _Step, raw: sqlite3.Connection, sql: str, args: Sequence[Any], busy_ms: int
) -> tuple[Any, float]:
    # In a worker thread: here (only) the connection may wait for locks.
    raw.execute(f"PRAGMA busy_timeout={busy_ms}")
    try:
        started = time.thread_time()
        result = step(raw, sql, args)
        return result, time.thread_time() - started
    finally:
        raw.execute("PRAGMA busy_timeout=0")


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) in _BUSY_CODES or "locked" in str(exc)


def _is_interrupted(exc: sqlite3.OperationalError) -> bool:
    return getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_INTERRUPT


class SqliteDriver:
    """A pool of stdlib ``sqlite3`` connections to one database file.

    Statements run on the event loop while they are quick (see
    :class:`_SqliteConnection`); a few threads take the slow ones and the
    waits for SQLite's single writer lock. Write transactions open with
    ``BEGIN IMMEDIATE`` so writers queue for the lock instead of failing
    when a read transaction would have to be upgraded.
    """

    def __init__(
        self, path: str, config: PoolConfig, *, on_wait: Callable[[float], None] | None = None
    ) -> None:
        self._path = path
        self._config = config
        self.busy_ms = int(config.busy_timeout * 1000)
        self._executor: ThreadPoolExecutor | None = None
        self.slow: dict[str, None] = {}
        """Statements whose last run took longer than the loop's budget: they run in a thread."""
        self._pool: Pool[_SqliteConnection] = Pool(
            self._open,
            max_size=config.max_size,
            acquire_timeout=config.acquire_timeout,
            on_wait=on_wait,
        )
        self._running: set[asyncio.Future[Any]] = set()

    @property
    def executor(self) -> ThreadPoolExecutor:
        """The threads that run slow statements and wait for locks."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(
                max_workers=self._config.max_size, thread_name_prefix="bastion-sqlite"
            )
        return self._executor

    def _connect(self) -> sqlite3.Connection:
        raw = sqlite3.connect(
            self._path,
            timeout=self._config.busy_timeout,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=_CACHED_STATEMENTS,
        )
        try:
            for pragma in (
                "PRAGMA journal_mode=WAL",
                "PRAGMA foreign_keys=ON",
                "PRAGMA synchronous=NORMAL",
            ):
                raw.execute(pragma)
            raw.create_function("bastion_json_contains", 2, json_contains, deterministic=True)
            raw.execute("PRAGMA busy_timeout=0")
        except BaseException:
            raw.close()
            raise
        return raw

    async def _open(self) -> _SqliteConnection:
        return _SqliteConnection(await self.submit(self._connect), self)

    async def start(self) -> None:
        """Open the first connection (and fail early if the file cannot be opened)."""
        try:
            await self._pool.fill(1)
        except sqlite3.Error as exc:
            raise StoreUnavailable(
                f"cannot open the SQLite database {self._path!r}: {exc}"
            ) from exc

    def submit(self, call: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run ``call(*args)`` in the driver's threads."""
        future = asyncio.get_running_loop().run_in_executor(self.executor, call, *args)
        self._running.add(future)
        future.add_done_callback(self._running.discard)
        return future

    def give_back(self, conn: _SqliteConnection) -> None:
        """Return ``conn`` to the pool."""
        self._pool.give_back(conn)

    def discard(self, conn: _SqliteConnection) -> None:
        """Close a connection that cannot be trusted any more."""
        self._pool.forget(conn)
        conn.raw.close()

    def connection(self, *, write: bool) -> _SqliteScope:
        """A connection; with ``write``, inside ``BEGIN IMMEDIATE`` … ``COMMIT``."""
        return _SqliteScope(self._pool, write)

    def pool_stats(self) -> PoolStats | None:
        """The pool's state."""
        return self._pool.stats()

    async def close(self) -> None:
        """Close every connection (stopping the statements still running in threads)."""
        if self._running:
            for conn in self._pool.opened:
                conn.raw.interrupt()
            await asyncio.gather(*self._running, return_exceptions=True)
        # Taken after the wait: a connection freed by a finished statement is closed too.
        for conn in self._pool.clear():
            conn.raw.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


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
    """asyncpg connections in a :class:`~bastion.adapters.sql.pool.Pool`, each caching
    its prepared statements.

    Hot path: a connection goes back to the pool as it is, without asyncpg's
    reset query (``RESET ALL``, ``UNLISTEN *``, ``pg_advisory_unlock_all()``):
    Bastion changes no session state (its advisory locks end with their
    transaction), so that round trip per request would reset nothing. A
    connection that failed or was cancelled in the middle of a statement is
    closed instead of reused.
    """

    def __init__(
        self, dsn: str, config: PoolConfig, *, on_wait: Callable[[float], None] | None = None
    ) -> None:
        self._dsn = dsn
        self._config = config
        self._on_wait = on_wait
        self._pool: Pool[asyncpg.Connection] | None = None

    async def _open(self) -> asyncpg.Connection:
        try:
            conn: asyncpg.Connection = await asyncpg.connect(
                self._dsn,
                timeout=self._config.connect_timeout,
                command_timeout=self._config.statement_timeout,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise StoreUnavailable(f"cannot connect to PostgreSQL: {exc}") from exc
        try:
            await _init_postgres_connection(conn)
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def start(self) -> None:
        """Open the pool's first connections."""
        pool = Pool(
            self._open,
            max_size=self._config.max_size,
            acquire_timeout=self._config.acquire_timeout,
            on_wait=self._on_wait,
        )
        try:
            await pool.fill(max(self._config.min_size, 1))
        except BaseException:
            for conn in pool.clear():
                conn.terminate()
            raise
        self._pool = pool

    def connection(self, *, write: bool) -> _PostgresScope:
        """A pooled connection; with ``write``, inside a transaction."""
        if self._pool is None:
            raise StoreUnavailable("the database pool is not open")
        return _PostgresScope(self._pool, write)

    def pool_stats(self) -> PoolStats | None:
        """The pool's state (``None`` while it is not open)."""
        return self._pool.stats() if self._pool is not None else None

    async def close(self) -> None:
        """Close every connection."""
        if self._pool is not None:
            opened = self._pool.clear()
            self._pool = None
            for conn in opened:
                try:
                    await asyncio.wait_for(conn.close(), timeout=self._config.connect_timeout)
                except (OSError, asyncpg.PostgresError, TimeoutError):
                    conn.terminate()


def _broken(exc: BaseException) -> bool:
    """Whether ``exc`` may have left the connection in the middle of a statement."""
    if isinstance(exc, asyncpg.PostgresError):
        # The server answered: the connection is in a known state.
        return isinstance(exc, asyncpg.PostgresConnectionError)
    return isinstance(exc, asyncio.CancelledError | OSError | TimeoutError | asyncpg.InterfaceError)


class _PostgresScope:
    """``async with``: a pooled connection, in a transaction if asked (a class: hot path)."""

    __slots__ = ("_conn", "_pool", "_write")

    def __init__(self, pool: Pool[asyncpg.Connection], write: bool) -> None:
        self._pool = pool
        self._write = write

    async def __aenter__(self) -> _PostgresConnection:
        pool = self._pool
        conn = await pool.acquire()
        while conn.is_closed():  # the server or the network ended it while it was idle
            pool.forget(conn)
            conn = await pool.acquire()
        if self._write:
            try:
                await conn.execute("BEGIN")
            except BaseException as exc:
                self._release(conn, healthy=not _broken(exc))
                raise
        self._conn = conn
        return _PostgresConnection(conn)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        conn = self._conn
        healthy = False
        try:
            if exc is None:
                if self._write:
                    await conn.execute("COMMIT")
                healthy = True
            elif not _broken(exc):
                if self._write:
                    await conn.execute("ROLLBACK")
                healthy = True
        finally:
            self._release(conn, healthy=healthy)

    def _release(self, conn: asyncpg.Connection, *, healthy: bool) -> None:
        if healthy and not conn.is_closed() and not conn.is_in_transaction():
            self._pool.give_back(conn)
        else:
            self._pool.forget(conn)
            conn.terminate()
