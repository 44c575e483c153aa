"""What the account commands share: an up-to-date database and the record service on it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from bastion.adapters.sql.drivers import PoolConfig
from bastion.adapters.sql.migrations import migration_status, sync_schema_for_development
from bastion.adapters.sql.store import SqlStore
from bastion.api.rest.auth.admin_routes import admin_of
from bastion.app.caching import cached_store
from bastion.app.events import build_event_log
from bastion.app.identity import build_identity
from bastion.blueprint import Blueprint, with_identity
from bastion.cli.common import console, fail, read_blueprint, read_settings
from bastion.core import RecordService
from bastion.core.errors import BastionError
from bastion.core.identity.admin import AdminService
from bastion.settings import Settings

__all__ = ["command_pool", "describe_error", "open_admin", "open_records", "run_with_database"]

_T = TypeVar("_T")


def command_pool(settings: Settings) -> PoolConfig:
    """The connection pool of one command: two connections at most, none kept idle,
    the server's time limits."""
    return PoolConfig(
        min_size=0,
        max_size=2,
        connect_timeout=settings.db_connect_timeout,
        statement_timeout=settings.db_statement_timeout,
        acquire_timeout=settings.db_acquire_timeout,
        busy_timeout=settings.sqlite_busy_timeout,
    )


def describe_error(exc: BastionError) -> str:
    """The error's detail, with one line per invalid part of the input."""
    lines = [exc.detail]
    for error in exc.errors:
        where = error.pointer.lstrip("/").replace("/", ".") or "input"
        lines.append(f"  {where}: {error.detail}")
    return "\n".join(lines)


async def _ensure_schema(settings: Settings, blueprint: Blueprint, path: Path) -> None:
    migrations_dir = settings.migrations_dir_for(path)
    url = settings.effective_migrate_url
    if settings.is_development:
        # The same schema sync as `bastion serve` in development.
        for revision in await sync_schema_for_development(
            blueprint=blueprint,
            database_url=url,
            migrations_dir=migrations_dir,
            runtime_database_url=settings.database_url,
        ):
            console.print(f"applied migration {revision.id}: {revision.message}", highlight=False)
        return
    status = await migration_status(
        blueprint=blueprint, database_url=url, migrations_dir=migrations_dir
    )
    if status.pending or status.unplanned or status.drift:
        fail(
            "the database schema is not up to date; run `bastion migrate plan` and "
            "`bastion migrate apply` first",
            code=1,
        )


@asynccontextmanager
async def open_records(settings: Settings, blueprint: Blueprint) -> AsyncIterator[RecordService]:
    """The record service of ``blueprint`` (identity included) on the configured database."""
    served = with_identity(blueprint)
    store = SqlStore(
        url=settings.database_url,
        blueprint=served,
        pool=command_pool(settings),
    )
    # Writes made here invalidate the running servers' caches like their own writes do.
    cached = cached_store(settings, served, store, None)
    await cached.start()
    try:
        # Writes made here (users, service accounts) are logged like the server's.
        yield RecordService(
            blueprint=served, store=cached, events=build_event_log(settings, served)
        )
    finally:
        await cached.close()


@asynccontextmanager
async def open_admin(
    settings: Settings, blueprint: Blueprint
) -> AsyncIterator[tuple[AdminService, RecordService]]:
    """The admin service wired as the server wires it (same hasher costs, key ring
    secret and mailer), and the record service under it."""
    async with open_records(settings, blueprint) as service:
        wiring = build_identity(settings, service.blueprint, service, service.store)
        try:
            yield admin_of(wiring.identity), service
        finally:
            await wiring.stop()


def run_with_database(
    blueprint_path: Path | None,
    work: Callable[[Settings, Blueprint], Awaitable[_T]],
) -> _T:
    """Read the settings and blueprint, bring the schema up to date (development) or
    check it is (production), then run ``work``; a Bastion error exits with its message."""
    settings = read_settings()
    blueprint, path = read_blueprint(blueprint_path, settings)

    async def run() -> _T:
        await _ensure_schema(settings, blueprint, path)
        return await work(settings, blueprint)

    try:
        return asyncio.run(run())
    except BastionError as exc:
        fail(describe_error(exc), code=1)
