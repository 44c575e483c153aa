"""Property: with the cache on, two workers serving random interleavings of writes and
reads always answer what a plain Python model of the records holds.

Worker A and worker B are two applications on one database, as ``bastion serve
--workers 2`` runs them: on SQLite without Redis (changes seen through
``data_version``) and on PostgreSQL with Redis (changes pushed by pub/sub; a
read on the other worker waits for the message to arrive, a few milliseconds
at most, as a client's next request would).

Each example runs in its own event loop (``asyncio.run``), with its own tag so
that its list queries only see its own records.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.app import create_app
from bastion.blueprint import Blueprint
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint.model_validate(
    {
        "resources": {
            "people": {
                "fields": {
                    "name": {"type": "string", "filterable": True, "sortable": True},
                    "tag": {"type": "string", "filterable": True},
                },
                "access": {"anyone": "all"},
            }
        }
    }
)

_names = st.sampled_from(["ada", "grace", "edsger", "barbara"])
_steps = st.lists(
    st.tuples(
        st.integers(0, 1),  # which worker serves the step
        st.sampled_from(["create", "rename", "delete", "get", "list", "count"]),
        st.integers(0, 2),  # which of the example's records
        _names,
    ),
    min_size=1,
    max_size=25,
)
_SETTINGS = settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def sqlite_people(sqlite_url: str) -> str:
    """A SQLite database holding the ``people`` table."""
    asyncio.run(create_schema(BLUEPRINT, sqlite_url))
    return sqlite_url


@pytest.fixture
def postgres_people(postgres_url: str) -> str:
    """A PostgreSQL database of this test holding the ``people`` table."""
    asyncio.run(create_schema(BLUEPRINT, postgres_url))
    return postgres_url


async def _replay(url: str, steps: list[tuple[int, str, int, str]], **config: Any) -> None:
    tag = uuid.uuid4().hex
    apps = [create_app(BLUEPRINT, settings=Settings(database_url=url, **config)) for _ in "ab"]
    clients = [
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        for app in apps
    ]
    pushed = "redis_url" in config
    model: dict[str, str] = {}  # id -> name
    created: list[str] = []
    try:
        for app in apps:
            await app.start()
            if pushed:
                feed = app.store.cache.feed  # type: ignore[attr-defined]
                await asyncio.wait_for(feed.subscribed.wait(), 10)
        for worker, action, pick, name in steps:
            api = clients[worker]
            target = created[pick % len(created)] if created else None
            if action == "create":
                response = await api.post("/v1/people", json={"name": name, "tag": tag})
                assert response.status_code == 201, response.text
                created.append(response.json()["id"])
                model[created[-1]] = name
            elif action == "rename" and target is not None:
                response = await api.patch(f"/v1/people/{target}", json={"name": name})
                assert response.status_code == (200 if target in model else 404)
                if target in model:
                    model[target] = name
            elif action == "delete" and target is not None:
                response = await api.delete(f"/v1/people/{target}")
                assert response.status_code == (204 if target in model else 404)
                model.pop(target, None)
            elif action == "get" and target is not None:
                response = await api.get(f"/v1/people/{target}")
                if target in model:
                    assert response.json()["name"] == model[target], steps
                else:
                    assert response.status_code == 404, steps
            elif action == "list":
                response = await api.get(
                    "/v1/people", params={"tag": tag, "name": name, "limit": "100"}
                )
                ids = sorted(record["id"] for record in response.json()["data"])
                assert ids == sorted(i for i, n in model.items() if n == name), steps
            elif action == "count":
                response = await api.get("/v1/people", params={"tag": tag, "count": "exact"})
                assert response.json()["total"] == len(model), steps
            if pushed and action in ("create", "rename", "delete"):
                await asyncio.sleep(0.005)  # pub/sub delivery to the other worker
    finally:
        for client in clients:
            await client.aclose()
        for app in apps:
            await app.stop()


@_SETTINGS
@given(steps=_steps)
def test_two_sqlite_workers_always_agree_with_the_model(
    sqlite_people: str, steps: list[tuple[int, str, int, str]]
) -> None:
    asyncio.run(_replay(sqlite_people, steps))


@_SETTINGS
@given(steps=_steps)
def test_two_workers_sharing_redis_always_agree_with_the_model(
    postgres_people: str, redis_url: str, redis_prefix: str, steps: list[tuple[int, str, int, str]]
) -> None:
    asyncio.run(_replay(postgres_people, steps, redis_url=redis_url, redis_prefix=redis_prefix))
