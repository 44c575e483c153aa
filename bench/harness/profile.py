"""``python bench/run.py profile``: where a Python server's workers spend CPU under load.

py-spy (from ``bench/.venvs/tools``) samples every worker of the server while
wrk drives one endpoint; the collapsed stacks are folded into the functions
and packages that take the most CPU. Idle time (waiting in the event loop)
is not sampled. Results are merged into ``bench/results/profile.json`` under
``<system>/<endpoint>``, so several endpoints and systems can be compared.
"""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import subprocess
import tempfile
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.config import BENCH_DIR, RunConfig
from harness.databases import Databases
from harness.endpoints import ENDPOINTS, measure_endpoint
from harness.load import ensure_wrk
from harness.machine import bastion_commit
from harness.processes import stop_all
from harness.redis_keys import RunRedis
from harness.systems import SYSTEMS, Lab
from harness.venvs import ensure_venv

__all__ = ["PROFILE_FILE", "fold_stacks", "run_profile"]

PROFILE_FILE = BENCH_DIR / "results" / "profile.json"
_FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>.*?)(?::\d+)?\)$")
_SITE = re.compile(r".*/site-packages/")


def _short_file(path: str) -> str:
    if "/src/bastion/" in path:
        return "bastion/" + path.split("/src/bastion/", 1)[1]
    path = _SITE.sub("", path)
    return re.sub(r".*/lib/python3\.\d+/", "stdlib/", path)


def _package(short: str) -> str:
    if short.startswith("bastion/"):
        parts = short.split("/")
        return "/".join(parts[:3]) if parts[1] in ("api", "adapters") else "/".join(parts[:2])
    if short.startswith("stdlib/"):
        return "stdlib/" + short.split("/")[1].removesuffix(".py")
    return short.split("/", 1)[0].removesuffix(".py")


def fold_stacks(lines: list[str]) -> dict[str, Any]:
    """Self and inclusive sample counts per function and per package from py-spy raw output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in lines:
        stack, _, count_text = line.rstrip().rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = []
        for raw in stack.split(";"):
            match = _FRAME.match(raw)
            if match:
                short = _short_file(match["file"])
                frames.append((f"{match['function']} ({short})", _package(short)))
        if not frames:
            continue
        total += count
        own[frames[-1][0]] += count
        packages[frames[-1][1]] += count
        for name in {name for name, _ in frames}:
            inclusive[name] += count

    def top(counter: Counter[str], n: int) -> list[dict[str, Any]]:
        return [
            {"function": name, "percent": round(100 * c / total, 1)}
            for name, c in counter.most_common(n)
        ]

    return {
        "samples": total,
        "self": top(own, 15),
        # Bastion's own functions only: the frames above them are the server's loop.
        "inclusive": top(Counter({k: v for k, v in inclusive.items() if "(bastion/" in k}), 20),
        "packages": top(packages, 15),
    }


def run_profile(config: RunConfig, system: str, endpoint: str, invoked_as: str) -> dict[str, Any]:
    """Profile ``system``'s workers while wrk drives ``endpoint``."""
    if system not in SYSTEMS or system == "pocketbase":
        raise SystemExit(
            "profile a Python system: " + ", ".join(k for k in SYSTEMS if k != "pocketbase")
        )
    ensure_wrk()
    py_spy = ensure_venv("tools") / "bin" / "py-spy"
    workdir = Path(tempfile.mkdtemp(prefix="bastion-profile-"))
    dbs = Databases(config.pg_admin_dsn)
    redis = RunRedis(config.redis_url)
    try:
        if not redis.check():
            print(f"{redis.error}: Bastion on PostgreSQL runs without Redis", flush=True)
        lab = Lab(
            workdir,
            dbs,
            config.workers,
            config.rows,
            ids=config.ids,
            redis=None if redis.error else redis,
        )
        prepared = asyncio.run(lab.prepare(system))
        server = prepared.server
        server.start()
        api = SYSTEMS[system].api
        measure_endpoint(
            prepared,
            api,
            ENDPOINTS[endpoint],
            warmup=config.warmup,
            duration=config.warmup,
            connections=config.connections,
            threads=config.wrk_threads,
            tag="p0",
        )
        outputs = []
        spies = []
        for pid in server.worker_pids():
            out = workdir / f"py-spy-{pid}.txt"
            outputs.append(out)
            spies.append(
                subprocess.Popen(
                    [
                        str(py_spy),
                        "record",
                        "--pid",
                        str(pid),
                        "--duration",
                        str(config.duration),
                        "--rate",
                        "200",
                        "--format",
                        "raw",
                        "--nonblocking",
                        "--output",
                        str(out),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        loaded = measure_endpoint(
            prepared,
            api,
            ENDPOINTS[endpoint],
            warmup=0,
            duration=config.duration,
            connections=config.connections,
            threads=config.wrk_threads,
            tag="p1",
        )
        for spy in spies:
            spy.wait(timeout=60)
        lines = [ln for out in outputs if out.exists() for ln in out.read_text().splitlines()]
        folded = fold_stacks(lines)
        server.stop()
    finally:
        stop_all()
        asyncio.run(dbs.drop_all())
        redis.delete_all()
        shutil.rmtree(workdir, ignore_errors=True)
    entry = {
        "system": system,
        "endpoint": endpoint,
        "command": invoked_as,
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "bastion_commit": bastion_commit(),
        "rps_under_profiler": loaded.get("rps"),
        **folded,
    }
    existing = json.loads(PROFILE_FILE.read_text()) if PROFILE_FILE.exists() else {}
    existing[f"{system}/{endpoint}"] = entry
    PROFILE_FILE.parent.mkdir(exist_ok=True)
    PROFILE_FILE.write_text(json.dumps(existing, indent=2) + "\n")
    for row in folded["packages"][:8]:
        print(f"  {row['percent']:5.1f}%  {row['function']}")
    return entry
