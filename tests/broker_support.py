"""Test support: the message brokers, and readers that get published events back.

A pytest plugin (registered in ``conftest.py``) with the fixtures:

- ``rabbitmq_url`` / ``nats_url``: the shared RabbitMQ (``BASTION_TEST_RABBITMQ_URL``,
  default ``amqp://guest:guest@127.0.0.1:5672/``) and NATS with JetStream
  (``BASTION_TEST_NATS_URL``, default ``nats://127.0.0.1:4222``), once they answered
  (a loud skip when absent, a failure under ``BASTION_REQUIRE_SERVICES=1``);
  Redis is conftest's ``redis_url``.
- ``broker_channel``: a channel of this test's own (``bastion.test.<hex>``); what it
  left on the brokers the test used (exchange, stream, stream key) is removed afterwards.
- ``broker_url``: parametrized, runs the test once per broker: ``memory://``, then
  RabbitMQ, NATS and Redis.

And the reader, opened BEFORE publishing, that collects what was published, with each
broker's own client (never Bastion's adapter)::

    broker = broker_from_url(url, channel=broker_channel)
    async with open_reader(url, broker_channel, bus=broker) as reader:
        await broker.start()
        await broker.publish(messages)
        received = await reader.collect(len(messages), timeout=10)
    assert [r.id for r in received] == [m.id for m in messages]
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple, TypeVar, cast

import aio_pika
import nats
import nats.errors
import nats.js.errors
import pytest
import redis.asyncio
from aio_pika.abc import AbstractIncomingMessage
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy

from bastion.adapters.bus import InProcessBus
from bastion.adapters.bus.nats import stream_name
from bastion.adapters.bus.redis_streams import stream_key
from bastion.adapters.bus.urls import (
    MEMORY_SCHEMES,
    NATS_SCHEMES,
    RABBITMQ_SCHEMES,
    REDIS_SCHEMES,
    broker_scheme,
)
from bastion.core.ports.broker import Broker, OutboundMessage
from service_support import service_missing

__all__ = [
    "BROKER_KINDS",
    "NATS_URL",
    "RABBITMQ_URL",
    "BrokerReader",
    "Received",
    "broker_channel",
    "broker_kind",
    "broker_url",
    "nats_url",
    "open_reader",
    "rabbitmq_url",
    "remove_channel",
]

RABBITMQ_URL = os.environ.get("BASTION_TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672/")
NATS_URL = os.environ.get("BASTION_TEST_NATS_URL", "nats://127.0.0.1:4222")
_REDIS_URL = os.environ.get("BASTION_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")  # conftest's
BROKER_KINDS = ("memory", "rabbitmq", "nats", "redis")
"""The brokers ``broker_url`` runs a test on, in this order."""

_CONNECT_TIMEOUT = 3.0
_T = TypeVar("_T")


class Received(NamedTuple):
    """One message as a consumer of the broker got it."""

    type: str
    """The event type: the routing key (RabbitMQ), the subject without ``<channel>.``
    (NATS), the ``type`` field (Redis)."""
    body: bytes
    """The body as published (the CloudEvents JSON document)."""
    id: str | None
    """The event id: ``message_id`` (RabbitMQ), ``Nats-Msg-Id`` header (NATS), ``id`` field
    (Redis)."""
    subject: str | None
    """The record: ``subject`` header (RabbitMQ), ``subject`` field (Redis); ``None`` on NATS
    (the body has it)."""
    address: str
    """Where it was read: routing key, full NATS subject, Redis stream key, or the type
    (in-process bus)."""
    content_type: str | None = None
    """``content_type`` (RabbitMQ) or ``Content-Type`` header (NATS)."""
    persistent: bool | None = None
    """RabbitMQ: delivery mode 2 (persistent)."""


def broker_kind(url: str | None) -> str:
    """``memory``, ``rabbitmq``, ``nats`` or ``redis`` for a broker URL."""
    scheme = broker_scheme(url)
    for kind, schemes in (
        ("memory", MEMORY_SCHEMES),
        ("rabbitmq", RABBITMQ_SCHEMES),
        ("nats", NATS_SCHEMES),
        ("redis", REDIS_SCHEMES),
    ):
        if scheme in schemes:
            return kind
    raise ValueError(f"not a broker URL: {scheme}://")


# --- the servers -------------------------------------------------------------------------


async def _rabbitmq_answers(url: str) -> None:
    connection = await aio_pika.connect(url, timeout=_CONNECT_TIMEOUT)
    await connection.close()


async def _ignore_nats_error(error: Exception) -> None:
    """The NATS client reports each failed attempt here; the caller reports the outcome."""


async def _connect_nats(url: str) -> NatsClient:
    return await asyncio.wait_for(
        nats.connect(
            url,
            connect_timeout=2,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.2,
            error_cb=_ignore_nats_error,
        ),
        _CONNECT_TIMEOUT,
    )


async def _nats_answers(url: str) -> str | None:
    client = await _connect_nats(url)
    try:
        await client.jetstream().account_info()
    except nats.errors.Error as exc:
        return f"NATS at {url} has no JetStream ({type(exc).__name__}); start it with -js"
    finally:
        await client.close()
    return None


def _run_aside(check: Coroutine[Any, Any, _T]) -> _T:
    """Run ``check`` on an event loop of its own, in a thread: these fixtures are also
    requested (``broker_url``) from async tests, whose loop is already running."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        return executor.submit(asyncio.run, check).result()


@pytest.fixture
def rabbitmq_url() -> str:
    """The RabbitMQ server at ``BASTION_TEST_RABBITMQ_URL``, once it accepted a connection."""
    try:
        _run_aside(_rabbitmq_answers(RABBITMQ_URL))
    except (aio_pika.exceptions.AMQPError, OSError, TimeoutError) as exc:
        service_missing(
            f"RabbitMQ is not reachable ({type(exc).__name__}: {exc}); start it "
            "(rabbitmq-server) to run this test"
        )
    return RABBITMQ_URL


@pytest.fixture
def nats_url() -> str:
    """The NATS server (with JetStream) at ``BASTION_TEST_NATS_URL``, once it answered."""
    try:
        problem = _run_aside(_nats_answers(NATS_URL))
    except (nats.errors.Error, OSError, TimeoutError) as exc:
        problem = f"NATS is not reachable ({type(exc).__name__}: {exc})"
    if problem is not None:
        service_missing(f"{problem}; start nats-server -js to run this test")
    return NATS_URL


@pytest.fixture(params=BROKER_KINDS)
def broker_url(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per broker: ``memory://`` (the in-process bus), then
    the RabbitMQ, NATS and Redis servers (each skipped loudly when absent)."""
    kind: str = request.param
    if kind == "memory":
        return "memory://"
    url: str = request.getfixturevalue(f"{kind}_url")
    return url


@pytest.fixture
async def broker_channel(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """A channel of this test's own, ``bastion.test.<12 hex>``; afterwards, its exchange,
    stream or stream key is removed from each broker the test used (through ``rabbitmq_url``,
    ``nats_url``, ``redis_url`` or ``broker_url``)."""
    channel = f"bastion.test.{uuid.uuid4().hex[:12]}"
    yield channel
    used = set(request.fixturenames)
    urls = {
        url
        for name, url in (
            ("rabbitmq_url", RABBITMQ_URL),
            ("nats_url", NATS_URL),
            ("redis_url", _REDIS_URL),
        )
        if name in used
    }
    for url in urls:
        with contextlib.suppress(Exception):  # the server may be gone; nothing to remove then
            await remove_channel(url, channel)


async def remove_channel(url: str, channel: str) -> None:
    """Delete what Bastion and the readers made for ``channel`` on the broker at ``url``: the
    RabbitMQ exchange, the NATS stream, the Redis stream key (nothing for the bus)."""
    kind = broker_kind(url)
    async with asyncio.timeout(_CONNECT_TIMEOUT * 2):
        if kind == "rabbitmq":
            connection = await aio_pika.connect(url, timeout=_CONNECT_TIMEOUT)
            async with connection:
                amqp_channel = await connection.channel()
                await amqp_channel.exchange_delete(channel)
        elif kind == "nats":
            nats_client = await _connect_nats(url)
            try:
                with contextlib.suppress(nats.js.errors.NotFoundError):
                    await nats_client.jetstream().delete_stream(stream_name(channel))
            finally:
                await nats_client.close()
        elif kind == "redis":
            redis_client = redis.asyncio.Redis.from_url(
                url, socket_connect_timeout=_CONNECT_TIMEOUT
            )
            try:
                await redis_client.delete(stream_key(channel))
            finally:
                await redis_client.aclose()


# --- the readers --------------------------------------------------------------------------


class BrokerReader:
    """Collects the messages published on a channel, in arrival order."""

    def __init__(self, description: str) -> None:
        self._description = description
        self._arrived: asyncio.Queue[Received] = asyncio.Queue()
        self._failure: BaseException | None = None
        self.received: list[Received] = []
        """Every message collected so far."""

    def _deliver(self, message: Received) -> None:
        self._arrived.put_nowait(message)

    def _fail(self, failure: BaseException) -> None:
        self._failure = failure
        self._arrived.put_nowait(Received("", b"", None, None, ""))  # wakes up collect

    async def collect(
        self,
        count: int,
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline per call reads best in tests
        distinct: bool = False,
    ) -> list[Received]:
        """The next ``count`` messages, in arrival order.

        Args:
            count: How many to wait for.
            timeout: Seconds to wait for all of them; then the test fails, saying how many
                came.
            distinct: Count (and return) only the first message of each id, skipping
                duplicates, as an at-least-once consumer would.

        Raises:
            AssertionError: Fewer than ``count`` messages came within ``timeout``.
        """
        seen = {r.id for r in self.received} if distinct else set()
        batch: list[Received] = []
        try:
            async with asyncio.timeout(timeout):
                while len(batch) < count:
                    message = await self._arrived.get()
                    if self._failure is not None:
                        raise AssertionError(
                            f"reading {self._description} failed: {self._failure!r}"
                        ) from self._failure
                    if distinct and message.id in seen:
                        continue
                    seen.add(message.id)
                    batch.append(message)
        except TimeoutError:
            raise AssertionError(
                f"{len(batch)} of {count} messages came from {self._description} within "
                f"{timeout:g} s: {[m.id for m in batch]}"
            ) from None
        finally:
            self.received.extend(batch)
        return batch


@contextlib.asynccontextmanager
async def open_reader(
    url: str | None, channel: str, *, bus: Broker | None = None
) -> AsyncIterator[BrokerReader]:
    """A reader of what is published on ``channel`` of the broker at ``url`` from now on.

    RabbitMQ: an exclusive, auto-deleted queue bound with ``#`` to the exchange (declared
    durable topic, as Bastion does). NATS: an ordered JetStream consumer (delivering all) on
    the channel's stream, added when missing as Bastion does. Redis: ``XREAD`` of the stream
    key from its start. The in-process bus (``memory://`` or no URL): a subscriber of
    ``bus``, which must be the :class:`InProcessBus` that will publish.

    On leaving, the reader stops and removes the exchange, stream or stream key.
    """
    kind = broker_kind(url)
    if kind == "memory":
        if not isinstance(bus, InProcessBus):
            raise TypeError("reading the in-process bus needs bus=<the InProcessBus publishing>")
        async with _memory_reader(bus) as reader:
            yield reader
        return
    assert url is not None
    readers = {"rabbitmq": _rabbitmq_reader, "nats": _nats_reader, "redis": _redis_reader}
    try:
        async with readers[kind](url, channel) as reader:
            yield reader
    finally:
        with contextlib.suppress(Exception):
            await remove_channel(url, channel)


@contextlib.asynccontextmanager
async def _memory_reader(bus: InProcessBus) -> AsyncIterator[BrokerReader]:
    reader = BrokerReader("the in-process bus")

    async def on_message(message: OutboundMessage) -> None:
        reader._deliver(
            Received(message.type, message.body, message.id, message.subject, message.type)
        )

    unsubscribe = bus.subscribe(on_message)
    try:
        yield reader
    finally:
        unsubscribe()


@contextlib.asynccontextmanager
async def _rabbitmq_reader(url: str, channel: str) -> AsyncIterator[BrokerReader]:
    reader = BrokerReader(f"the RabbitMQ exchange {channel}")
    connection = await aio_pika.connect(url, timeout=_CONNECT_TIMEOUT)
    async with connection:
        amqp_channel = await connection.channel()
        exchange = await amqp_channel.declare_exchange(
            channel, aio_pika.ExchangeType.TOPIC, durable=True
        )
        queue = await amqp_channel.declare_queue(exclusive=True, auto_delete=True)
        await queue.bind(exchange, routing_key="#")

        async def on_message(message: AbstractIncomingMessage) -> None:
            subject = message.headers.get("subject")
            reader._deliver(
                Received(
                    type=message.routing_key or "",
                    body=message.body,
                    id=message.message_id,
                    subject=subject if isinstance(subject, str) else None,
                    address=message.routing_key or "",
                    content_type=message.content_type,
                    persistent=message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT,
                )
            )

        await queue.consume(on_message, no_ack=True)
        yield reader


@contextlib.asynccontextmanager
async def _nats_reader(url: str, channel: str) -> AsyncIterator[BrokerReader]:
    reader = BrokerReader(f"the NATS subjects {channel}.>")
    client = await _connect_nats(url)
    try:
        jetstream = client.jetstream()
        with contextlib.suppress(nats.js.errors.BadRequestError):  # it exists already
            await jetstream.add_stream(name=stream_name(channel), subjects=[f"{channel}.>"])

        async def on_message(message: Msg) -> None:
            headers = message.headers or {}
            reader._deliver(
                Received(
                    type=message.subject.removeprefix(f"{channel}."),
                    body=message.data,
                    id=headers.get("Nats-Msg-Id"),
                    subject=None,
                    address=message.subject,
                    content_type=headers.get("Content-Type"),
                )
            )

        subscription = await jetstream.subscribe(
            f"{channel}.>",
            stream=stream_name(channel),
            cb=on_message,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        try:
            yield reader
        finally:
            with contextlib.suppress(nats.errors.Error):
                await subscription.unsubscribe()
    finally:
        await client.close()


@contextlib.asynccontextmanager
async def _redis_reader(url: str, channel: str) -> AsyncIterator[BrokerReader]:
    key = stream_key(channel)
    reader = BrokerReader(f"the Redis stream {key}")
    client = redis.asyncio.Redis.from_url(url, socket_connect_timeout=_CONNECT_TIMEOUT)

    stopping = asyncio.Event()

    async def pump() -> None:
        last = "0-0"
        try:
            # Checked as well as cancelled: redis-py may swallow a cancellation that lands
            # in the middle of a read (it reconnects instead), and this loop must end.
            while not stopping.is_set():
                answer = cast(
                    "list[tuple[bytes, list[tuple[bytes, dict[bytes, bytes]]]]]",
                    await client.xread({key: last}, count=1000, block=100),
                )
                for _, entries in answer:
                    for entry_id, fields in entries:
                        last = entry_id.decode()
                        reader._deliver(
                            Received(
                                type=fields[b"type"].decode(),
                                body=fields[b"body"],
                                id=fields[b"id"].decode(),
                                subject=fields[b"subject"].decode(),
                                address=key,
                            )
                        )
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            reader._fail(exc)

    task = asyncio.create_task(pump(), name=f"read {key}")
    try:
        yield reader
    finally:
        stopping.set()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await client.aclose()
