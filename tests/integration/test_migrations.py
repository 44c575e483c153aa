"""Migrations planned from blueprint changes and applied, on SQLite and on the real PostgreSQL.

Data is written and read with plain SQLAlchemy, as a user's own tools would.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bastion.adapters.sql.internal_tables import INTERNAL_TABLES
from bastion.adapters.sql.migrations import (
    DestructiveChange,
    InvalidRevisionFiles,
    MigrationFailed,
    MigrationsPending,
    RequiredFieldWithoutDefault,
    UnknownRevision,
    apply_migrations,
    migration_status,
    plan_migration,
    sync_schema_for_development,
)
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import Blueprint
from bastion.blueprint.identity import IDENTITY_RESOURCES

V1 = """
resources:
  customers:
    fields:
      name: {type: string, max_length: 100, required: true, unique: true}
  orders:
    fields:
      title: {type: string, max_length: 200, required: true}
      quantity: {type: integer}
"""

V2 = """
resources:
  customers:
    fields:
      name: {type: string, max_length: 100, required: true, unique: true}
  orders:
    fields:
      title: {type: string, max_length: 200, required: true}
      quantity: {type: integer}
      status: {type: string, max_length: 20, default: new}
      customer: {type: belongs_to, resource: customers}
    indexes:
      - fields: [quantity]
  tags:
    fields:
      label: {type: string, max_length: 50, required: true, unique: true}
"""


EVERY_TYPE = """
resources:
  customers:
    description: People who buy
    fields:
      name: {type: string, max_length: 100, required: true, unique: true, description: Who}
  things:
    description: One field of every type
    fields:
      s: {type: string, default: "it's"}
      t: {type: text, default: long}
      i: {type: integer, default: -5, required: true}
      f: {type: float, default: 2.5}
      d: {type: decimal, precision: 10, scale: 2, default: "1.50"}
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


def blueprint(text: str) -> Blueprint:
    return Blueprint.model_validate(yaml.safe_load(text))


def with_orders_fields(fields: str) -> Blueprint:
    """V1 whose ``orders`` resource has ``fields`` (YAML lines) instead."""
    head, _, _ = V1.partition("  orders:")
    return blueprint(f"{head}  orders:\n    fields:\n{fields}")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine(parse_database_url(database_url).sqlalchemy_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    return tmp_path / "project" / "migrations"


def system_values(engine: AsyncEngine) -> dict[str, Any]:
    """``id``, timestamps and version, typed as each database stores them."""
    now = datetime.now(UTC)
    if engine.dialect.name == "postgresql":
        return {"id": uuid.uuid4(), "created_at": now, "updated_at": now, "version": 1}
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"id": str(uuid.uuid4()), "created_at": stamp, "updated_at": stamp, "version": 1}


async def insert(engine: AsyncEngine, table: str, **values: Any) -> None:
    row = system_values(engine) | values
    columns = ", ".join(row)
    params = ", ".join(f":{name}" for name in row)
    async with engine.begin() as connection:
        await connection.execute(sa.text(f"INSERT INTO {table} ({columns}) VALUES ({params})"), row)


async def rows(engine: AsyncEngine, sql: str) -> list[tuple[Any, ...]]:
    async with engine.connect() as connection:
        return [tuple(row) for row in await connection.execute(sa.text(sql))]


async def columns_of(engine: AsyncEngine, table: str) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: {c["name"] for c in sa.inspect(sync).get_columns(table)}
        )


async def plan_and_apply(
    bp: Blueprint, database_url: str, migrations_dir: Path, **options: Any
) -> None:
    plan = await plan_migration(
        blueprint=bp, database_url=database_url, migrations_dir=migrations_dir, **options
    )
    assert plan.revision is not None
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)


async def test_first_plan_writes_a_revision_that_applies_and_leaves_nothing_to_plan(
    database_url: str, migrations_dir: Path
) -> None:
    v1 = blueprint(V1)
    plan = await plan_migration(
        blueprint=v1, database_url=database_url, migrations_dir=migrations_dir
    )

    assert plan.revision is not None
    assert plan.revision.startswith("0001_")
    assert plan.path is not None
    assert plan.path.parent == migrations_dir / "versions"
    assert "create table orders" in plan.operations
    assert "CREATE TABLE" in plan.sql
    assert plan.destructive == []
    assert plan.drift == []
    source = plan.path.read_text()
    assert "from alembic import op" in source
    assert "BLUEPRINT_SNAPSHOT = {" in source
    assert "def upgrade() -> None:" in source
    assert "def downgrade() -> None:" in source

    progress: list[tuple[str, int, int]] = []
    applied = await apply_migrations(
        database_url=database_url,
        migrations_dir=migrations_dir,
        on_progress=lambda info, done, total: progress.append((info.id, done, total)),
    )
    assert [info.id for info in applied] == [plan.revision]
    assert progress == [(plan.revision, 1, 1)]

    status = await migration_status(
        blueprint=v1, database_url=database_url, migrations_dir=migrations_dir
    )
    assert status.current == status.head == plan.revision
    assert [(r.id, r.applied) for r in status.revisions] == [(plan.revision, True)]
    assert status.pending == []
    assert status.unplanned == []

    again = await plan_migration(
        blueprint=v1, database_url=database_url, migrations_dir=migrations_dir
    )
    assert again.revision is None
    assert again.path is None
    assert again.operations == []
    assert len(list((migrations_dir / "versions").glob("*.py"))) == 1


async def test_every_field_type_plans_once_then_compares_equal(
    database_url: str, migrations_dir: Path
) -> None:
    every_type = blueprint(EVERY_TYPE)
    await plan_and_apply(every_type, database_url, migrations_dir)

    again = await plan_migration(
        blueprint=every_type, database_url=database_url, migrations_dir=migrations_dir
    )
    assert again.operations == []
    assert again.drift == []
    status = await migration_status(
        blueprint=every_type, database_url=database_url, migrations_dir=migrations_dir
    )
    assert status.unplanned == []


async def test_adding_a_field_index_resource_and_relation_keeps_rows_and_fills_the_default(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    await plan_and_apply(blueprint(V1), database_url, migrations_dir)
    await insert(engine, "orders", title="first", quantity=3)
    await insert(engine, "orders", title="second", quantity=5)

    v2 = blueprint(V2)
    status = await migration_status(
        blueprint=v2, database_url=database_url, migrations_dir=migrations_dir
    )
    assert "create table tags" in status.unplanned
    assert any(change.startswith("add column orders.status") for change in status.unplanned)

    plan = await plan_migration(
        blueprint=v2, database_url=database_url, migrations_dir=migrations_dir
    )
    assert plan.revision is not None
    assert plan.revision.startswith("0002_")
    assert "create table tags" in plan.operations
    assert any(op.startswith("add column orders.status (VARCHAR(20)") for op in plan.operations)
    assert any(op.startswith("create index ix_orders_quantity") for op in plan.operations)
    assert any(
        op.startswith("add foreign key orders(customer) -> customers") for op in plan.operations
    )
    assert plan.destructive == []
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)

    assert await rows(engine, "SELECT title, quantity, status FROM orders ORDER BY title") == [
        ("first", 3, "new"),
        ("second", 5, "new"),
    ]
    assert {"id", "label"} <= await columns_of(engine, "tags")
    assert (
        await plan_migration(blueprint=v2, database_url=database_url, migrations_dir=migrations_dir)
    ).operations == []


async def test_removed_field_is_refused_as_destructive_until_allowed(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    await plan_and_apply(blueprint(V1), database_url, migrations_dir)
    without_quantity = with_orders_fields(
        "      title: {type: string, max_length: 200, required: true}\n"
    )

    with pytest.raises(DestructiveChange) as refused:
        await plan_migration(
            blueprint=without_quantity, database_url=database_url, migrations_dir=migrations_dir
        )
    assert refused.value.code == "destructive_migration"
    assert "drop column orders.quantity" in refused.value.detail
    assert "--allow-destructive" in refused.value.detail
    assert "renamed_from" in refused.value.detail
    assert len(list((migrations_dir / "versions").glob("*.py"))) == 1

    plan = await plan_migration(
        blueprint=without_quantity,
        database_url=database_url,
        migrations_dir=migrations_dir,
        allow_destructive=True,
    )
    assert plan.destructive == ["drop column orders.quantity"]
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    assert "quantity" not in await columns_of(engine, "orders")


async def test_narrowing_a_string_is_refused_as_destructive(
    database_url: str, migrations_dir: Path
) -> None:
    await plan_and_apply(blueprint(V1), database_url, migrations_dir)
    narrower = with_orders_fields(
        "      title: {type: string, max_length: 50, required: true}\n"
        "      quantity: {type: integer}\n"
    )

    with pytest.raises(DestructiveChange) as refused:
        await plan_migration(
            blueprint=narrower, database_url=database_url, migrations_dir=migrations_dir
        )
    assert "change type of orders.title from VARCHAR(200) to VARCHAR(50)" in refused.value.detail


async def test_widening_a_string_is_not_destructive(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    await plan_and_apply(blueprint(V1), database_url, migrations_dir)
    await insert(engine, "orders", title="kept", quantity=1)
    wider = with_orders_fields(
        "      title: {type: string, max_length: 500, required: true}\n"
        "      quantity: {type: integer}\n"
    )

    plan = await plan_migration(
        blueprint=wider, database_url=database_url, migrations_dir=migrations_dir
    )
    assert plan.operations == ["change type of orders.title from VARCHAR(200) to VARCHAR(500)"]
    assert plan.destructive == []
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    assert await rows(engine, "SELECT title FROM orders") == [("kept",)]


async def test_changing_a_decimal_scale_keeps_its_values(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    priced = with_orders_fields("      total: {type: decimal, precision: 10, scale: 2}\n")
    await plan_and_apply(priced, database_url, migrations_dir)
    on_postgres = engine.dialect.name == "postgresql"
    # SQLite keeps decimals as integers scaled by 10**scale.
    await insert(engine, "orders", total=Decimal("1.50") if on_postgres else 150)

    finer = with_orders_fields("      total: {type: decimal, precision: 12, scale: 3}\n")
    plan = await plan_migration(
        blueprint=finer, database_url=database_url, migrations_dir=migrations_dir
    )
    assert plan.destructive == []
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)

    expected = Decimal("1.500") if on_postgres else 1500
    assert await rows(engine, "SELECT total FROM orders") == [(expected,)]
    coarser = with_orders_fields("      total: {type: decimal, precision: 12, scale: 1}\n")
    with pytest.raises(DestructiveChange):
        await plan_migration(
            blueprint=coarser, database_url=database_url, migrations_dir=migrations_dir
        )


async def test_renaming_a_unique_field_moves_its_unique_index(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    await plan_and_apply(blueprint(V1), database_url, migrations_dir)
    await insert(engine, "customers", name="Ada")
    renamed = blueprint(
        V1.replace("name: {type: string", "full_name: {renamed_from: name, type: string")
    )

    await plan_and_apply(renamed, database_url, migrations_dir)

    assert await rows(engine, "SELECT full_name FROM customers") == [("Ada",)]
    with pytest.raises(sa.exc.IntegrityError):
        await insert(engine, "customers", full_name="Ada")


async def test_removing_a_resource_and_the_relation_to_it_drops_both(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    await plan_and_apply(blueprint(V2), database_url, migrations_dir)
    without_customers = blueprint(
        """
resources:
  orders:
    fields:
      title: {type: string, max_length: 200, required: true}
      quantity: {type: integer}
      status: {type: string, max_length: 20, default: new}
    indexes:
      - fields: [quantity]
  tags:
    fields:
      label: {type: string, max_length: 50, required: true, unique: true}
"""
    )

    plan = await plan_migration(
        blueprint=without_customers,
        database_url=database_url,
        migrations_dir=migrations_dir,
        allow_destructive=True,
    )
    assert plan.destructive == ["drop column orders.customer", "drop table customers"]
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)

    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
    assert tables == {"orders", "tags", "bastion_migrations"} | INTERNAL_TABLES | set(
        IDENTITY_RESOURCES
    )


async def test_renamed_from_renames_the_column_and_keeps_its_data(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    await plan_and_apply(blueprint(V1), database_url, migrations_dir)
    await insert(engine, "orders", title="keep me", quantity=7)
    renamed = with_orders_fields(
        "      name: {type: string, max_length: 200, required: true, renamed_from: title}\n"
        "      quantity: {type: integer}\n"
    )

    plan = await plan_migration(
        blueprint=renamed, database_url=database_url, migrations_dir=migrations_dir
    )
    assert plan.operations == ["rename column orders.title -> orders.name"]
    assert plan.destructive == []
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)

    assert await rows(engine, "SELECT name, quantity FROM orders") == [("keep me", 7)]
    assert "title" not in await columns_of(engine, "orders")
    assert (
        await plan_migration(
            blueprint=renamed, database_url=database_url, migrations_dir=migrations_dir
        )
    ).operations == []


async def test_required_field_without_default_is_refused_with_a_way_out(
    database_url: str, migrations_dir: Path
) -> None:
    await plan_and_apply(blueprint(V1), database_url, migrations_dir)
    with_required_sku = with_orders_fields(
        "      title: {type: string, max_length: 200, required: true}\n"
        "      quantity: {type: integer}\n"
        "      sku: {type: string, max_length: 30, required: true}\n"
    )

    for allow_destructive in (False, True):
        with pytest.raises(RequiredFieldWithoutDefault) as refused:
            await plan_migration(
                blueprint=with_required_sku,
                database_url=database_url,
                migrations_dir=migrations_dir,
                allow_destructive=allow_destructive,
            )
        assert "orders.sku" in refused.value.detail
        assert "default" in refused.value.detail
        assert "required: false" in refused.value.detail
    assert len(list((migrations_dir / "versions").glob("*.py"))) == 1


async def test_a_change_made_by_hand_is_reported_as_drift_and_left_alone(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    v1 = blueprint(V1)
    await plan_and_apply(v1, database_url, migrations_dir)
    async with engine.begin() as connection:
        await connection.execute(sa.text("ALTER TABLE orders ADD COLUMN hand_made INTEGER"))
        await connection.execute(sa.text("CREATE TABLE users_own (id INTEGER PRIMARY KEY)"))

    plan = await plan_migration(
        blueprint=v1, database_url=database_url, migrations_dir=migrations_dir
    )

    assert plan.drift == [
        "column orders.hand_made exists in the database but no revision describes it"
    ]
    assert plan.operations == []
    assert plan.revision is None
    assert "hand_made" in await columns_of(engine, "orders")


async def test_plan_refuses_while_revisions_are_pending(
    database_url: str, migrations_dir: Path
) -> None:
    await plan_migration(
        blueprint=blueprint(V1), database_url=database_url, migrations_dir=migrations_dir
    )

    with pytest.raises(MigrationsPending) as refused:
        await plan_migration(
            blueprint=blueprint(V2), database_url=database_url, migrations_dir=migrations_dir
        )
    assert "bastion migrate apply" in refused.value.detail
    status = await migration_status(
        blueprint=blueprint(V1), database_url=database_url, migrations_dir=migrations_dir
    )
    assert status.current is None
    assert status.pending == [status.head]


async def test_planning_is_deterministic(database_url: str, migrations_dir: Path) -> None:
    first = await plan_migration(
        blueprint=blueprint(V1),
        database_url=database_url,
        migrations_dir=migrations_dir,
        write=False,
    )
    second = await plan_migration(
        blueprint=blueprint(V1),
        database_url=database_url,
        migrations_dir=migrations_dir,
        write=False,
    )
    assert first.revision == second.revision
    assert first.sql == second.sql
    assert first.path is None
    assert not (migrations_dir / "versions").exists()


async def test_concurrent_applies_apply_each_revision_exactly_once(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    await plan_migration(
        blueprint=blueprint(V1), database_url=database_url, migrations_dir=migrations_dir
    )

    first, second = await asyncio.gather(
        apply_migrations(database_url=database_url, migrations_dir=migrations_dir),
        apply_migrations(database_url=database_url, migrations_dir=migrations_dir),
    )

    assert sorted([len(first), len(second)]) == [0, 1]
    (applied,) = first or second
    assert await rows(engine, "SELECT version_num FROM bastion_migrations") == [(applied.id,)]
    assert {"id", "title", "quantity"} <= await columns_of(engine, "orders")


async def test_development_sync_creates_the_schema_then_does_nothing(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    v1 = blueprint(V1)
    applied = await sync_schema_for_development(
        blueprint=v1, database_url=database_url, migrations_dir=migrations_dir
    )
    assert len(applied) == 1
    await insert(engine, "customers", name="Ada")

    assert (
        await sync_schema_for_development(
            blueprint=v1, database_url=database_url, migrations_dir=migrations_dir
        )
        == []
    )
    assert len(list((migrations_dir / "versions").glob("*.py"))) == 1
    assert await rows(engine, "SELECT name FROM customers") == [("Ada",)]


async def test_a_failing_revision_is_rolled_back_whole(
    database_url: str, migrations_dir: Path, engine: AsyncEngine
) -> None:
    await plan_and_apply(blueprint(V1), database_url, migrations_dir)
    await insert(engine, "orders", title="no quantity", quantity=None)
    # Creating ``notes`` succeeds before altering ``orders`` fails: both must be undone.
    required_quantity = blueprint(
        V1.replace("quantity: {type: integer}", "quantity: {type: integer, required: true}")
        + "  notes:\n    fields:\n      body: {type: text}\n"
    )
    await plan_migration(
        blueprint=required_quantity,
        database_url=database_url,
        migrations_dir=migrations_dir,
        allow_destructive=True,
    )

    with pytest.raises(MigrationFailed) as failed:
        await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)

    assert failed.value.code == "migration_failed"
    assert failed.value.revision.startswith("0002_")
    status = await migration_status(
        blueprint=required_quantity, database_url=database_url, migrations_dir=migrations_dir
    )
    assert status.current is not None
    assert status.current.startswith("0001_")
    assert status.pending == [failed.value.revision]
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda sync: set(sa.inspect(sync).get_table_names()))
    assert tables == {"customers", "orders", "bastion_migrations"} | INTERNAL_TABLES | set(
        IDENTITY_RESOURCES
    )
    assert await rows(engine, "SELECT title, quantity FROM orders") == [("no quantity", None)]


async def test_two_revisions_continuing_the_same_one_are_refused(
    sqlite_url: str, migrations_dir: Path
) -> None:
    await plan_and_apply(blueprint(V1), sqlite_url, migrations_dir)
    plan = await plan_migration(
        blueprint=blueprint(V2), database_url=sqlite_url, migrations_dir=migrations_dir
    )
    assert plan.path is not None
    assert plan.revision is not None
    twin = plan.path.read_text().replace(plan.revision, "0002_000000000000")
    plan.path.with_name("0002_twin.py").write_text(twin)

    with pytest.raises(InvalidRevisionFiles, match="delete the newer revision file"):
        await apply_migrations(database_url=sqlite_url, migrations_dir=migrations_dir)


async def test_a_database_ahead_of_the_revision_files_is_refused(
    sqlite_url: str, migrations_dir: Path
) -> None:
    await plan_and_apply(blueprint(V1), sqlite_url, migrations_dir)
    for path in (migrations_dir / "versions").glob("*.py"):
        path.unlink()

    with pytest.raises(UnknownRevision, match="restore the missing revision files"):
        await migration_status(
            blueprint=blueprint(V1), database_url=sqlite_url, migrations_dir=migrations_dir
        )
