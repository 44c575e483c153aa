"""Graceful shutdown and restarts of ``bastion serve``, as a deployment drives them.

Each test runs the installed ``bastion serve`` in a fresh folder with a slow
route of its own, loads it over real sockets, and sends the signals an
orchestrator sends: SIGTERM to stop (Kubernetes, systemd), SIGHUP to replace
the workers one by one (a rolling restart).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import psutil

from process_support import (
    bastion_script,
    clean_environment,
    free_port,
    stop_server,
    wait_ready,
)

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
            start_new_session=True,  # its workers in its process group, to stop them all
        )
    served = Served(process, f"http://127.0.0.1:{port}", log_path)
    try:
        wait_ready(process, served.base_url, log_path)
        yield served
    finally:
        stop_server(process)


def _workers(supervisor: subprocess.Popen[bytes]) -> set[int]:
    """The pids of the worker processes ``supervisor`` runs now."""
    found = set()
    for child in psutil.Process(supervisor.pid).children():
        with contextlib.suppress(psutil.NoSuchProcess):
            alive = child.is_running() and child.status() != psutil.STATUS_ZOMBIE
            if alive and any("multiprocessing.spawn" in part for part in child.cmdline()):
                found.add(child.pid)
    return found


async def _replaced(supervisor: subprocess.Popen[bytes], old: set[int], *, within: float) -> bool:
    """Whether, within ``within`` seconds, none of the ``old`` workers is left and as many
    new ones run in their place."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        workers = _workers(supervisor)
        if len(workers) == len(old) and not workers & old:
            return True
        await asyncio.sleep(0.1)
    return False


async def _wait_exit(process: subprocess.Popen[bytes], seconds: float) -> int | None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if (code := process.poll()) is not None:
            return code
        await asyncio.sleep(0.05)
    return None


async def test_sigterm_lets_200_in_flight_requests_finish_then_exits_0(tmp_path: Path) -> None:
    with serving(tmp_path, shutdown_grace_seconds="2", shutdown_timeout_seconds="20") as served:
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

            # Draining: still answering, but no longer ready, so a balancer stops routing here.
            assert await _becomes_not_ready(served.base_url, within=1.5)
            async with httpx.AsyncClient(base_url=served.base_url, timeout=5) as probe:
                ready = await probe.get("/readyz")
            assert ready.status_code == 503
            assert ready.headers["content-type"] == "application/problem+json"
            assert ready.json()["draining"] is True

            responses = await asyncio.gather(*in_flight)
        assert [r.status_code for r in responses] == [200] * 200
        code = await _wait_exit(served.process, 20)
        assert code == 0, served.log.read_text()
        # Grace (2 s) + the rest of the slowest request, well within the 20 s deadline.
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
            old = _workers(served.process)
            assert len(old) == 2, old
            assert before <= old, (old, before)
            workers = [asyncio.create_task(load(client)) for _ in range(20)]
            await asyncio.sleep(0.5)
            served.process.send_signal(signal.SIGHUP)
            # Each of the two workers is replaced in turn: ready first, then drained.
            replaced = await _replaced(served.process, old, within=12)
            await asyncio.sleep(0.5)  # and the new ones serve the load a while
            stop.set()
            await asyncio.gather(*workers)
            after = {(await client.get("/slow", params={"seconds": "0"})).json()["pid"]}

        assert replaced, served.log.read_text()
        assert failures == []
        assert statuses
        assert set(statuses) == {200}
        assert not before & after, "the workers were not replaced"
        assert len(pids) >= 3
        served.process.send_signal(signal.SIGTERM)
        assert await _wait_exit(served.process, 20) == 0, served.log.read_text()


async def _load_until(
    client: httpx.AsyncClient, stop: asyncio.Event, statuses: list[int], failures: list[str]
) -> set[int]:
    """Send short requests one after another until ``stop``; the pids that answered."""
    pids = set()
    while not stop.is_set():
        try:
            response = await client.get("/slow", params={"seconds": "0.01"})
        except httpx.TransportError as exc:
            failures.append(repr(exc))
            continue
        statuses.append(response.status_code)
        pids.add(response.json()["pid"])
    return pids


async def _becomes_not_ready(base_url: str, *, within: float) -> bool:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(base_url=base_url, timeout=5) as probe:
        while time.monotonic() < deadline:
            if (await probe.get("/readyz")).status_code == 503:
                return True
            await asyncio.sleep(0.05)
    return False


async def _count_reaches(statuses: list[int], count: int) -> None:
    while len(statuses) < count:  # noqa: ASYNC110 (the load tasks append; nothing to signal)
        await asyncio.sleep(0.1)


async def test_sigterm_to_a_pool_of_workers_keeps_serving_through_the_grace_period(
    tmp_path: Path,
) -> None:
    with serving(tmp_path, "--workers", "2", shutdown_grace_seconds="3") as served:
        async with httpx.AsyncClient(base_url=served.base_url, timeout=30) as client:
            in_flight = [
                asyncio.create_task(client.get("/slow", params={"seconds": "2.5"}))
                for _ in range(40)
            ]
            await asyncio.sleep(0.5)
            statuses: list[int] = []
            failures: list[str] = []
            stop = asyncio.Event()
            load = [asyncio.create_task(_load_until(client, stop, statuses, failures))
                    for _ in range(8)]  # fmt: skip
            served.process.send_signal(signal.SIGTERM)
            # The supervisor passes SIGTERM on to its workers within half a second.
            assert await _becomes_not_ready(served.base_url, within=2.0)
            # Still inside the grace period: every worker still takes new requests.
            await asyncio.sleep(0.5)
            stop.set()
            await asyncio.gather(*load)
            responses = await asyncio.gather(*in_flight)
        assert failures == []
        assert len(statuses) > 20
        assert set(statuses) == {200}
        assert [r.status_code for r in responses] == [200] * 40
        assert await _wait_exit(served.process, 20) == 0, served.log.read_text()


async def test_max_requests_recycles_workers_under_load_without_dropping_a_request(
    tmp_path: Path,
) -> None:
    # No grace period on the last stop: this test is about recycling, not shutdown.
    with serving(
        tmp_path, "--workers", "2", "--max-requests", "40", shutdown_grace_seconds="0"
    ) as served:
        statuses: list[int] = []
        failures: list[str] = []
        stop = asyncio.Event()
        async with httpx.AsyncClient(base_url=served.base_url, timeout=20) as client:
            load = [asyncio.create_task(_load_until(client, stop, statuses, failures))
                    for _ in range(8)]  # fmt: skip
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(_count_reaches(statuses, 160), 30)
            stop.set()
            pids = set().union(*await asyncio.gather(*load))
        assert failures == []
        assert set(statuses) == {200}
        assert len(statuses) >= 160
        # 160 requests over two workers recycled every 40: at least 3 workers took part.
        assert len(pids) >= 3, pids
        assert served.process.poll() is None


async def test_max_requests_recycles_a_single_worker_without_stopping_the_service(
    tmp_path: Path,
) -> None:
    # No grace period on the last stop: this test is about recycling, not shutdown.
    with serving(tmp_path, "--max-requests", "10", shutdown_grace_seconds="0") as served:
        pids = set()
        async with httpx.AsyncClient(base_url=served.base_url, timeout=20) as client:
            for _ in range(15):
                response = await client.get("/slow", params={"seconds": "0.01"})
                assert response.status_code == 200
                pids.add(response.json()["pid"])
        assert len(pids) == 2, "the worker was not recycled after 10 requests"
        assert served.process.poll() is None
