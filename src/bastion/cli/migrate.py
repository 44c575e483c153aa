"""``bastion migrate plan|apply|status``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import typer
from rich.syntax import Syntax
from rich.table import Table

from bastion.adapters.sql.migrations import apply_migrations, migration_status, plan_migration
from bastion.cli.common import BLUEPRINT_ARGUMENT, console, fail, read_blueprint, read_settings
from bastion.cli.progress import migration_progress
from bastion.core.errors import BastionError

migrate_app = typer.Typer(
    help="Plan, apply and inspect schema migrations generated from the blueprint.",
    no_args_is_help=True,
)

ALLOW_DESTRUCTIVE = typer.Option(
    False,
    "--allow-destructive",
    help="Accept changes that can lose data (dropped fields or resources, narrowed types).",
)
MESSAGE = typer.Option(None, "--message", "-m", help="A short description for the revision.")
DRY_RUN = typer.Option(False, "--dry-run", help="Show the plan without writing a revision file.")


@migrate_app.command()
def plan(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    message: str | None = MESSAGE,
    allow_destructive: bool = ALLOW_DESTRUCTIVE,
    dry_run: bool = DRY_RUN,
) -> None:
    """Write the next revision from the blueprint's changes and show its SQL."""
    settings = read_settings()
    model, path = read_blueprint(blueprint, settings)
    try:
        result = asyncio.run(
            plan_migration(
                blueprint=model,
                database_url=settings.effective_migrate_url,
                migrations_dir=settings.migrations_dir_for(path),
                message=message,
                allow_destructive=allow_destructive,
                write=not dry_run,
            )
        )
    except BastionError as exc:
        fail(exc.detail)
    for drift in result.drift:
        console.print(f"[yellow]drift:[/] {drift}", highlight=False)
    if not result.operations:
        console.print("[green]nothing to do:[/] the database matches the blueprint")
        return
    for operation in result.operations:
        marker = "[red]![/]" if operation in result.destructive else "+"
        console.print(f" {marker} {operation}", highlight=False)
    if console.is_terminal:
        console.print(Syntax(result.sql, "sql", word_wrap=True))
    else:
        console.print(result.sql, markup=False, highlight=False)
    if result.path is not None:
        console.print(f"wrote [bold]{result.path}[/]; run `bastion migrate apply` to apply it")


@migrate_app.command()
def apply(blueprint: Path | None = BLUEPRINT_ARGUMENT) -> None:
    """Apply every pending revision, in order, under a lock; then, on PostgreSQL, grant the
    server's user (BASTION_DATABASE_URL) its privileges if migrations run as another."""
    settings = read_settings()
    _, path = read_blueprint(blueprint, settings)
    try:
        with migration_progress() as on_progress:
            applied = asyncio.run(
                apply_migrations(
                    database_url=settings.effective_migrate_url,
                    migrations_dir=settings.migrations_dir_for(path),
                    on_progress=on_progress,
                    runtime_database_url=settings.database_url,
                )
            )
    except BastionError as exc:
        fail(exc.detail)
    if not applied:
        console.print("[green]up to date:[/] no pending revisions")
    for revision in applied:
        console.print(f"applied {revision.id}: {revision.message}", highlight=False)


@migrate_app.command()
def status(blueprint: Path | None = BLUEPRINT_ARGUMENT) -> None:
    """Show which revisions are applied and whether the blueprint has unplanned changes."""
    settings = read_settings()
    model, path = read_blueprint(blueprint, settings)
    try:
        result = asyncio.run(
            migration_status(
                blueprint=model,
                database_url=settings.effective_migrate_url,
                migrations_dir=settings.migrations_dir_for(path),
            )
        )
    except BastionError as exc:
        fail(exc.detail)
    table = Table("revision", "message", "state")
    for revision in result.revisions:
        state = "[green]applied[/]" if revision.applied else "[yellow]pending[/]"
        table.add_row(revision.id, revision.message, state)
    console.print(table)
    for drift in result.drift:
        console.print(f"[yellow]drift:[/] {drift}", highlight=False)
    if result.unplanned:
        console.print("[yellow]unplanned changes[/] (run `bastion migrate plan`):")
        for change in result.unplanned:
            console.print(f"  {change}", highlight=False)
    elif not result.pending and not result.drift:
        console.print("[green]up to date[/]")
    if result.pending or result.unplanned or result.drift:
        raise typer.Exit(1)
