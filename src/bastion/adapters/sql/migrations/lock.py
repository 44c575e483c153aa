"""Locks that keep two migrations from running at once.

Across processes (two deploys starting together): PostgreSQL's session
advisory lock on a fixed key, or on SQLite an exclusive ``flock`` on
``<database file>.migrate.lock``. Within one process: revision modules run
through Alembic's module-level ``alembic.op`` proxy, which is global state, so
only one task at a time may run revision code (see :func:`alembic_proxy`).
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bastion.adapters.sql.migrations.engine import connect, unreachable
from bastion.adapters.sql.urls import DatabaseUrl

__all__ = ["ADVISORY_LOCK_KEY", "alembic_proxy", "migration_lock"]

ADVISORY_LOCK_KEY = int.from_bytes(b"bastion", "big")
"""The PostgreSQL advisory lock key migrations hold (``bastion`` as a big-endian integer)."""

_POLL_SECONDS = 0.05
_proxy_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def migration_lock(engine: AsyncEngine, url: DatabaseUrl) -> AsyncIterator[None]:
    """Hold the database's migration lock, waiting for any other holder to finish."""
    if url.dialect == "postgresql":
        async with _advisory_lock(engine, url):
            yield
    elif url.driver_dsn in ("", ":memory:") or url.driver_dsn.startswith("file:"):
        yield  # a private in-memory database: nobody else can migrate it
    else:
        try:
            descriptor = os.open(f"{url.driver_dsn}.migrate.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise unreachable(url, exc) from exc
        async with _file_lock(descriptor):
            yield


@asynccontextmanager
async def alembic_proxy() -> AsyncIterator[None]:
    """Run revision code (``alembic.op``) without another task of this process doing so."""
    loop = asyncio.get_running_loop()
    lock = _proxy_locks.get(loop)
    if lock is None:
        lock = _proxy_locks[loop] = asyncio.Lock()
    async with lock:
        yield


@asynccontextmanager
async def _advisory_lock(engine: AsyncEngine, url: DatabaseUrl) -> AsyncIterator[None]:
    # A connection of its own: the session lock outlives the migration's transactions.
    async with connect(engine, url) as connection:
        key = {"key": ADVISORY_LOCK_KEY}
        await connection.execute(sa.text("SELECT pg_advisory_lock(:key)"), key)
        await connection.commit()
        try:
            yield
        finally:
            await connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), key)
            await connection.commit()


@asynccontextmanager
async def _file_lock(descriptor: int) -> AsyncIterator[None]:
    # flock (not lockf) so two opens in one process exclude each other too. Polling
    # instead of a blocking call in a thread keeps the wait cancellable. Closes ``descriptor``.
    try:
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                await asyncio.sleep(_POLL_SECONDS)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)
