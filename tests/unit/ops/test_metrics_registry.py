"""The metrics registry: what the observer, telemetry, samplers and pools record."""

from __future__ import annotations

import asyncio
import gc
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client import values
from prometheus_client.parser import text_string_to_metric_families

from bastion.adapters.sql.pool import Pool
from bastion.core.errors import StoreUnavailable
from bastion.core.ports import PoolStats
from bastion.ops.metrics import Metrics
from bastion.ops.metrics_dir import (
    ENVIRONMENT_VARIABLE,
    multiprocess_dir,
    prepare_multiprocess_dir,
    serve_metrics_port,
)
from bastion.ops.requests import FinishedRequest


def finished(method: str, route: str, status: int, seconds: float = 0.01) -> FinishedRequest:
    return FinishedRequest(method, route, "/raw/path", status, seconds, "req", None, None, None)


def sample(metrics: Metrics, name: str, **labels: str) -> float | None:
    assert metrics.registry is not None
    return metrics.registry.get_sample_value(name, labels)


def test_observer_counts_by_method_route_template_and_status_class() -> None:
    metrics = Metrics()
    observer = metrics.observer
    script = [
        ("GET", "/v1/notes/{id}", 200),
        ("GET", "/v1/notes/{id}", 200),
        ("GET", "/v1/notes/{id}", 404),
        ("POST", "/v1/notes", 201),
        ("POST", "/v1/notes", 429),
        ("GET", "/v1/auth/me", 401),
        ("POST", "/v1/auth/token", 400),
        ("POST", "/v1/notes", 400),
        ("BREW", "unmatched", 405),
    ]
    for method, _, _ in script:
        observer.started(method)
    assert sample(metrics, "bastion_http_requests_in_flight") == len(script)
    for method, route, status in script:
        observer.finished(finished(method, route, status, seconds=0.003))

    def requests(method: str, route: str, status_class: str) -> float | None:
        labels = {"method": method, "route": route, "status_class": status_class}
        return sample(metrics, "bastion_http_requests_total", **labels)

    assert requests("GET", "/v1/notes/{id}", "2xx") == 2
    assert requests("GET", "/v1/notes/{id}", "4xx") == 1
    assert requests("POST", "/v1/notes", "2xx") == 1
    assert requests("POST", "/v1/notes", "4xx") == 2
    assert requests("other", "unmatched", "4xx") == 1
    assert requests("BREW", "unmatched", "4xx") is None
    assert sample(metrics, "bastion_http_requests_in_flight") == 0
    assert sample(metrics, "bastion_rate_limit_rejections_total", route="/v1/notes") == 1
    assert sample(metrics, "bastion_auth_failures_total", route="/v1/auth/me") == 1
    # A refused sign-in answers 400 (invalid_grant); a 400 elsewhere is no auth failure.
    assert sample(metrics, "bastion_auth_failures_total", route="/v1/auth/token") == 1
    assert sample(metrics, "bastion_auth_failures_total", route="/v1/notes") is None
    get_ok = {"method": "GET", "route": "/v1/notes/{id}", "status_class": "2xx"}
    name = "bastion_http_request_duration_seconds"
    assert sample(metrics, f"{name}_bucket", le="0.0025", **get_ok) == 0
    assert sample(metrics, f"{name}_bucket", le="0.005", **get_ok) == 2
    assert sample(metrics, f"{name}_sum", **get_ok) == pytest.approx(0.006)


def test_telemetry_feeds_query_pool_and_cache_metrics_and_ignores_unknown_names() -> None:
    metrics = Metrics()
    telemetry = metrics.telemetry
    for _ in range(3):
        telemetry.observe("db_query_seconds", 0.0002, {"resource": "notes", "operation": "fetch"})
    telemetry.observe("db_pool_wait_seconds", 0.2)
    telemetry.count(
        "cache_requests_total", labels={"resource": "notes", "tier": "local", "result": "hit"}
    )
    telemetry.count(
        "cache_requests_total", 2, {"result": "miss", "tier": "shared", "resource": "notes"}
    )
    telemetry.count("no_such_counter", labels={"x": "y"})
    telemetry.observe("no_such_histogram", 1.0)
    with telemetry.span("anything"):
        pass

    query = {"resource": "notes", "operation": "fetch"}
    assert sample(metrics, "bastion_db_query_duration_seconds_count", **query) == 3
    assert sample(metrics, "bastion_db_query_duration_seconds_bucket", le="0.00025", **query) == 3
    assert sample(metrics, "bastion_db_pool_wait_seconds_bucket", le="0.1") == 0
    assert sample(metrics, "bastion_db_pool_wait_seconds_count") == 1
    cache = "bastion_cache_requests_total"
    assert sample(metrics, cache, resource="notes", tier="local", result="hit") == 1
    assert sample(metrics, cache, resource="notes", tier="shared", result="miss") == 2
    assert metrics.registry is not None
    assert "no_such" not in str([m.name for m in metrics.registry.collect()])


async def test_gc_pauses_are_recorded_and_the_callback_is_removed_on_stop() -> None:
    metrics = Metrics(sample_interval=60)
    before = list(gc.callbacks)
    await metrics.start()
    assert len(gc.callbacks) == len(before) + 1
    gc.collect()
    gc.collect(0)
    await metrics.stop()
    assert gc.callbacks == before
    assert (sample(metrics, "bastion_gc_collections_total", generation="2") or 0) >= 1
    assert (sample(metrics, "bastion_gc_pause_seconds_count", generation="2") or 0) >= 1
    assert (sample(metrics, "bastion_gc_collections_total", generation="0") or 0) >= 1
    collections = sample(metrics, "bastion_gc_collections_total", generation="2")
    gc.collect()
    assert sample(metrics, "bastion_gc_collections_total", generation="2") == collections


async def test_sampler_measures_event_loop_lag_and_memory_until_stopped() -> None:
    metrics = Metrics(sample_interval=0.01)
    await metrics.start()
    assert metrics.sampling
    assert (sample(metrics, "bastion_process_resident_memory_bytes") or 0) > 1_000_000
    assert (sample(metrics, "bastion_process_allocated_blocks") or 0) > 1000
    await asyncio.sleep(0.03)
    time.sleep(0.15)  # noqa: ASYNC251 (blocks the event loop on purpose: the next wake-up is late)
    await asyncio.sleep(0.03)
    await metrics.stop()
    assert not metrics.sampling
    count = sample(metrics, "bastion_event_loop_lag_seconds_count") or 0
    under_100ms = sample(metrics, "bastion_event_loop_lag_seconds_bucket", le="0.1") or 0
    assert count >= 3
    assert count - under_100ms >= 1
    await asyncio.sleep(0.05)
    assert sample(metrics, "bastion_event_loop_lag_seconds_count") == count


async def test_pool_gauges_add_up_every_watched_pool() -> None:
    metrics = Metrics(sample_interval=60)
    metrics.watch_pool(lambda: PoolStats(size=3, in_use=2, waiting=1, max_size=10))
    metrics.watch_pool(lambda: PoolStats(size=1, in_use=0, waiting=0, max_size=5))
    metrics.watch_pool(lambda: None)  # not open yet
    await metrics.start()
    await metrics.stop()
    assert sample(metrics, "bastion_db_pool_connections_open") == 4
    assert sample(metrics, "bastion_db_pool_connections_in_use") == 2
    assert sample(metrics, "bastion_db_pool_waiting") == 1
    assert sample(metrics, "bastion_db_pool_connections_max") == 15


async def _connection() -> object:
    return object()


async def test_pool_reports_its_waiters_and_how_long_they_waited() -> None:
    waits: list[float] = []
    pool: Pool[object] = Pool(_connection, max_size=1, acquire_timeout=5, on_wait=waits.append)
    first = await pool.acquire()
    assert pool.stats() == PoolStats(size=1, in_use=1, waiting=0, max_size=1)
    assert waits == []  # served at once: not timed
    waiter = asyncio.create_task(pool.acquire())
    await asyncio.sleep(0.05)
    assert pool.stats() == PoolStats(size=1, in_use=1, waiting=1, max_size=1)
    pool.give_back(first)
    assert await waiter is first
    assert pool.stats() == PoolStats(size=1, in_use=1, waiting=0, max_size=1)
    assert len(waits) == 1
    assert 0.04 <= waits[0] < 1
    pool.give_back(first)
    assert pool.stats() == PoolStats(size=1, in_use=0, waiting=0, max_size=1)


async def test_pool_reports_the_wait_of_a_request_that_gave_up() -> None:
    metrics = Metrics()
    wait = metrics.telemetry.observe
    pool: Pool[object] = Pool(
        _connection,
        max_size=1,
        acquire_timeout=0.05,
        on_wait=lambda seconds: wait("db_pool_wait_seconds", seconds),
    )
    await pool.acquire()
    with pytest.raises(StoreUnavailable):
        await pool.acquire()
    assert pool.stats().waiting == 0
    assert sample(metrics, "bastion_db_pool_wait_seconds_count") == 1
    assert sample(metrics, "bastion_db_pool_wait_seconds_bucket", le="0.025") == 0
    assert sample(metrics, "bastion_db_pool_wait_seconds_bucket", le="0.1") == 1


@pytest.mark.parametrize(
    ("header", "allowed"),
    [
        (None, False),
        ("Bearer s3cret", True),
        ("bearer  s3cret ", True),
        ("Bearer s3cret2", False),
        ("Bearer", False),
        ("Basic s3cret", False),
    ],
)
def test_a_token_restricts_scrapes_to_its_bearer(header: str | None, allowed: bool) -> None:
    assert Metrics(token="s3cret").authorized(header) is allowed
    assert Metrics().authorized(header) is True


@pytest.fixture
def restore_multiprocess_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Undo what switching this process into multiprocess mode changes."""
    monkeypatch.setenv(ENVIRONMENT_VARIABLE, "")  # restored to its current state afterwards
    monkeypatch.delenv(ENVIRONMENT_VARIABLE)
    monkeypatch.setattr(values, "ValueClass", values.ValueClass)
    yield
    close = getattr(values.ValueClass, "close_all_files", None)
    if close is not None:
        close()


def test_prepare_makes_a_private_directory_or_empties_the_given_one(
    tmp_path: Path, restore_multiprocess_state: None
) -> None:
    fresh = prepare_multiprocess_dir(None)
    assert multiprocess_dir() == fresh
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700
    fresh.rmdir()

    given = tmp_path / "metrics"
    given.mkdir()
    (given / "counter_123.db").write_bytes(b"stale")
    (given / "notes.txt").write_text("kept")
    assert prepare_multiprocess_dir(given) == given
    assert os.environ[ENVIRONMENT_VARIABLE] == str(given)
    assert sorted(p.name for p in given.iterdir()) == ["notes.txt"]
    # prometheus-client was imported before: it now writes to the directory anyway.
    assert getattr(values.ValueClass, "_multiprocess", False)


async def test_multiprocess_metrics_are_read_from_the_directory_and_served_on_a_port(
    tmp_path: Path, restore_multiprocess_state: None
) -> None:
    prepare_multiprocess_dir(tmp_path)
    metrics = Metrics(token="s3cret", sample_interval=60)
    assert metrics.directory == tmp_path
    assert metrics.registry is None
    await metrics.start()
    metrics.observer.started("GET")
    metrics.observer.finished(finished("GET", "/healthz", 200))
    metrics.observer.started("GET")  # still in flight
    server = serve_metrics_port("127.0.0.1", 0, token="s3cret")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        async with httpx.AsyncClient() as client:
            refused = await client.get(url, headers={"Authorization": "Bearer nope"})
            scraped = await client.get(url, headers={"Authorization": "Bearer s3cret"})
    finally:
        server.shutdown()
        server.server_close()
        await metrics.stop()
    assert refused.status_code == 401
    assert refused.headers["content-type"] == "application/problem+json"
    assert scraped.status_code == 200
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(scraped.text)
        for s in family.samples
    }
    labels = (("method", "GET"), ("route", "/healthz"), ("status_class", "2xx"))
    assert found[("bastion_http_requests_total", labels)] == 1
    assert found[("bastion_http_requests_in_flight", ())] == 1
    rss = [key for key in found if key[0] == "bastion_process_resident_memory_bytes"]
    assert rss == [("bastion_process_resident_memory_bytes", (("pid", str(os.getpid())),))]
    # The same text from the application's own renderer.
    assert metrics.render()[0].count(b"bastion_http_requests_total{") == 1
