"""Shared fixtures: a private database per test, on SQLite and on the real PostgreSQL.

PostgreSQL tests create a database of their own on the server at
``BASTION_TEST_POSTGRES_URL`` (default ``postgresql://postgres@127.0.0.1:5432/postgres``)
and drop it afterwards (in the background: the next test need not wait). Where the
server is absent they skip with a loud reason, unless ``BASTION_REQUIRE_SERVICES=1``
(set in CI), which fails them.
Redis tests use the server at ``BASTION_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/0``) under a key prefix of their own, the same way.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
import redis

from service_support import service_missing

# log_capture fails any test during which a secret was logged; broker_support has the
# message broker fixtures (rabbitmq_url, nats_url, broker_url, broker_channel).
pytest_plugins = ["log_capture", "broker_support", "role_support"]

POSTGRES_ADMIN_URL = os.environ.get(
    "BASTION_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("BASTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def _service_missing(name: str, reason: str) -> None:
    service_missing(
        f"{name} is not reachable ({reason}); start it (see shared services) to run this test"
    )


async def _admin_execute(sql: str) -> None:
    conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _postgres_url_for(database: str) -> str:
    base, _, _ = POSTGRES_ADMIN_URL.rpartition("/")
    return f"{base}/{database}"


class _Dropper:
    """Drops the databases of finished tests on a thread of its own.

    ``DROP DATABASE`` mostly waits for every server process to let go of the
    database's files; the next test has no need to wait with it.
    """

    def __init__(self) -> None:
        self._names: queue.Queue[str | None] = queue.Queue()
        self._failures: list[str] = []
        self._thread: threading.Thread | None = None

    def drop(self, name: str) -> None:
        """Drop database ``name`` soon (its test is over)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
            self._thread.start()
        self._names.put(name)

    def _run(self) -> None:
        while (name := self._names.get()) is not None:
            try:
                asyncio.run(_admin_execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            except Exception as exc:  # reported at the end; the thread goes on
                self._failures.append(f"{name}: {exc!r}")

    def finish(self) -> list[str]:
        """Wait for every drop asked for; the databases that could not be dropped."""
        if self._thread is not None:
            self._names.put(None)
            self._thread.join()
            self._thread = None
        return self._failures


_dropper = _Dropper()


@pytest.fixture(scope="session", autouse=True)
def _drop_databases_left() -> Iterator[None]:
    """At the end of the run, wait until every test's database is dropped."""
    yield
    failures = _dropper.finish()
    assert not failures, "test databases not dropped:\n" + "\n".join(failures)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test only."""
    name = f"bastion_test_{uuid.uuid4().hex[:16]}"
    try:
        asyncio.run(_admin_execute(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _service_missing("PostgreSQL", str(exc))
    try:
        yield _postgres_url_for(name)
    finally:
        _dropper.drop(name)


@pytest.fixture
def redis_url() -> str:
    """The Redis server at ``BASTION_TEST_REDIS_URL``, once it has answered PING."""
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        _service_missing("Redis", str(exc))
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix of this test's own; its keys are deleted afterwards (and no others)."""
    prefix = f"bastion-test-{uuid.uuid4().hex}:"
    yield prefix
    client = redis.Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A fresh SQLite database file for this test only."""
    return f"sqlite+aiosqlite:///{tmp_path / 'bastion.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once on SQLite and once on PostgreSQL."""
    if request.param == "postgresql":
        return str(request.getfixturevalue("postgres_url"))
    return str(request.getfixturevalue("sqlite_url"))


@pytest.fixture
async def anyio_backend() -> AsyncIterator[str]:
    """Run anyio-marked tests on asyncio only."""
    return "asyncio"
