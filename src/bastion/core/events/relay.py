"""The outbox relay: publishes committed events to the broker, in each record's order.

One round (:meth:`OutboxRelay.relay_once`) is one transaction: claim the pending
events of up to ``batch_size`` records (see
:mod:`bastion.adapters.sql.outbox` for how claims keep workers apart), publish
them and wait for the broker to accept them, hand them to the fan-out (webhook
and consumer deliveries, written in the same transaction), then delete their
outbox rows and commit. If the broker fails, the transaction rolls back and
the same events are published again later; if the worker dies after the
broker accepted them but before the commit, they are published twice. Either
way nothing is lost, and every message carries the event id for consumers to
deduplicate (at least once).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from bastion.blueprint.events import EVENTS
from bastion.core.events.envelope import cloud_event, outbound_message
from bastion.core.events.personal import SubjectKeys, subject_of
from bastion.core.events.rounds import Rounds
from bastion.core.ports import Row
from bastion.core.ports.broker import Broker
from bastion.core.ports.outbox import OutboxStore, OutboxUnit

__all__ = ["FanOut", "OutboxRelay", "RelayStats", "load_events"]

log = logging.getLogger("bastion.events")


class FanOut(Protocol):
    """Takes published events in the relay's transaction (webhooks, consumers)."""

    async def fan_out(self, uow: OutboxUnit, events: Sequence[dict[str, Any]]) -> None:
        """Record what each event owes its subscribers (``events`` are CloudEvents)."""
        ...


@dataclass
class RelayStats:
    """What the relay has done, for metrics and health."""

    published: int = 0
    rounds: int = 0
    failures: int = 0
    last_error: str | None = None
    last_success: datetime | None = None
    pending: int = 0
    oldest_pending: datetime | None = None
    by_type: dict[str, int] = field(default_factory=dict)


async def load_events(
    uow: OutboxUnit, keys: SubjectKeys, event_ids: Sequence[UUID]
) -> list[dict[str, Any]]:
    """The CloudEvents of these stored events, in the order given."""
    rows: dict[Any, Row] = {row["id"]: row for row in await uow.fetch_many(EVENTS, event_ids)}
    sealed = {subject_of(r["resource"], r["record_id"]) for r in rows.values() if r.get("sealed")}
    found = await keys.find_many(uow, sealed)
    documents = []
    for event_id in event_ids:
        row = rows.get(event_id)
        if row is None:  # an outbox row always has its event (same transaction)
            continue
        key = found.get(subject_of(row["resource"], row["record_id"]))
        documents.append(cloud_event(row, key))
    return documents


def _utcnow() -> datetime:
    return datetime.now(UTC)


class OutboxRelay:
    """Publishes the outbox to ``broker``, round after round, until stopped."""

    def __init__(
        self,
        store: OutboxStore,
        broker: Broker,
        *,
        keys: SubjectKeys,
        fan_out: FanOut | None = None,
        batch_size: int = 200,
        poll_seconds: float = 0.5,
        clock: Callable[[], datetime] = _utcnow,
        on_published: Callable[[Sequence[dict[str, Any]]], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._broker = broker
        self._keys = keys
        self._fan_out = fan_out
        self._batch_size = batch_size
        self._clock = clock
        self._on_published = on_published
        self._rounds = Rounds(
            self._round,
            poll_seconds=poll_seconds,
            failing="publishing events",
            on_failure=self._failed,
        )
        self.stats = RelayStats()

    async def relay_once(self) -> int:
        """Publish one batch; how many events were published (0: nothing pending)."""
        async with self._store.unit_of_work() as uow:
            claimed = await uow.claim_outbox(streams=self._batch_size, events=self._batch_size)
            if not claimed:
                return 0
            ids = [event_id for event_id, _, _ in claimed]
            documents = await load_events(uow, self._keys, ids)
            await self._broker.publish([outbound_message(d) for d in documents])
            if self._fan_out is not None:
                await self._fan_out.fan_out(uow, documents)
            await uow.release_outbox(ids)
        self.stats.published += len(documents)
        self.stats.last_success = self._clock()
        for document in documents:
            self.stats.by_type[document["type"]] = self.stats.by_type.get(document["type"], 0) + 1
        if self._on_published is not None:
            await self._on_published(documents)
        return len(documents)

    async def drain(self) -> int:
        """Publish until the outbox is empty; how many events were published."""
        total = 0
        while published := await self.relay_once():
            total += published
        return total

    async def measure_lag(self) -> tuple[int, float | None]:
        """(events pending, age in seconds of the oldest), also kept in :attr:`stats`."""
        async with self._store.unit_of_work(read_only=True) as uow:
            count, oldest = await uow.outbox_lag()
        self.stats.pending, self.stats.oldest_pending = count, oldest
        age = None if oldest is None else max(0.0, (self._clock() - oldest).total_seconds())
        return count, age

    async def wake(self) -> None:
        """Look for events now (an after-commit callback of every logged write)."""
        self._rounds.wake()

    def stop(self) -> None:
        """Make :meth:`run` return after its current round."""
        self._rounds.stop()

    async def run(self) -> None:
        """Relay until :meth:`stop`: at once when woken, else every ``poll_seconds``.

        A broker or database outage is retried with exponential backoff and jitter
        (0.1 s doubling to 10 s); nothing is lost meanwhile, the events wait in the outbox.
        """
        await self._rounds.run()

    async def _round(self) -> bool:
        published = await self.relay_once()
        if published:
            self.stats.rounds += 1
        return published > 0

    def _failed(self, exc: Exception) -> None:
        self.stats.failures += 1
        self.stats.last_error = f"{type(exc).__name__}: {exc}"
