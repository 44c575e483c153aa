"""RabbitMQ: events on a durable topic exchange, routed by their type, with publisher confirms.

The exchange is named after the channel (``bastion.events``) and each event's
routing key is its type (``orders.created``), so a consumer binds its own
queue with a pattern such as ``orders.*`` or ``#``. Messages are persistent,
with ``message_id`` the event id, ``type`` the event type, content type
``application/cloudevents+json`` and a ``subject`` header (``orders/<id>``).
No queue bound is fine: RabbitMQ then drops the events (they stay in the event log).

The connection is aio-pika's robust one, which restores itself in the
background after a blip; a publish or ping that fails anyway drops it, and
the next call connects afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

import aio_pika
from aio_pika.abc import AbstractExchange, AbstractRobustChannel, AbstractRobustConnection
from aio_pika.connection import make_url
from aio_pika.exceptions import AMQPError

from bastion.adapters.bus.failures import PING_TIMEOUT, RECONNECT_INTERVAL, within
from bastion.adapters.bus.urls import describe_broker_url
from bastion.core.ports.broker import DEFAULT_CHANNEL, BrokerUnavailable, OutboundMessage

__all__ = ["CONTENT_TYPE", "RabbitMQBroker"]

CONTENT_TYPE = "application/cloudevents+json"
"""The content type of every message: a CloudEvents structured JSON document."""

# aio-pika and aiormq raise their AMQPError family, socket errors (ConnectionError is one),
# and RuntimeError from a connection closed under them.
_OUTAGES: tuple[type[BaseException], ...] = (AMQPError, OSError, RuntimeError)


class RabbitMQBroker:
    """Publishes events to the topic exchange ``channel`` of the RabbitMQ server at ``url``.

    Args:
        url: ``amqp://user:password@host:5672/vhost`` (``amqps://`` for TLS).
        channel: The exchange (declared durable, type topic, if missing).
        publish_timeout: Seconds a publish (or a connection) may take before
            :class:`BrokerUnavailable`.
    """

    def __init__(
        self, url: str, *, channel: str = DEFAULT_CHANNEL, publish_timeout: float = 5.0
    ) -> None:
        self._url = url
        self._exchange_name = channel
        self._timeout = publish_timeout
        self._where = f"RabbitMQ at {describe_broker_url(url)}"
        self._connection: AbstractRobustConnection | None = None
        self._channel: AbstractRobustChannel | None = None
        self._exchange: AbstractExchange | None = None
        self._connecting = asyncio.Lock()

    async def start(self) -> None:
        """Connect and declare the exchange."""
        try:
            async with within(self._timeout, self._where, "connect", _OUTAGES):
                await self._connected()
        except BrokerUnavailable:
            await self._drop()
            raise

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        """Send every message, then await RabbitMQ's confirms, in order."""
        if not messages:
            return
        try:
            async with within(
                self._timeout, self._where, f"publish {len(messages)} events", _OUTAGES
            ):
                exchange = await self._connected()
                # Started in order, the publishes take the channel's lock in order, so the
                # frames go out in order; their confirms are then awaited, in order too.
                sends = [
                    asyncio.ensure_future(
                        exchange.publish(_message(m), routing_key=m.type, mandatory=False)
                    )
                    for m in messages
                ]
                try:
                    for send in sends:
                        await send
                finally:
                    for send in sends:
                        send.cancel()
                    await asyncio.gather(*sends, return_exceptions=True)
        except BrokerUnavailable:
            await self._drop()
            raise

    async def ping(self) -> None:
        """Redeclare the exchange (a round trip); fail at once while disconnected."""
        connection = self._connection
        if (
            self._exchange is not None
            and connection is not None
            and not connection.connected.is_set()
        ):
            await self._drop()
            raise BrokerUnavailable(f"{self._where} is not connected (reconnecting)")
        try:
            async with within(
                min(self._timeout, PING_TIMEOUT), self._where, "answer a ping", _OUTAGES
            ):
                await self._connected()
                assert self._channel is not None
                underlay = await self._channel.get_underlay_channel()
                await underlay.exchange_declare(
                    self._exchange_name, exchange_type="topic", durable=True
                )
        except BrokerUnavailable:
            await self._drop()
            raise

    async def close(self) -> None:
        """Disconnect."""
        await self._drop()

    async def _connected(self) -> AbstractExchange:
        async with self._connecting:
            if self._exchange is not None:
                return self._exchange
            # Kept before connecting, so a connect cut short by the deadline is closed too.
            self._connection = connection = aio_pika.RobustConnection(
                make_url(self._url),
                client_properties={"connection_name": "bastion outbox relay"},
                reconnect_interval=RECONNECT_INTERVAL,
            )
            try:
                await connection.connect(timeout=self._timeout)
                self._channel = channel = await connection.channel(publisher_confirms=True)
                self._exchange = await channel.declare_exchange(
                    self._exchange_name, aio_pika.ExchangeType.TOPIC, durable=True
                )
            except BaseException:  # cancelled by a caller's deadline too: no connection left over
                await self._drop()
                raise
            return self._exchange

    async def _drop(self) -> None:
        """Forget the connection (closing it, briefly); the next call opens a new one."""
        connection, self._connection = self._connection, None
        self._channel = self._exchange = None
        if connection is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await connection.close()


def _message(message: OutboundMessage) -> aio_pika.Message:
    return aio_pika.Message(
        message.body,
        message_id=message.id,
        type=message.type,
        content_type=CONTENT_TYPE,
        headers={"subject": message.subject},
        delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
    )
