"""The PostgreSQL driver's pool: connections are reused as they are, and never reused broken."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from bastion.adapters.sql.drivers import PoolConfig, PostgresDriver
from bastion.adapters.sql.urls import parse_database_url
from bastion.core.errors import StoreUnavailable

pytestmark = pytest.mark.postgres


@pytest.fixture
async def driver(postgres_url: str) -> AsyncIterator[PostgresDriver]:
    dsn = parse_database_url(postgres_url).driver_dsn
    setup = await asyncpg.connect(dsn)
    await setup.execute("CREATE TABLE t (id serial PRIMARY KEY, v text NOT NULL)")
    await setup.close()
    driver = PostgresDriver(dsn, PoolConfig(min_size=1, max_size=2, acquire_timeout=0.2))
    await driver.start()
    yield driver
    await driver.close()


async def _backend(driver: PostgresDriver) -> int:
    async with driver.connection(write=False) as conn:
        row = await conn.fetch_one("SELECT pg_backend_pid()", [])
    assert row is not None
    return int(row[0])


async def test_a_connection_is_reused_without_a_round_trip_to_reset_it(
    driver: PostgresDriver,
) -> None:
    assert await _backend(driver) == await _backend(driver)


async def test_a_failed_write_rolls_back_and_keeps_its_connection(driver: PostgresDriver) -> None:
    before = await _backend(driver)

    async def fail() -> None:
        async with driver.connection(write=True) as conn:
            await conn.execute("INSERT INTO t (v) VALUES ($1)", ["lost"])
            await conn.execute("INSERT INTO t (v) VALUES ($1)", [None])

    with pytest.raises(asyncpg.NotNullViolationError):
        await fail()
    async with driver.connection(write=False) as conn:
        assert await conn.fetch_all("SELECT v FROM t", []) == []
    assert await _backend(driver) == before


async def test_a_cancelled_statement_closes_its_connection(driver: PostgresDriver) -> None:
    before = await _backend(driver)

    async def sleep() -> None:
        async with driver.connection(write=True) as conn:
            await conn.execute("INSERT INTO t (v) VALUES ($1)", ["lost"])
            await conn.fetch_one("SELECT pg_sleep(10)", [])

    task = asyncio.ensure_future(sleep())
    await asyncio.sleep(0.2)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _backend(driver) != before
    async with driver.connection(write=False) as conn:
        assert await conn.fetch_all("SELECT v FROM t", []) == []


async def test_a_connection_the_server_closed_is_replaced(
    driver: PostgresDriver, postgres_url: str
) -> None:
    before = await _backend(driver)
    async with driver.connection(write=False) as conn:
        other = await conn.fetch_one("SELECT 1", [])
        assert other == (1,)
    admin = await asyncpg.connect(parse_database_url(postgres_url).driver_dsn)
    await admin.execute("SELECT pg_terminate_backend($1)", before)
    await admin.close()
    await asyncio.sleep(0.1)
    assert await _backend(driver) != before


async def test_a_full_pool_answers_unavailable_after_the_acquire_timeout(
    driver: PostgresDriver,
) -> None:
    async with driver.connection(write=False), driver.connection(write=False):
        with pytest.raises(StoreUnavailable):
            async with driver.connection(write=False):
                pass
    async with driver.connection(write=False), driver.connection(write=False):
        pass
