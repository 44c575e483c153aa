"""Pruning what event delivery leaves behind: ``bastion events prune``.

Nothing else deletes delivered deliveries, their attempt log, or the notes
in-app consumers keep of the events they handled, so those tables grow with
every event. Pruning deletes, older than a cutoff:

- delivered deliveries (by ``delivered_at``) with every attempt at them;
- processed-event notes (by ``created_at``): an event redelivered after its
  note is gone is handled again, so the cutoff must exceed how long a
  redelivery can take (days, not minutes).

Dead letters are kept, whatever their age: they wait for someone to look at
them and replay them. Pending deliveries are being tried and are kept too; the
event log itself is never pruned. Work is done in batches, one transaction
each, so the tables stay usable (and a batch that fails leaves the earlier ones
deleted); the store deletes a batch in set-based statements
(:meth:`~bastion.core.ports.UnitOfWork.prune_delivered`), not row by row.

Example::

    before = datetime.now(UTC) - timedelta(days=30)
    print(await count_prunable(store, before=before))
    result = await prune_deliveries(store, before=before)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bastion.blueprint.events import DELIVERIES, PROCESSED_EVENTS
from bastion.core.ports import Store
from bastion.core.query import Filter, QuerySpec

__all__ = [
    "PRUNE_BATCH_SIZE",
    "Prunable",
    "PruneProgress",
    "PruneResult",
    "count_prunable",
    "prune_deliveries",
]

PRUNE_BATCH_SIZE = 1000
"""Deliveries (or processed-event notes) deleted per transaction."""

PruneProgress = Callable[[int, int], None]
"""Called after each batch with ``(rows deleted so far, rows to delete)``, counting
deliveries and processed-event notes (not attempts)."""


@dataclass(frozen=True, slots=True)
class Prunable:
    """What a prune would delete (attempts aside)."""

    deliveries: int
    """Delivered deliveries older than the cutoff."""
    processed: int
    """Processed-event notes older than the cutoff."""

    @property
    def total(self) -> int:
        """Deliveries and notes together."""
        return self.deliveries + self.processed


@dataclass(frozen=True, slots=True)
class PruneResult:
    """What a prune deleted."""

    deliveries: int = 0
    """Delivered deliveries."""
    attempts: int = 0
    """Attempt rows of those deliveries (the delivery log)."""
    processed: int = 0
    """Processed-event notes of in-app consumers."""


def _delivered_before(before: datetime) -> tuple[Filter, ...]:
    return (Filter("status", "eq", "delivered"), Filter("delivered_at", "lt", before))


def _noted_before(before: datetime) -> tuple[Filter, ...]:
    return (Filter("created_at", "lt", before),)


async def count_prunable(store: Store, *, before: datetime) -> Prunable:
    """How many delivered deliveries and processed-event notes are older than ``before``."""
    async with store.unit_of_work(read_only=True) as uow:
        deliveries = await uow.count(DELIVERIES, QuerySpec(filters=_delivered_before(before)))
        processed = await uow.count(PROCESSED_EVENTS, QuerySpec(filters=_noted_before(before)))
    return Prunable(deliveries, processed)


async def prune_deliveries(
    store: Store,
    *,
    before: datetime,
    batch_size: int = PRUNE_BATCH_SIZE,
    progress: PruneProgress | None = None,
) -> PruneResult:
    """Delete delivered deliveries older than ``before`` with their attempts, then
    processed-event notes older than ``before``; dead letters and pending deliveries
    stay. ``batch_size`` rows per transaction.

    Args:
        store: the store of the event tables.
        before: the cutoff (aware, UTC): only what is older goes.
        batch_size: deliveries (or notes) per transaction.
        progress: told after each batch how far the prune has got.

    Returns:
        How many rows of each kind were deleted.
    """
    expected = (await count_prunable(store, before=before)).total
    deliveries = attempts = processed = 0

    def report() -> None:
        if progress is not None:
            done = deliveries + processed
            progress(done, max(expected, done))

    # A batch short of ``batch_size`` was the last: nothing older is left (a delivery a
    # concurrent replay takes back can cut one short; the next prune gets the rest).
    while True:
        async with store.unit_of_work() as uow:
            deleted, logged = await uow.prune_delivered(before=before, limit=batch_size)
        deliveries += deleted
        attempts += logged
        report()
        if deleted < batch_size:
            break
    while True:
        async with store.unit_of_work() as uow:
            deleted = await uow.prune_processed(before=before, limit=batch_size)
        processed += deleted
        report()
        if deleted < batch_size:
            break
    return PruneResult(deliveries, attempts, processed)
