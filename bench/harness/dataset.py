"""The data set every system serves, and loaders that fill each store fast.

Rows are a pure function of their index (seeded per chunk of 10,000), so every
system in a run, and every run, gets the same catalogue, and a table can grow
from 10k to 1M rows without rewriting what is there. Ids are UUIDv7 whose
timestamps follow the index, so id order is creation order, as in Bastion.

Storage formats:

- PostgreSQL (Bastion's layout, read by the asyncpg and DRF references too):
  native types through ``COPY`` (asyncpg ``copy_records_to_table``).
- SQLite (Bastion's layout, also the stdlib-sqlite3 reference): encoded by
  Bastion's own codec (ids as text with dashes, datetimes as fixed-width UTC
  text, decimals as scaled integers), inserted with ``executemany``.
- PocketBase: its own table (text ids of 15 characters, ``YYYY-MM-DD
  HH:MM:SS.mmmZ`` dates, numbers as REAL), inserted straight into
  ``pb_data/data.db`` before the server starts.
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg

__all__ = [
    "CHUNK",
    "COLUMNS",
    "load_pocketbase",
    "load_postgres",
    "load_sqlite",
    "pocketbase_id",
    "rows",
    "sample_ids",
    "sample_indices",
]

CHUNK = 10_000
"""Rows per generated chunk; table sizes are multiples of it."""
SEED = 20_240_501
COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "version",
    "sku",
    "name",
    "description",
    "status",
    "price",
    "quantity",
    "featured",
    "released_at",
)
_EPOCH_MS = 1_700_000_000_000  # 2023-11-14: creation times count up one ms per row from here
_RELEASE_BASE = datetime(2020, 1, 1, tzinfo=UTC)
_WORDS = (
    "alpha",
    "bravo",
    "cedar",
    "delta",
    "ember",
    "fjord",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
    "kestrel",
    "lumen",
    "maple",
    "nimbus",
    "onyx",
    "prairie",
    "quartz",
    "raven",
    "sierra",
    "tundra",
    "umber",
    "velvet",
    "willow",
    "xenon",
    "yarrow",
    "zephyr",
    "copper",
    "linen",
    "marble",
    "walnut",
)
_STATUSES = ("draft", "active", "active", "active", "archived")  # 60 % active


def _uuid7(ms: int, rng: random.Random) -> UUID:
    value = (ms << 80) | (0x7 << 76) | (rng.getrandbits(12) << 64)
    value |= (0b10 << 62) | rng.getrandbits(62)
    return UUID(int=value)


def rows(start: int, stop: int) -> Iterator[tuple[Any, ...]]:
    """Rows ``start`` to ``stop`` (multiples of :data:`CHUNK`), in :data:`COLUMNS` order."""
    if start % CHUNK or stop % CHUNK:
        raise ValueError(f"row ranges are multiples of {CHUNK}")
    for chunk in range(start // CHUNK, stop // CHUNK):
        rng = random.Random(SEED * 1_000_003 + chunk)
        for index in range(chunk * CHUNK, (chunk + 1) * CHUNK):
            ms = _EPOCH_MS + index
            created = datetime.fromtimestamp(ms / 1000, UTC)
            words = rng.sample(_WORDS, 3)
            description = (
                None if rng.random() < 0.1 else " ".join(rng.choices(_WORDS, k=14)).capitalize()
            )
            released = (
                None
                if rng.random() < 0.05
                else _RELEASE_BASE + timedelta(seconds=rng.randrange(0, 4 * 365 * 86_400))
            )
            yield (
                _uuid7(ms, rng),
                created,
                created,
                1,
                f"SKU-{index:09d}",
                f"{words[0].capitalize()} {words[1]} {words[2]} #{index}",
                description,
                rng.choice(_STATUSES),
                Decimal(rng.randrange(100, 1_000_000)).scaleb(-2),
                rng.randrange(0, 1001),
                rng.random() < 0.1,
                released,
            )


def sample_indices(rows_total: int, count: int) -> list[int]:
    """``count`` row indices spread at random over ``rows_total`` rows, the same in every run.

    GET and PATCH pick among the rows at these indices: the same rows on every
    system (PocketBase's ids are derived from the index, the others' read
    while loading), a set small enough for wrk to hold and a cache to warm.
    """
    return sorted(random.Random(SEED).sample(range(rows_total), count))


class _Keeper:
    """Collects the ids of the rows at the sampled indices while rows stream past."""

    def __init__(self, indices: list[int] | None) -> None:
        self.wanted = set(indices or ())
        self.ids: list[str] = []

    def see(self, index: int, row_id: object) -> None:
        if index in self.wanted:
            self.ids.append(str(row_id))


async def load_postgres(
    dsn: str, start: int, stop: int, *, keep: list[int] | None = None
) -> list[str]:
    """COPY rows ``start``..``stop`` into ``items`` (indexes built after), then VACUUM ANALYZE.

    Returns the ids (text) of the rows whose indices are in ``keep``.
    """
    keeper = _Keeper(keep)
    conn = await asyncpg.connect(dsn)
    try:
        # Secondary indexes are dropped for the load and built again after it (the same
        # definitions), as a bulk load is done: building once is far faster than updating
        # them row by row. Indexes behind constraints (primary key, unique) stay.
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = 'items' AND indexname NOT IN (SELECT conname FROM pg_constraint)"
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        batch: list[tuple[Any, ...]] = []
        for number, row in enumerate(rows(start, stop), start):
            keeper.see(number, row[0])
            batch.append(row)
            if len(batch) == 50_000:
                await conn.copy_records_to_table("items", records=batch, columns=COLUMNS)
                batch = []
        if batch:
            await conn.copy_records_to_table("items", records=batch, columns=COLUMNS)
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await conn.execute(index["indexdef"])
        await conn.execute("VACUUM (ANALYZE) items")
    finally:
        await conn.close()
    return keeper.ids


async def sample_ids(dsn: str, count: int) -> list[str]:
    """``count`` ids picked at random from the whole table."""
    conn = await asyncpg.connect(dsn)
    try:
        records = await conn.fetch("SELECT id::text FROM items ORDER BY random() LIMIT $1", count)
    finally:
        await conn.close()
    return [r[0] for r in records]


def _insert_in_batches(
    conn: sqlite3.Connection, sql: str, encoded: Iterator[tuple[Any, ...]]
) -> None:
    """Insert into ``items`` in one transaction, then ANALYZE.

    Rows are streamed 50,000 at a time (a million encoded rows held at once take
    gigabytes). Secondary indexes are dropped and built again after the rows are
    in, from their own definitions: building once is far faster than updating
    them row by row. Indexes behind constraints (``sql`` is NULL) stay.
    """
    indexes = conn.execute(
        "SELECT name, sql FROM sqlite_master"
        " WHERE type = 'index' AND tbl_name = 'items' AND sql IS NOT NULL"
    ).fetchall()
    conn.execute("PRAGMA cache_size = -262144")  # 256 MiB for this connection's index builds
    conn.execute("BEGIN")
    for name, _ in indexes:
        conn.execute(f'DROP INDEX "{name}"')
    batch: list[tuple[Any, ...]] = []
    for values in encoded:
        batch.append(values)
        if len(batch) == 50_000:
            conn.executemany(sql, batch)
            batch = []
    if batch:
        conn.executemany(sql, batch)
    for _, definition in indexes:
        conn.execute(definition)
    conn.execute("COMMIT")
    conn.execute("ANALYZE")


def load_sqlite(path: Path, count: int, *, keep: list[int] | None = None) -> list[str]:
    """Insert ``count`` rows into Bastion's ``items`` table in ``path``, then ANALYZE.

    Returns the ids (text, as stored) of the rows whose indices are in ``keep``.
    """
    # Imported here: only this loader needs Bastion (its codec is the storage format).
    from bastion.adapters.sql.codecs import ResourceCodec
    from bastion.blueprint import load_blueprint
    from harness.config import BENCH_DIR

    resource = load_blueprint(BENCH_DIR / "bastion.yaml").resources["items"]
    codec = ResourceCodec(resource, "sqlite")
    keeper = _Keeper(keep)

    def encoded() -> Iterator[tuple[Any, ...]]:
        for index, row in enumerate(rows(0, count)):
            values = tuple(
                codec.encode(name, value) for name, value in zip(COLUMNS, row, strict=True)
            )
            keeper.see(index, values[0])
            yield values

    placeholders = ", ".join("?" for _ in COLUMNS)
    sql = f"INSERT INTO items ({', '.join(COLUMNS)}) VALUES ({placeholders})"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        _insert_in_batches(conn, sql, encoded())
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return keeper.ids


def pocketbase_id(index: int) -> str:
    """PocketBase's id for row ``index``: 15 characters of ``[a-z0-9]``, in row order."""
    return f"b{index:014d}"


def _pb_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def load_pocketbase(data_db: Path, count: int) -> None:
    """Insert ``count`` rows into PocketBase's ``items`` table (server stopped), then ANALYZE.

    Row ``i`` gets the id :func:`pocketbase_id` ``(i)``.
    """

    def encoded() -> Iterator[tuple[Any, ...]]:
        for index, row in enumerate(rows(0, count)):
            values = dict(zip(COLUMNS, row, strict=True))
            yield (
                pocketbase_id(index),
                _pb_time(values["created_at"]),
                _pb_time(values["updated_at"]),
                values["sku"],
                values["name"],
                values["description"] or "",
                values["status"],
                float(values["price"]),
                values["quantity"],
                int(values["featured"]),
                _pb_time(values["released_at"]),
            )

    conn = sqlite3.connect(data_db, isolation_level=None)
    try:
        _insert_in_batches(
            conn,
            "INSERT INTO items (id, created, updated, sku, name, description, status, price,"
            " quantity, featured, released_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            encoded(),
        )
    finally:
        conn.close()
