"""The six systems of a run: how each gets its data and how its server starts.

=============== ========== ================================================
system          storage    server
=============== ========== ================================================
bastion-pg      PostgreSQL ``bastion serve`` (uvicorn workers)
asyncpg         PostgreSQL refs/asyncpg_app.py under uvicorn (reference a)
drf             PostgreSQL refs/drf under gunicorn, sync workers (reference d)
bastion-sqlite  SQLite     ``bastion serve`` (uvicorn workers)
sqlite3         SQLite     refs/sqlite_app.py under uvicorn (reference b)
pocketbase      SQLite     ``pocketbase serve``, GOMAXPROCS=workers (reference c)
=============== ========== ================================================

Every system has its own database (or file) holding the same rows; the
references on PostgreSQL and SQLite read Bastion's own table layout.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness import dataset
from harness.config import BENCH_DIR
from harness.databases import BLUEPRINT, Databases, bastion_env, migrate
from harness.processes import Server, free_port
from harness.venvs import ensure_venv, venv_versions

__all__ = ["API_BASTION", "SYSTEMS", "Api", "Lab", "Prepared"]


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


SYSTEMS: dict[str, SystemInfo] = {
    "bastion-pg": SystemInfo(
        "Bastion (PostgreSQL)",
        "postgresql",
        API_BASTION,
        "bastion serve, BASTION_ENV=production, uvicorn workers, asyncpg pool 1..10 per worker",
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
        "bastion serve, BASTION_ENV=production, uvicorn workers, aiosqlite pool per worker",
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
}


@dataclass
class Prepared:
    """A system whose data is loaded and whose server is ready to start."""

    key: str
    server: Server
    ids_file: Path
    versions: dict[str, str] = field(default_factory=dict)


class Lab:
    """Prepares systems in one work directory; remembers what to clean up."""

    def __init__(self, workdir: Path, dbs: Databases, workers: int, rows: int) -> None:
        self.workdir = workdir
        self.dbs = dbs
        self.workers = workers
        self.rows = rows
        self._pg_planned = False
        self._uuid_ids: Path | None = None
        self._sqlite_file: Path | None = None

    def _log(self, key: str) -> Path:
        return self.workdir / f"{key}.log"

    def _write_ids(self, name: str, ids: list[str]) -> Path:
        path = self.workdir / name
        path.write_text("\n".join(ids) + "\n")
        return path

    async def _postgres(self, role: str) -> tuple[str, Path]:
        name = await self.dbs.create(role)
        dsn = self.dbs.dsn(name)
        migrations = self.workdir / "migrations-postgresql"
        migrate(dsn, migrations, plan=not self._pg_planned, cwd=self.workdir)
        self._pg_planned = True
        ids = await dataset.load_postgres(dsn, 0, self.rows)
        ids_file = self._uuid_ids or self._write_ids("ids-uuid.txt", ids)
        self._uuid_ids = ids_file
        return dsn, ids_file

    def _sqlite(self) -> tuple[Path, Path]:
        if self._sqlite_file is None:
            path = self.workdir / "bastion.db"
            migrate(
                f"sqlite+aiosqlite:///{path}",
                self.workdir / "migrations-sqlite",
                plan=True,
                cwd=self.workdir,
            )
            ids = dataset.load_sqlite(path, self.rows)
            self._uuid_ids = self._uuid_ids or self._write_ids("ids-uuid.txt", ids)
            self._sqlite_file = path
        assert self._uuid_ids is not None
        return self._sqlite_file, self._uuid_ids

    def bastion_server(self, key: str, url: str, migrations: Path) -> Server:
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
            env=bastion_env(url, migrations),
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
        if key == "bastion-pg":
            dsn, ids = await self._postgres("bastion")
            server = self.bastion_server(key, dsn, self.workdir / "migrations-postgresql")
            return Prepared(key, server, ids)
        if key == "asyncpg":
            dsn, ids = await self._postgres("asyncpg")
            return Prepared(key, self._uvicorn(key, "asyncpg_app", {"BENCH_DSN": dsn}), ids)
        if key == "drf":
            return await self._prepare_drf()
        if key == "bastion-sqlite":
            path, ids = self._sqlite()
            server = self.bastion_server(
                key, f"sqlite+aiosqlite:///{path}", self.workdir / "migrations-sqlite"
            )
            return Prepared(key, server, ids)
        if key == "sqlite3":
            path, ids = self._sqlite()
            copy = self.workdir / "sqlite3-reference.db"
            shutil.copyfile(path, copy)
            server = self._uvicorn(key, "sqlite_app", {"BENCH_SQLITE_PATH": str(copy)})
            return Prepared(key, server, ids)
        if key == "pocketbase":
            return self._prepare_pocketbase()
        raise ValueError(key)

    async def _prepare_drf(self) -> Prepared:
        venv = ensure_venv("drf")
        dsn, ids = await self._postgres("drf")
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
        return Prepared("drf", server, ids, versions)

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
        ids = dataset.load_pocketbase(data / "data.db", self.rows)
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
        )


def describe(key: str) -> dict[str, Any]:
    """The report's static facts about ``key``."""
    info = SYSTEMS[key]
    return {"label": info.label, "storage": info.storage, "notes": info.notes}
