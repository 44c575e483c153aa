"""``make bench-scale``: how get and list latency grow with the table (Bastion on PostgreSQL).

One database grows through the sizes asked for (10k, 1M, and 10M with
``BENCH_SCALE_10M=1``): rows are appended, the table is vacuumed and
analysed, Bastion restarts, and each endpoint is measured with few
connections so latency shows the cost of a request rather than queueing.
At each size a cursor walk skips ``min(BENCH_SCALE_DEPTH, rows / 2)`` rows
page by page, and the page found there is timed against the first page:
keyset pagination should make both cost the same.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import asyncpg
import orjson

from harness import dataset
from harness.config import BENCH_DIR, ScaleConfig
from harness.databases import Databases, migrate
from harness.endpoints import ENDPOINTS, measure_endpoint
from harness.load import ensure_wrk, run_wrk, wrk_version
from harness.machine import bastion_commit, machine_info, python_versions, wait_until_quiet
from harness.processes import Server, http_request, stop_all
from harness.systems import API_BASTION, Lab, Prepared

__all__ = ["SCALE_FILE", "run_scale"]

SCALE_FILE = BENCH_DIR / "results" / "scale.json"
_WALK_PAGE = 100


def _say(text: str) -> None:
    print(text, flush=True)


def walk_cursor(port: int, query: dict[str, str], depth: int) -> dict[str, Any]:
    """Follow ``next_cursor`` (pages of 100) until ``depth`` rows are behind; the cursor there."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    cursor: str | None = None
    walked = pages = 0
    started = time.perf_counter()
    try:
        while walked < depth:
            params = query | {"limit": str(_WALK_PAGE)} | ({"cursor": cursor} if cursor else {})
            conn.request("GET", f"/v1/items?{urlencode(params)}")
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                raise RuntimeError(f"cursor walk got HTTP {response.status}: {body[:200]!r}")
            page = orjson.loads(body)
            walked += len(page["data"])
            pages += 1
            cursor = page["next_cursor"]
            if not cursor:
                break
    finally:
        conn.close()
    return {
        "rows_skipped": walked,
        "pages": pages,
        "walk_seconds": round(time.perf_counter() - started, 2),
        "cursor": cursor,
    }


def _fixed(server: Server, path: str, config: ScaleConfig) -> dict[str, Any]:
    status, body = http_request(server.port, "GET", path)
    if status != 200:
        return {"status": "failed", "probe_status": status, "probe_body": body[:200].decode()}
    for seconds, tag in ((config.warmup, "w"), (config.duration, "m")):
        result = run_wrk(
            server.port,
            mode="fixed",
            path=path,
            ids_file=None,
            style="decimal-string",
            tag=tag,
            duration=seconds,
            connections=config.connections,
            threads=config.wrk_threads,
        )
    return {"status": "ok", **result.as_dict()}


def _deep(server: Server, query: dict[str, str], depth: int, config: ScaleConfig) -> dict[str, Any]:
    walk = walk_cursor(server.port, query, depth)
    first = f"/v1/items?{urlencode(query | {'limit': '20'})}"
    entry: dict[str, Any] = {"query": urlencode(query) or "(none)", **walk}
    entry["first_page"] = _fixed(server, first, config)
    if walk["cursor"]:
        deep = f"/v1/items?{urlencode(query | {'limit': '20', 'cursor': walk['cursor']})}"
        entry["deep_page"] = _fixed(server, deep, config)
    del entry["cursor"]
    return entry


async def _table_size(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        size: int = await conn.fetchval("SELECT pg_total_relation_size('items')")
    finally:
        await conn.close()
    return size


def _measure_size(lab: Lab, dsn: str, size: int, config: ScaleConfig) -> dict[str, Any]:
    ids = asyncio.run(dataset.sample_ids(dsn, 20_000))
    ids_file = lab.workdir / f"ids-{size}.txt"
    ids_file.write_text("\n".join(ids) + "\n")
    server = lab.bastion_server(f"bastion-{size}", dsn, lab.workdir / "migrations-postgresql")
    entry: dict[str, Any] = {"rows": size, "busy_percent_before": wait_until_quiet()}
    entry["startup_seconds"] = round(server.start(), 3)
    prepared = Prepared("bastion-pg", server, ids_file)
    try:
        entry["endpoints"] = {}
        for key in ("get", "list", "list_filtered"):
            entry["endpoints"][key] = result = measure_endpoint(
                prepared,
                API_BASTION,
                ENDPOINTS[key],
                warmup=config.warmup,
                duration=config.duration,
                connections=config.connections,
                threads=config.wrk_threads,
            )
            shown = (
                f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
                if result["status"] == "ok"
                else "n/a (unsupported)"
            )
            _say(f"  {key:14} {shown}")
        depth = min(config.depth, size // 2)
        entry["deep"] = _deep(server, {}, depth, config)
        _say(
            f"  deep page at {entry['deep']['rows_skipped']} rows: "
            f"{entry['deep'].get('deep_page', {}).get('p50_ms')} ms p50 vs first page "
            f"{entry['deep']['first_page'].get('p50_ms')} ms"
        )
        if entry["endpoints"]["list_filtered"]["status"] == "ok":
            # About 60 % of the rows are active: walk a quarter of the table.
            query = {"status": "active", "sort": "-price"}
            entry["deep_filtered"] = _deep(server, query, min(config.depth, size // 4), config)
        entry["memory"] = server.memory()
    finally:
        server.stop()
    return entry


def run_scale(config: ScaleConfig, invoked_as: str) -> dict[str, Any]:
    """Measure every size in ``config.sizes``; write bench/results/scale.json."""
    ensure_wrk()
    workdir = Path(tempfile.mkdtemp(prefix="bastion-scale-"))
    dbs = Databases(config.pg_admin_dsn)
    results: dict[str, Any] = {
        "kind": "scale",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "command": invoked_as,
        "config": config.as_dict(),
        "machine": machine_info(),
        "versions": python_versions() | {"wrk": wrk_version(), "bastion_commit": bastion_commit()},
        "sizes": [],
    }
    try:
        results["versions"]["postgresql"] = asyncio.run(dbs.server_version())
        dsn = dbs.dsn(asyncio.run(dbs.create("scale")))
        migrate(dsn, workdir / "migrations-postgresql", plan=True, cwd=workdir)
        lab = Lab(workdir, dbs, config.workers, rows=0)
        loaded = 0
        for size in config.sizes:
            _say(f"loading up to {size} rows ...")
            started = time.perf_counter()
            asyncio.run(dataset.load_postgres(dsn, loaded, size))
            load_seconds = round(time.perf_counter() - started, 1)
            loaded = size
            entry = _measure_size(lab, dsn, size, config)
            entry["load_seconds"] = load_seconds
            entry["table_mib"] = round(asyncio.run(_table_size(dsn)) / 2**20, 1)
            results["sizes"].append(entry)
    finally:
        stop_all()
        asyncio.run(dbs.drop_all())
        shutil.rmtree(workdir, ignore_errors=True)
    results["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    SCALE_FILE.parent.mkdir(exist_ok=True)
    SCALE_FILE.write_text(json.dumps(results, indent=2) + "\n")
    return results
