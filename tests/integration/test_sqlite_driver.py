"""The SQLite driver runs quick statements on the event loop and moves what could stall it.

A read that outruns the loop's budget finishes in a thread with the same
answer; a statement that meets another connection's write lock waits for it
(in a thread, up to the busy timeout) instead of failing or blocking the loop.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bastion.adapters.sql.drivers import PoolConfig, SqliteDriver
from bastion.core.errors import StoreUnavailable

# A read that takes far longer than the loop's budget of a few milliseconds.
_SLOW_COUNT = (
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
    "SELECT count(*) FROM n"
)


@pytest.fixture
def path(tmp_path: Path) -> str:
    file = str(tmp_path / "driver.db")
    conn = sqlite3.connect(file, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    conn.close()
    return file


@pytest.fixture
async def driver(path: str) -> AsyncIterator[SqliteDriver]:
    driver = SqliteDriver(path, PoolConfig(max_size=2, busy_timeout=2.0, acquire_timeout=0.2))
    await driver.start()
    yield driver
    await driver.close()


async def test_a_slow_read_finishes_in_a_thread_with_the_same_answer(
    driver: SqliteDriver,
) -> None:
    async with driver.connection(write=False) as conn:
        row = await conn.fetch_one(_SLOW_COUNT, [2_000_000])
        assert row is not None
        assert row[0] == 2_000_000
        assert _SLOW_COUNT in driver.slow
        # Remembered: the next run goes straight to a thread, and being quick there,
        # brings the statement back to the loop.
        row = await conn.fetch_one(_SLOW_COUNT, [3])
        assert row is not None
        assert row[0] == 3
        assert _SLOW_COUNT not in driver.slow


async def test_a_slow_read_inside_a_write_keeps_the_transaction(driver: SqliteDriver) -> None:
    async with driver.connection(write=True) as conn:
        await conn.execute("INSERT INTO t (v) VALUES (?)", ["mine"])
        await conn.fetch_one(_SLOW_COUNT, [2_000_000])
        assert await conn.fetch_all("SELECT v FROM t", []) == [("mine",)]
    async with driver.connection(write=False) as conn:
        assert await conn.fetch_all("SELECT v FROM t", []) == [("mine",)]


async def test_a_writer_waits_for_another_connections_lock(path: str, driver: SqliteDriver) -> None:
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")
    other.execute("INSERT INTO t (v) VALUES ('first')")

    async def write() -> None:
        async with driver.connection(write=True) as conn:
            await conn.execute("INSERT INTO t (v) VALUES (?)", ["second"])

    writing = asyncio.ensure_future(write())
    await asyncio.sleep(0.2)
    assert not writing.done()
    # The loop stayed free while the writer waited: reads still answer.
    async with driver.connection(write=False) as conn:
        assert await conn.fetch_all("SELECT v FROM t", []) == []
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writing, 5)
    async with driver.connection(write=False) as conn:
        assert await conn.fetch_all("SELECT v FROM t ORDER BY id", []) == [
            ("first",),
            ("second",),
        ]


async def test_a_writer_gives_up_after_the_busy_timeout(path: str) -> None:
    driver = SqliteDriver(path, PoolConfig(busy_timeout=0.1))
    await driver.start()
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            async with driver.connection(write=True):
                pass
    finally:
        other.execute("ROLLBACK")
        other.close()
        await driver.close()


async def test_a_failed_write_is_rolled_back(driver: SqliteDriver) -> None:
    async def fail() -> None:
        async with driver.connection(write=True) as conn:
            await conn.execute("INSERT INTO t (v) VALUES (?)", ["lost"])
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await fail()
    async with driver.connection(write=False) as conn:
        assert await conn.fetch_all("SELECT v FROM t", []) == []


async def test_a_full_pool_answers_unavailable_after_the_acquire_timeout(
    driver: SqliteDriver,
) -> None:
    async with driver.connection(write=False), driver.connection(write=False):
        with pytest.raises(StoreUnavailable):
            async with driver.connection(write=False):
                pass
    # Both came back: the pool serves again.
    async with driver.connection(write=False), driver.connection(write=False):
        pass


async def test_a_waiting_request_gets_the_next_free_connection(driver: SqliteDriver) -> None:
    release = asyncio.Event()

    async def hold() -> None:
        async with driver.connection(write=False):
            await release.wait()

    holders = [asyncio.ensure_future(hold()) for _ in range(2)]
    await asyncio.sleep(0)

    async def read() -> list[object]:
        async with driver.connection(write=False) as conn:
            return list(await conn.fetch_all("SELECT 1", []))

    waiting = asyncio.ensure_future(read())
    await asyncio.sleep(0.05)
    release.set()
    assert await waiting == [(1,)]
    await asyncio.gather(*holders)


async def test_a_cancelled_slow_read_frees_its_connection_only_when_done(
    driver: SqliteDriver,
) -> None:
    async def slow() -> None:
        async with driver.connection(write=False) as conn:
            await conn.fetch_one(_SLOW_COUNT, [3_000_000])

    task = asyncio.ensure_future(slow())
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(3):
        async with driver.connection(write=False) as conn:
            assert await conn.fetch_one("SELECT 2", []) == (2,)
