"""Load generation with wrk: install it if missing, run one endpoint, read the numbers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import BENCH_DIR

__all__ = ["Measurement", "ensure_wrk", "run_wrk", "wrk_version"]

_SCRIPT = BENCH_DIR / "wrk" / "bench.lua"


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package first if it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0:
        raise SystemExit("wrk is not installed; run `sudo apt-get install -y wrk` and retry")
    print("installing wrk (apt-get) ...", flush=True)
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=env)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("apt-get installed wrk but it is not on PATH")
    return found


def wrk_version() -> str:
    """wrk's own version line."""
    result = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    return (result.stdout or result.stderr).splitlines()[0].split(" Copyright")[0].strip()


@dataclass(frozen=True, slots=True)
class Measurement:
    """What one wrk run saw."""

    requests: int
    seconds: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int]
    socket_errors: dict[str, int]

    @property
    def rps(self) -> float:
        """Completed responses per second."""
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def non_2xx(self) -> int:
        """Responses whose status is not 2xx."""
        return sum(n for status, n in self.statuses.items() if not status.startswith("2"))

    def as_dict(self) -> dict[str, Any]:
        """The numbers, for the results file."""
        return {
            "rps": round(self.rps, 1),
            "requests": self.requests,
            "seconds": round(self.seconds, 2),
            "p50_ms": self.p50_ms,
            "p90_ms": self.p90_ms,
            "p99_ms": self.p99_ms,
            "max_ms": self.max_ms,
            "non_2xx": self.non_2xx,
            "statuses": self.statuses,
            "socket_errors": self.socket_errors,
        }


def run_wrk(
    port: int,
    *,
    mode: str,
    path: str,
    ids_file: Path | None,
    style: str,
    tag: str,
    duration: int,
    connections: int,
    threads: int,
) -> Measurement:
    """Drive one endpoint for ``duration`` seconds; raise if wrk fails."""
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--timeout",
        "10s",
        "-s",
        str(_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        mode,
        path,
        str(ids_file) if ids_file else "-",
        style,
        tag,
    ]
    result = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + 60, check=False
    )
    line = next((ln for ln in result.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    data = json.loads(line.removeprefix("BENCH_JSON "))
    latency = data["latency_us"]
    return Measurement(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        p50_ms=round(latency["p50"] / 1000, 2),
        p90_ms=round(latency["p90"] / 1000, 2),
        p99_ms=round(latency["p99"] / 1000, 2),
        max_ms=round(latency["max"] / 1000, 2),
        statuses=dict(sorted(data["statuses"].items())),
        socket_errors={k: v for k, v in data["socket_errors"].items() if v},
    )
