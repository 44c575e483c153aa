"""Test support: run the installed ``bastion`` script as a user would."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

__all__ = ["bastion_script", "clean_environment", "free_port", "stop_server", "wait_ready"]


def bastion_script() -> str:
    """The ``bastion`` script installed beside this Python."""
    beside_python = Path(sys.executable).parent / "bastion"
    if beside_python.is_file():
        return str(beside_python)
    found = shutil.which("bastion")
    if found is None:
        pytest.fail("the `bastion` script is not installed (pip install -e . creates it)")
    return found


def clean_environment() -> dict[str, str]:
    """The environment a new user has: no BASTION_* settings, development mode."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("BASTION_")}
    env["BASTION_ENV"] = "development"
    env["NO_COLOR"] = "1"
    env["COLUMNS"] = "200"
    return env


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def stop_server(process: subprocess.Popen[bytes], *, patience: float = 15.0) -> None:
    """Stop a ``bastion serve`` started with ``start_new_session=True``, workers included.

    SIGTERM first (a graceful stop); then SIGKILL to its whole process group, so no
    worker process outlives the test still listening on its port.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(patience)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    if process.poll() is None:
        process.wait(10)


def wait_ready(
    process: subprocess.Popen[bytes], base_url: str, log: Path, *, patience: float = 30.0
) -> None:
    """Wait until the server at ``base_url`` answers ``/readyz`` with 200; fail the test,
    with the server's log, if it exits or does not get there within ``patience`` seconds."""
    deadline = time.monotonic() + patience
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"bastion serve exited early:\n{log.read_text()}")
        try:
            if httpx.get(base_url + "/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"bastion serve did not become ready:\n{log.read_text()}")
