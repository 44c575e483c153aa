"""``bastion serve``: run the HTTP server."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import typer

from bastion.adapters.sql.migrations import (
    MigrationsPending,
    migration_status,
    sync_schema_for_development,
)
from bastion.cli.common import BLUEPRINT_ARGUMENT, console, fail, read_blueprint, read_settings
from bastion.cli.progress import migration_progress
from bastion.cli.server import run_server
from bastion.core.errors import BastionError
from bastion.ops.logging import uvicorn_log_config
from bastion.ops.metrics_dir import prepare_multiprocess_dir, serve_metrics_port
from bastion.settings import LogFormat, Settings

HOST = typer.Option(None, help="Interface to listen on (default 127.0.0.1).", show_default=False)
PORT = typer.Option(None, help="Port to listen on (default 8000).", show_default=False)
WORKERS = typer.Option(None, help="Worker processes (default 1).", show_default=False, min=1)
MAX_REQUESTS = typer.Option(
    None,
    "--max-requests",
    help="Recycle each worker after this many requests (bounds slow memory growth; "
    "a new worker takes its place). Default: never.",
    show_default=False,
    min=1,
)
MAX_REQUESTS_JITTER = typer.Option(
    None,
    "--max-requests-jitter",
    help="Up to this many requests more per worker, so workers do not recycle together.",
    show_default=False,
    min=0,
)
ALLOW_DESTRUCTIVE = typer.Option(
    False,
    "--allow-destructive",
    help="In development, also apply blueprint changes that can lose data.",
)


def _log_config(settings: Settings) -> dict[str, Any]:
    """uvicorn's logging set-up: its lines in Bastion's format, its access log off."""
    return uvicorn_log_config(
        level=settings.log_level,
        levels=settings.log_levels,
        json=settings.effective_log_format is LogFormat.JSON,
    )


def _prepare_metrics(settings: Settings) -> None:
    """Workers share their metrics through one directory; an own port serves them added up."""
    if not settings.metrics_enabled:
        return
    prepare_multiprocess_dir(settings.metrics_dir)
    if settings.metrics_port is not None:
        token = settings.metrics_token.get_secret_value() if settings.metrics_token else None
        host = settings.metrics_host or settings.host
        try:
            serve_metrics_port(host, settings.metrics_port, token=token)
        except OSError as exc:
            fail(f"cannot serve metrics on {host}:{settings.metrics_port}: {exc}")


def serve(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    host: str | None = HOST,
    port: int | None = PORT,
    workers: int | None = WORKERS,
    max_requests: int | None = MAX_REQUESTS,
    max_requests_jitter: int | None = MAX_REQUESTS_JITTER,
    allow_destructive: bool = ALLOW_DESTRUCTIVE,
) -> None:
    """Serve the blueprint; in development, bring the database schema up to date first."""
    settings = read_settings(
        host=host,
        port=port,
        workers=workers,
        max_requests=max_requests,
        max_requests_jitter=max_requests_jitter,
    )
    model, path = read_blueprint(blueprint, settings)
    migrations_dir = settings.migrations_dir_for(path)
    url = settings.effective_migrate_url
    try:
        if settings.is_development:
            with migration_progress() as on_progress:
                applied = asyncio.run(
                    sync_schema_for_development(
                        blueprint=model,
                        database_url=url,
                        migrations_dir=migrations_dir,
                        on_progress=on_progress,
                        allow_destructive=allow_destructive,
                        runtime_database_url=settings.database_url,
                    )
                )
            for revision in applied:
                console.print(f"applied migration {revision.id}: {revision.message}")
        else:
            status = asyncio.run(
                migration_status(blueprint=model, database_url=url, migrations_dir=migrations_dir)
            )
            if status.pending or status.unplanned or status.drift:
                raise MigrationsPending(
                    status.pending,
                    detail="the database schema is not up to date "
                    f"({len(status.pending)} pending revision(s), "
                    f"{len(status.unplanned)} unplanned change(s), "
                    f"{len(status.drift)} difference(s) from the revisions); in production "
                    "migrations are an explicit step: run `bastion migrate plan` and "
                    "`bastion migrate apply`",
                )
    except BastionError as exc:
        fail(exc.detail)
    # Workers are separate processes: they read the blueprint path from the environment.
    os.environ["BASTION_BLUEPRINT"] = str(path.resolve())
    # Each worker counts its own requests towards recycling.
    if settings.max_requests is not None:
        os.environ["BASTION_MAX_REQUESTS"] = str(settings.max_requests)
        os.environ["BASTION_MAX_REQUESTS_JITTER"] = str(settings.max_requests_jitter)
    console.print(
        f"serving [bold]{model.name}[/] ({len(model.resources)} resources) on "
        f"http://{settings.host}:{settings.port} with {settings.workers} worker(s)"
    )
    _prepare_metrics(settings)
    run_server(settings, _log_config(settings))
