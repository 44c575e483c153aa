"""What produced the numbers: the machine, and the version of every piece measured."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import sqlite3
import subprocess
import time
from pathlib import Path
from typing import Any

from harness.config import REPO_DIR

__all__ = [
    "bastion_commit",
    "busy_percent",
    "machine_info",
    "python_versions",
    "wait_until_quiet",
]


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def _os_name() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except OSError:
        pass
    return platform.system()


def machine_info() -> dict[str, Any]:
    """Cores, CPU, memory, OS and kernel of this machine."""
    return {
        "cores": os.cpu_count(),
        "cpu": _cpu_model(),
        "memory_gib": _memory_gib(),
        "os": _os_name(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def python_versions() -> dict[str, str]:
    """Versions of the libraries Bastion and the Starlette references run on."""
    names = [
        "bastion",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "asyncpg",
        "aiosqlite",
        "orjson",
        "SQLAlchemy",
        "pydantic",
    ]
    versions = {}
    for name in names:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def bastion_commit() -> str:
    """The commit of the work tree measured (read-only git)."""
    result = subprocess.run(
        ["git", "-C", str(REPO_DIR), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.stdout.strip() or "unknown"


def _cpu_times() -> tuple[int, int]:
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return idle, sum(fields[:8])


def busy_percent(seconds: float = 0.5) -> float:
    """How busy all cores were over the next ``seconds`` (0-100), whoever used them."""
    idle_before, total_before = _cpu_times()
    time.sleep(seconds)
    idle_after, total_after = _cpu_times()
    total = total_after - total_before
    return round(100 * (1 - (idle_after - idle_before) / total), 1) if total else 0.0


def wait_until_quiet(limit_percent: float = 25.0, patience: float | None = None) -> float:
    """Wait (at most ``patience`` s) until other work leaves the cores idle; the last reading."""
    if patience is None:
        patience = float(os.environ.get("BENCH_QUIET_WAIT", "60") or 60)
    deadline = time.monotonic() + patience
    busy = busy_percent(1.0)
    while busy > limit_percent and time.monotonic() < deadline:
        print(f"  the machine is {busy:.0f} % busy with other work; waiting ...", flush=True)
        time.sleep(10)
        busy = busy_percent(1.0)
    return busy
