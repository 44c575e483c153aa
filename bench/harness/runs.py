"""``make bench``: every system, every endpoint, one run, one results file.

The run has two parts. The main part starts every system but granian, times
each start-up alone, reads each worker's idle memory, then measures endpoint
by endpoint, every system in turn, ``rounds`` times. The server-choice part
then stops everything but Bastion (PostgreSQL, cache off) under uvicorn, starts
the same app under granian, and measures the two in turn on GET and list.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from harness.config import BENCH_DIR, REPO_DIR, RunConfig
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
from harness.redis_keys import RunRedis
from harness.systems import SERVER_CHOICE, SYSTEMS, Lab, Prepared, describe

__all__ = ["RESULTS_FILE", "median_round", "run_bench"]

RESULTS_FILE = BENCH_DIR / "results" / "bench.json"
_POOL_MAX = 10
"""Connections each worker's pool may open (Bastion's default, and the asyncpg reference's)."""
_SETTLE_SECONDS = 2.0
"""Left to the workers after the last server answered, before idle memory is read."""


def _say(text: str) -> None:
    print(text, flush=True)


def _to_prepare(config: RunConfig) -> list[str]:
    keys = list(config.systems)
    # granian serves uvicorn's database and is measured against it: both are needed.
    if SERVER_CHOICE[1] in keys and SERVER_CHOICE[0] not in keys:
        keys.insert(keys.index(SERVER_CHOICE[1]), SERVER_CHOICE[0])
    return keys


async def _prepare_all(lab: Lab, keys: list[str], results: dict[str, Any]) -> list[Prepared]:
    prepared = []
    for key in keys:
        _say(f"preparing {key} ({lab.rows:,} rows) ...")
        started = time.perf_counter()
        try:
            ready = await lab.prepare(key)
        except Exception as exc:  # a missing reference skips that system, not the run
            skipped = {"status": "skipped", "reason": _reason(exc, with_type=False)}
            results["systems"][key] = describe(key) | skipped
            _say(f"  skipped {key}: {exc}")
            continue
        seconds = round(time.perf_counter() - started, 2)
        results["systems"][key] = describe(key) | {
            "status": "ok",
            "load_seconds": seconds,
            "data": ready.data,
            "versions": ready.versions,
        }
        _say(f"  {key}: {ready.data} in {seconds} s")
        prepared.append(ready)
    return prepared


def _start_all(prepared: list[Prepared], results: dict[str, Any]) -> list[Prepared]:
    running = []
    for ready in prepared:
        entry = results["systems"][ready.key]
        try:
            entry["startup_seconds"] = round(ready.server.start(), 3)
        except Exception as exc:
            entry |= {"status": "failed", "reason": _reason(exc)}
            ready.server.stop()
            _say(f"  {ready.key} failed to start: {exc}")
            continue
        entry.setdefault("endpoints", {})
        running.append(ready)
        _say(f"{ready.key}: up in {entry['startup_seconds']} s on port {ready.server.port}")
    time.sleep(_SETTLE_SECONDS)
    for ready in running:
        results["systems"][ready.key]["memory_idle"] = ready.server.memory()
    return running


def median_round(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """The round with the median requests/s (the lower middle one for an even count).

    Its p50 and p99 come with it; every round's req/s is kept in ``rounds_rps``.
    A round that failed counts as a failure only if no round succeeded.
    """
    ok = sorted((r for r in rounds if r.get("status") == "ok"), key=lambda r: r["rps"])
    chosen = ok[(len(ok) - 1) // 2] if ok else rounds[-1]
    failed = len(rounds) - len(ok)
    extra: dict[str, Any] = {"rounds_rps": [r.get("rps") for r in rounds]}
    if failed and ok:
        extra["rounds_failed"] = failed
    return chosen | extra


def _measure(
    running: list[Prepared], endpoints: tuple[str, ...], config: RunConfig
) -> dict[str, dict[str, dict[str, Any]]]:
    # Endpoint by endpoint, every system in turn, in rounds: load that other work
    # puts on the machine then falls on all systems alike, and the median round
    # of each is neither the luckiest nor the most disturbed.
    rounds: dict[str, dict[str, list[dict[str, Any]]]] = {ready.key: {} for ready in running}
    for key in endpoints:
        measured = [r for r in running if key in SYSTEMS[r.key].endpoints]
        if not measured:
            continue
        _say(f"{key}:")
        for round_number in range(config.rounds):
            for ready in measured:
                seen = rounds[ready.key].setdefault(key, [])
                if seen and seen[-1]["status"] == "unsupported":
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
                    result = {"status": "failed", "reason": _reason(exc)}
                result["background_busy_percent"] = background
                seen.append(result)
                if result["status"] == "ok":
                    _say(
                        f"  {ready.key:18} {result['rps']:9.1f} req/s  "
                        f"p50 {result['p50_ms']:7.2f} ms  p99 {result['p99_ms']:7.2f} ms  "
                        f"non-2xx {result['non_2xx']}  (machine {background:.0f} % busy before)"
                    )
                else:
                    _say(f"  {ready.key:18} {result['status']} ({result.get('probe_status', '')})")
    return {
        system: {key: median_round(results) for key, results in by_endpoint.items()}
        for system, by_endpoint in rounds.items()
    }


def _finish(ready: Prepared, results: dict[str, Any], redis: RunRedis | None) -> None:
    entry = results["systems"][ready.key]
    entry["memory"] = ready.server.memory()
    if redis is not None and ready.key.startswith("bastion-pg"):
        entry["redis_keys"] = redis.count(ready.key)
    if any(e.get("non_2xx") or e["status"] == "failed" for e in entry["endpoints"].values()):
        entry["log_tail"] = ready.server.tail(15)
    ready.server.stop()


async def _connection_budget(
    dbs: Databases, running: list[str], config: RunConfig
) -> dict[str, Any]:
    budget = await dbs.connection_budget()
    pooled = [k for k in running if SYSTEMS[k].storage == "postgresql" and k != "drf"]
    needed = len(pooled) * config.workers * _POOL_MAX + ("drf" in running) * config.workers
    budget["needed"] = needed
    if needed > budget["max_connections"] - budget["in_use"]:
        _say(
            f"  WARNING: the PostgreSQL systems may open {needed} connections and the server "
            f"has {budget['max_connections'] - budget['in_use']} free "
            f"({budget['in_use']} held by others): expect 503s or connection errors"
        )
    return budget


def _server_choice(
    prepared: dict[str, Prepared],
    running: list[Prepared],
    config: RunConfig,
    results: dict[str, Any],
    redis: RunRedis | None,
) -> None:
    uvicorn_key, granian_key = SERVER_CHOICE
    if granian_key not in prepared or uvicorn_key not in prepared:
        return
    _say("server choice: uvicorn against granian (Bastion on PostgreSQL, cache off)")
    uvicorn = next((r for r in running if r.key == uvicorn_key), None)
    started = _start_all(
        [prepared[granian_key]] + ([] if uvicorn else [prepared[uvicorn_key]]), results
    )
    # uvicorn first in every round, whether it kept running from the main part or not.
    pair = sorted([*([uvicorn] if uvicorn else []), *started], key=lambda r: r.key != uvicorn_key)
    if len(pair) < 2:
        for ready in pair:
            _finish(ready, results, redis)
        return
    endpoints = tuple(e for e in config.endpoints if e in SYSTEMS[granian_key].endpoints)
    measured = _measure(pair, endpoints, config)
    results["systems"][granian_key]["endpoints"] = measured[granian_key]
    results["server_choice"] = {
        "servers": {"uvicorn": uvicorn_key, "granian": granian_key},
        "endpoints": {
            key: {"uvicorn": measured[uvicorn_key][key], "granian": measured[granian_key][key]}
            for key in endpoints
        },
    }
    for ready in pair:
        _finish(ready, results, redis)


def run_bench(config: RunConfig, invoked_as: str) -> dict[str, Any]:
    """Run every selected system and endpoint; write bench/results/bench.json."""
    ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bastion-bench-"))
    dbs = Databases(config.pg_admin_dsn)
    redis = RunRedis(config.redis_url)
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
        redis_ok = redis.check()
        results["redis"] = redis.as_dict()
        if redis_ok:
            _say(f"Redis {redis.server_version} at {redis.url} answers; keys under {redis.prefix}")
        else:
            _say(
                f"\n*** {redis.error}\n*** bastion-pg (Bastion as shipped on PostgreSQL caches "
                "in Redis) is skipped; the other PostgreSQL Bastions run without Redis. Start "
                "Redis or set BENCH_REDIS_URL, and run again for the full table.\n"
            )
        keys = _to_prepare(config)
        lab = Lab(
            workdir,
            dbs,
            config.workers,
            config.rows,
            ids=config.ids,
            redis=redis if redis_ok else None,
        )
        load_started = time.perf_counter()
        prepared = {p.key: p for p in asyncio.run(_prepare_all(lab, keys, results))}
        results["load_seconds_total"] = round(time.perf_counter() - load_started, 1)
        main = [
            p for key, p in prepared.items() if key in config.systems and key != SERVER_CHOICE[1]
        ]
        results["pg_connections"] = asyncio.run(
            _connection_budget(dbs, [p.key for p in main], config)
        )
        results["busy_percent_at_start"] = wait_until_quiet()
        running = _start_all(main, results)
        for system, by_endpoint in _measure(running, config.endpoints, config).items():
            results["systems"][system]["endpoints"] = by_endpoint
        kept = [r for r in running if r.key == SERVER_CHOICE[0]]
        for ready in running:
            if ready not in kept:
                _finish(ready, results, redis if redis_ok else None)
        _server_choice(prepared, kept, config, results, redis if redis_ok else None)
    finally:
        stop_all()
        asyncio.run(dbs.drop_all())
        try:
            results.setdefault("redis", {})["keys_deleted"] = redis.delete_all()
        except Exception as exc:  # cleaning up must not hide the run's own error
            _say(f"could not delete this run's Redis keys ({redis.prefix}*): {exc}")
        shutil.rmtree(workdir, ignore_errors=True)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    RESULTS_FILE.parent.mkdir(exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(results, indent=2) + "\n")
    return results


def _reason(exc: BaseException, *, with_type: bool = True) -> str:
    """Why a system failed, with paths inside the checkout written relative to it
    (the results are committed: they must not name the machine they ran on)."""
    text = str(exc).replace(f"{REPO_DIR}/", "")
    return f"{type(exc).__name__}: {text}" if with_type else text
