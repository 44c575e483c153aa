"""The outbox relay's and the event deliveries' metrics.

Exported by every process that relays: ``bastion worker`` on its probe port,
and ``bastion serve`` on its ``/metrics`` when it relays itself (no broker
configured). They are ordinary Prometheus instruments, so the server's
workers add theirs up in multiprocess mode: counters are summed, and the two
lag gauges, which every worker reads from the same outbox, take the largest
live value.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge

__all__ = ["EventMetrics", "EventNumbers"]


@dataclass(frozen=True, slots=True)
class EventNumbers:
    """A process's relay and delivery numbers at one moment (counts since it started)."""

    pending: int = 0
    """Events committed and not yet published (the whole outbox)."""
    oldest_age: float | None = None
    """Seconds since the oldest of them was committed (``None`` when none waits)."""
    published: Mapping[str, int] = field(default_factory=dict)
    """Events published, by event type."""
    publish_failures: int = 0
    delivered: int = 0
    failed_attempts: int = 0
    dead_lettered: int = 0


class EventMetrics:
    """The instruments, fed with :class:`EventNumbers` samples (only the increase since
    the last sample is added to the counters)."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self._pending = Gauge(
            "bastion_outbox_pending_events",
            "Events committed but not yet published.",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._age = Gauge(
            "bastion_outbox_oldest_age_seconds",
            "Age of the oldest unpublished event (0 when none waits).",
            registry=registry,
            multiprocess_mode="livemax",
        )
        self._published = Counter(
            "bastion_events_published",
            "Events published to the broker, by type.",
            ("type",),
            registry=registry,
        )
        self._failures = Counter(
            "bastion_event_publish_failures",
            "Relay rounds that failed to publish (they are retried).",
            registry=registry,
        )
        self._deliveries = Counter(
            "bastion_event_deliveries",
            "Webhook and consumer delivery attempts, by result.",
            ("result",),
            registry=registry,
        )
        for result in ("delivered", "failed", "dead_lettered"):
            self._deliveries.labels(result)  # every result shows, at 0 until it happens
        self._last = EventNumbers()

    def update(self, numbers: EventNumbers) -> None:
        """Record a sample."""
        last, self._last = self._last, numbers
        self._pending.set(numbers.pending)
        self._age.set(numbers.oldest_age or 0.0)
        for event_type, count in numbers.published.items():
            if (added := count - last.published.get(event_type, 0)) > 0:
                self._published.labels(event_type).inc(added)
        if (added := numbers.publish_failures - last.publish_failures) > 0:
            self._failures.inc(added)
        for result, now, before in (
            ("delivered", numbers.delivered, last.delivered),
            ("failed", numbers.failed_attempts, last.failed_attempts),
            ("dead_lettered", numbers.dead_lettered, last.dead_lettered),
        ):
            if now > before:
                self._deliveries.labels(result).inc(now - before)
