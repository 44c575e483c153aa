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


async def load_postgres(dsn: str, start: int, stop: int) -> list[str]:
    """COPY rows ``start``..``stop`` into ``items`` and VACUUM ANALYZE; the ids (text) loaded.

    Ids are returned for small loads only (at most 100k rows); larger tables
    sample theirs from the database (:func:`sample_ids`).
    """
    keep_ids = stop - start <= 100_000
    ids: list[str] = []
    conn = await asyncpg.connect(dsn)
    try:
        batch: list[tuple[Any, ...]] = []
        for row in rows(start, stop):
            batch.append(row)
            if len(batch) == 50_000:
                await conn.copy_records_to_table("items", records=batch, columns=COLUMNS)
                if keep_ids:
                    ids.extend(str(r[0]) for r in batch)
                batch = []
        if batch:
            await conn.copy_records_to_table("items", records=batch, columns=COLUMNS)
            if keep_ids:
                ids.extend(str(r[0]) for r in batch)
        await conn.execute("VACUUM (ANALYZE) items")
    finally:
        await conn.close()
    return ids


async def sample_ids(dsn: str, count: int) -> list[str]:
    """``count`` ids picked at random from the whole table."""
    conn = await asyncpg.connect(dsn)
    try:
        records = await conn.fetch("SELECT id::text FROM items ORDER BY random() LIMIT $1", count)
    finally:
        await conn.close()
    return [r[0] for r in records]


def load_sqlite(path: Path, count: int) -> list[str]:
    """Insert ``count`` rows into Bastion's ``items`` table in ``path``; the ids loaded."""
    # Imported here: only this loader needs Bastion (its codec is the storage format).
    from bastion.adapters.sql.codecs import ResourceCodec
    from bastion.blueprint import load_blueprint
    from harness.config import BENCH_DIR

    resource = load_blueprint(BENCH_DIR / "bastion.yaml").resources["items"]
    codec = ResourceCodec(resource, "sqlite")
    encoded = [
        tuple(codec.encode(name, value) for name, value in zip(COLUMNS, row, strict=True))
        for row in rows(0, count)
    ]
    placeholders = ", ".join("?" for _ in COLUMNS)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            f"INSERT INTO items ({', '.join(COLUMNS)}) VALUES ({placeholders})", encoded
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return [row[0] for row in encoded]


def pocketbase_id(index: int) -> str:
    """PocketBase's id for row ``index``: 15 characters of ``[a-z0-9]``, in row order."""
    return f"b{index:014d}"


def _pb_time(value: datetime | None) -> str:
    if value is None:
        return ""
    return (
        value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
    )


def load_pocketbase(data_db: Path, count: int) -> list[str]:
    """Insert ``count`` rows into PocketBase's ``items`` table (server stopped); the ids."""
    encoded = []
    for index, row in enumerate(rows(0, count)):
        values = dict(zip(COLUMNS, row, strict=True))
        encoded.append(
            (
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
        )
    conn = sqlite3.connect(data_db, isolation_level=None)
    try:
        conn.execute("BEGIN")
        conn.executemany(
            "INSERT INTO items (id, created, updated, sku, name, description, status, price,"
            " quantity, featured, released_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            encoded,
        )
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return [values[0] for values in encoded]
