"""``bastion serve --workers 2``: every worker's metrics added up on the metrics port.

Runs the installed ``bastion serve`` with two worker processes, SQLite in a
fresh folder and ``BASTION_METRICS_PORT``, spreads requests over both workers
(each answer names its worker), then scrapes the supervisor's metrics port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from process_support import (
    bastion_script,
    clean_environment,
    free_port,
    stop_server,
    wait_ready,
)

TOKEN = "scrape-token-for-the-test"

BLUEPRINT = """\
version: 1
name: counted
routes: pidroutes:routes
resources:
  notes:
    fields:
      title: {type: string, max_length: 200}
"""

PID_ROUTES = """\
import os

from starlette.responses import JSONResponse
from starlette.routing import Route


async def pid(request):
    return JSONResponse({"pid": os.getpid()})


routes = [Route("/pid", pid)]
"""


@dataclass
class Served:
    """A running ``bastion serve`` and where its metrics are."""

    process: subprocess.Popen[bytes]
    base_url: str
    metrics_url: str
    log: Path


@contextmanager
def serving(tmp_path: Path, metrics_dir: Path) -> Iterator[Served]:
    (tmp_path / "bastion.yaml").write_text(BLUEPRINT)
    (tmp_path / "pidroutes.py").write_text(PID_ROUTES)
    port, metrics_port = free_port(), free_port()
    env = clean_environment()
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    env["PYTHONPATH"] = str(tmp_path)
    env["BASTION_METRICS_PORT"] = str(metrics_port)
    env["BASTION_METRICS_TOKEN"] = TOKEN
    env["BASTION_METRICS_DIR"] = str(metrics_dir)
    env["BASTION_SHUTDOWN_GRACE_SECONDS"] = "0"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [bastion_script(), "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers in its process group, to stop them all
        )
    served = Served(
        process, f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}/metrics", log_path
    )
    try:
        wait_ready(process, served.base_url, log_path)
        yield served
    finally:
        stop_server(process)


def _spread_requests(served: Served, workers: int) -> tuple[dict[int, int], int]:
    """``GET /pid`` on new connections until ``workers`` processes have answered."""
    by_pid: dict[int, int] = {}
    sent = 0
    deadline = time.monotonic() + 10
    no_reuse = httpx.Limits(max_keepalive_connections=0)
    with httpx.Client(base_url=served.base_url, limits=no_reuse, timeout=5) as client:
        while (len(by_pid) < workers or sent < 20) and time.monotonic() < deadline:
            response = client.get("/pid")
            assert response.status_code == 200
            sent += 1
            pid = response.json()["pid"]
            by_pid[pid] = by_pid.get(pid, 0) + 1
    return by_pid, sent


def _scrape(served: Served) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = httpx.get(
        served.metrics_url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5
    )
    assert response.status_code == 200, response.text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


PID_REQUESTS = (
    "bastion_http_requests_total",
    (("method", "GET"), ("route", "/pid"), ("status_class", "2xx")),
)


def _rss_pids(found: dict[tuple[str, tuple[tuple[str, str], ...]], float]) -> set[int]:
    return {
        int(dict(labels)["pid"])
        for name, labels in found
        if name == "bastion_process_resident_memory_bytes"
    }


def test_the_metrics_port_adds_up_both_workers_and_forgets_a_dead_one(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_1.db").write_bytes(b"left by an earlier run")
    with serving(tmp_path, metrics_dir) as served:
        assert not (metrics_dir / "counter_1.db").exists()
        by_pid, sent = _spread_requests(served, workers=2)
        assert len(by_pid) == 2, f"one worker answered everything: {by_pid}"

        refused = httpx.get(served.metrics_url, timeout=5)
        assert refused.status_code == 401
        assert refused.headers["content-type"] == "application/problem+json"
        # With a port of their own, metrics are not on the API's port.
        assert httpx.get(served.base_url + "/metrics", timeout=5).status_code == 404

        found = _scrape(served)
        assert found[PID_REQUESTS] == sent
        assert found[("bastion_http_requests_in_flight", ())] == 0
        assert _rss_pids(found) == set(by_pid)
        assert found[("bastion_db_pool_connections_open", ())] >= 2

        # A worker dies: the supervisor starts another; its requests still count, its
        # memory gauge goes.
        dead = next(iter(by_pid))
        os.kill(dead, signal.SIGKILL)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            pids = _rss_pids(_scrape(served))
            if dead not in pids and len(pids) == 2:
                break
            time.sleep(0.3)
        found = _scrape(served)
        assert dead not in _rss_pids(found)
        assert len(_rss_pids(found)) == 2
        assert found[PID_REQUESTS] == sent
