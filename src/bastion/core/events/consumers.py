"""In-app consumers: Python functions that handle published events (side effects,
read models), registered with :meth:`bastion.core.hooks.Hooks.consumer`.

Each consumer is a delivery target (:mod:`bastion.core.events.deliveries`): it
sees each record's events in order, at least once. Its function runs in a
transaction that also notes the event in ``bastion_processed_events``; writes
made through ``event.records`` commit with that note, so a redelivered event
(a worker died after the handler ran) is skipped and read models stay exact.
A failure is retried with exponential backoff and jitter (tenacity) up to
``consumer_max_attempts`` attempts, then dead-lettered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bastion.blueprint.events import PROCESSED_EVENTS
from bastion.core.context import RequestContext
from bastion.core.errors import UniqueViolation
from bastion.core.events.deliveries import DeliveryOutcome, matches_type
from bastion.core.hooks import ConsumerSpec
from bastion.core.ids import new_id
from bastion.core.ports import Row
from bastion.core.ports.outbox import OutboxUnit
from bastion.core.query import Filter, QuerySpec
from bastion.core.records import RecordService, TransactionRecords
from bastion.core.webhooks.schedule import RetryPolicy

__all__ = ["CONSUMER_CONTEXT", "ConsumedEvent", "ConsumerTarget"]

log = logging.getLogger("bastion.events")

CONSUMER_CONTEXT = RequestContext(credential="consumer", request_id=None)
"""Who consumers act as: the system (their writes' events say ``actor.kind: system``)."""

_RETRIES = RetryPolicy(
    initial=timedelta(seconds=1),
    maximum=timedelta(minutes=5),
    give_up_after=timedelta(days=365),
    jitter=timedelta(seconds=1),
)


@dataclass(frozen=True, slots=True)
class ConsumedEvent:
    """What a consumer function is given."""

    event: dict[str, Any]
    """The CloudEvents document (``id``, ``type``, ``subject``, ``time``, ``data``...)."""
    records: TransactionRecords
    """Record commands in the consumer's transaction (committed with the processed note)."""
    attempt: int
    """1 for the first attempt, more for retries."""

    @property
    def id(self) -> str:
        """The event id (the same on every redelivery)."""
        return str(self.event["id"])

    @property
    def type(self) -> str:
        """The event type, ``orders.created``."""
        return str(self.event["type"])

    @property
    def data(self) -> dict[str, Any]:
        """The event's ``data``: resource, id, version, changes, actor..."""
        data: dict[str, Any] = self.event["data"]
        return data


class ConsumerTarget:
    """Delivers events to the in-app consumers (a :class:`DeliveryTarget`)."""

    kind = "consumer"
    lease_seconds = 60.0

    def __init__(
        self,
        service: RecordService,
        consumers: Mapping[str, ConsumerSpec],
        *,
        max_attempts: int = 5,
        retries: RetryPolicy = _RETRIES,
    ) -> None:
        self._service = service
        self._consumers = consumers
        self._max_attempts = max_attempts
        self._retries = retries

    async def targets(self, uow: OutboxUnit, event_type: str) -> list[str]:
        """The consumers registered for ``event_type``."""
        return [
            name
            for name, spec in self._consumers.items()
            if matches_type(spec.event_types, event_type)
        ]

    async def deliver(
        self, delivery: Row, event: dict[str, Any], *, attempt: int, now: datetime
    ) -> DeliveryOutcome:
        """Run the consumer once on ``event``, unless it already processed it."""
        spec = self._consumers.get(delivery["target"])
        if spec is None:
            return DeliveryOutcome(ok=False, error=f"no consumer named {delivery['target']!r}")
        started = time.perf_counter()
        try:
            async with self._service.store.unit_of_work() as uow:
                if await _processed(uow, spec.name, delivery["event"]):
                    return DeliveryOutcome(ok=True, duration_seconds=0.0)
                await uow.insert(
                    PROCESSED_EVENTS,
                    {
                        "id": new_id(),
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                        "consumer": spec.name,
                        "event": delivery["event"],
                    },
                )
                records = TransactionRecords(self._service, uow, CONSUMER_CONTEXT)
                await spec.function(ConsumedEvent(event, records, attempt))
        except UniqueViolation:
            # Another worker processed it at the same moment: done, once.
            return DeliveryOutcome(ok=True, duration_seconds=time.perf_counter() - started)
        except Exception as exc:
            duration = time.perf_counter() - started
            log.warning(
                "consumer %s failed on event %s (attempt %d of %d)",
                spec.name,
                event["id"],
                attempt,
                self._max_attempts,
                exc_info=exc,
            )
            retry_at = (
                None
                if attempt >= self._max_attempts
                else now + timedelta(seconds=self._retries.next_attempt_delay(attempt))
            )
            error = f"{type(exc).__name__}: {exc}"[:500]
            return DeliveryOutcome(
                ok=False, error=error, duration_seconds=duration, retry_at=retry_at
            )
        return DeliveryOutcome(ok=True, duration_seconds=time.perf_counter() - started)


async def _processed(uow: Any, consumer: str, event_id: Any) -> bool:
    spec = QuerySpec(
        limit=1, filters=(Filter("consumer", "eq", consumer), Filter("event", "eq", event_id))
    )
    return bool(await uow.fetch_page(PROCESSED_EVENTS, spec))
