"""``bastion events status|prune`` and ``bastion events dead-letters list|show|replay``."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
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
from bastion.cli.database import open_records, run_with_database
from bastion.cli.event_store import open_event_store, subject_keys
from bastion.cli.progress import counting_progress
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
from bastion.core.events.retention import PruneResult, count_prunable, prune_deliveries
from bastion.core.identity.admin import OPERATOR
from bastion.core.ids import parse_id
from bastion.core.ports import Row
from bastion.settings import Settings

__all__ = ["events_app"]

events_app = typer.Typer(
    help="Inspect event publishing and delivery; list, show and replay dead letters; "
    "prune old deliveries.",
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


_AGE = re.compile(r"(?P<amount>[0-9]{1,5})\s*(?P<unit>[smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def _age(text: str) -> timedelta:
    """``30d``, ``12h``, ``2w``... as a duration; exits with an example otherwise."""
    matched = _AGE.fullmatch(text.strip().lower())
    if matched is None or int(matched["amount"]) == 0:
        fail(
            f"--older-than {text!r} is not an age: give a positive number and a unit, "
            "s, m, h, d or w (e.g. 30d, 12h, 2w)"
        )
    return timedelta(seconds=int(matched["amount"]) * _UNITS[matched["unit"]])


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
    None, metavar="DELIVERY_ID", help="The dead letters to send again.", show_default=False
)
EVERY = typer.Option(False, "--all", help="Every dead letter (see --target-kind).")
FORCE = typer.Option(
    False,
    "--force",
    help="Send deliveries given by id again even if they were delivered (their target "
    "gets the event twice). Pending ones are never replayed.",
)
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
    force: bool = FORCE,
    blueprint: Path | None = BLUEPRINT_OPTION,
) -> None:
    """Send dead letters again: pending from attempt 1, for the running `bastion worker`.

    Give their ids, or --all (with --target-kind, only those of that kind).

    Given by id, one that is not dead is skipped (exit 1); --force replays delivered ones too.

    Each replay is recorded in the auth audit trail as delivery.replayed.
    """
    if every == bool(delivery_ids):
        fail("give delivery ids, or --all (not both)")
    if target_kind is not None and not every:
        fail("--target-kind only narrows --all")
    if force and every:
        fail("--force only applies to deliveries given by id: --all replays dead letters only")
    wanted = [_delivery_id(text) for text in delivery_ids or ()]

    async def work(settings: Settings, model: Blueprint) -> ReplayResult | int:
        async with open_records(settings, model) as service:
            if every:
                return await replay_dead_letters(service, OPERATOR, target_kind=target_kind)
            return await replay_deliveries(service, OPERATOR, wanted, force=force)

    result = run_with_database(blueprint, work)
    if isinstance(result, int):
        console.print(f"replayed {result} dead letter(s)", highlight=False)
        return
    console.print(f"replayed {len(result.replayed)} delivery(ies)", highlight=False)
    for delivery, found in result.skipped.items():
        hint = "; --force sends it again" if found == "delivered" else ""
        console.print(
            f"{delivery}: not a dead letter (status: {found}), skipped{hint}", highlight=False
        )
    if result.missing:
        missing = ", ".join(str(delivery) for delivery in result.missing)
        fail(f"there is no delivery with id {missing}", code=1)
    if result.skipped:
        raise typer.Exit(1)


OLDER_THAN = typer.Option(
    "30d",
    "--older-than",
    help="Delete what is older than this: a number and s, m, h, d or w (30d, 12h, 2w).",
)
YES = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation (scripts).")


@events_app.command()
def prune(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    older_than: str = OLDER_THAN,
    yes: bool = YES,
) -> None:
    """Delete delivered deliveries (with their attempt log) and in-app consumers' notes
    of processed events older than --older-than (default 30d). Dead letters are kept:
    they need someone to look at them. Runs in batches of 1000, one transaction each."""
    age = _age(older_than)

    async def work(settings: Settings, model: Blueprint) -> PruneResult:
        before = datetime.now(UTC) - age
        async with open_event_store(settings, model) as store:
            found = await count_prunable(store, before=before)
            if not found.total:
                return PruneResult()
            if not yes:
                # Asked once the counts are known (the question states them).
                typer.confirm(
                    f"Delete {found.deliveries} delivered delivery(ies) with their attempts "
                    f"and {found.processed} processed-event note(s) older than {older_than}?",
                    abort=True,
                )
            with counting_progress("pruning") as on_progress:
                return await prune_deliveries(store, before=before, progress=on_progress)

    result = run_with_database(blueprint, work)
    console.print(
        f"deleted {result.deliveries} delivered delivery(ies), {result.attempts} "
        f"attempt(s) and {result.processed} processed-event note(s) older than "
        f"{older_than}; dead letters are kept",
        highlight=False,
    )
