"""``bastion events status`` and ``bastion events dead-letters list|show|replay``."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

import orjson
import typer
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from bastion.blueprint import Blueprint
from bastion.cli.common import BLUEPRINT_ARGUMENT, console, fail
from bastion.cli.database import run_with_database
from bastion.cli.event_store import open_event_store, subject_keys
from bastion.core.events.dead_letters import (
    DeliveryDetail,
    EventsStatus,
    ReplayResult,
    delivery_detail,
    list_dead_letters,
    read_status,
    replay_dead_letters,
    replay_deliveries,
)
from bastion.core.ids import parse_id
from bastion.core.ports import Row
from bastion.settings import Settings

__all__ = ["events_app"]

events_app = typer.Typer(
    help="Inspect event publishing and delivery; list, show and replay dead letters.",
    no_args_is_help=True,
)
dead_letters_app = typer.Typer(
    help="Deliveries to webhooks and consumers that were given up on, and replaying them.",
    no_args_is_help=True,
)
events_app.add_typer(dead_letters_app, name="dead-letters")

TargetKind = Literal["webhook", "consumer"]
TARGET_KIND = typer.Option(
    None,
    "--target-kind",
    help="Only deliveries to webhooks, or only to in-app consumers.",
    show_default=False,
)


def _when(value: datetime | None) -> str:
    return "-" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _print_table(table: Table) -> None:
    """In a terminal, fit the table to it (ids fold, never cut); piped, print it as wide
    as its content, so every id stays whole on its line for grep and scripts."""
    if console.is_terminal:
        console.print(table)
        return
    natural = Measurement.get(console, console.options.update_width(100_000), table)
    width = max(console.width, natural.maximum)
    Console(file=console.file, width=width, soft_wrap=True, color_system=None).print(table)


def _delivery_id(text: str) -> UUID:
    parsed = parse_id(text)
    if parsed is None:
        fail(f"{text!r} is not a delivery id (a UUID, as `dead-letters list` shows them)")
    return parsed


@events_app.command()
def status(blueprint: Path | None = BLUEPRINT_ARGUMENT) -> None:
    """How far behind publishing and delivery are: the outbox and the deliveries."""

    async def work(settings: Settings, model: Blueprint) -> EventsStatus:
        async with open_event_store(settings, model) as store:
            return await read_status(store)

    found = run_with_database(blueprint, work)
    waiting = f"{found.outbox_pending} event(s) waiting to be published"
    if found.oldest_pending_seconds is not None:
        waiting += f" (oldest written {found.oldest_pending_seconds:.1f} s ago)"
    console.print(f"outbox:      {waiting}", highlight=False)
    counts = ", ".join(f"{count} {name}" for name, count in found.deliveries.items())
    console.print(f"deliveries:  {counts}", highlight=False)
    if found.deliveries.get("dead"):
        console.print(
            "see them with `bastion events dead-letters list`; "
            "`bastion events dead-letters replay --all` sends them again",
            highlight=False,
        )


@dead_letters_app.command("list")
def list_(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    target_kind: TargetKind | None = TARGET_KIND,
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="Show at most this many."),
) -> None:
    """The dead letters, most recently given up on first."""

    async def work(settings: Settings, model: Blueprint) -> list[Row]:
        async with (
            open_event_store(settings, model) as store,
            store.unit_of_work(read_only=True) as uow,
        ):
            return await list_dead_letters(uow, target_kind=target_kind, limit=limit)

    rows = run_with_database(blueprint, work)
    if not rows:
        console.print("no dead letters", highlight=False)
        return
    table = Table()
    for name in ("delivery", "kind", "target", "event type", "event", "attempts"):
        table.add_column(name, overflow="fold")
    table.add_column("last error", overflow="fold")
    table.add_column("dead since")
    for row in rows:
        table.add_row(
            str(row["id"]),
            row["target_kind"],
            row["target"],
            row["event_type"],
            str(row["event"]),
            str(row["attempts"]),
            row["last_error"] or "-",
            _when(row["updated_at"]),
        )
    _print_table(table)
    if len(rows) == limit:
        console.print(f"(the first {limit}; --limit shows more)", highlight=False)


@dead_letters_app.command()
def show(
    delivery_id: str = typer.Argument(..., metavar="DELIVERY_ID", help="The delivery's id."),
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
) -> None:
    """One delivery: its state, every attempt, and the CloudEvent it carries."""
    wanted = _delivery_id(delivery_id)

    async def work(settings: Settings, model: Blueprint) -> DeliveryDetail:
        async with (
            open_event_store(settings, model) as store,
            store.unit_of_work(read_only=True) as uow,
        ):
            return await delivery_detail(uow, subject_keys(settings), wanted)

    detail = run_with_database(blueprint, work)
    row = detail.delivery
    fields: list[tuple[str, Any]] = [
        ("delivery", row["id"]),
        ("status", row["status"]),
        ("target", f"{row['target_kind']} {row['target']}"),
        ("event", f"{row['event']} ({row['event_type']}, {row['stream']} #{row['seq']})"),
        ("attempts", row["attempts"]),
        ("last status", row["last_status"] if row["last_status"] is not None else "-"),
        ("last error", row["last_error"] or "-"),
        ("created", _when(row["created_at"])),
        ("updated", _when(row["updated_at"])),
    ]
    for name, value in fields:
        console.print(f"{name + ':':<13}{value}", markup=False, highlight=False)
    if detail.attempts:
        table = Table("attempt", "at", "ok", "status", "error", "ms", title="attempts")
        for attempt in detail.attempts:
            table.add_row(
                str(attempt["attempt"]),
                _when(attempt["created_at"]),
                "yes" if attempt["ok"] else "no",
                "-" if attempt["status"] is None else str(attempt["status"]),
                attempt["error"] or "-",
                "-" if attempt["duration_ms"] is None else str(attempt["duration_ms"]),
            )
        _print_table(table)
    else:
        console.print("no attempts logged", highlight=False)
    if detail.event is None:
        console.print("the event is not in the event log", highlight=False)
        return
    console.print("event:", highlight=False)
    text = orjson.dumps(detail.event, option=orjson.OPT_INDENT_2 | orjson.OPT_UTC_Z).decode()
    console.print(text, markup=False, highlight=False)


DELIVERY_IDS = typer.Argument(
    None, metavar="DELIVERY_ID", help="The deliveries to send again.", show_default=False
)
EVERY = typer.Option(False, "--all", help="Every dead letter (see --target-kind).")
BLUEPRINT_OPTION = typer.Option(
    None,
    "--blueprint",
    help="The blueprint file (default: $BASTION_BLUEPRINT or ./bastion.yaml).",
    show_default=False,
)


@dead_letters_app.command()
def replay(
    delivery_ids: list[str] | None = DELIVERY_IDS,
    every: bool = EVERY,
    target_kind: TargetKind | None = TARGET_KIND,
    blueprint: Path | None = BLUEPRINT_OPTION,
) -> None:
    """Send dead letters again: pending from attempt 1, for the running `bastion worker`.

    Give their ids, or --all (with --target-kind, only those of that kind).
    """
    if every == bool(delivery_ids):
        fail("give delivery ids, or --all (not both)")
    if target_kind is not None and not every:
        fail("--target-kind only narrows --all")
    wanted = [_delivery_id(text) for text in delivery_ids or ()]

    async def work(settings: Settings, model: Blueprint) -> ReplayResult | int:
        async with open_event_store(settings, model) as store:
            if every:
                return await replay_dead_letters(store, target_kind=target_kind)
            return await replay_deliveries(store, wanted)

    result = run_with_database(blueprint, work)
    if isinstance(result, int):
        console.print(f"replayed {result} dead letter(s)", highlight=False)
        return
    console.print(f"replayed {len(result.replayed)} delivery(ies)", highlight=False)
    for delivery in result.already_pending:
        console.print(f"{delivery}: already pending, left alone", highlight=False)
    if result.missing:
        missing = ", ".join(str(delivery) for delivery in result.missing)
        fail(f"there is no delivery with id {missing}", code=1)
