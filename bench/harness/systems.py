"""The systems of a run: how each gets its data and how its server starts.

================== ========== ==============================================
system             storage    server
================== ========== ==============================================
bastion-pg         PostgreSQL ``bastion serve`` as shipped: its record cache in Redis
bastion-pg-nocache PostgreSQL the same with ``BASTION_CACHE_ENABLED=false``
asyncpg            PostgreSQL refs/asyncpg_app.py under uvicorn (reference a)
drf                PostgreSQL refs/drf under gunicorn, sync workers (reference d)
bastion-sqlite     SQLite     ``bastion serve`` as shipped on embedded defaults
sqlite3            SQLite     refs/sqlite_app.py under uvicorn (reference b)
pocketbase         SQLite     ``pocketbase serve``, GOMAXPROCS=workers (reference c)
bastion-pg-granian PostgreSQL bastion-pg-nocache's app and database under granian
================== ========== ==============================================

Every system has its own database (or file) holding the same rows; the
references on PostgreSQL and SQLite read Bastion's own table layout. The
rows are loaded once per engine: the other PostgreSQL systems get a copy of
the first database (``CREATE DATABASE ... TEMPLATE``), the sqlite3 reference
a copy of Bastion's file, and every copy is analysed again.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import dataset
from harness.config import ALL_ENDPOINTS, BENCH_DIR
from harness.databases import BLUEPRINT, Databases, bastion_env, migrate
from harness.processes import Server, free_port
from harness.redis_keys import RunRedis
from harness.venvs import ensure_venv, venv_versions

__all__ = ["API_BASTION", "SERVER_CHOICE", "SYSTEMS", "Api", "Lab", "Prepared"]


@dataclass(frozen=True, slots=True)
class Api:
    """The URLs one system serves the benchmark's endpoints at."""

    item_path: str
    list_path: str
    filtered_path: str
    ready_path: str
    price_style: str = "decimal-string"


API_BASTION = Api(
    item_path="/v1/items",
    list_path="/v1/items?limit=20",
    filtered_path="/v1/items?status=active&sort=-price&limit=20",
    ready_path="/v1/items?limit=1",
)
API_DRF = Api(
    item_path="/v1/items",
    list_path="/v1/items?limit=20",
    filtered_path="/v1/items?status=active&ordering=-price&limit=20",
    ready_path="/v1/items?limit=1",
)
_PB = "/api/collections/items/records"
API_POCKETBASE = Api(
    item_path=_PB,
    # skipTotal=1: no COUNT(*), like every other system here.
    list_path=f"{_PB}?perPage=20&skipTotal=1&sort=id",
    filtered_path=f"{_PB}?filter=status%3D%27active%27&sort=-price&perPage=20&skipTotal=1",
    ready_path=f"{_PB}?perPage=1&skipTotal=1",
    price_style="number",
)


@dataclass(frozen=True, slots=True)
class SystemInfo:
    """How a system is named and grouped in the report."""

    label: str
    storage: str
    api: Api
    notes: str
    endpoints: tuple[str, ...] = ALL_ENDPOINTS
    """The endpoints measured on this system."""


_BASTION_PG = (
    "bastion serve, BASTION_ENV=production, uvicorn workers, asyncpg pool 1..10 per worker"
)
SERVER_CHOICE = ("bastion-pg-nocache", "bastion-pg-granian")
"""uvicorn against granian: the same app, settings and database, measured in turn."""

SYSTEMS: dict[str, SystemInfo] = {
    "bastion-pg": SystemInfo(
        "Bastion (PostgreSQL)",
        "postgresql",
        API_BASTION,
        _BASTION_PG + ", record cache on (in process + Redis, BASTION_REDIS_URL set)",
    ),
    "bastion-pg-nocache": SystemInfo(
        "Bastion (PostgreSQL, cache off)",
        "postgresql",
        API_BASTION,
        _BASTION_PG + ", BASTION_CACHE_ENABLED=false (Redis set, as above)",
    ),
    "asyncpg": SystemInfo(
        "Starlette + asyncpg (ceiling)",
        "postgresql",
        API_BASTION,
        "bench/refs/asyncpg_app.py, uvicorn workers, asyncpg pool 1..10 per worker",
    ),
    "drf": SystemInfo(
        "Django REST Framework",
        "postgresql",
        API_DRF,
        "bench/refs/drf: ModelViewSet + django-filter + CursorPagination, gunicorn sync workers,"
        " psycopg 3, CONN_MAX_AGE=600",
    ),
    "bastion-sqlite": SystemInfo(
        "Bastion (SQLite)",
        "sqlite",
        API_BASTION,
        "bastion serve, BASTION_ENV=production, uvicorn workers, aiosqlite pool per worker,"
        " embedded defaults (in-process record cache, no Redis)",
    ),
    "sqlite3": SystemInfo(
        "Starlette + sqlite3 (ceiling)",
        "sqlite",
        API_BASTION,
        "bench/refs/sqlite_app.py, uvicorn workers, one blocking sqlite3 connection per worker",
    ),
    "pocketbase": SystemInfo(
        "PocketBase",
        "sqlite",
        API_POCKETBASE,
        "pocketbase serve (one Go process, GOMAXPROCS=workers), request log off",
    ),
    "bastion-pg-granian": SystemInfo(
        "Bastion (PostgreSQL, cache off) under granian",
        "postgresql",
        API_BASTION,
        "granian --interface asgi, same workers, uvloop, HTTP/1; Bastion's app factory,"
        " settings and database of Bastion (PostgreSQL, cache off)",
        endpoints=("get", "list"),
    ),
}


@dataclass
class Prepared:
    """A system whose data is loaded and whose server is ready to start."""

    key: str
    server: Server
    ids_file: Path
    versions: dict[str, str] = field(default_factory=dict)
    data: str = "loaded"
    """How its rows got there: loaded, or copied from another system's."""


class Lab:
    """Prepares systems in one work directory; remembers what to clean up."""

    def __init__(
        self,
        workdir: Path,
        dbs: Databases,
        workers: int,
        rows: int,
        *,
        ids: int = 10_000,
        redis: RunRedis | None = None,
    ) -> None:
        self.workdir = workdir
        self.dbs = dbs
        self.workers = workers
        self.rows = rows
        self.redis = redis
        """Where Bastion on PostgreSQL caches; None when Redis does not answer."""
        self.indices = dataset.sample_indices(rows, min(ids, rows)) if rows else []
        self._pg_planned = False
        self._pg_first: tuple[str, str] | None = None
        """The database the rows were loaded into, and its role."""
        self._pg_dsns: dict[str, str] = {}
        self._uuid_ids: Path | None = None
        self._sqlite_file: Path | None = None

    def _log(self, key: str) -> Path:
        return self.workdir / f"{key}.log"

    def _write_ids(self, name: str, ids: list[str]) -> Path:
        path = self.workdir / name
        path.write_text("\n".join(ids) + "\n")
        return path

    async def _postgres(self, role: str) -> tuple[str, Path, str]:
        """A database holding the rows for ``role``: (DSN, ids file, how the rows got there)."""
        if role in self._pg_dsns:
            assert self._uuid_ids is not None
            owner = role.replace("_", "-")
            return self._pg_dsns[role], self._uuid_ids, f"shares {owner}'s database"
        if self._pg_first is None:
            name = await self.dbs.create(role)
            dsn = self.dbs.dsn(name)
            migrations = self.workdir / "migrations-postgresql"
            migrate(dsn, migrations, plan=not self._pg_planned, cwd=self.workdir)
            self._pg_planned = True
            ids = await dataset.load_postgres(dsn, 0, self.rows, keep=self.indices)
            self._uuid_ids = self._uuid_ids or self._write_ids("ids-uuid.txt", ids)
            self._pg_first = (name, role)
            how = "loaded (COPY, VACUUM ANALYZE)"
        else:
            name = await self.dbs.clone(self._pg_first[0], role)
            dsn = self.dbs.dsn(name)
            source = self._pg_first[1].replace("_", "-")
            how = f"copied from {source}'s database (template), then ANALYZE"
        self._pg_dsns[role] = dsn
        assert self._uuid_ids is not None
        return dsn, self._uuid_ids, how

    def _sqlite(self) -> tuple[Path, Path]:
        if self._sqlite_file is None:
            path = self.workdir / "bastion.db"
            migrate(
                f"sqlite+aiosqlite:///{path}",
                self.workdir / "migrations-sqlite",
                plan=True,
                cwd=self.workdir,
            )
            ids = dataset.load_sqlite(path, self.rows, keep=self.indices)
            self._uuid_ids = self._uuid_ids or self._write_ids("ids-uuid.txt", ids)
            self._sqlite_file = path
        assert self._uuid_ids is not None
        return self._sqlite_file, self._uuid_ids

    def _redis_env(self, key: str, *, cache: bool) -> dict[str, str]:
        env = {} if cache else {"BASTION_CACHE_ENABLED": "false"}
        if self.redis is not None:
            env |= {
                "BASTION_REDIS_URL": self.redis.url,
                "BASTION_REDIS_PREFIX": self.redis.prefix_for(key),
            }
        return env

    def bastion_server(
        self, key: str, url: str, migrations: Path, extra_env: dict[str, str] | None = None
    ) -> Server:
        """``bastion serve`` for the bench blueprint on ``url`` (not started)."""
        port = free_port()
        argv = [
            str(Path(sys.executable).parent / "bastion"),
            "serve",
            str(BLUEPRINT),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(self.workers),
        ]
        return Server(
            key,
            argv,
            port=port,
            ready_path=API_BASTION.ready_path,
            env=bastion_env(url, migrations, **(extra_env or {})),
            cwd=self.workdir,
            log_path=self._log(key),
        )

    def granian_server(
        self, key: str, url: str, migrations: Path, extra_env: dict[str, str]
    ) -> Server:
        """Bastion's app factory under granian, with the options ``bastion serve`` gives uvicorn."""
        venv = ensure_venv("granian", see_bastion=True)
        port = free_port()
        argv = [
            str(venv / "bin" / "granian"),
            "--interface",
            "asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(self.workers),
            "--loop",
            "uvloop",
            "--http",
            "1",
            "--no-ws",
            "--log-level",
            "warning",
            "--no-access-log",
            "bastion.app:app_from_environment",
        ]
        env = bastion_env(url, migrations, **extra_env) | {"BASTION_BLUEPRINT": str(BLUEPRINT)}
        return Server(
            key,
            argv,
            port=port,
            ready_path=API_BASTION.ready_path,
            env=env,
            cwd=self.workdir,
            log_path=self._log(key),
        )

    def _uvicorn(self, key: str, module: str, env: dict[str, str]) -> Server:
        # The same uvicorn options `bastion serve` uses, so only the application differs.
        port = free_port()
        argv = [
            sys.executable,
            "-m",
            "uvicorn",
            f"{module}:app",
            "--app-dir",
            str(BENCH_DIR / "refs"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(self.workers),
            "--log-level",
            "warning",
            "--no-server-header",
            "--no-proxy-headers",
        ]
        return Server(
            key,
            argv,
            port=port,
            ready_path=API_BASTION.ready_path,
            env=os.environ | env,
            cwd=self.workdir,
            log_path=self._log(key),
        )

    async def prepare(self, key: str) -> Prepared:
        """Load ``key``'s data and build (not start) its server."""
        migrations_pg = self.workdir / "migrations-postgresql"
        if key in ("bastion-pg", "bastion-pg-nocache"):
            cache = key == "bastion-pg"
            if cache and self.redis is None:
                raise RuntimeError(
                    "Redis does not answer, and Bastion on PostgreSQL as shipped caches in it "
                    "(see the Redis line at the start of the run)"
                )
            dsn, ids, how = await self._postgres(key.replace("-", "_"))
            server = self.bastion_server(key, dsn, migrations_pg, self._redis_env(key, cache=cache))
            return Prepared(key, server, ids, data=how)
        if key == "bastion-pg-granian":
            # The very database uvicorn's run reads: only the server differs.
            dsn, ids, how = await self._postgres("bastion_pg_nocache")
            extra = self._redis_env(key, cache=False)
            server = self.granian_server(key, dsn, migrations_pg, extra)
            venv = ensure_venv("granian", see_bastion=True)
            return Prepared(key, server, ids, venv_versions(venv, ["granian"]), data=how)
        if key == "asyncpg":
            dsn, ids, how = await self._postgres("asyncpg")
            server = self._uvicorn(key, "asyncpg_app", {"BENCH_DSN": dsn})
            return Prepared(key, server, ids, data=how)
        if key == "drf":
            return await self._prepare_drf()
        if key == "bastion-sqlite":
            path, ids = self._sqlite()
            server = self.bastion_server(
                key, f"sqlite+aiosqlite:///{path}", self.workdir / "migrations-sqlite"
            )
            return Prepared(key, server, ids, data="loaded (executemany, ANALYZE)")
        if key == "sqlite3":
            fresh = self._sqlite_file is None
            path, ids = self._sqlite()
            copy = self.workdir / "sqlite3-reference.db"
            shutil.copyfile(path, copy)
            _analyze_sqlite(copy)
            server = self._uvicorn(key, "sqlite_app", {"BENCH_SQLITE_PATH": str(copy)})
            how = "loaded, then copied" if fresh else "copied from Bastion's file, then ANALYZE"
            return Prepared(key, server, ids, data=how)
        if key == "pocketbase":
            return self._prepare_pocketbase()
        raise ValueError(key)

    async def _prepare_drf(self) -> Prepared:
        venv = ensure_venv("drf")
        dsn, ids, how = await self._postgres("drf")
        port = free_port()
        argv = [
            str(venv / "bin" / "gunicorn"),
            "benchdrf.wsgi:application",
            "--chdir",
            str(BENCH_DIR / "refs" / "drf"),
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(self.workers),
            "--worker-class",
            "sync",
            "--log-level",
            "warning",
        ]
        server = Server(
            "drf",
            argv,
            port=port,
            ready_path=API_DRF.ready_path,
            env=os.environ | {"BENCH_DSN": dsn},
            cwd=self.workdir,
            log_path=self._log("drf"),
        )
        versions = venv_versions(
            venv, ["Django", "djangorestframework", "django-filter", "gunicorn", "psycopg"]
        )
        return Prepared("drf", server, ids, versions, data=how)

    def _prepare_pocketbase(self) -> Prepared:
        venv = ensure_venv("pocketbase")
        binary = venv / "bin" / "pocketbase"
        home = self.workdir / "pocketbase"
        migrations = home / "pb_migrations"
        shutil.copytree(BENCH_DIR / "refs" / "pocketbase" / "pb_migrations", migrations)
        data = home / "pb_data"
        common = ["--dir", str(data), "--migrationsDir", str(migrations)]
        result = subprocess.run(
            [str(binary), "migrate", "up", *common], capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise RuntimeError(f"pocketbase migrate up failed: {result.stdout}{result.stderr}")
        dataset.load_pocketbase(data / "data.db", self.rows)
        ids = [dataset.pocketbase_id(index) for index in self.indices]
        version = subprocess.run(
            [str(binary), "--version"], capture_output=True, text=True, check=False
        ).stdout.split()[-1]
        port = free_port()
        server = Server(
            "pocketbase",
            [str(binary), "serve", "--http", f"127.0.0.1:{port}", *common],
            port=port,
            ready_path=API_POCKETBASE.ready_path,
            env=os.environ | {"GOMAXPROCS": str(self.workers)},
            cwd=home,
            log_path=self._log("pocketbase"),
        )
        return Prepared(
            "pocketbase",
            server,
            self._write_ids("ids-pocketbase.txt", ids),
            {"pocketbase": version},
            data="loaded (executemany, ANALYZE)",
        )


def _analyze_sqlite(path: Path) -> None:
    conn = sqlite3.connect(path)
    try:
        conn.execute("ANALYZE")
    finally:
        conn.close()


def describe(key: str) -> dict[str, Any]:
    """The report's static facts about ``key``."""
    info = SYSTEMS[key]
    return {"label": info.label, "storage": info.storage, "notes": info.notes}
