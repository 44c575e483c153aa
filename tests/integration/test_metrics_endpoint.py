"""``GET /metrics`` of a running application: exact request counts by route template,
database and cache metrics, the bearer token, and the separate-port setting."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from bastion.app import create_app
from bastion.blueprint import Blueprint, Resource, StringField
from bastion.settings import Settings
from schema_support import create_schema

BLUEPRINT = Blueprint(resources={"notes": Resource(fields={"title": StringField(required=True)})})
TOKEN = "scrape-" + uuid.uuid4().hex


@asynccontextmanager
async def serving(sqlite_url: str, **settings: Any) -> AsyncIterator[httpx.AsyncClient]:
    await create_schema(BLUEPRINT, sqlite_url)
    app = create_app(BLUEPRINT, settings=Settings(database_url=sqlite_url, **settings))
    await app.start()
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://testserver"
        ) as client:
            yield client
    finally:
        await app.stop()


def samples(text: str) -> list[Sample]:
    return [s for family in text_string_to_metric_families(text) for s in family.samples]


def value(found: list[Sample], name: str, **labels: str) -> float | None:
    """The sample named ``name`` whose labels include ``labels`` (exactly one, or None)."""
    matching = [s for s in found if s.name == name and labels.items() <= s.labels.items()]
    assert len(matching) <= 1, matching
    return matching[0].value if matching else None


def requests_by_route(found: list[Sample]) -> dict[tuple[str, str, str], float]:
    return {
        (s.labels["method"], s.labels["route"], s.labels["status_class"]): s.value
        for s in found
        if s.name == "bastion_http_requests_total"
    }


async def test_scrape_counts_each_request_once_under_its_route_template(
    sqlite_url: str,
) -> None:
    async with serving(sqlite_url) as client:
        ids = []
        for title in ("a", "b", "c"):
            created = await client.post("/v1/notes", json={"title": title})
            assert created.status_code == 201
            ids.append(created.json()["id"])
        for _ in range(2):
            assert (await client.get(f"/v1/notes/{ids[0]}")).status_code == 200
        missing = "019a0000-0000-7000-8000-000000000000"
        assert (await client.get(f"/v1/notes/{missing}")).status_code == 404
        assert (await client.get("/no/such/path")).status_code == 404
        assert (await client.get("/v1/auth/me")).status_code == 401

        response = await client.get("/metrics")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        found = samples(response.text)

    assert requests_by_route(found) == {
        ("POST", "/v1/notes", "2xx"): 3,
        ("GET", "/v1/notes/{id}", "2xx"): 2,
        ("GET", "/v1/notes/{id}", "4xx"): 1,
        ("GET", "unmatched", "4xx"): 1,
        ("GET", "/v1/auth/me", "4xx"): 1,
    }
    assert not any(i in response.text for i in [*ids, missing, "/no/such/path"])
    duration_count = "bastion_http_request_duration_seconds_count"
    assert value(found, duration_count, route="/v1/notes", status_class="2xx") == 3
    # The scrape itself is the one request in flight while the metrics are written.
    assert value(found, "bastion_http_requests_in_flight") == 1
    assert value(found, "bastion_auth_failures_total", route="/v1/auth/me") == 1
    assert value(found, "bastion_rate_limit_rejections_total") is None

    inserts = value(
        found, "bastion_db_query_duration_seconds_count", resource="notes", operation="insert"
    )
    assert inserts == 3
    cache = {
        s.labels["result"]: s.value
        for s in found
        if s.name == "bastion_cache_requests_total"
        and s.labels["resource"] == "notes"
        and s.labels["tier"] == "local"
    }
    assert cache.get("miss", 0) >= 1, cache
    assert cache.get("hit", 0) >= 1, cache
    assert value(found, "bastion_db_pool_connections_max") == Settings().db_pool_max
    assert (value(found, "bastion_db_pool_connections_open") or 0) >= 1
    assert (value(found, "bastion_process_resident_memory_bytes") or 0) > 10_000_000


async def test_two_applications_in_one_process_count_separately(sqlite_url: str) -> None:
    async with serving(sqlite_url) as first, serving(sqlite_url) as second:
        await first.get("/healthz")
        await first.get("/healthz")
        await second.get("/healthz")
        first_counts = requests_by_route(samples((await first.get("/metrics")).text))
        second_counts = requests_by_route(samples((await second.get("/metrics")).text))
    assert first_counts[("GET", "/healthz", "2xx")] == 2
    assert second_counts[("GET", "/healthz", "2xx")] == 1


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}],
    ids=["no-token", "wrong-token", "wrong-scheme"],
)
async def test_metrics_token_refuses_a_scrape_without_it_with_a_problem_document(
    sqlite_url: str, headers: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serving(sqlite_url, metrics_token=TOKEN) as client:
        refused = await client.get("/metrics", headers=headers)
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'
    problem = refused.json()
    assert problem["status"] == 401
    assert problem["code"] == "not_authenticated"
    assert problem["instance"] == "/metrics"
    assert problem["request_id"] == refused.headers["x-request-id"]
    assert "bastion_" not in refused.text
    assert TOKEN not in caplog.text


async def test_metrics_token_opens_the_scrape_and_leaves_api_credentials_alone(
    sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with serving(sqlite_url, metrics_token=TOKEN) as client:
        scraped = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        # The metrics token is no API credential, and API requests are still authenticated.
        api = await client.get("/v1/notes", headers={"Authorization": f"Bearer {TOKEN}"})
        again = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert scraped.status_code == 200
    # The first scrape is counted under its route, like any request with a token or not.
    assert requests_by_route(samples(again.text))[("GET", "/metrics", "2xx")] == 1
    assert value(samples(scraped.text), "bastion_http_requests_in_flight") == 1
    assert api.status_code == 401
    assert api.headers["www-authenticate"].startswith('Bearer realm="bastion"')
    assert TOKEN not in caplog.text


@pytest.mark.parametrize(
    ("settings", "expected"),
    [({"metrics_port": 9464}, 404), ({"metrics_enabled": False}, 404), ({}, 200)],
    ids=["own-port", "disabled", "default"],
)
async def test_metrics_are_on_the_api_port_only_without_a_port_of_their_own(
    sqlite_url: str, settings: dict[str, object], expected: int
) -> None:
    async with serving(sqlite_url, **settings) as client:
        assert (await client.get("/metrics")).status_code == expected


async def test_openmetrics_is_served_when_the_scraper_asks_for_it(sqlite_url: str) -> None:
    accept = "application/openmetrics-text; version=1.0.0"
    async with serving(sqlite_url) as client:
        response = await client.get("/metrics", headers={"Accept": accept})
    assert response.headers["content-type"].startswith("application/openmetrics-text")
    assert response.text.endswith("# EOF\n")
