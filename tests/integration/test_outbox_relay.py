"""The outbox relay against the real brokers: everything arrives, in each record's order,
through concurrent workers, a broker outage and a worker killed mid-batch."""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import orjson
import pytest

from bastion.adapters.bus import broker_from_url
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint, IntegerField, Resource, StringField
from bastion.core.context import RequestContext
from bastion.core.events.relay import OutboxRelay
from bastion.core.ports.broker import Broker
from bastion.settings import Settings
from broker_support import Received, open_reader
from event_support import outbox_rows
from process_support import bastion_script, clean_environment, free_port, stop_server, wait_ready
from schema_support import create_schema
from tcp_proxy import TcpProxy

BLUEPRINT_YAML = """\
name: relay
resources:
  orders:
    fields:
      label: {type: string, max_length: 40}
      step: {type: integer}
"""
BLUEPRINT = Blueprint(
    name="relay",
    resources={
        "orders": Resource(fields={"label": StringField(max_length=40), "step": IntegerField()})
    },
)
CTX = RequestContext(request_id="relay-test")


@pytest.fixture
async def app(postgres_url: str) -> AsyncIterator[BastionApp]:
    await create_schema(BLUEPRINT, postgres_url)
    built = create_app(
        BLUEPRINT, settings=Settings(database_url=postgres_url, db_pool_max=30), relay=False
    )
    await built.start()
    yield built
    await built.stop()


async def write_streams(app: BastionApp, records: int, updates: int, writers: int = 20) -> int:
    """``records`` records, each created then updated ``updates`` times, by ``writers``
    concurrent writers; how many events that makes."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(records):
        queue.put_nowait(n)

    async def writer() -> None:
        while not queue.empty():
            n = queue.get_nowait()
            row = await app.service.create("orders", {"label": f"o{n}", "step": 0}, ctx=CTX)
            for step in range(1, updates + 1):
                await app.service.update("orders", row["id"], {"step": step}, ctx=CTX)

    await asyncio.gather(*(writer() for _ in range(writers)))
    return records * (updates + 1)


def relay_for(app: BastionApp, broker: Broker) -> OutboxRelay:
    events = app.events
    assert events is not None
    return OutboxRelay(events.sql_store, broker, keys=events.keys, poll_seconds=0.05)


def assert_in_record_order(received: Sequence[Received], *, records: int, per_record: int) -> None:
    """Each record's events came in stream order, the first copy of each one counted."""
    sequences: dict[str, list[int]] = defaultdict(list)
    seen: set[str | None] = set()
    for message in received:
        if message.id in seen:
            continue
        seen.add(message.id)
        document = orjson.loads(message.body)
        assert document["id"] == message.id
        assert document["specversion"] == "1.0"
        sequences[document["subject"]].append(int(document["sequence"]))
    assert len(sequences) == records
    expected = list(range(1, per_record + 1))
    out_of_order = {s: seq for s, seq in sequences.items() if seq != expected}
    assert not out_of_order, f"{len(out_of_order)} records out of order, e.g. {out_of_order}"


async def run_relays(relays: Sequence[OutboxRelay]) -> list[asyncio.Task[None]]:
    return [asyncio.create_task(relay.run()) for relay in relays]


async def stop_relays(relays: Sequence[OutboxRelay], tasks: Sequence[asyncio.Task[None]]) -> None:
    for relay in relays:
        relay.stop()
    await asyncio.gather(*tasks)


async def test_outbox_relay_publishes_ten_thousand_writes_in_record_order(
    app: BastionApp, broker_url: str, broker_channel: str
) -> None:
    # Two workers relay while twenty writers write: ids are not in commit order, and
    # the workers must share the streams without publishing anything twice.
    # The writers share this event loop with the relays: allow for their slower confirms.
    brokers = [
        broker_from_url(broker_url, channel=broker_channel, publish_timeout=30) for _ in range(2)
    ]
    if broker_url.startswith("memory"):
        brokers = [brokers[0], brokers[0]]  # one process, one in-process bus
    relays = [relay_for(app, broker) for broker in brokers]
    async with open_reader(broker_url, broker_channel, bus=brokers[0]) as reader:
        for broker in set(brokers):
            await broker.start()
        tasks = await run_relays(relays)
        try:
            total = await write_streams(app, records=500, updates=19)
            assert total == 10_000
            received = await reader.collect(total, timeout=120)
        finally:
            await stop_relays(relays, tasks)
            for broker in set(brokers):
                await broker.close()
        with pytest.raises(AssertionError):  # and nothing more: no duplicates
            await reader.collect(1, timeout=0.5)
    assert len({m.id for m in received}) == total
    assert_in_record_order(received, records=500, per_record=20)
    assert await outbox_rows(app) == []


def through(proxy: TcpProxy, url: str) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


@pytest.mark.parametrize("kind", ["rabbitmq", "nats", "redis"])
async def test_outbox_relay_loses_nothing_when_the_broker_is_cut(
    app: BastionApp, kind: str, broker_channel: str, request: pytest.FixtureRequest
) -> None:
    url: str = request.getfixturevalue(f"{kind}_url")
    target = urlsplit(url)
    async with TcpProxy(target.hostname or "127.0.0.1", target.port or 0) as proxy:
        broker = broker_from_url(through(proxy, url), channel=broker_channel, publish_timeout=1)
        relay = relay_for(app, broker)
        async with open_reader(url, broker_channel) as reader:
            await broker.start()
            tasks = await run_relays([relay])
            try:
                first = await write_streams(app, records=50, updates=9)
                await reader.collect(50, timeout=30)  # flowing
                await proxy.cut()
                second = write_streams(app, records=50, updates=9)
                written = asyncio.create_task(second)
                await asyncio.sleep(1.5)
                assert relay.stats.failures > 0  # the relay saw the outage
                await proxy.restore()
                total = first + await written
                await reader.collect(total - 50, timeout=60, distinct=True)
            finally:
                await stop_relays([relay], tasks)
                await broker.close()
    assert_in_record_order(reader.received, records=100, per_record=10)
    assert len({m.id for m in reader.received}) == total
    assert await outbox_rows(app) == []


def start_worker(
    env: dict[str, str], blueprint: Path, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    with log.open("ab") as output:  # the worker keeps its own copy of the descriptor
        process = subprocess.Popen(
            [bastion_script(), "worker", str(blueprint), "--port", str(port)],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return process, f"http://127.0.0.1:{port}"


async def test_outbox_relay_survives_a_worker_killed_mid_batch(
    app: BastionApp, postgres_url: str, redis_url: str, broker_channel: str, tmp_path: Path
) -> None:
    total = await write_streams(app, records=300, updates=9)
    blueprint = tmp_path / "bastion.yaml"
    blueprint.write_text(BLUEPRINT_YAML)
    env = {
        **clean_environment(),
        "BASTION_DATABASE_URL": postgres_url,
        "BASTION_BROKER_URL": redis_url,
        "BASTION_BROKER_CHANNEL": broker_channel,
        "BASTION_WORKER_BATCH_SIZE": "20",
    }
    log = tmp_path / "worker.log"
    async with open_reader(redis_url, broker_channel) as reader:
        first, first_url = start_worker(env, blueprint, log)
        try:
            await asyncio.to_thread(wait_ready, first, first_url, log)
            await reader.collect(200, timeout=60)
            first.send_signal(signal.SIGKILL)  # mid-stream: no chance to finish its batch
            await asyncio.to_thread(first.wait, 10)
        finally:
            stop_server(first)
        second, second_url = start_worker(env, blueprint, log)
        try:
            await asyncio.to_thread(wait_ready, second, second_url, log)
            await reader.collect(total - 200, timeout=90, distinct=True)
        finally:
            stop_server(second)
    # Duplicates are allowed (at least once); a consumer deduplicating on id has them all.
    assert len({m.id for m in reader.received}) == total
    assert_in_record_order(reader.received, records=300, per_record=10)
    assert await outbox_rows(app) == []
