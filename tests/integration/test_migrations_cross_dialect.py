"""Revision files planned on one database build the right schema on the other.

Users develop on SQLite and deploy on PostgreSQL with the same committed
revision files (or the other way round); each test plans on one real
database, applies the very same files to the other, and checks the schema,
the data, and that the runtime store works there.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bastion.adapters.sql.migrations import apply_migrations, migration_status, plan_migration
from bastion.adapters.sql.store import SqlStore
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import Blueprint
from bastion.core import new_id

ROOT = Path(__file__).resolve().parents[2]

EVERY_TYPE = """
resources:
  customers:
    description: People who "buy"
    fields:
      name: {type: string, max_length: 100, required: true, unique: true, description: Who's who}
  things:
    description: One field of every type
    fields:
      s: {type: string, default: "it's"}
      t: {type: text, default: long}
      i: {type: integer, default: -5, required: true}
      f: {type: float, default: 2.5}
      d: {type: decimal, precision: 10, scale: 2, default: "1.5"}
      b: {type: boolean, default: true, required: true}
      dt: {type: date, default: "2024-01-31"}
      ts: {type: datetime}
      u: {type: uuid, default: 3fa85f64-5717-4562-b3fc-2c963f66afa6}
      e: {type: enum, values: [draft, published], default: draft}
      m: {type: email}
      url: {type: url}
      j: {type: json}
      owner: {type: belongs_to, resource: customers, on_delete: set_null}
    indexes:
      - {fields: [s, i], unique: true}
      - {fields: [e], name: things_by_state}
"""

ORDERS = """
resources:
  orders:
    fields:
      title: {{type: string, max_length: 200, required: true}}
{extra}
"""

DIALECTS = ["sqlite", "postgresql"]


def blueprint(text: str) -> Blueprint:
    return Blueprint.model_validate(yaml.safe_load(text))


def orders(*extra: str) -> Blueprint:
    """``orders`` with a title and the given field lines (``name: {...}``)."""
    return blueprint(ORDERS.format(extra="\n".join(f"      {line}" for line in extra)))


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    return tmp_path / "project" / "migrations"


@pytest.fixture(params=DIALECTS)
def planned_on(request: pytest.FixtureRequest) -> str:
    """The dialect a test plans its revisions on; they are applied to the other one too."""
    return str(request.param)


@pytest.fixture
def urls(planned_on: str, sqlite_url: str, postgres_url: str) -> tuple[str, str]:
    """(the database revisions are planned on, the other database)."""
    return (sqlite_url, postgres_url) if planned_on == "sqlite" else (postgres_url, sqlite_url)


@pytest.fixture
async def engines(urls: tuple[str, str]) -> AsyncIterator[dict[str, AsyncEngine]]:
    """A plain SQLAlchemy engine per database, by dialect name."""
    made = [create_async_engine(parse_database_url(url).sqlalchemy_url) for url in urls]
    yield {engine.dialect.name: engine for engine in made}
    for engine in made:
        await engine.dispose()


async def plan_on_one_apply_on_both(
    bp: Blueprint, urls: tuple[str, str], migrations_dir: Path, **options: Any
) -> list[str]:
    planning, other = urls
    plan = await plan_migration(
        blueprint=bp, database_url=planning, migrations_dir=migrations_dir, **options
    )
    assert plan.revision is not None
    for url in (planning, other):
        applied = await apply_migrations(database_url=url, migrations_dir=migrations_dir)
        assert applied, url
    return plan.operations


async def assert_nothing_left(bp: Blueprint, url: str, migrations_dir: Path) -> None:
    again = await plan_migration(
        blueprint=bp, database_url=url, migrations_dir=migrations_dir, write=False
    )
    assert again.operations == [], url
    assert again.drift == [], url
    status = await migration_status(blueprint=bp, database_url=url, migrations_dir=migrations_dir)
    assert status.pending == [], url
    assert status.unplanned == [], url
    assert status.drift == [], url


async def column_types(engine: AsyncEngine, table: str) -> dict[str, str]:
    def inspect(sync: sa.Connection) -> dict[str, str]:
        columns = sa.inspect(sync).get_columns(table)
        return {c["name"]: str(c["type"].compile(dialect=sync.dialect)) for c in columns}

    async with engine.connect() as connection:
        return await connection.run_sync(inspect)


async def system_row(engine: AsyncEngine, table: str, **values: Any) -> uuid.UUID:
    """Insert a row with plain SQL, as each database stores the system columns; its id."""
    now, record_id = datetime.now(UTC), uuid.uuid4()
    if engine.dialect.name == "postgresql":
        row: dict[str, Any] = {"id": record_id, "created_at": now, "updated_at": now}
    else:
        stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        row = {"id": str(record_id), "created_at": stamp, "updated_at": stamp}
    row |= {"version": 1, **values}
    names = ", ".join(f'"{name}"' for name in row)
    params = ", ".join(f":{name}" for name in row)
    async with engine.begin() as connection:
        await connection.execute(sa.text(f'INSERT INTO "{table}" ({names}) VALUES ({params})'), row)
    return record_id


async def scalars(engine: AsyncEngine, sql: str) -> list[Any]:
    async with engine.connect() as connection:
        return list((await connection.execute(sa.text(sql))).scalars())


async def read_through_store(
    url: str, bp: Blueprint, resource: str, record_id: uuid.UUID
) -> dict[str, Any]:
    """The record as the runtime store decodes it."""
    store = SqlStore(url=url, blueprint=bp)
    await store.start()
    try:
        async with store.unit_of_work(read_only=True) as uow:
            row = await uow.fetch(resource, record_id)
    finally:
        await store.close()
    assert row is not None
    return row


async def test_revisions_planned_on_one_database_build_the_right_schema_on_the_other(
    urls: tuple[str, str], migrations_dir: Path, engines: dict[str, AsyncEngine]
) -> None:
    every_type = blueprint(EVERY_TYPE)
    await plan_on_one_apply_on_both(every_type, urls, migrations_dir)

    for url in urls:
        await assert_nothing_left(every_type, url, migrations_dir)
    postgres = await column_types(engines["postgresql"], "things")
    assert postgres["id"] == "UUID"
    assert postgres["created_at"] == "TIMESTAMP WITH TIME ZONE"
    assert postgres["d"] == "NUMERIC(10, 2)"
    assert postgres["dt"] == "DATE"
    assert postgres["j"] == "JSONB"
    assert postgres["owner"] == "UUID"
    assert postgres["s"].startswith("VARCHAR(255)")
    sqlite = await column_types(engines["sqlite"], "things")
    assert sqlite["id"] == "VARCHAR(36)"
    assert sqlite["created_at"] == sqlite["ts"] == "VARCHAR(27)"
    assert sqlite["d"] == "BIGINT"
    assert sqlite["dt"] == "VARCHAR(10)"
    assert sqlite["j"] == "TEXT"


async def test_the_runtime_store_writes_and_reads_every_type_on_both_databases(
    urls: tuple[str, str], migrations_dir: Path
) -> None:
    every_type = blueprint(EVERY_TYPE)
    await plan_on_one_apply_on_both(every_type, urls, migrations_dir)
    now = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    customer_id, thing_id = new_id(), new_id()
    customer = {"id": customer_id, "created_at": now, "updated_at": now, "version": 1}
    thing = {
        "id": thing_id,
        "created_at": now,
        "updated_at": now,
        "version": 1,
        "s": "it's",
        "t": "long text",
        "i": -(2**62),
        "f": 2.5,
        "d": Decimal("12345678.91"),
        "b": False,
        "dt": date(2024, 2, 29),
        "ts": now,
        "u": uuid.UUID("3fa85f64-5717-4562-b3fc-2c963f66afa6"),
        "e": "published",
        "m": "ada@example.com",
        "url": "https://example.com/a?b=c",
        "j": {"list": [1, "two", None], "nested": {"yes": True}},
        "owner": customer_id,
    }

    for url in urls:
        store = SqlStore(url=url, blueprint=every_type)
        await store.start()
        try:
            async with store.unit_of_work() as uow:
                await uow.insert("customers", customer | {"name": "Ada"})
                await uow.insert("things", thing)
            async with store.unit_of_work(read_only=True) as uow:
                stored = await uow.fetch("things", thing_id)
        finally:
            await store.close()
        assert stored == thing, url


async def test_the_same_blueprint_plans_the_same_first_revision_on_both_databases(
    sqlite_url: str, postgres_url: str, tmp_path: Path
) -> None:
    sources = []
    for url in (sqlite_url, postgres_url):
        plan = await plan_migration(
            blueprint=blueprint(EVERY_TYPE),
            database_url=url,
            migrations_dir=tmp_path / parse_database_url(url).dialect,
        )
        assert plan.path is not None
        sources.append((plan.revision, plan.path.read_text()))
    assert sources[0] == sources[1]


async def test_a_decimal_field_with_a_default_fills_existing_rows_on_both_databases(
    planned_on: str,
    urls: tuple[str, str],
    migrations_dir: Path,
    engines: dict[str, AsyncEngine],
) -> None:
    await plan_on_one_apply_on_both(orders(), urls, migrations_dir)
    ids = {
        name: await system_row(engine, "orders", title="old") for name, engine in engines.items()
    }
    priced = orders(
        'total: {type: decimal, precision: 10, scale: 2, default: "1.5", required: true}',
        'tip: {type: decimal, precision: 6, scale: 3, default: "-0.25"}',
    )

    plan = await plan_migration(
        blueprint=priced, database_url=urls[0], migrations_dir=migrations_dir
    )
    assert any(
        op.startswith("add column orders.total (") and op.endswith("NOT NULL, default '1.50')")
        for op in plan.operations
    )
    if planned_on == "sqlite":
        # Added in place: no copy of the table.
        assert "ALTER TABLE orders ADD COLUMN total BIGINT DEFAULT '150' NOT NULL" in plan.sql
        assert "_alembic_tmp" not in plan.sql
    for url in urls:
        await apply_migrations(database_url=url, migrations_dir=migrations_dir)

    assert await scalars(engines["sqlite"], "SELECT total FROM orders") == [150]
    assert await scalars(engines["sqlite"], "SELECT tip FROM orders") == [-250]
    assert await scalars(engines["postgresql"], "SELECT total FROM orders") == [Decimal("1.50")]
    assert await scalars(engines["postgresql"], "SELECT tip FROM orders") == [Decimal("-0.250")]
    for url in urls:
        await assert_nothing_left(priced, url, migrations_dir)
        row = await read_through_store(url, priced, "orders", ids[parse_database_url(url).dialect])
        assert (row["total"], row["tip"]) == (Decimal("1.50"), Decimal("-0.250"))


async def test_a_decimal_scale_change_rescales_sqlite_and_retypes_postgresql(
    urls: tuple[str, str], migrations_dir: Path, engines: dict[str, AsyncEngine]
) -> None:
    await plan_on_one_apply_on_both(
        orders("total: {type: decimal, precision: 10, scale: 2}"), urls, migrations_dir
    )
    await system_row(engines["sqlite"], "orders", title="a", total=150)
    await system_row(engines["postgresql"], "orders", title="a", total=Decimal("1.50"))
    finer = orders("total: {type: decimal, precision: 12, scale: 3}")

    operations = await plan_on_one_apply_on_both(finer, urls, migrations_dir)

    assert any("rescale orders.total from 2 to 3" in op for op in operations)
    assert await scalars(engines["sqlite"], "SELECT total FROM orders") == [1500]
    assert await scalars(engines["postgresql"], "SELECT total FROM orders") == [Decimal("1.500")]
    assert (await column_types(engines["postgresql"], "orders"))["total"] == "NUMERIC(12, 3)"
    for url in urls:
        await assert_nothing_left(finer, url, migrations_dir)


async def test_a_string_field_turned_uuid_is_converted_on_postgresql(
    urls: tuple[str, str], migrations_dir: Path, engines: dict[str, AsyncEngine]
) -> None:
    await plan_on_one_apply_on_both(
        orders("ref: {type: string, max_length: 36}"), urls, migrations_dir
    )
    ref = uuid.uuid4()
    ids = {
        name: await system_row(engine, "orders", title="a", ref=str(ref))
        for name, engine in engines.items()
    }
    as_uuid = orders("ref: {type: uuid}")

    operations = await plan_on_one_apply_on_both(
        as_uuid, urls, migrations_dir, allow_destructive=True
    )

    assert operations == ["change type of orders.ref from VARCHAR(36) to UUID (PostgreSQL only)"]
    assert (await column_types(engines["postgresql"], "orders"))["ref"] == "UUID"
    assert (await column_types(engines["sqlite"], "orders"))["ref"] == "VARCHAR(36)"
    for url in urls:
        await assert_nothing_left(as_uuid, url, migrations_dir)
        row = await read_through_store(url, as_uuid, "orders", ids[parse_database_url(url).dialect])
        assert row["ref"] == ref


async def test_downgrades_are_dialect_neutral_too(
    urls: tuple[str, str], migrations_dir: Path
) -> None:
    await plan_on_one_apply_on_both(
        orders("total: {type: decimal, precision: 10, scale: 2}"), urls, migrations_dir
    )
    await plan_on_one_apply_on_both(orders(), urls, migrations_dir, allow_destructive=True)
    (latest,) = sorted((migrations_dir / "versions").glob("0002_*.py"))
    downgrade = latest.read_text().split("def downgrade() -> None:", 1)[1]
    # The column comes back as the snapshot declared it, not as one database reflected it.
    assert 'sa.Numeric(precision=10, scale=2).with_variant(sa.BigInteger(), "sqlite")' in downgrade


def _ruff() -> str:
    found = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert found is not None, "ruff is a dev dependency: install with pip install -e '.[dev]'"
    return found


async def test_revision_files_pass_ruff_format_and_ruff_check(
    sqlite_url: str, migrations_dir: Path
) -> None:
    ruff = _ruff()
    steps = [
        blueprint(EVERY_TYPE),
        blueprint(
            EVERY_TYPE.replace("scale: 2", "scale: 4")
            .replace("Who's who", "'A \"quoted\" name, and a rather long description of it too'")
            .replace("s: {type: string,", "label: {renamed_from: s, type: string,")
            .replace("fields: [s, i]", "fields: [label, i]")
        ),
    ]
    for step in steps:
        await plan_migration(
            blueprint=step,
            database_url=sqlite_url,
            migrations_dir=migrations_dir,
            allow_destructive=True,
        )
        await apply_migrations(database_url=sqlite_url, migrations_dir=migrations_dir)

    versions = str(migrations_dir / "versions")
    config = ["--config", str(ROOT / "pyproject.toml")]
    formatted = await asyncio.to_thread(
        subprocess.run,
        [ruff, "format", "--check", "--diff", *config, versions],
        capture_output=True,
        text=True,
    )
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr
    checked = await asyncio.to_thread(
        subprocess.run, [ruff, "check", *config, versions], capture_output=True, text=True
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
