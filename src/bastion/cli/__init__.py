"""The ``bastion`` command line (the commands live in :mod:`bastion.cli.commands`).

This module imports nothing heavy on purpose: ``bastion serve --workers N``
starts workers with multiprocessing's *spawn*, which imports the ``bastion``
script's module again in every worker. Importing the commands here would load
the migration tooling (Alembic, Mako) into each worker for nothing, about
15 MiB of resident memory per worker (measured).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import typer

__all__ = ["app", "main"]

app: typer.Typer


def main() -> None:
    """Entry point of the ``bastion`` script."""
    from bastion.cli.commands import app as commands

    commands()


def __getattr__(name: str) -> Any:
    # ``from bastion.cli import app`` keeps working, loading the commands on first use.
    if name == "app":
        from bastion.cli.commands import app as commands

        return commands
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
