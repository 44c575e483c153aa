"""A newer Bastion deriving one more index: a planned migration for existing databases, not drift.

Bastion derives indexes of its own from the blueprint (``(updated_at, id)`` on
every served table, for one). Databases made by revisions planned before a
rule existed lack its index although nobody changed them by hand: ``migrate
status`` lists it as unplanned, ``migrate plan`` writes the revision creating
it, and ``bastion serve`` in production starts once it is applied. An index a
revision did create and someone dropped is still drift.

Two kinds of old revisions are covered: the example's committed first
revision, written before snapshots recorded the derived indexes, and a
revision that records them, as an older Bastion without the rule wrote it.
Each runs on SQLite and on the real PostgreSQL (``database_url``).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.adapters.sql.migrations import (
    InvalidRevisionFiles,
    MigrationStatus,
    apply_migrations,
    migration_status,
    plan_migration,
)
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import Blueprint, load_blueprint
from bastion.blueprint.events import EVENT_RESOURCES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EXAMPLE_TABLES = (
    "customers",
    "products",
    "orders",
    "order_items",
    "tags",
    "product_tags",
    "users",
    "tenants",
)
NEW_INDEXES = [f"create index ix_{table}_updated_at_id on {table}" for table in EXAMPLE_TABLES]
NEW_INTERNAL_TABLES = ("bastion_flags", *EVENT_RESOURCES)
"""Bastion's own tables added since the example's first revision (its third and fourth
create them)."""
NEW_TABLES = [f"create table {table}" for table in NEW_INTERNAL_TABLES]

SHOP = """
resources:
  orders:
    fields:
      title: {type: string, max_length: 200, required: true, sortable: true}
      status: {type: string, max_length: 20, filterable: true}
"""


def blueprint(text: str) -> Blueprint:
    return Blueprint.model_validate(yaml.safe_load(text))


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    return tmp_path / "project" / "migrations"


def example_revisions(migrations_dir: Path, *names: str) -> None:
    """Copy the example's committed revision files named ``names`` into ``migrations_dir``."""
    versions = migrations_dir / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    for name in names:
        (match,) = (EXAMPLES / "migrations" / "versions").glob(f"{name}_*.py")
        shutil.copy(match, versions / match.name)


async def execute(url: str, *statements: str) -> None:
    engine = create_async_engine(parse_database_url(url).sqlalchemy_url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                await connection.execute(sa.text(statement))
    finally:
        await engine.dispose()


async def index_names(url: str, table: str) -> set[str]:
    engine = create_async_engine(parse_database_url(url).sqlalchemy_url)
    try:
        async with engine.connect() as connection:
            indexes = await connection.run_sync(lambda c: sa.inspect(c).get_indexes(table))
    finally:
        await engine.dispose()
    return {str(index["name"]) for index in indexes}


async def status_of(bp: Blueprint, url: str, migrations_dir: Path) -> MigrationStatus:
    return await migration_status(blueprint=bp, database_url=url, migrations_dir=migrations_dir)


def serve_in_production_would_start(status: MigrationStatus) -> bool:
    """What ``bastion serve`` checks before starting with ``BASTION_ENV=production``."""
    return not (status.pending or status.unplanned or status.drift)


async def database_of_an_older_bastion(bp: Blueprint, url: str, migrations_dir: Path) -> str:
    """A database made by a first revision that an older Bastion, without the
    ``(updated_at, id)`` rule for ``orders`` but recording derived indexes, planned.

    Returns the revision's id.
    """
    plan = await plan_migration(blueprint=bp, database_url=url, migrations_dir=migrations_dir)
    assert plan.path is not None
    source = plan.path.read_text()
    plan.path.write_text(
        "".join(line for line in source.splitlines(True) if "ix_orders_updated_at_id" not in line)
    )
    await apply_migrations(database_url=url, migrations_dir=migrations_dir)
    assert plan.revision is not None
    return plan.revision


# Revisions written before snapshots recorded derived indexes (the example's) ------


async def test_a_database_made_by_the_example_first_revision_plans_and_applies_the_new_indexes(
    database_url: str, migrations_dir: Path
) -> None:
    shop = load_blueprint(EXAMPLES / "bastion.yaml")
    example_revisions(migrations_dir, "0001")
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)

    before = await status_of(shop, database_url, migrations_dir)
    plan = await plan_migration(
        blueprint=shop, database_url=database_url, migrations_dir=migrations_dir
    )
    applied = await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    after = await status_of(shop, database_url, migrations_dir)
    again = await plan_migration(
        blueprint=shop, database_url=database_url, migrations_dir=migrations_dir
    )

    assert before.pending == []
    assert before.drift == []
    assert sorted(before.unplanned) == sorted(NEW_INDEXES + NEW_TABLES)
    assert not serve_in_production_would_start(before)
    assert plan.revision is not None
    assert plan.drift == []
    indexes = [op for op in plan.operations if not any(t in op for t in NEW_INTERNAL_TABLES)]
    assert sorted(indexes) == sorted(f"{change} (updated_at, id)" for change in NEW_INDEXES)
    assert plan.destructive == []
    assert "CREATE INDEX IF NOT EXISTS ix_orders_updated_at_id ON orders" in plan.sql
    assert [revision.id for revision in applied] == [plan.revision]
    assert "ix_orders_updated_at_id" in await index_names(database_url, "orders")
    assert after.unplanned == []
    assert after.drift == []
    assert serve_in_production_would_start(after)
    assert again.revision is None


async def test_the_example_committed_revisions_upgrade_a_database_made_by_the_first_one(
    database_url: str, migrations_dir: Path
) -> None:
    shop = load_blueprint(EXAMPLES / "bastion.yaml")
    example_revisions(migrations_dir, "0001")
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    example_revisions(migrations_dir, "0002", "0003", "0004")

    applied = await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    status = await status_of(shop, database_url, migrations_dir)

    assert [revision.id[:4] for revision in applied] == ["0002", "0003", "0004"]
    assert serve_in_production_would_start(status), status


async def test_an_index_the_example_first_revision_created_and_someone_dropped_is_drift(
    database_url: str, migrations_dir: Path
) -> None:
    shop = load_blueprint(EXAMPLES / "bastion.yaml")
    example_revisions(migrations_dir, "0001")
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    await execute(database_url, "DROP INDEX ix_orders_created_at_id")

    status = await status_of(shop, database_url, migrations_dir)
    plan = await plan_migration(
        blueprint=shop, database_url=database_url, migrations_dir=migrations_dir, write=False
    )

    missing = "index ix_orders_created_at_id on orders is missing from the database"
    assert status.drift == [missing]
    assert sorted(status.unplanned) == sorted(NEW_INDEXES + NEW_TABLES)
    assert plan.drift == [missing]
    assert not any("ix_orders_created_at_id" in operation for operation in plan.operations)


# Revisions that record the derived indexes ---------------------------------------


async def test_a_rule_added_after_a_recorded_revision_is_planned_and_the_revision_replays(
    database_url: str, migrations_dir: Path
) -> None:
    shop = blueprint(SHOP)
    first = await database_of_an_older_bastion(shop, database_url, migrations_dir)

    before = await status_of(shop, database_url, migrations_dir)
    plan = await plan_migration(
        blueprint=shop, database_url=database_url, migrations_dir=migrations_dir
    )
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    # As on a copy where a deploy ran it already: the version goes back, the index stays.
    await execute(database_url, f"UPDATE bastion_migrations SET version_num = '{first}'")
    replayed = await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    after = await status_of(shop, database_url, migrations_dir)

    assert before.unplanned == ["create index ix_orders_updated_at_id on orders"]
    assert before.drift == []
    assert plan.operations == ["create index ix_orders_updated_at_id on orders (updated_at, id)"]
    assert plan.path is not None
    assert "if_not_exists=True" in plan.path.read_text()
    assert [revision.id for revision in replayed] == [plan.revision]
    assert serve_in_production_would_start(after), after


async def test_an_index_built_ahead_by_hand_is_still_planned_and_the_revision_skips_it(
    database_url: str, migrations_dir: Path
) -> None:
    """A big PostgreSQL table gets its index CONCURRENTLY by hand before the deploy."""
    shop = blueprint(SHOP)
    await database_of_an_older_bastion(shop, database_url, migrations_dir)
    await execute(database_url, "CREATE INDEX ix_orders_updated_at_id ON orders (updated_at, id)")

    before = await status_of(shop, database_url, migrations_dir)
    plan = await plan_migration(
        blueprint=shop, database_url=database_url, migrations_dir=migrations_dir
    )
    applied = await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    after = await status_of(shop, database_url, migrations_dir)

    assert before.unplanned == ["create index ix_orders_updated_at_id on orders"]
    # The revisions do not have it yet: made by hand, reported until the revision adopts it.
    assert before.drift == [
        "index ix_orders_updated_at_id on orders exists in the database but no revision "
        "describes it"
    ]
    assert plan.operations == ["create index ix_orders_updated_at_id on orders (updated_at, id)"]
    assert [revision.id for revision in applied] == [plan.revision]
    assert serve_in_production_would_start(after), after


async def test_an_index_a_recorded_revision_created_and_someone_dropped_is_drift(
    database_url: str, migrations_dir: Path
) -> None:
    shop = blueprint(SHOP)
    await plan_migration(blueprint=shop, database_url=database_url, migrations_dir=migrations_dir)
    await apply_migrations(database_url=database_url, migrations_dir=migrations_dir)
    await execute(database_url, "DROP INDEX ix_orders_updated_at_id")

    status = await status_of(shop, database_url, migrations_dir)
    plan = await plan_migration(
        blueprint=shop, database_url=database_url, migrations_dir=migrations_dir, write=False
    )

    missing = "index ix_orders_updated_at_id on orders is missing from the database"
    assert status.drift == [missing]
    assert status.unplanned == []
    assert plan.drift == [missing]
    assert plan.operations == []


async def test_a_record_naming_a_column_its_table_lacks_is_refused(
    sqlite_url: str, migrations_dir: Path
) -> None:
    shop = blueprint(SHOP)
    plan = await plan_migration(
        blueprint=shop, database_url=sqlite_url, migrations_dir=migrations_dir
    )
    assert plan.path is not None
    record = '"ix_orders_title_id": {"fields": ["title", "id"]'
    source = plan.path.read_text()
    assert record in source
    plan.path.write_text(source.replace(record, record.replace('"title"', '"headline"')))

    with pytest.raises(InvalidRevisionFiles, match=re.escape("ix_orders_title_id on orders")):
        await status_of(shop, sqlite_url, migrations_dir)
