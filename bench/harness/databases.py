"""PostgreSQL databases for a run (``bench_*``), and Bastion's schema in any database.

Every system gets its own database, named ``bench_<role>_<pid>`` so that two
runs on one machine never meet; each is dropped when the run ends, whatever
happened. The schema is always Bastion's own, made by ``bastion migrate``,
so the references read exactly the table Bastion serves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import asyncpg
from sqlalchemy.ext.asyncio import create_async_engine

from bastion.adapters.sql.schema import build_metadata
from bastion.adapters.sql.urls import parse_database_url
from bastion.blueprint import Blueprint, with_identity
from harness.config import BENCH_DIR

__all__ = ["Databases", "bastion_env", "create_tables", "migrate"]

BLUEPRINT = BENCH_DIR / "bastion.yaml"


def _bastion_bin() -> str:
    return str(Path(sys.executable).parent / "bastion")


def bastion_env(database_url: str, migrations_dir: Path, **extra: str) -> dict[str, str]:
    """The environment Bastion runs with in the bench (production settings, quiet logs)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("BASTION_")}
    env |= {
        "BASTION_DATABASE_URL": database_url,
        "BASTION_MIGRATIONS_DIR": str(migrations_dir),
        "BASTION_ENV": "production",
        "BASTION_SECRET_KEY": "bench-" + os.urandom(24).hex(),
        # uvicorn's access log writes one line per request; every server in the run has it off.
        "BASTION_LOG_LEVEL": "WARNING",
    }
    return env | extra


def migrate(database_url: str, migrations_dir: Path, *, plan: bool, cwd: Path) -> None:
    """Apply Bastion's migrations for the bench blueprint (planning them first if asked)."""
    env = bastion_env(database_url, migrations_dir)
    steps = [["migrate", "plan", str(BLUEPRINT), "-m", "bench"]] if plan else []
    steps.append(["migrate", "apply", str(BLUEPRINT)])
    for step in steps:
        result = subprocess.run(
            [_bastion_bin(), *step], env=env, cwd=cwd, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"bastion {' '.join(step[:2])} failed:\n{result.stdout}\n{result.stderr}"
            )


class Databases:
    """Creates ``bench_*`` databases and drops every one it created."""

    def __init__(self, admin_dsn: str) -> None:
        self.admin_dsn = admin_dsn
        self.created: list[str] = []

    def dsn(self, name: str) -> str:
        """The DSN of database ``name`` on the same server."""
        base, _, _ = self.admin_dsn.rpartition("/")
        return f"{base}/{name}"

    async def create(self, role: str) -> str:
        """A new empty database for ``role``; its name."""
        name = f"bench_{role}_{os.getpid()}"
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        self.created.append(name)
        return name

    async def clone(self, template: str, role: str) -> str:
        """A copy of database ``template`` (no one may be connected to it) for ``role``, analysed.

        Copying the files is much faster than loading the rows again, and every
        system then reads the same physical table.
        """
        name = f"bench_{role}_{os.getpid()}"
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            # FILE_COPY (PostgreSQL 15+) copies the files instead of WAL-logging every block.
            new_enough = int(await conn.fetchval("SHOW server_version_num")) >= 150_000
            strategy = " STRATEGY FILE_COPY" if new_enough else ""
            await conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"{strategy}')
        finally:
            await conn.close()
        self.created.append(name)
        copy = await asyncpg.connect(self.dsn(name))
        try:
            await copy.execute("ANALYZE items")
        finally:
            await copy.close()
        return name

    async def connection_budget(self) -> dict[str, int]:
        """The server's connection limit, and how many connections others hold right now."""
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            limit = int(await conn.fetchval("SHOW max_connections"))
            reserved = int(await conn.fetchval("SHOW superuser_reserved_connections"))
            in_use = int(
                await conn.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
                )
            )
        finally:
            await conn.close()
        return {"max_connections": limit - reserved, "in_use": in_use - 1}

    async def drop_all(self) -> None:
        """Drop every database this object created (closing their connections)."""
        if not self.created:
            return
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            for name in list(self.created):
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                self.created.remove(name)
        finally:
            await conn.close()

    async def server_version(self) -> str:
        """The server's ``version()`` line, shortened."""
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            version: str = await conn.fetchval("SHOW server_version")
        finally:
            await conn.close()
        return version


async def create_tables(blueprint: Blueprint, database_url: str) -> None:
    """Create ``blueprint``'s tables (identity and Bastion's own included) straight from
    its metadata, for the in-process benchmarks that build a blueprint of their own."""
    parsed = parse_database_url(database_url)
    engine = create_async_engine(parsed.sqlalchemy_url)
    try:
        async with engine.begin() as conn:
            metadata = build_metadata(with_identity(blueprint), parsed.dialect)
            await conn.run_sync(metadata.create_all)
    finally:
        await engine.dispose()
