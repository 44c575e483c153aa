"""The broker adapters publish events, in order and whole, and live through an outage.

Each broker is read back with its own client (``broker_support.open_reader``);
outages are a ``TcpProxy`` in front of the shared server being cut.
"""

from __future__ import annotations

import asyncio
import uuid
from urllib.parse import urlsplit, urlunsplit

import nats
import orjson
import pytest

from bastion.adapters.bus import broker_from_url, describe_broker_url
from bastion.adapters.bus.nats import stream_name
from bastion.core.ports.broker import BrokerUnavailable, OutboundMessage
from broker_support import Received, broker_kind, open_reader
from tcp_proxy import TcpProxy

CLOUDEVENTS = "application/cloudevents+json"
TYPES = ("orders.created", "orders.updated", "customers.deleted")
OUTAGE_TIMEOUT = 1.5
"""The publish timeout of the outage tests."""
BOUND = OUTAGE_TIMEOUT + 5
"""A publish or ping to a broker that is down must give up well within this."""


def _event(index: int, event_type: str | None = None) -> OutboundMessage:
    event_type = event_type or TYPES[index % len(TYPES)]
    resource = event_type.split(".")[0]
    record = str(uuid.uuid4())
    event_id = str(uuid.uuid4())
    body = orjson.dumps(
        {
            "specversion": "1.0",
            "id": event_id,
            "source": f"/v1/{resource}",
            "type": event_type,
            "subject": f"{resource}/{record}",
            "time": "2026-11-25T10:00:00.123456Z",
            "datacontenttype": "application/json",
            "sequence": str(index + 1),
            "data": {
                "resource": resource,
                "id": record,
                "version": 1,
                "changes": {"note": {"before": None, "after": f"é {index}"}},
                "actor": {"kind": "system", "id": None},
                "request_id": None,
                "trace_id": None,
            },
        }
    )
    return OutboundMessage(id=event_id, type=event_type, subject=f"{resource}/{record}", body=body)


def _check(received: list[Received], sent: list[OutboundMessage], url: str, channel: str) -> None:
    """``received`` is ``sent``, in order, with each broker's metadata."""
    assert [r.id for r in received] == [m.id for m in sent]
    assert [r.type for r in received] == [m.type for m in sent]
    assert [r.body for r in received] == [m.body for m in sent]
    kind = broker_kind(url)
    if kind == "rabbitmq":
        assert [r.address for r in received] == [m.type for m in sent]  # routing key
        assert [r.subject for r in received] == [m.subject for m in sent]
        assert {r.content_type for r in received} == {CLOUDEVENTS}
        assert all(r.persistent for r in received)
    elif kind == "nats":
        assert [r.address for r in received] == [f"{channel}.{m.type}" for m in sent]
        assert {r.content_type for r in received} == {CLOUDEVENTS}
    elif kind == "redis":
        assert {r.address for r in received} == {channel.replace(".", ":")}
        assert [r.subject for r in received] == [m.subject for m in sent]
    else:
        assert [r.subject for r in received] == [m.subject for m in sent]


async def test_brokers_deliver_a_batch_whole_and_in_order(
    broker_url: str, broker_channel: str
) -> None:
    broker = broker_from_url(broker_url, channel=broker_channel)
    sent = [_event(i) for i in range(500)]
    async with open_reader(broker_url, broker_channel, bus=broker) as reader:
        await broker.start()
        try:
            await broker.publish(sent[:200])
            await broker.publish(sent[200:])
            await broker.publish([])
            await broker.ping()
        finally:
            await broker.close()
        received = await reader.collect(len(sent), timeout=15)
    _check(received, sent, broker_url, broker_channel)


def _through(url: str, port: int) -> str:
    """``url`` with its port replaced by ``port`` (the proxy's)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
    return urlunsplit(parts._replace(netloc=f"{netloc}:{port}"))


@pytest.mark.parametrize("kind", ["rabbitmq", "nats", "redis"])
async def test_brokers_fail_fast_while_down_and_publish_again_once_back(
    kind: str, request: pytest.FixtureRequest, broker_channel: str
) -> None:
    url: str = request.getfixturevalue(f"{kind}_url")
    server = urlsplit(url)
    assert server.hostname is not None
    assert server.port is not None
    before, during, after = (
        [_event(i) for i in range(3)],
        [_event(i) for i in range(3, 6)],
        [_event(i) for i in range(6, 9)],
    )
    async with (
        TcpProxy(server.hostname, server.port) as proxy,
        open_reader(url, broker_channel) as reader,
    ):
        broker = broker_from_url(
            _through(url, proxy.port), channel=broker_channel, publish_timeout=OUTAGE_TIMEOUT
        )
        try:
            await broker.start()
            await broker.publish(before)

            await proxy.cut()
            async with asyncio.timeout(BOUND):
                with pytest.raises(BrokerUnavailable):
                    await broker.publish(during)
            async with asyncio.timeout(BOUND):
                with pytest.raises(BrokerUnavailable):
                    await broker.ping()

            await proxy.restore()
            # The relay publishes a failed batch again: at least once.
            await broker.publish(during)
            await broker.publish(after)
            await broker.ping()
        finally:
            await broker.close()
        received = await reader.collect(9, timeout=15, distinct=True)
    _check(received, before + during + after, url, broker_channel)


async def test_brokers_nats_adds_its_stream_and_stores_a_duplicate_id_once(
    nats_url: str, broker_channel: str
) -> None:
    broker = broker_from_url(nats_url, channel=broker_channel)
    first, second = _event(0), _event(1)
    await broker.start()
    try:
        await broker.publish([first, first])
        await broker.publish([first, second])
    finally:
        await broker.close()

    client = await nats.connect(nats_url)
    try:
        info = await client.jetstream().stream_info(stream_name(broker_channel))
    finally:
        await client.close()
    assert info.config.name == stream_name(broker_channel)
    assert info.config.subjects == [f"{broker_channel}.>"]
    assert info.state.messages == 2
    async with open_reader(nats_url, broker_channel) as reader:
        received = await reader.collect(2)
    assert [r.id for r in received] == [first.id, second.id]


async def test_brokers_rabbitmq_publishes_with_no_queue_bound(
    rabbitmq_url: str, broker_channel: str
) -> None:
    broker = broker_from_url(rabbitmq_url, channel=broker_channel)
    try:
        await broker.publish([_event(0), _event(1)])  # connects on first use
    finally:
        await broker.close()


def test_brokers_refuse_an_unknown_scheme_naming_the_accepted_ones() -> None:
    with pytest.raises(ValueError, match="unsupported scheme kafka://") as caught:
        broker_from_url("kafka://user:hunter2secret@broker:9092")
    message = str(caught.value)
    for scheme in (
        "amqp://",
        "amqps://",
        "nats://",
        "tls://",
        "redis://",
        "rediss://",
        "memory://",
    ):
        assert scheme in message
    assert "hunter2secret" not in message


def test_brokers_describe_urls_without_secrets() -> None:
    assert describe_broker_url(None) == "memory://"
    assert describe_broker_url("") == "memory://"
    assert (
        describe_broker_url("amqps://relay:s3cret@mq.example:5671/prod?heartbeat=30")
        == "amqps://relay@mq.example:5671/prod"
    )
    assert describe_broker_url("redis://:s3cret@cache:6379/2") == "redis://cache:6379/2"
    assert describe_broker_url("nats://s3cret-token@nats:4222") == "nats://***@nats:4222"
    assert describe_broker_url("nats://u:s3cret@[::1]:4222") == "nats://u@[::1]:4222"
