"""``/healthz`` and ``/readyz`` as a load balancer sees them while dependencies come and go.

PostgreSQL and Redis are private servers of each test (a throwaway cluster,
a redis-server on a free port), stopped and started again mid-test; the
shared servers are never touched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.ops.lifecycle import lifecycle
from bastion.settings import Settings
from postgres_server import PrivatePostgres
from redis_server import PrivateRedis
from schema_support import create_schema

BLUEPRINT = Blueprint.model_validate(
    {"name": "ready", "resources": {"notes": {"fields": {"title": {"type": "string"}}}}}
)


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def serve(database_url: str, **settings: Any) -> tuple[BastionApp, httpx.AsyncClient]:
    await create_schema(BLUEPRINT, database_url)
    app = create_app(
        BLUEPRINT,
        settings=Settings(database_url=database_url, readiness_timeout=1.0, **settings),
    )
    await app.start()
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api")
    return app, client


@pytest.fixture
async def stops() -> AsyncIterator[list[Any]]:
    opened: list[Any] = []
    yield opened
    for thing in reversed(opened):
        if isinstance(thing, httpx.AsyncClient):
            await thing.aclose()
        else:
            await thing.stop()


def assert_not_ready(response: httpx.Response, failing: str) -> None:
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"]
    body = response.json()
    assert body["code"] == "not_ready"
    assert body["failing"] == [failing]
    assert failing in body["detail"]
    assert body["checks"][failing]["status"] == "failing"


async def test_liveness_and_readiness_on_sqlite(sqlite_url: str, stops: list[Any]) -> None:
    app, client = await serve(sqlite_url)
    stops += [app, client]
    live = await client.get("/healthz")
    assert live.status_code == 200
    assert live.json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "ok"
    assert ready.json()["checks"]["database"]["status"] == "ok"
    assert ready.headers["cache-control"] == "no-store"


async def test_readiness_follows_postgresql_going_down_and_coming_back(
    private_postgres: PrivatePostgres, stops: list[Any]
) -> None:
    app, client = await serve(private_postgres.url)
    stops += [app, client]
    assert (await client.get("/readyz")).status_code == 200

    private_postgres.stop()
    assert_not_ready(await client.get("/readyz"), "database")
    # Liveness asks nothing of the database: the process itself is fine.
    assert (await client.get("/healthz")).status_code == 200

    private_postgres.start()
    assert (await client.get("/readyz")).status_code == 200
    created = await client.post("/v1/notes", json={"title": "back"})
    assert created.status_code == 201


async def test_readiness_follows_redis_going_down_and_coming_back(
    sqlite_url: str, private_redis: PrivateRedis, stops: list[Any]
) -> None:
    app, client = await serve(sqlite_url, redis_url=private_redis.url)
    stops += [app, client]
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert set(ready.json()["checks"]) == {"database", "redis"}

    private_redis.stop()
    assert_not_ready(await client.get("/readyz"), "redis")

    private_redis.start()
    assert (await client.get("/readyz")).status_code == 200


async def test_an_optional_redis_degrades_readiness_instead_of_failing_it(
    sqlite_url: str, private_redis: PrivateRedis, stops: list[Any]
) -> None:
    app, client = await serve(sqlite_url, redis_url=private_redis.url, readiness_optional=["redis"])
    stops += [app, client]
    private_redis.stop()
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"]["status"] == "failing"
    assert ready.json()["checks"]["redis"]["optional"] is True


async def test_a_draining_worker_is_not_ready_but_still_serves(
    sqlite_url: str, stops: list[Any]
) -> None:
    app, client = await serve(sqlite_url)
    stops += [app, client]
    lifecycle.start_draining()
    try:
        ready = await client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["draining"] is True
        listed = await client.get("/v1/notes")
        assert listed.status_code == 200
        assert listed.headers["connection"] == "close"
    finally:
        lifecycle.reset()
    assert (await client.get("/readyz")).status_code == 200
