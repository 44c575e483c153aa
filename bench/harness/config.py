"""The knobs of a benchmark run: one frozen object, read once from flags and ``BENCH_*``."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["BENCH_DIR", "DEFAULT_ROWS", "REPO_DIR", "RunConfig", "ScaleConfig", "env_int"]

BENCH_DIR = Path(__file__).resolve().parent.parent
"""``bench/``: the blueprint, the references, the wrk script, the results."""
REPO_DIR = BENCH_DIR.parent


def env_int(name: str, default: int) -> int:
    """An integer from the environment, or ``default`` when unset or empty."""
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def env_str(name: str, default: str) -> str:
    """A string from the environment, or ``default`` when unset or empty."""
    return os.environ.get(name, "").strip() or default


ALL_SYSTEMS = (
    "bastion-pg",
    "bastion-pg-nocache",
    "asyncpg",
    "drf",
    "bastion-sqlite",
    "sqlite3",
    "pocketbase",
    "bastion-pg-granian",
)
ALL_ENDPOINTS = ("get", "list", "list_filtered", "update", "create")
DEFAULT_ROWS = 1_000_000
"""What ``make bench`` loads by default (docs/benchmarks.md says why this size)."""


@dataclass(frozen=True, slots=True)
class RunConfig:
    """What ``make bench`` measures and how hard it pushes."""

    workers: int = field(default_factory=lambda: env_int("BENCH_WORKERS", 2))
    """Worker processes per server (PocketBase: GOMAXPROCS)."""
    duration: int = field(default_factory=lambda: env_int("BENCH_DURATION", 10))
    """Seconds of measured load per endpoint."""
    warmup: int = field(default_factory=lambda: env_int("BENCH_WARMUP", 2))
    """Seconds of unmeasured load before an endpoint's first round."""
    rounds: int = field(default_factory=lambda: env_int("BENCH_ROUNDS", 3))
    """Measurements per system and endpoint; the median one is reported."""
    connections: int = field(default_factory=lambda: env_int("BENCH_CONNECTIONS", 64))
    """Concurrent keep-alive connections wrk holds open."""
    wrk_threads: int = field(default_factory=lambda: env_int("BENCH_WRK_THREADS", 2))
    """wrk threads."""
    rows: int = field(default_factory=lambda: env_int("BENCH_ROWS", DEFAULT_ROWS))
    """Rows loaded into every system before it starts (a multiple of 10,000)."""
    ids: int = field(default_factory=lambda: env_int("BENCH_IDS", 5_000))
    """Ids, spread evenly at random over the table, that GET and PATCH pick from."""
    redis_url: str = field(
        default_factory=lambda: env_str("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    )
    """The Redis ``bastion-pg`` caches in (its keys live under a prefix of their own)."""
    systems: tuple[str, ...] = field(
        default_factory=lambda: tuple(env_str("BENCH_SYSTEMS", ",".join(ALL_SYSTEMS)).split(","))
    )
    endpoints: tuple[str, ...] = field(
        default_factory=lambda: tuple(
            env_str("BENCH_ENDPOINTS", ",".join(ALL_ENDPOINTS)).split(",")
        )
    )
    pg_admin_dsn: str = field(
        default_factory=lambda: env_str(
            "BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
    )
    """Where ``bench_*`` databases are created and dropped."""

    def __post_init__(self) -> None:
        unknown = set(self.systems) - set(ALL_SYSTEMS)
        if unknown:
            raise SystemExit(f"unknown BENCH_SYSTEMS {sorted(unknown)}; known: {ALL_SYSTEMS}")
        unknown = set(self.endpoints) - set(ALL_ENDPOINTS)
        if unknown:
            raise SystemExit(f"unknown BENCH_ENDPOINTS {sorted(unknown)}; known: {ALL_ENDPOINTS}")
        if self.connections < self.wrk_threads:
            raise SystemExit("BENCH_CONNECTIONS must be at least BENCH_WRK_THREADS")
        if self.rows < 10_000 or self.rows % 10_000:
            raise SystemExit("BENCH_ROWS must be a positive multiple of 10000")
        if not 1 <= self.ids <= self.rows:
            raise SystemExit("BENCH_IDS must be between 1 and BENCH_ROWS")

    def as_dict(self) -> dict[str, Any]:
        """The values, for the results file."""
        return asdict(self) | {"pg_admin_dsn": "(admin DSN)"}


def _scale_sizes() -> tuple[int, ...]:
    sizes = [int(s) for s in env_str("BENCH_SCALE_SIZES", "10000,1000000").split(",")]
    if os.environ.get("BENCH_SCALE_10M", "").strip() not in ("", "0"):
        sizes.append(10_000_000)
    return tuple(sorted(set(sizes)))


@dataclass(frozen=True, slots=True)
class ScaleConfig:
    """What ``make bench-scale`` measures: latency as the table grows (PostgreSQL)."""

    sizes: tuple[int, ...] = field(default_factory=_scale_sizes)
    """Row counts, ascending; rows are added between sizes (10M only with BENCH_SCALE_10M=1)."""
    workers: int = field(default_factory=lambda: env_int("BENCH_WORKERS", 2))
    duration: int = field(default_factory=lambda: env_int("BENCH_SCALE_DURATION", 5))
    warmup: int = field(default_factory=lambda: env_int("BENCH_WARMUP", 2))
    connections: int = field(default_factory=lambda: env_int("BENCH_SCALE_CONNECTIONS", 4))
    """Few connections: the point is what one request costs, not queueing."""
    wrk_threads: int = field(default_factory=lambda: env_int("BENCH_WRK_THREADS", 1))
    depth: int = field(default_factory=lambda: env_int("BENCH_SCALE_DEPTH", 500_000))
    """How many rows the cursor walk skips before the deep page (at most half the table)."""
    pg_admin_dsn: str = field(
        default_factory=lambda: env_str(
            "BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres"
        )
    )

    def as_dict(self) -> dict[str, Any]:
        """The values, for the results file."""
        return asdict(self) | {"pg_admin_dsn": "(admin DSN)"}
