"""Pruning delivered deliveries and processed-event notes in bounded batches, on SQLite
and PostgreSQL (``bastion events prune`` itself is tested in ``test_audit_cli.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from bastion.adapters.sql.store import SqlStore
from bastion.blueprint import Blueprint, Resource, StringField
from bastion.blueprint.events import DELIVERIES, DELIVERY_ATTEMPTS, EVENTS, PROCESSED_EVENTS
from bastion.core.events.retention import PruneResult, prune_deliveries
from bastion.core.ids import new_id
from bastion.core.query import QuerySpec
from schema_support import create_schema

SHOP = Blueprint(name="shop", resources={"orders": Resource(fields={"label": StringField()})})
OLD = 2500
"""Old delivered deliveries (two attempts each) and old notes: three batches of 1000."""
CUTOFF = datetime.now(UTC) - timedelta(days=30)


@asynccontextmanager
async def _opened(url: str) -> AsyncIterator[SqlStore]:
    await create_schema(SHOP, url)
    store = SqlStore(url=url, blueprint=SHOP)
    await store.start()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def store(database_url: str) -> AsyncIterator[SqlStore]:
    async with _opened(database_url) as store:
        yield store


def _system(at: datetime) -> dict[str, Any]:
    return {"id": new_id(), "created_at": at, "updated_at": at, "version": 1}


def _delivery(status: str, *, created: datetime, delivered: datetime | None) -> dict[str, Any]:
    return {
        **_system(created),
        "target_kind": "webhook",
        "target": f"hook-{new_id()}",
        "event": new_id(),
        "event_type": "orders.created",
        "stream": f"orders:{new_id()}",
        "seq": 1,
        "status": status,
        "attempts": 2,
        "next_attempt_at": created if status == "pending" else None,
        "last_status": 200 if status == "delivered" else 503,
        "last_error": None,
        "delivered_at": delivered,
    }


def _note(at: datetime) -> dict[str, Any]:
    return {**_system(at), "consumer": "mailer", "event": new_id()}


async def _write(
    store: SqlStore, deliveries: list[dict[str, Any]], notes: list[dict[str, Any]]
) -> None:
    async with store.unit_of_work() as uow:
        for delivery in deliveries:
            await uow.insert(DELIVERIES, delivery)
            for attempt in (1, 2):
                row = {**_system(delivery["created_at"]), "delivery": delivery["id"]}
                logged = {"attempt": attempt, "ok": True, "status": 200, "error": None}
                await uow.insert(DELIVERY_ATTEMPTS, {**row, **logged, "duration_ms": 3})
        for note in notes:
            await uow.insert(PROCESSED_EVENTS, note)
        event = {
            **_system(CUTOFF - timedelta(days=60)),
            "resource": "orders",
            "record_id": new_id(),
            "seq": 1,
            "type": "orders.created",
            "record_version": 1,
            "changes": "{}",
            "sealed": None,
            "actor_kind": "system",
            "actor_id": None,
            "request_id": None,
            "trace_id": None,
            "prev_hash": "0" * 64,
            "hash": "1" * 64,
        }
        await uow.insert(EVENTS, event)


async def _left(store: SqlStore) -> tuple[set[UUID], list[UUID], set[UUID], int]:
    """Ids of the deliveries left, the delivery of every attempt left, ids of the notes
    left, and how many events the log holds."""
    every = QuerySpec(limit=10_000)
    async with store.unit_of_work(read_only=True) as uow:
        return (
            {row["id"] for row in await uow.fetch_page(DELIVERIES, every)},
            sorted(row["delivery"] for row in await uow.fetch_page(DELIVERY_ATTEMPTS, every)),
            {row["id"] for row in await uow.fetch_page(PROCESSED_EVENTS, every)},
            await uow.count(EVENTS, QuerySpec()),
        )


async def test_prune_deletes_old_delivered_deliveries_batch_by_batch_and_keeps_the_rest(
    store: SqlStore,
) -> None:
    old = CUTOFF - timedelta(days=15)
    recent = CUTOFF + timedelta(days=28)
    doomed = [_delivery("delivered", created=old, delivered=old) for _ in range(OLD)]
    kept = [
        _delivery("delivered", created=recent, delivered=recent),
        # Delivered exactly at the cutoff is not older than it.
        _delivery("delivered", created=old, delivered=CUTOFF),
        # Old, but delivered recently (after a replay): by delivered_at, it stays.
        _delivery("delivered", created=old, delivered=recent),
        _delivery("dead", created=old, delivered=None),
        _delivery("pending", created=old, delivered=None),
    ]
    kept_notes = [_note(CUTOFF), _note(recent)]
    await _write(store, doomed + kept, [_note(old) for _ in range(OLD)] + kept_notes)

    reported: list[tuple[int, int]] = []
    result = await prune_deliveries(
        store,
        before=CUTOFF,
        batch_size=1000,
        progress=lambda done, total: reported.append((done, total)),
    )

    assert result == PruneResult(deliveries=OLD, attempts=2 * OLD, processed=OLD)
    # One report per transaction: none deleted more than 1000 deliveries or notes.
    assert reported == [(n, 2 * OLD) for n in (1000, 2000, 2500, 3500, 4500, 5000)]
    deliveries, attempted, notes, events = await _left(store)
    kept_ids = {delivery["id"] for delivery in kept}
    assert deliveries == kept_ids
    assert attempted == sorted([*kept_ids, *kept_ids])  # both attempts of each kept one
    assert notes == {note["id"] for note in kept_notes}
    assert events == 1  # the event log is never pruned

    again = await prune_deliveries(store, before=CUTOFF, batch_size=1000)
    assert again == PruneResult()


async def test_prune_keeps_a_delivery_replayed_while_it_waits_for_its_lock(
    postgres_url: str,
) -> None:
    old = CUTOFF - timedelta(days=15)
    doomed = [_delivery("delivered", created=old, delivered=old) for _ in range(2)]
    replayed = _delivery("delivered", created=old, delivered=old)
    async with _opened(postgres_url) as store:
        await _write(store, [*doomed, replayed], [])
        async with store.unit_of_work() as uow:
            changes = {"status": "pending", "attempts": 0, "next_attempt_at": CUTOFF}
            assert await uow.update(DELIVERIES, replayed["id"], changes, expected_version=1)
            pruning = asyncio.create_task(prune_deliveries(store, before=CUTOFF))
            await asyncio.sleep(0.5)
            assert not pruning.done()  # waits for the replay's lock on the row
        result = await pruning

        assert result == PruneResult(deliveries=2, attempts=4)
        deliveries, attempted, _, _ = await _left(store)
        assert deliveries == {replayed["id"]}
        assert attempted == [replayed["id"], replayed["id"]]
