"""Dead letters and the state of event delivery, for operators.

A delivery is dead once its target gave up on it (see
:mod:`bastion.core.events.deliveries`). Operators list them, look at one
(its attempts and the CloudEvent it carries), and replay them: a replayed
delivery is pending again from attempt 1, and the running ``bastion worker``
delivers it on its next round, as :meth:`DeliveryRunner.replay` does. Each
replay is recorded in the auth audit trail (``delivery.replayed``), in the
transaction that makes it, like the admin API's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from bastion.blueprint.events import DELIVERIES, DELIVERY_ATTEMPTS
from bastion.core.context import RequestContext
from bastion.core.errors import NotFound
from bastion.core.events.personal import SubjectKeys
from bastion.core.events.relay import load_events
from bastion.core.identity.store import IdentityRecords
from bastion.core.ports import Row, UnitOfWork
from bastion.core.ports.outbox import OutboxStore, OutboxUnit
from bastion.core.query import Filter, QuerySpec, SortKey
from bastion.core.records import RecordService
from bastion.core.webhooks.admin import DELIVERY_REPLAYED

__all__ = [
    "DELIVERY_STATUSES",
    "DeliveryDetail",
    "EventsStatus",
    "ReplayResult",
    "delivery_detail",
    "list_dead_letters",
    "read_status",
    "replay_dead_letters",
    "replay_deliveries",
]

DELIVERY_STATUSES = ("pending", "delivered", "dead")
"""Every status a delivery has, in the order it goes through them."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


async def list_dead_letters(
    uow: UnitOfWork, *, target_kind: str | None = None, limit: int = 50
) -> list[Row]:
    """Up to ``limit`` dead deliveries (of ``target_kind`` only, if given), most recently
    dead-lettered first."""
    filters = [Filter("status", "eq", "dead")]
    if target_kind is not None:
        filters.append(Filter("target_kind", "eq", target_kind))
    spec = QuerySpec(
        limit=limit, filters=tuple(filters), sort=(SortKey("updated_at", descending=True),)
    )
    return (await uow.fetch_page(DELIVERIES, spec))[:limit]


@dataclass(frozen=True, slots=True)
class DeliveryDetail:
    """One delivery, every attempt at it, and the event it carries."""

    delivery: Row
    attempts: list[Row]
    """Oldest first (the delivery log)."""
    event: dict[str, Any] | None
    """The CloudEvents document (personal fields decrypted, or ``"[erased]"``);
    ``None`` if the event is not in the log."""


async def delivery_detail(uow: OutboxUnit, keys: SubjectKeys, delivery_id: UUID) -> DeliveryDetail:
    """The delivery ``delivery_id`` in full; ``NotFound`` if there is none."""
    delivery = await uow.fetch(DELIVERIES, delivery_id)
    if delivery is None:
        raise NotFound(
            f"there is no delivery with id {delivery_id} "
            "(`bastion events dead-letters list` shows the dead ones)"
        )
    spec = QuerySpec(
        limit=1000,
        filters=(Filter("delivery", "eq", delivery_id),),
        sort=(SortKey("attempt"),),
    )
    attempts = (await uow.fetch_page(DELIVERY_ATTEMPTS, spec))[:1000]
    events = await load_events(uow, keys, [delivery["event"]])
    return DeliveryDetail(delivery, attempts, events[0] if events else None)


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay did to each delivery asked for."""

    replayed: list[UUID] = field(default_factory=list)
    """Pending again, from attempt 1."""
    skipped: dict[UUID, str] = field(default_factory=dict)
    """Left alone, with their status: ``pending`` (the worker still has them to
    deliver), or ``delivered`` when not forced."""
    missing: list[UUID] = field(default_factory=list)
    """No delivery has this id."""


def _audit_detail(row: Row) -> Row:
    """What the auth audit trail records of a replay (as the admin API does)."""
    return {
        "delivery": str(row["id"]),
        "target_kind": row["target_kind"],
        "target": row["target"],
        "event": str(row["event"]),
        "status_before": row["status"],
    }


async def _replay(records: IdentityRecords, row: Row, now: datetime) -> bool:
    # The same change as DeliveryRunner.replay, so a worker sees no difference.
    changes: Row = {
        "status": "pending",
        "attempts": 0,
        "next_attempt_at": now,
        "updated_at": now,
        "version": row["version"] + 1,
    }
    if not await records.uow.update(
        DELIVERIES, row["id"], changes, expected_version=row["version"]
    ):
        return False
    await records.audit(DELIVERY_REPLAYED, detail=_audit_detail(row))
    return True


async def replay_deliveries(
    service: RecordService,
    ctx: RequestContext,
    delivery_ids: Sequence[UUID],
    *,
    force: bool = False,
) -> ReplayResult:
    """Make these dead letters pending again, in one transaction, each replay recorded
    in the auth audit trail as ``delivery.replayed`` (acting as ``ctx``).

    Only dead deliveries are replayed; ``force`` replays delivered ones too (their
    target gets the event again). Pending ones never are: they are still being tried.

    Args:
        service: the record service (identity and event resources included).
        ctx: who replays (the command line's operator).
        delivery_ids: the deliveries asked for; repeats are ignored.
        force: replay delivered deliveries too.
    """
    result = ReplayResult()
    now = service.clock()
    async with service.store.unit_of_work() as uow:
        records = IdentityRecords(service, uow, ctx)
        for delivery_id in dict.fromkeys(delivery_ids):
            row = await uow.fetch(DELIVERIES, delivery_id, for_update=True)
            if row is None:
                result.missing.append(delivery_id)
            elif row["status"] == "pending" or (row["status"] != "dead" and not force):
                result.skipped[delivery_id] = row["status"]
            elif await _replay(records, row, now):
                result.replayed.append(delivery_id)
            else:  # changed by a worker since it was read: it is the worker's again
                result.skipped[delivery_id] = "pending"
    return result


async def replay_dead_letters(
    service: RecordService,
    ctx: RequestContext,
    *,
    target_kind: str | None = None,
    batch_size: int = 500,
) -> int:
    """Make every dead delivery (of ``target_kind`` only, if given) pending again;
    how many were. One transaction per ``batch_size`` of them; each replay is
    recorded in the auth audit trail as ``delivery.replayed`` (acting as ``ctx``).

    Dead letters are walked once in id order, so one that a running worker
    dead-letters again at once (its target is gone) is not replayed in a loop.
    """
    replayed = 0
    last: UUID | None = None
    while True:
        filters = [Filter("status", "eq", "dead")]
        if target_kind is not None:
            filters.append(Filter("target_kind", "eq", target_kind))
        if last is not None:
            filters.append(Filter("id", "gt", last))
        spec = QuerySpec(limit=batch_size, filters=tuple(filters), sort=(SortKey("id"),))
        now = service.clock()
        async with service.store.unit_of_work() as uow:
            records = IdentityRecords(service, uow, ctx)
            rows = (await uow.fetch_page(DELIVERIES, spec))[:batch_size]
            for row in rows:
                if await _replay(records, row, now):
                    replayed += 1
        if len(rows) < batch_size:
            return replayed
        last = rows[-1]["id"]


@dataclass(frozen=True, slots=True)
class EventsStatus:
    """How far behind event publishing and delivery are."""

    outbox_pending: int
    """Events committed but not yet published to the broker."""
    oldest_pending_seconds: float | None
    """How long the oldest of them has waited (``None``: the outbox is empty)."""
    deliveries: dict[str, int]
    """Deliveries by status: ``pending``, ``delivered``, ``dead``."""


async def read_status(
    store: OutboxStore, *, clock: Callable[[], datetime] = _utcnow
) -> EventsStatus:
    """The outbox's backlog and the deliveries by status, read in one transaction."""
    async with store.unit_of_work(read_only=True) as uow:
        pending, oldest = await uow.outbox_lag()
        counts = {
            status: await uow.count(
                DELIVERIES, QuerySpec(filters=(Filter("status", "eq", status),))
            )
            for status in DELIVERY_STATUSES
        }
    age = None if oldest is None else max(0.0, (clock() - oldest).total_seconds())
    return EventsStatus(pending, age, counts)
