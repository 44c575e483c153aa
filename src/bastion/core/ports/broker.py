"""The broker port: where the outbox relay publishes events for other services.

An adapter publishes each :class:`OutboundMessage` to its broker under the
message's ``type`` (RabbitMQ: routing key on a topic exchange; NATS
JetStream: subject ``<channel>.<type>``; Redis Streams: one stream) and
returns only once the broker has accepted every message of the batch
(publisher confirms, JetStream acks, ``XADD`` replies). A batch is published
in order: a consumer of one record's events sees them in stream order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

__all__ = ["DEFAULT_CHANNEL", "Broker", "BrokerUnavailable", "OutboundMessage"]

DEFAULT_CHANNEL = "bastion.events"
"""The exchange (RabbitMQ), subject prefix (NATS) and, with ``.`` as ``:``, the
stream key (Redis) events are published on."""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One event, ready to publish."""

    id: str
    """The event id (a UUIDv7 string): consumers deduplicate on it."""
    type: str
    """The event type, ``orders.created``: the routing key / subject suffix."""
    subject: str
    """The record the event is about, ``orders/<id>`` (its stream)."""
    body: bytes
    """The CloudEvents 1.0 structured JSON document (``application/cloudevents+json``)."""


class BrokerUnavailable(Exception):
    """The broker could not be reached, or did not accept a message in time."""


class Broker(Protocol):
    """Publishes events to one broker."""

    async def start(self) -> None:
        """Connect (and declare the exchange / stream the events go to)."""
        ...

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        """Publish ``messages`` in order; return once the broker accepted all of them.

        Raises:
            BrokerUnavailable: Some message may not have been accepted; the caller
                publishes the whole batch again later (at least once).
        """
        ...

    async def ping(self) -> None:
        """Raise :class:`BrokerUnavailable` unless the broker answers now."""
        ...

    async def close(self) -> None:
        """Disconnect."""
        ...
