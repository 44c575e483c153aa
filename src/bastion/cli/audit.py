"""``bastion audit verify|erase``: checking the event log, and erasing personal data from it."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import typer

from bastion.blueprint import Blueprint, with_identity
from bastion.cli.common import (
    BLUEPRINT_ARGUMENT,
    console,
    fail,
    read_blueprint,
    read_settings,
)
from bastion.cli.database import open_records, run_with_database
from bastion.cli.event_store import open_event_store, subject_keys
from bastion.cli.progress import counting_progress
from bastion.core.events.erasure import PERSONAL_DATA_ERASED, erase_personal_data
from bastion.core.events.personal import subject_of
from bastion.core.events.verify import VerifyReport, verify_event_log
from bastion.core.identity.admin import OPERATOR
from bastion.core.ids import parse_id
from bastion.settings import Settings

__all__ = ["audit_app"]

audit_app = typer.Typer(
    help="Check the event log's hash chains; erase a record's personal data from it.",
    no_args_is_help=True,
)


@audit_app.command()
def verify(
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    page_size: int = typer.Option(
        1000, "--page-size", min=1, max=100_000, help="Events read per query."
    ),
) -> None:
    """Check every record's hash chain in the event log; exit 1 if any is broken.

    Each event holds the hash of the one before it in its record's history, so an
    event altered, removed or reordered shows as a break at that event, with its id.
    The chains cannot show the deletion of a record's LAST events (or of all its
    events): nothing after them refers to them. Keep a copy of the latest hashes
    elsewhere (an anchor) if that must be detected too.
    """

    async def work(settings: Settings, model: Blueprint) -> VerifyReport:
        async with open_event_store(settings, model) as store:
            return await verify_event_log(store, page_size=page_size, progress=on_progress)

    with counting_progress("verifying") as on_progress:
        report = run_with_database(blueprint, work)
    if report.intact:
        console.print(
            f"[green]checked {report.events} events in {report.records} records:[/] "
            "all chains intact",
            highlight=False,
        )
        return
    for found in report.breaks:
        console.print(found.describe(), markup=False, highlight=False)
    hidden = report.break_count - len(report.breaks)
    if hidden:
        console.print(f"... and {hidden} more", highlight=False)
    fail(
        f"{report.break_count} break(s) in the event log's hash chains "
        f"(checked {report.events} events in {report.records} records): events were "
        "altered, removed or reordered after they were written; each line above says where",
        code=1,
    )


@audit_app.command()
def erase(
    resource: str = typer.Argument(
        ..., metavar="RESOURCE", help="The record's resource, e.g. customers."
    ),
    record_id: str = typer.Argument(..., metavar="ID", help="The record's id."),
    blueprint: Path | None = BLUEPRINT_ARGUMENT,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Erase a record's personal data from the event log, for ever.

    Deletes the record's own encryption key: its personal fields then read
    "\\[erased]" in every event (also in events replayed to webhooks and
    consumers), and every hash chain still verifies. Recorded in the auth
    audit trail as personal_data.erased.
    """
    parsed = parse_id(record_id)
    if parsed is None:
        fail(f"{record_id!r} is not a record id (a UUID such as 0190b0b0-...)")
    record: UUID = parsed
    # users and tenants are served too (and users' email and name are personal).
    served = with_identity(read_blueprint(blueprint, read_settings())[0]).served_resources()
    if resource not in served:
        known = ", ".join(sorted(served)) or "none"
        fail(f"the blueprint has no resource {resource!r} (it has: {known})")
    subject = subject_of(resource, record)
    if not yes:
        typer.confirm(
            f"Erase the personal data of {subject} from the event log? This cannot be undone",
            abort=True,
        )

    async def work(settings: Settings, model: Blueprint) -> bool:
        async with open_records(settings, model) as service:
            keys = subject_keys(settings)
            return await erase_personal_data(service, keys, OPERATOR, resource, record)

    if run_with_database(blueprint, work):
        console.print(
            f"[green]erased[/] the personal data of {subject}: its personal fields read "
            f"\\[erased] in every event (recorded as {PERSONAL_DATA_ERASED} in the auth "
            "audit trail)",
            highlight=False,
        )
    else:
        console.print(
            f"{subject} has no personal data in the event log (none was logged, or it was "
            "erased already): nothing to erase",
            highlight=False,
        )
