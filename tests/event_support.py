"""Test support: read the event log and the outbox straight from the store."""

from __future__ import annotations

from typing import Any

from bastion.app import BastionApp
from bastion.blueprint.events import EVENTS, OUTBOX
from bastion.core.events.changes import read_changes
from bastion.core.query import QuerySpec, SortKey

__all__ = ["outbox_rows", "raw_events", "stored_events"]


async def raw_events(app: BastionApp) -> list[dict[str, Any]]:
    """Every stored event as stored, in (resource, record, seq) order."""
    async with app.store.unit_of_work(read_only=True) as uow:
        rows = await uow.fetch_page(
            EVENTS,
            QuerySpec(
                limit=10_000,
                sort=(SortKey("resource"), SortKey("record_id"), SortKey("seq")),
            ),
        )
    return rows


async def stored_events(app: BastionApp) -> list[dict[str, Any]]:
    """:func:`raw_events` with ``changes`` parsed."""
    return [{**row, "changes": read_changes(row["changes"])} for row in await raw_events(app)]


async def outbox_rows(app: BastionApp) -> list[dict[str, Any]]:
    """Every outbox row (events not yet published)."""
    async with app.store.unit_of_work(read_only=True) as uow:
        return await uow.fetch_page(OUTBOX, QuerySpec(limit=10_000))
