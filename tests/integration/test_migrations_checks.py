"""What migrations report instead of failing later: wrong column types, unreachable databases.

Also the options ``bastion serve`` relies on (``allow_destructive`` in
development, ``MigrationsPending`` with its own sentence in production) and
the indexes ``build_metadata`` leaves out because another already serves.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.adapters.sql.migrations import (
    DatabaseUnreachable,
    DestructiveChange,
    MigrationError,
    MigrationsPending,
    apply_migrations,
    migration_status,
    plan_migration,
    sync_schema_for_development,
)
from bastion.adapters.sql.schema import build_metadata
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import Blueprint

V1 = """
resources:
  customers:
    fields:
      name: {type: string, max_length: 100, required: true}
  orders:
    fields:
      title: {type: string, max_length: 200, required: true}
      quantity: {type: integer}
"""


def blueprint(text: str) -> Blueprint:
    return Blueprint.model_validate(yaml.safe_load(text))


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    return tmp_path / "project" / "migrations"


async def execute(url: str, *statements: str) -> None:
    engine = create_async_engine(parse_database_url(url).sqlalchemy_url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(sa.text(statement))
    finally:
        await engine.dispose()


# Live column types that do not match the blueprint -------------------------------


async def test_status_and_plan_report_a_column_of_the_wrong_type(
    postgres_url: str, migrations_dir: Path
) -> None:
    v1 = blueprint(V1)
    await plan_migration(blueprint=v1, database_url=postgres_url, migrations_dir=migrations_dir)
    await apply_migrations(database_url=postgres_url, migrations_dir=migrations_dir)
    await execute(postgres_url, "ALTER TABLE customers ALTER COLUMN id TYPE VARCHAR(36)")
    wrong = "column customers.id is VARCHAR(36) in the database, UUID in the revisions"

    status = await migration_status(
        blueprint=v1, database_url=postgres_url, migrations_dir=migrations_dir
    )
    plan = await plan_migration(
        blueprint=v1, database_url=postgres_url, migrations_dir=migrations_dir
    )

    assert status.drift == [wrong]
    assert status.pending == []
    assert plan.drift == [wrong]
    assert plan.operations == []


async def test_status_reports_the_schema_a_sqlite_only_revision_left_on_postgresql(
    sqlite_url: str, postgres_url: str, migrations_dir: Path
) -> None:
    """Revisions written before they were dialect-neutral created text ids on PostgreSQL."""
    v1 = blueprint(V1)
    plan = await plan_migration(
        blueprint=v1, database_url=sqlite_url, migrations_dir=migrations_dir
    )
    assert plan.path is not None
    legacy = (
        plan.path.read_text()
        .replace('sa.Uuid().with_variant(sa.String(length=36), "sqlite")', "sa.String(length=36)")
        .replace(
            'sa.DateTime(timezone=True).with_variant(sa.String(length=27), "sqlite")',
            "sa.String(length=27)",
        )
    )
    plan.path.write_text(legacy)
    await apply_migrations(database_url=postgres_url, migrations_dir=migrations_dir)

    status = await migration_status(
        blueprint=v1, database_url=postgres_url, migrations_dir=migrations_dir
    )

    assert status.pending == []
    # Bastion's own table got text timestamps too; its shape is Bastion's, so that is planned.
    assert status.unplanned == [
        f"change type of bastion_idempotency_keys.{name} from VARCHAR(27) to "
        "TIMESTAMP WITH TIME ZONE"
        for name in ("created_at", "expires_at")
    ]
    for table in ("customers", "orders"):
        assert f"column {table}.id is VARCHAR(36) in the database, UUID in the revisions" in (
            status.drift
        )
        assert (
            f"column {table}.created_at is VARCHAR(27) in the database, "
            "TIMESTAMP WITH TIME ZONE in the revisions"
        ) in status.drift


async def test_status_leaves_drift_alone_while_revisions_are_pending(
    database_url: str, migrations_dir: Path
) -> None:
    v1 = blueprint(V1)
    await plan_migration(blueprint=v1, database_url=database_url, migrations_dir=migrations_dir)

    status = await migration_status(
        blueprint=v1, database_url=database_url, migrations_dir=migrations_dir
    )

    assert len(status.pending) == 1
    assert status.drift == []


# Databases that cannot be reached ---------------------------------------------------

Call = Callable[[str, Path], Awaitable[Any]]

CALLS: dict[str, Call] = {
    "plan": lambda url, folder: plan_migration(
        blueprint=blueprint(V1), database_url=url, migrations_dir=folder
    ),
    "apply": lambda url, folder: apply_migrations(database_url=url, migrations_dir=folder),
    "status": lambda url, folder: migration_status(
        blueprint=blueprint(V1), database_url=url, migrations_dir=folder
    ),
    "sync": lambda url, folder: sync_schema_for_development(
        blueprint=blueprint(V1), database_url=url, migrations_dir=folder
    ),
}


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_postgresql_server_that_is_not_running_is_named_with_what_to_check(
    call: str, migrations_dir: Path
) -> None:
    url = "postgresql://bastion:s3cret@127.0.0.1:1/app"

    with pytest.raises(DatabaseUnreachable) as refused:
        await CALLS[call](url, migrations_dir)

    assert isinstance(refused.value, MigrationError)
    assert refused.value.code == "migration_error"
    detail = refused.value.detail
    assert "127.0.0.1:1" in detail
    assert "s3cret" not in detail
    assert "***" in detail
    assert "PostgreSQL is running" in detail
    assert refused.value.database == "postgresql+asyncpg://bastion:***@127.0.0.1:1/app"


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_database_that_does_not_exist_is_named_with_how_to_create_it(
    call: str, postgres_url: str, migrations_dir: Path
) -> None:
    missing = f"bastion_missing_{uuid.uuid4().hex[:8]}"
    url = f"{postgres_url.rpartition('/')[0]}/{missing}"

    with pytest.raises(DatabaseUnreachable) as refused:
        await CALLS[call](url, migrations_dir)

    assert f"the database '{missing}' does not exist" in refused.value.detail
    assert f"createdb {missing}" in refused.value.detail


@pytest.mark.parametrize("call", sorted(CALLS))
async def test_a_sqlite_file_in_a_missing_folder_is_named(
    call: str, tmp_path: Path, migrations_dir: Path
) -> None:
    path = tmp_path / "no" / "such" / "folder" / "app.db"

    with pytest.raises(DatabaseUnreachable) as refused:
        await CALLS[call](f"sqlite+aiosqlite:///{path}", migrations_dir)

    assert str(path) in refused.value.detail
    assert "folder exists" in refused.value.detail


# What ``bastion serve`` relies on ----------------------------------------------------


async def test_development_sync_applies_destructive_changes_only_when_allowed(
    database_url: str, migrations_dir: Path
) -> None:
    await sync_schema_for_development(
        blueprint=blueprint(V1), database_url=database_url, migrations_dir=migrations_dir
    )
    without_quantity = blueprint(V1.replace("      quantity: {type: integer}\n", ""))

    with pytest.raises(DestructiveChange) as refused:
        await sync_schema_for_development(
            blueprint=without_quantity, database_url=database_url, migrations_dir=migrations_dir
        )
    assert "re-run with `--allow-destructive`" in refused.value.detail

    applied = await sync_schema_for_development(
        blueprint=without_quantity,
        database_url=database_url,
        migrations_dir=migrations_dir,
        allow_destructive=True,
    )
    assert len(applied) == 1
    status = await migration_status(
        blueprint=without_quantity, database_url=database_url, migrations_dir=migrations_dir
    )
    assert (status.pending, status.unplanned, status.drift) == ([], [], [])


def test_migrations_pending_takes_a_sentence_of_its_own() -> None:
    error = MigrationsPending(["0002_abc"], detail="the schema is behind; run the migrations")

    assert error.detail == "the schema is behind; run the migrations"
    assert error.pending == ("0002_abc",)
    assert error.code == "migrations_pending"
    assert "0001_x, 0002_y" in MigrationsPending(["0001_x", "0002_y"]).detail
    with pytest.raises(TypeError, match="detail="):
        MigrationsPending("a sentence passed where revision ids belong")


# Indexes build_metadata leaves out ---------------------------------------------------


def test_a_relation_gets_no_index_of_its_own_when_another_index_starts_with_it() -> None:
    bp = blueprint(
        """
resources:
  customers:
    fields:
      name: {type: string}
  orders:
    fields:
      customer: {type: belongs_to, resource: customers}
      buyer: {type: belongs_to, resource: customers}
      seller: {type: belongs_to, resource: customers, unique: true}
      status: {type: string}
    indexes:
      - {fields: [customer, status]}
      - {fields: [status, buyer], name: orders_by_status}
"""
    )

    indexes = {str(index.name) for index in build_metadata(bp, "sqlite").tables["orders"].indexes}

    assert indexes == {
        "ix_orders_customer_status",
        "orders_by_status",
        "ix_orders_buyer",  # no index starts with it
        "uq_orders_seller",
        "ix_orders_created_at_id",  # every table: the default order
        "ix_orders_updated_at_id",  # every served table: sort=-updated_at
    }


def test_lists_get_an_index_for_each_sort_and_filter_and_the_default_order() -> None:
    long_name = "a_" + "very_" * 12 + "long_field"
    bp = blueprint(
        f"""
resources:
  orders:
    fields:
      status: {{type: string, filterable: true}}
      total: {{type: integer, filterable: true, sortable: true}}
      code: {{type: string, filterable: true, unique: true}}
      placed_at: {{type: datetime, filterable: true}}
      {long_name}: {{type: integer, sortable: true}}
    indexes:
      - {{fields: [placed_at, status]}}
"""
    )

    table = build_metadata(bp, "sqlite").tables["orders"]
    indexes = {str(index.name): [c.name for c in index.columns] for index in table.indexes}

    long_index = next(name for name in indexes if name.startswith("ix_orders_a_very"))
    assert len(long_index) <= 63
    assert indexes == {
        "ix_orders_placed_at_status": ["placed_at", "status"],  # also serves placed_at
        "uq_orders_code": ["code"],  # also serves code
        "ix_orders_total_id": ["total", "id"],  # also serves total
        long_index: [long_name, "id"],
        "ix_orders_created_at_id": ["created_at", "id"],
        "ix_orders_updated_at_id": ["updated_at", "id"],
        "ix_orders_status": ["status"],
    }
    again = build_metadata(bp, "postgresql").tables["orders"]
    assert {str(index.name) for index in again.indexes} == set(indexes)


async def test_list_indexes_are_planned_once(database_url: str, migrations_dir: Path) -> None:
    bp = blueprint(
        """
resources:
  orders:
    fields:
      status: {type: string, filterable: true}
      total: {type: integer, filterable: true, sortable: true}
"""
    )
    plan = await plan_migration(
        blueprint=bp, database_url=database_url, migrations_dir=migrations_dir
    )
    assert "create index ix_orders_total_id on orders (total, id)" in plan.operations
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)

    again = await plan_migration(
        blueprint=bp, database_url=database_url, migrations_dir=migrations_dir, write=False
    )
    assert (again.operations, again.drift) == ([], [])
