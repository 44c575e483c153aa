"""The broker adapters: where the outbox relay publishes events.

:func:`broker_from_url` picks one by the URL's scheme: the in-process bus
(no URL), RabbitMQ, NATS JetStream or Redis Streams. The client libraries
of the last three are imported only when their broker is used.
"""

from __future__ import annotations

from bastion.adapters.bus.memory import InProcessBus, Subscriber
from bastion.adapters.bus.urls import (
    ACCEPTED_SCHEMES,
    MEMORY_SCHEMES,
    NATS_SCHEMES,
    RABBITMQ_SCHEMES,
    REDIS_SCHEMES,
    broker_scheme,
    describe_broker_url,
)
from bastion.core.ports.broker import DEFAULT_CHANNEL, Broker

__all__ = ["InProcessBus", "Subscriber", "broker_from_url", "describe_broker_url"]


def broker_from_url(
    url: str | None, *, channel: str = DEFAULT_CHANNEL, publish_timeout: float = 5.0
) -> Broker:
    """The broker ``url`` names, not connected yet (call its ``start``).

    Args:
        url: ``amqp://`` / ``amqps://`` (RabbitMQ), ``nats://`` / ``tls://`` (NATS
            JetStream), ``redis://`` / ``rediss://`` (Redis Streams); ``None``, ``""`` or
            ``memory://`` for the in-process bus.
        channel: The exchange, subject prefix or (``.`` as ``:``) stream key.
        publish_timeout: Seconds a publish may take before ``BrokerUnavailable``.

    Raises:
        ValueError: Another scheme, or a timeout that is not positive.
    """
    if publish_timeout <= 0:
        raise ValueError(f"the broker publish timeout must be positive, not {publish_timeout}")
    scheme = broker_scheme(url)
    if not url or scheme in MEMORY_SCHEMES:
        return InProcessBus()
    if scheme in RABBITMQ_SCHEMES:
        from bastion.adapters.bus.rabbitmq import RabbitMQBroker

        return RabbitMQBroker(url, channel=channel, publish_timeout=publish_timeout)
    if scheme in NATS_SCHEMES:
        from bastion.adapters.bus.nats import NatsJetStreamBroker

        return NatsJetStreamBroker(url, channel=channel, publish_timeout=publish_timeout)
    if scheme in REDIS_SCHEMES:
        from bastion.adapters.bus.redis_streams import RedisStreamsBroker

        return RedisStreamsBroker(url, channel=channel, publish_timeout=publish_timeout)
    raise ValueError(
        f"the broker URL {describe_broker_url(url)} has an unsupported scheme "
        f"{scheme + '://' if scheme else '(none)'}; use {ACCEPTED_SCHEMES}"
    )
