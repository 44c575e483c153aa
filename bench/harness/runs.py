"""``make bench``: every system, every endpoint, one run, one results file."""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.config import BENCH_DIR, RunConfig
from harness.databases import Databases
from harness.endpoints import ENDPOINTS, measure_endpoint
from harness.load import ensure_wrk, wrk_version
from harness.machine import (
    bastion_commit,
    busy_percent,
    machine_info,
    python_versions,
    wait_until_quiet,
)
from harness.processes import stop_all
from harness.systems import SYSTEMS, Lab, Prepared, describe

__all__ = ["RESULTS_FILE", "run_bench"]

RESULTS_FILE = BENCH_DIR / "results" / "bench.json"


def _say(text: str) -> None:
    print(text, flush=True)


async def _prepare_all(lab: Lab, config: RunConfig, results: dict[str, Any]) -> list[Prepared]:
    prepared = []
    for key in config.systems:
        _say(f"preparing {key} ({config.rows} rows) ...")
        started = time.perf_counter()
        try:
            ready = await lab.prepare(key)
        except Exception as exc:  # a missing reference skips that system, not the run
            results["systems"][key] = describe(key) | {"status": "skipped", "reason": str(exc)}
            _say(f"  skipped {key}: {exc}")
            continue
        results["systems"][key] = describe(key) | {
            "status": "ok",
            "load_seconds": round(time.perf_counter() - started, 2),
            "versions": ready.versions,
        }
        prepared.append(ready)
    return prepared


def _start_all(prepared: list[Prepared], results: dict[str, Any]) -> list[Prepared]:
    running = []
    for ready in prepared:
        entry = results["systems"][ready.key]
        try:
            entry["startup_seconds"] = round(ready.server.start(), 3)
        except Exception as exc:
            entry |= {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
            ready.server.stop()
            _say(f"  {ready.key} failed to start: {exc}")
            continue
        entry["endpoints"] = {}
        running.append(ready)
        _say(f"{ready.key}: up in {entry['startup_seconds']} s on port {ready.server.port}")
    return running


def _measure_all(running: list[Prepared], config: RunConfig, results: dict[str, Any]) -> None:
    # Endpoint by endpoint, every system in turn, in rounds: load that other work
    # puts on the machine then falls on all systems alike, and the best round of
    # each (background load only ever slows a server down) is the one reported.
    for key in config.endpoints:
        _say(f"{key}:")
        for round_number in range(config.rounds):
            for ready in running:
                endpoints = results["systems"][ready.key]["endpoints"]
                if endpoints.get(key, {}).get("status") == "unsupported":
                    continue
                background = busy_percent(0.5)
                try:
                    result = measure_endpoint(
                        ready,
                        SYSTEMS[ready.key].api,
                        ENDPOINTS[key],
                        warmup=config.warmup if round_number == 0 else 0,
                        duration=config.duration,
                        connections=config.connections,
                        threads=config.wrk_threads,
                        tag=f"r{round_number}",
                    )
                except Exception as exc:
                    result = {"status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
                result["background_busy_percent"] = background
                endpoints[key] = _best(endpoints.get(key), result)
                if result["status"] == "ok":
                    _say(
                        f"  {ready.key:15} {result['rps']:9.1f} req/s  "
                        f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
                        f"non-2xx {result['non_2xx']}  (machine {background:.0f} % busy before)"
                    )
                else:
                    _say(f"  {ready.key:15} {result['status']} ({result.get('probe_status', '')})")


def _best(previous: dict[str, Any] | None, result: dict[str, Any]) -> dict[str, Any]:
    """The round with the most requests/s, remembering every round's figure."""
    rounds = [*(previous or {}).get("rounds_rps", []), result.get("rps")]
    kept = previous is not None and previous.get("status") == "ok"
    if kept and (result.get("status") != "ok" or result["rps"] <= previous["rps"]):
        return previous | {"rounds_rps": rounds}
    return result | {"rounds_rps": rounds}


def _finish_all(running: list[Prepared], results: dict[str, Any]) -> None:
    for ready in running:
        entry = results["systems"][ready.key]
        entry["memory"] = ready.server.memory()
        if any(e.get("non_2xx") or e["status"] == "failed" for e in entry["endpoints"].values()):
            entry["log_tail"] = ready.server.tail(15)
        ready.server.stop()


def run_bench(config: RunConfig, invoked_as: str) -> dict[str, Any]:
    """Run every selected system and endpoint; write bench/results/bench.json."""
    ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
    dbs = Databases(config.pg_admin_dsn)
    results: dict[str, Any] = {
        "kind": "bench",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": invoked_as,
        "config": config.as_dict(),
        "machine": machine_info(),
        "versions": python_versions() | {"wrk": wrk_version(), "bastion_commit": bastion_commit()},
        "systems": {},
    }
    try:
        results["versions"]["postgresql"] = asyncio.run(dbs.server_version())
        lab = Lab(workdir, dbs, config.workers, config.rows)
        prepared = asyncio.run(_prepare_all(lab, config, results))
        results["busy_percent_at_start"] = wait_until_quiet()
        running = _start_all(prepared, results)
        _measure_all(running, config, results)
        _finish_all(running, results)
    finally:
        stop_all()
        asyncio.run(dbs.drop_all())
        shutil.rmtree(workdir, ignore_errors=True)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS_FILE.parent.mkdir(exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    return results
