"""Graceful shutdown and restarts of ``bastion serve``, as a deployment drives them.

Each test runs the installed ``bastion serve`` in a fresh folder with a slow
route of its own, loads it over real sockets, and sends the signals an
orchestrator sends: SIGTERM to stop (Kubernetes, systemd), SIGHUP to replace
the workers one by one (a rolling restart).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from process_support import bastion_script, clean_environment, free_port

STARTUP_SECONDS = 30.0

BLUEPRINT = """\
version: 1
name: drain
routes: slowroutes:routes
resources:
  notes:
    fields:
      title: {type: string, max_length: 200}
"""

SLOW_ROUTES = """\
import asyncio
import os

from starlette.responses import JSONResponse
from starlette.routing import Route


async def slow(request):
    await asyncio.sleep(float(request.query_params.get("seconds", "1")))
    return JSONResponse({"pid": os.getpid()})


routes = [Route("/slow", slow)]
"""


@dataclass
class Served:
    """A running ``bastion serve``."""

    process: subprocess.Popen[bytes]
    base_url: str
    log: Path


@contextmanager
def serving(tmp_path: Path, *args: str, **settings: str) -> Iterator[Served]:
    """``bastion serve`` on a free port with the slow route; always stopped afterwards."""
    (tmp_path / "bastion.yaml").write_text(BLUEPRINT)
    (tmp_path / "slowroutes.py").write_text(textwrap.dedent(SLOW_ROUTES))
    port = free_port()
    env = clean_environment()
    env["PYTHONPATH"] = str(tmp_path)
    env.update({f"BASTION_{key.upper()}": value for key, value in settings.items()})
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [bastion_script(), "serve", "--port", str(port), *args],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    served = Served(process, f"http://127.0.0.1:{port}", log_path)
    try:
        _wait_ready(served)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _wait_ready(served: Served) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if served.process.poll() is not None:
            pytest.fail(f"bastion serve exited early:\n{served.log.read_text()}")
        try:
            if httpx.get(served.base_url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"bastion serve did not become ready:\n{served.log.read_text()}")


async def _wait_exit(process: subprocess.Popen[bytes], seconds: float) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (code := process.poll()) is not None:
            return code
        await asyncio.sleep(0.05)
    return None


async def test_sigterm_lets_200_in_flight_requests_finish_then_exits_0(tmp_path: Path) -> None:
    with serving(tmp_path, shutdown_grace_seconds="1", shutdown_timeout_seconds="20") as served:
        limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
        async with httpx.AsyncClient(base_url=served.base_url, limits=limits, timeout=30) as client:
            in_flight = [
                asyncio.create_task(client.get("/slow", params={"seconds": "3"}))
                for _ in range(200)
            ]
            await asyncio.sleep(1.0)  # every request has reached the handler
            assert not any(task.done() for task in in_flight)
            sent_at = time.monotonic()
            served.process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.3)

            # Draining: still answering, but no longer ready, so a balancer stops routing here.
            async with httpx.AsyncClient(base_url=served.base_url, timeout=5) as probe:
                ready = await probe.get("/readyz")
            assert ready.status_code == 503
            assert ready.headers["content-type"] == "application/problem+json"
            assert ready.json()["draining"] is True

            responses = await asyncio.gather(*in_flight)
        assert [r.status_code for r in responses] == [200] * 200
        code = await _wait_exit(served.process, 20)
        assert code == 0, served.log.read_text()
        # Grace (1 s) + the rest of the slowest request, well within the 20 s deadline.
        assert time.monotonic() - sent_at < 10


async def test_a_rolling_restart_under_load_drops_no_request(tmp_path: Path) -> None:
    with serving(tmp_path, "--workers", "2", shutdown_grace_seconds="1") as served:
        failures: list[str] = []
        statuses: list[int] = []
        pids: set[int] = set()
        stop = asyncio.Event()

        async def load(client: httpx.AsyncClient) -> None:
            while not stop.is_set():
                try:
                    response = await client.get("/slow", params={"seconds": "0.02"})
                except httpx.TransportError as exc:
                    failures.append(repr(exc))
                    continue
                statuses.append(response.status_code)
                pids.add(response.json()["pid"])

        async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as client:
            before = {(await client.get("/slow", params={"seconds": "0"})).json()["pid"]}
            workers = [asyncio.create_task(load(client)) for _ in range(20)]
            await asyncio.sleep(0.5)
            served.process.send_signal(signal.SIGHUP)
            # Each of the two workers is replaced in turn: ready first, then drained.
            await asyncio.sleep(12)
            stop.set()
            await asyncio.gather(*workers)
            after = {(await client.get("/slow", params={"seconds": "0"})).json()["pid"]}

        assert failures == []
        assert statuses
        assert set(statuses) == {200}
        assert not before & after, "the workers were not replaced"
        assert len(pids) >= 3
        served.process.send_signal(signal.SIGTERM)
        assert await _wait_exit(served.process, 20) == 0, served.log.read_text()


async def test_max_requests_recycles_the_worker_without_stopping_the_service(
    tmp_path: Path,
) -> None:
    with serving(tmp_path, "--max-requests", "20") as served:
        pids = set()
        served_count = 0
        deadline = time.monotonic() + 30
        async with httpx.AsyncClient(base_url=served.base_url, timeout=20) as client:
            while len(pids) < 2 and time.monotonic() < deadline:
                try:
                    response = await client.get("/slow", params={"seconds": "0.01"})
                except httpx.TransportError:
                    # The recycled worker closed a kept-alive connection: a new one is served.
                    response = await client.get("/slow", params={"seconds": "0.01"})
                assert response.status_code == 200
                served_count += 1
                pids.add(response.json()["pid"])
        assert len(pids) == 2, "the worker was never recycled"
        assert served_count >= 20
        assert served.process.poll() is None
