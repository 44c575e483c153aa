"""Delivering events to webhook subscriptions and in-app consumers, with retries and
dead letters.

The relay's fan-out writes one ``bastion_deliveries`` row per event and
interested target, in the transaction that publishes the event. The
:class:`DeliveryRunner` then leases due deliveries (each the oldest pending
one of its record for its target, so a target sees a record's events in
order), hands each to its :class:`DeliveryTarget`, and records the outcome:
one row per attempt in ``bastion_delivery_attempts`` (the delivery log), and
on the delivery ``delivered``, a later retry, or ``dead`` (a dead letter,
which :meth:`DeliveryRunner.replay` sends again).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID

from bastion.blueprint.events import DELIVERIES, DELIVERY_ATTEMPTS
from bastion.core.errors import NotFound
from bastion.core.events.personal import SubjectKeys
from bastion.core.events.relay import load_events
from bastion.core.events.rounds import Rounds
from bastion.core.ids import new_id
from bastion.core.ports import Row
from bastion.core.ports.outbox import OutboxStore, OutboxUnit

__all__ = [
    "DeliveryOutcome",
    "DeliveryRunner",
    "DeliveryStatus",
    "DeliveryTarget",
    "matches_type",
]

log = logging.getLogger("bastion.events")

DeliveryStatus = Literal["pending", "delivered", "dead"]


def matches_type(patterns: Sequence[str], event_type: str) -> bool:
    """Whether ``event_type`` (``orders.created``) is one ``patterns`` names: exactly,
    ``orders.*`` (any change of orders), ``*.created`` or ``*`` (everything)."""
    resource, _, kind = event_type.partition(".")
    accepted = ("*", event_type, f"{resource}.*", f"*.{kind}")
    return any(pattern in accepted for pattern in patterns)


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """How one attempt went, and what happens next."""

    ok: bool
    status: int | None = None
    """The HTTP status a webhook endpoint answered."""
    error: str | None = None
    """Why it failed, in a few words (never a secret, never a traceback)."""
    duration_seconds: float = 0.0
    retry_at: datetime | None = None
    """When a failed delivery is tried again; ``None``: give up (dead letter)."""
    attempted: bool = True
    """``False`` when nothing was tried (an open circuit breaker): not logged, not counted."""


class DeliveryTarget(Protocol):
    """One kind of destination (``webhook``, ``consumer``)."""

    kind: str
    lease_seconds: float
    """How long one attempt may take at most: its lease (another worker retries after)."""

    async def targets(self, uow: OutboxUnit, event_type: str) -> list[str]:
        """The targets (subscription ids, consumer names) that want ``event_type``."""
        ...

    async def deliver(
        self, delivery: Row, event: dict[str, Any], *, attempt: int, now: datetime
    ) -> DeliveryOutcome:
        """Try to deliver ``event`` (a CloudEvent) once; ``attempt`` counts from 1."""
        ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


class DeliveryRunner:
    """Fans events out to targets and delivers them, until stopped."""

    def __init__(
        self,
        store: OutboxStore,
        targets: Sequence[DeliveryTarget],
        *,
        keys: SubjectKeys,
        batch_size: int = 50,
        poll_seconds: float = 0.5,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._store = store
        self._targets: Mapping[str, DeliveryTarget] = {t.kind: t for t in targets}
        self._keys = keys
        self._batch_size = batch_size
        self._clock = clock
        self._rounds = Rounds(
            self.deliver_due, poll_seconds=poll_seconds, failing="delivering events"
        )
        self.delivered = 0
        self.failed_attempts = 0
        self.dead_lettered = 0

    # The relay's fan-out ---------------------------------------------------

    async def fan_out(self, uow: OutboxUnit, events: Sequence[dict[str, Any]]) -> None:
        """Write the deliveries ``events`` owe every interested target."""
        now = self._clock()
        queued = False
        for event in events:
            for kind, target in self._targets.items():
                for name in await target.targets(uow, event["type"]):
                    await uow.insert(
                        DELIVERIES,
                        {
                            "id": new_id(),
                            "created_at": now,
                            "updated_at": now,
                            "version": 1,
                            "target_kind": kind,
                            "target": name,
                            "event": UUID(event["id"]),
                            "event_type": event["type"],
                            "stream": event["subject"],
                            "seq": int(event["sequence"]),
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "last_status": None,
                            "last_error": None,
                            "delivered_at": None,
                        },
                    )
                    queued = True
        if queued:
            uow.after_commit(self.wake)

    # Delivering ------------------------------------------------------------

    async def deliver_due(self) -> int:
        """Attempt every due delivery (up to ``batch_size``); how many were attempted."""
        now = self._clock()
        lease = max((t.lease_seconds for t in self._targets.values()), default=30.0)
        async with self._store.unit_of_work() as uow:
            ids = await uow.claim_deliveries(
                now=now, until=now + timedelta(seconds=lease), limit=self._batch_size
            )
            if not ids:
                return 0
            deliveries = await uow.fetch_many(DELIVERIES, ids)
        async with self._store.unit_of_work(read_only=True) as uow:
            event_ids = list({row["event"] for row in deliveries})
            events = {UUID(e["id"]): e for e in await load_events(uow, self._keys, event_ids)}
        outcomes = await asyncio.gather(
            *(self._attempt(row, events.get(row["event"])) for row in deliveries)
        )
        async with self._store.unit_of_work() as uow:
            for row, outcome in zip(deliveries, outcomes, strict=True):
                await self._record(uow, row, outcome)
        return len(deliveries)

    async def _attempt(self, delivery: Row, event: dict[str, Any] | None) -> DeliveryOutcome:
        target = self._targets.get(delivery["target_kind"])
        if target is None or event is None:
            missing = "no such target kind" if target is None else "the event is gone"
            return DeliveryOutcome(ok=False, error=missing)
        try:
            return await target.deliver(
                delivery, event, attempt=delivery["attempts"], now=self._clock()
            )
        except Exception as exc:  # a target's own bug must not stop the others
            log.exception("delivering event %s to %s failed", delivery["event"], delivery["target"])
            return DeliveryOutcome(ok=False, error=f"{type(exc).__name__}", retry_at=None)

    async def _record(self, uow: OutboxUnit, delivery: Row, outcome: DeliveryOutcome) -> None:
        now = self._clock()
        changes: Row = {"updated_at": now, "version": delivery["version"] + 1}
        if not outcome.attempted:
            # Nothing was tried: give the attempt back and wait as told.
            changes["attempts"] = max(0, delivery["attempts"] - 1)
            changes["next_attempt_at"] = outcome.retry_at or now
        else:
            await uow.insert(
                DELIVERY_ATTEMPTS,
                {
                    "id": new_id(),
                    "created_at": now,
                    "updated_at": now,
                    "version": 1,
                    "delivery": delivery["id"],
                    "attempt": delivery["attempts"],
                    "ok": outcome.ok,
                    "status": outcome.status,
                    "error": outcome.error,
                    "duration_ms": round(outcome.duration_seconds * 1000),
                },
            )
            changes["last_status"] = outcome.status
            changes["last_error"] = outcome.error
            if outcome.ok:
                changes.update(status="delivered", delivered_at=now, next_attempt_at=None)
                self.delivered += 1
            elif outcome.retry_at is not None:
                changes["next_attempt_at"] = outcome.retry_at
                self.failed_attempts += 1
            else:
                changes.update(status="dead", next_attempt_at=None)
                self.failed_attempts += 1
                self.dead_lettered += 1
                log.warning(
                    "event %s to %s %s is dead-lettered after %d attempts: %s",
                    delivery["event"],
                    delivery["target_kind"],
                    delivery["target"],
                    delivery["attempts"],
                    outcome.error,
                )
        # Leased deliveries are ours until the lease ends; a stale lease lost to another
        # worker shows as a version mismatch and the other worker's result stands.
        await uow.update(DELIVERIES, delivery["id"], changes, expected_version=delivery["version"])

    async def replay(self, delivery_id: UUID) -> Row:
        """Send a delivery (a dead letter, or a delivered one) again, from attempt 1."""
        now = self._clock()
        async with self._store.unit_of_work() as uow:
            row = await uow.fetch(DELIVERIES, delivery_id, for_update=True)
            if row is None:
                raise NotFound(f"there is no delivery with id {delivery_id}")
            changes: Row = {
                "status": "pending",
                "attempts": 0,
                "next_attempt_at": now,
                "updated_at": now,
                "version": row["version"] + 1,
            }
            await uow.update(DELIVERIES, delivery_id, changes, expected_version=row["version"])
            uow.after_commit(self.wake)
        return {**row, **changes}

    # Running -------------------------------------------------------------

    async def wake(self) -> None:
        """Look for due deliveries now."""
        self._rounds.wake()

    def stop(self) -> None:
        """Make :meth:`run` return after its current round."""
        self._rounds.stop()

    async def run(self) -> None:
        """Deliver until :meth:`stop`: at once when woken, else every ``poll_seconds``;
        after a failure (the database is down), with backoff."""
        await self._rounds.run()
