"""The event log is append-only on PostgreSQL, and the server's role gets only what it needs.

Migrations run as the owner (``BASTION_MIGRATE_DATABASE_URL``); the server
runs as another login role (``BASTION_DATABASE_URL``). ``bastion migrate
apply`` then grants that role reading and writing Bastion's tables but only
reading and appending to ``bastion_events``: its updates, deletes and
truncates are refused by PostgreSQL's privileges. The owner is refused too,
by the triggers the example's committed revision creates with the table.
On SQLite the same command creates the same tables.
"""

from __future__ import annotations

import asyncio
import shutil
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import asyncpg
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine
from typer.testing import CliRunner

from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint.events import EVENT_RESOURCES
from bastion.cli.migrate import migrate_app
from role_support import with_user

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

INSERT_EVENT = """
INSERT INTO bastion_events (id, created_at, updated_at, version, resource, record_id, seq,
    type, record_version, changes, actor_kind, prev_hash, hash)
VALUES (gen_random_uuid(), now(), now(), 1, 'orders', gen_random_uuid(), 1,
    'orders.created', 1, '{}', 'system', repeat('0', 64), repeat('a', 64))
"""


@pytest.fixture
def migrations_dir(tmp_path: Path) -> Path:
    """A copy of the example's committed revisions."""
    copy = tmp_path / "migrations"
    shutil.copytree(EXAMPLES / "migrations" / "versions", copy / "versions")
    return copy


def migrate(
    command: str, *, migrations_dir: Path, database_url: str, migrate_url: str | None = None
) -> str:
    """Run ``bastion migrate <command>`` on the example with these URLs; its output."""
    env = {
        "BASTION_DATABASE_URL": database_url,
        "BASTION_MIGRATE_DATABASE_URL": migrate_url,
        "BASTION_MIGRATIONS_DIR": str(migrations_dir),
    }
    result = CliRunner().invoke(migrate_app, [command, str(EXAMPLES / "bastion.yaml")], env=env)
    assert result.exit_code == 0, result.output
    return result.output


async def refused(
    connection: asyncpg.Connection, statement: str
) -> asyncpg.InsufficientPrivilegeError:
    """The error ``statement`` fails with (it must fail for want of rights)."""
    with pytest.raises(asyncpg.InsufficientPrivilegeError) as caught:
        await connection.execute(statement)
    return caught.value


async def as_role(url: str, work: Callable[[asyncpg.Connection], Awaitable[None]]) -> None:
    connection = await asyncpg.connect(url)
    try:
        await work(connection)
    finally:
        await connection.close()


async def test_event_log_runtime_role_appends_but_cannot_change_or_remove_events(
    postgres_url: str, runtime_url: str, migrations_dir: Path
) -> None:
    # As on a first deploy: the owner migrates; then, with the server's role
    # configured, `bastion migrate apply` (nothing pending) grants it its rights.
    await asyncio.to_thread(
        migrate, "apply", migrations_dir=migrations_dir, database_url=postgres_url
    )
    output = await asyncio.to_thread(
        migrate,
        "apply",
        migrations_dir=migrations_dir,
        database_url=runtime_url,
        migrate_url=postgres_url,
    )
    assert "up to date" in output

    async def runtime_checks(connection: asyncpg.Connection) -> None:
        await connection.execute(INSERT_EVENT)
        assert await connection.fetchval("SELECT count(*) FROM bastion_events") == 1
        for statement in (
            "UPDATE bastion_events SET type = 'orders.deleted'",
            "DELETE FROM bastion_events",
            "TRUNCATE bastion_events",
        ):
            error = await refused(connection, statement)
            assert "permission denied for table bastion_events" in str(error), statement
        # The rest of Bastion's tables are the server's to read and write.
        await connection.execute(
            "INSERT INTO bastion_outbox (id, created_at, updated_at, version, stream, seq) "
            "VALUES (gen_random_uuid(), now(), now(), 1, 'orders/1', 1)"
        )
        assert await connection.execute("UPDATE bastion_outbox SET seq = 2") == "UPDATE 1"
        assert await connection.execute("DELETE FROM bastion_outbox") == "DELETE 1"
        # Which revision the database is at is the migrations' business only.
        await refused(connection, "SELECT * FROM bastion_migrations")

    await as_role(runtime_url, runtime_checks)

    async def owner_checks(connection: asyncpg.Connection) -> None:
        for statement, operation in (
            ("UPDATE bastion_events SET type = 'orders.deleted'", "UPDATE"),
            ("DELETE FROM bastion_events", "DELETE"),
            ("TRUNCATE bastion_events", "TRUNCATE"),
        ):
            error = await refused(connection, statement)
            assert str(error).startswith(
                f"bastion_events is append-only: {operation} is refused"
            ), statement
        assert await connection.fetchval("SELECT count(*) FROM bastion_events") == 1

    await as_role(postgres_url, owner_checks)


async def test_event_log_grants_name_a_missing_runtime_role(
    postgres_url: str, migrations_dir: Path
) -> None:
    missing = f"bastion_test_absent_{uuid.uuid4().hex[:12]}"
    env = {
        "BASTION_DATABASE_URL": with_user(postgres_url, missing),
        "BASTION_MIGRATE_DATABASE_URL": postgres_url,
        "BASTION_MIGRATIONS_DIR": str(migrations_dir),
    }
    result = await asyncio.to_thread(
        CliRunner().invoke, migrate_app, ["apply", str(EXAMPLES / "bastion.yaml")], env=env
    )

    said = " ".join(result.output.split())
    assert result.exit_code != 0
    assert f"the runtime user '{missing}'" in said
    assert f'role "{missing}" does not exist' in said
    assert "run `bastion migrate apply` again" in said


async def test_event_log_migrate_apply_on_sqlite_creates_the_event_tables(
    sqlite_url: str, migrations_dir: Path
) -> None:
    output = await asyncio.to_thread(
        migrate, "apply", migrations_dir=migrations_dir, database_url=sqlite_url
    )

    engine = create_async_engine(parse_database_url(sqlite_url).sqlalchemy_url)
    try:
        async with engine.connect() as connection:
            tables = await connection.run_sync(lambda sync: sa.inspect(sync).get_table_names())
    finally:
        await engine.dispose()
    assert "event log, outbox and deliveries" in output
    assert set(EVENT_RESOURCES) <= set(tables)
