"""Progress bars for long command-line work."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bastion.adapters.sql.migrations import RevisionInfo
from bastion.cli.common import console

__all__ = ["counting_progress", "migration_progress"]


@contextmanager
def migration_progress() -> Iterator[Callable[[RevisionInfo, int, int], None]]:
    """A callback drawing one bar over the revisions being applied."""
    with Progress(
        TextColumn("[bold]migrating[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = None

        def on_progress(revision: RevisionInfo, done: int, total: int) -> None:
            nonlocal task
            if task is None:
                task = progress.add_task(revision.message, total=total)
            progress.update(task, completed=done, description=f"{revision.id} {revision.message}")

        yield on_progress


@contextmanager
def counting_progress(label: str) -> Iterator[Callable[[int, int], None]]:
    """A callback drawing one bar over ``(done, total)`` items (events, records...)."""
    with Progress(
        TextColumn(f"[bold]{label}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        # Piped or logged output gets the result only, not a bar's leftovers.
        disable=not console.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)

        def on_progress(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield on_progress
