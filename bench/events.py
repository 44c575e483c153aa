"""What the event log costs a create, and how fast the outbox relay publishes.

Run with ``make bench-events``. Two parts, each in one process:

1. **Creates**, ``POST /v1/<resource>`` sent straight to the ASGI application
   (no socket, no client), on a fresh PostgreSQL database (16 concurrent
   clients) and on a temporary SQLite file (1 client), by applications built
   over the same database with:

   - ``off``: ``event_log=False`` (no event, no outbox row);
   - ``on``: the event log on (the default): an event and an outbox row per create;
   - ``on, personal field``: the same, on a resource whose ``title`` is
     ``personal: true`` (a per-record key is created and the value sealed with it).

   The resources have the same columns (two strings, a decimal, an integer), so
   ``off`` is the baseline of both. Rounds alternate between the variants (in
   a rotating order), so a machine getting busier or quieter weighs on every
   variant alike; creates per second is the median of the rounds. Beside it,
   the CPU time per create of this process and, for PostgreSQL on this
   machine, of the server processes serving the database (read from /proc):
   steadier than the rate when other work shares the cores.

2. **Relay**: 10,000 records are created and each updated once with the event
   log on (20,000 events in the outbox, PostgreSQL), then ``OutboxRelay.drain()``
   publishes them to each broker: the in-process bus (one subscriber counting),
   RabbitMQ (a durable queue bound to the exchange keeps the persistent
   messages), NATS JetStream, Redis Streams, once per batch size, in alternating
   rounds. The outbox is restored from a copy before every drain, so every drain
   publishes the same events, each to a channel of its own (JetStream would
   drop a second copy of an event id as a duplicate) that is deleted afterwards.
   Each drain checks that the broker kept all 20,000 messages. A broker that
   does not answer is reported and skipped.

Prints Markdown tables and whether the event log's target is met. Knobs
(environment): ``BENCH_EVENTS_ROUNDS`` (7), ``BENCH_EVENTS_CREATES`` (creates per
variant and round, 1,000), ``BENCH_EVENTS_RECORDS`` (10,000), ``BENCH_EVENTS_BATCHES``
(``200,1000``), ``BENCH_EVENTS_RELAY_ROUNDS`` (3), ``BENCH_EVENTS_PARTS``
(``creates,relay``), ``BENCH_QUIET_WAIT`` (60: seconds to wait for the cores to go
quiet before each part), ``BENCH_PG_ADMIN_DSN`` and the broker URLs
``BENCH_AMQP_URL``, ``BENCH_NATS_URL``, ``BENCH_REDIS_URL``.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from pathlib import Path
from typing import Any

import asyncpg

from bastion.adapters.bus import InProcessBus, broker_from_url
from bastion.app import BastionApp, create_app
from bastion.blueprint import Blueprint
from bastion.blueprint.events import OUTBOX
from bastion.core.context import RequestContext
from bastion.core.events.relay import OutboxRelay
from bastion.core.ports.broker import Broker, BrokerUnavailable, OutboundMessage
from bastion.ops.logging import configure_logging
from bastion.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from harness.databases import create_tables
from harness.machine import wait_until_quiet

ROUNDS = int(os.environ.get("BENCH_EVENTS_ROUNDS", "7"))
CREATES = int(os.environ.get("BENCH_EVENTS_CREATES", "1000"))
RECORDS = int(os.environ.get("BENCH_EVENTS_RECORDS", "10000"))
BATCHES = tuple(int(b) for b in os.environ.get("BENCH_EVENTS_BATCHES", "200,1000").split(","))
RELAY_ROUNDS = int(os.environ.get("BENCH_EVENTS_RELAY_ROUNDS", "3"))
PARTS = frozenset(os.environ.get("BENCH_EVENTS_PARTS", "creates,relay").split(","))
PG_ADMIN_DSN = os.environ.get("BENCH_PG_ADMIN_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
BROKERS = {
    "in-process": "memory://",
    "RabbitMQ": os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/"),
    "NATS JetStream": os.environ.get("BENCH_NATS_URL", "nats://127.0.0.1:4222"),
    "Redis Streams": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
}
TARGET = 0.75
"""The event log may cost at most 25% of create throughput: on / off >= 0.75."""

FIELDS: dict[str, Any] = {
    "sku": {"type": "string", "max_length": 40},
    "title": {"type": "string", "max_length": 200},
    "price": {"type": "decimal", "precision": 10, "scale": 2},
    "quantity": {"type": "integer"},
}
BLUEPRINT = Blueprint.model_validate(
    {
        "name": "events-bench",
        "resources": {
            "items": {"fields": FIELDS},
            "people": {"fields": {**FIELDS, "title": {**FIELDS["title"], "personal": True}}},
        },
    }
)
CLIENTS = {"PostgreSQL": 16, "SQLite": 1}
"""Concurrent clients: SQLite has one writer at a time."""
VARIANTS = {
    # variant: (event log on, resource)
    "off": (False, "items"),
    "on": (True, "items"),
    "on, personal field": (True, "people"),
}
BODY = b'{"sku": "SKU-0001", "title": "Blue mug", "price": "12.50", "quantity": 3}'


# Databases ------------------------------------------------------------------


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_DSN, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class PostgresDatabase:
    """A fresh PostgreSQL database, dropped on exit."""

    def __init__(self, role: str) -> None:
        self.name = f"bench_events_{role}_{os.getpid()}"
        base, _, _ = PG_ADMIN_DSN.rpartition("/")
        self.dsn = f"{base}/{self.name}"
        self.url = self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    async def __aenter__(self) -> PostgresDatabase:
        await _admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        await _admin(f'CREATE DATABASE "{self.name}"')
        await create_tables(BLUEPRINT, self.url)
        return self

    async def __aexit__(self, *_: object) -> None:
        await _admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


async def _build(database_url: str, *, event_log: bool) -> BastionApp:
    settings = Settings(
        # Development serves the blueprint open (no access rules to write);
        # nothing else on this path depends on the environment.
        env="development",
        database_url=database_url,
        event_log=event_log,
    )
    app = create_app(BLUEPRINT, settings=settings, relay=False)
    await app.start()
    return app


# Part 1: creates ------------------------------------------------------------


def _asgi_post(app: BastionApp, path: str) -> Callable[[], Awaitable[int]]:
    """A function sending one POST of :data:`BODY` to ``app`` and returning the status."""
    scope_base: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"host", b"bench"),
            (b"accept", b"application/json"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    request = {"type": "http.request", "body": BODY, "more_body": False}

    async def call() -> int:
        status = 0
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:  # the app asks again only when the client is gone
                await asyncio.Event().wait()
            sent = True
            return request

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(dict(scope_base), receive, send)
        return status

    return call


async def _creates_per_second(call: Callable[[], Awaitable[int]], clients: int, n: int) -> float:
    async def client(count: int) -> None:
        for _ in range(count):
            status = await call()
            if status != 201:
                raise SystemExit(f"a create answered {status}, not 201; run it by hand to see why")

    shares = [n // clients + (1 if i < n % clients else 0) for i in range(clients)]
    started = time.perf_counter()
    await asyncio.gather(*(client(share) for share in shares))
    return n / (time.perf_counter() - started)


_TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids: Sequence[int]) -> float | None:
    """CPU seconds (user + system) the processes ``pids`` have used; ``None`` if they
    cannot be read (a server on another machine)."""
    total = 0
    try:
        for pid in pids:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None
    return total / _TICKS


async def _backends(dsn: str) -> list[int]:
    """The server processes serving the database at ``dsn`` (the pools' connections)."""
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [row["pid"] for row in rows]


async def _round(
    call: Callable[[], Awaitable[int]], clients: int, server_dsn: str | None
) -> tuple[float, float, float | None]:
    """(creates/s, this process's CPU µs per create, the database server's or ``None``)."""
    pids = await _backends(server_dsn) if server_dsn is not None else []
    server_before = _cpu_seconds(pids) if pids else None
    cpu_before = time.process_time()
    rate = await _creates_per_second(call, clients, CREATES)
    cpu = (time.process_time() - cpu_before) / CREATES * 1e6
    server_after = _cpu_seconds(pids) if pids else None
    if server_before is None or server_after is None:
        return rate, cpu, None
    return rate, cpu, (server_after - server_before) / CREATES * 1e6


async def measure_creates(
    database_url: str, clients: int, server_dsn: str | None = None
) -> dict[str, tuple[float, float, float | None]]:
    """(creates/s, CPU µs per create of this process and of the PostgreSQL server at
    ``server_dsn``) of each variant, medians of :data:`ROUNDS`, over ``database_url``."""
    apps = {
        event_log: await _build(database_url, event_log=event_log) for event_log in (False, True)
    }
    try:
        calls = {
            variant: _asgi_post(apps[event_log], f"/v1/{resource}")
            for variant, (event_log, resource) in VARIANTS.items()
        }
        for call in calls.values():
            # Also fills the pools, so the server's processes are all there when counted.
            await _creates_per_second(call, clients, max(200, clients * 20))
        rounds: dict[str, list[tuple[float, float, float | None]]] = {v: [] for v in VARIANTS}
        order = list(VARIANTS)
        for round_ in range(ROUNDS):
            shift = round_ % len(order)
            for variant in order[shift:] + order[:shift]:
                rounds[variant].append(await _round(calls[variant], clients, server_dsn))
        results: dict[str, tuple[float, float, float | None]] = {}
        for variant, measured in rounds.items():
            server = [m[2] for m in measured if m[2] is not None]
            results[variant] = (
                statistics.median(m[0] for m in measured),
                statistics.median(m[1] for m in measured),
                statistics.median(server) if len(server) == len(measured) else None,
            )
        return results
    finally:
        for app in apps.values():
            await app.stop()


def print_creates(
    results: dict[str, dict[str, tuple[float, float, float | None]]], machine: str
) -> None:
    """Print the create table and whether each database met the target."""
    print(
        f"Creates in process (POST straight to the ASGI app), median of {ROUNDS} rounds "
        f"of {CREATES:,} creates per variant ({machine})\n"
    )
    print(
        "| database | clients | variant | creates/s | ratio to off "
        "| CPU µs per create: Bastion + PostgreSQL | CPU ratio to off |"
    )
    print("|---|---:|---|---:|---:|---:|---:|")
    for database, variants in results.items():
        off_rate, off_cpu, off_server = variants["off"]
        for variant, (rate, cpu, server) in variants.items():
            total = cpu + (server or 0.0)
            off_total = off_cpu + (off_server or 0.0)
            spent = f"{cpu:,.0f}" if server is None else f"{cpu:,.0f} + {server:,.0f}"
            print(
                f"| {database} | {CLIENTS[database]} | {variant} | {rate:,.0f} "
                f"| {rate / off_rate:.2f} | {spent} | {off_total / total:.2f} |"
            )
    print()
    for database, variants in results.items():
        ratio = variants["on"][0] / variants["off"][0]
        personal = variants["on, personal field"][0] / variants["off"][0]
        verdict = "met" if ratio >= TARGET else "MISSED"
        print(
            f"{database}: on / off = {ratio:.2f} (target ≥ {TARGET:.2f}: {verdict}); "
            f"personal field / off = {personal:.2f}"
        )


# Part 2: the relay -----------------------------------------------------------


class _TimedBroker:
    """A broker that adds up the time its ``publish`` calls take (the rest of a drain
    is the database: claim, load, delete, commit)."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.seconds = 0.0

    async def start(self) -> None:
        await self.broker.start()

    async def publish(self, messages: Sequence[OutboundMessage]) -> None:
        started = time.perf_counter()
        await self.broker.publish(messages)
        self.seconds += time.perf_counter() - started

    async def ping(self) -> None:
        await self.broker.ping()

    async def close(self) -> None:
        await self.broker.close()


async def _fill_outbox(app: BastionApp, clients: int) -> None:
    """:data:`RECORDS` items created (in batches, one transaction each), then each
    updated once: two events per record in the outbox."""
    ctx = RequestContext()
    service = app.service
    ids: list[Any] = []
    body = {"sku": "SKU-0001", "title": "Blue mug", "price": "12.50", "quantity": 3}
    for start in range(0, RECORDS, 500):
        rows = await service.create_many("items", [body] * min(500, RECORDS - start), ctx=ctx)
        ids += [row["id"] for row in rows]
    queue = iter(ids)

    async def updater() -> None:
        for record_id in queue:
            await service.update("items", record_id, {"quantity": 4}, ctx=ctx)

    await asyncio.gather(*(updater() for _ in range(clients)))


class _Channel:
    """A channel of the bench's own on one broker, with what it takes to delete it."""

    def __init__(self, kind: str, url: str) -> None:
        self.kind = kind
        self.url = url
        self.name = f"bastion.bench.{uuid.uuid4().hex[:12]}"

    async def prepare(self) -> None:
        """RabbitMQ: bind a durable queue to the exchange, so messages are kept as a
        consumer's would be (the broker starts the exchange itself)."""
        if self.kind == "RabbitMQ":
            import aio_pika

            connection = await aio_pika.connect(self.url)
            async with connection:
                channel = await connection.channel()
                exchange = await channel.declare_exchange(
                    self.name, aio_pika.ExchangeType.TOPIC, durable=True
                )
                queue = await channel.declare_queue(f"{self.name}.all", durable=True)
                await queue.bind(exchange, routing_key="#")

    async def kept(self) -> int | None:
        """How many messages the broker kept (``None``: it keeps none)."""
        if self.kind == "RabbitMQ":
            import aio_pika

            connection = await aio_pika.connect(self.url)
            async with connection:
                channel = await connection.channel()
                queue = await channel.declare_queue(f"{self.name}.all", passive=True)
                return queue.declaration_result.message_count
        if self.kind == "NATS JetStream":
            import nats

            from bastion.adapters.bus.nats import stream_name

            client = await nats.connect(self.url)
            try:
                info = await client.jetstream().stream_info(stream_name(self.name))
                return int(info.state.messages)
            finally:
                await client.close()
        if self.kind == "Redis Streams":
            import redis.asyncio

            from bastion.adapters.bus.redis_streams import stream_key

            store = redis.asyncio.Redis.from_url(self.url)
            try:
                return int(await store.xlen(stream_key(self.name)))
            finally:
                await store.aclose()
        return None

    async def delete(self) -> None:
        """Delete the queue and exchange, stream or key made for the channel."""
        if self.kind == "RabbitMQ":
            import aio_pika

            connection = await aio_pika.connect(self.url)
            async with connection:
                channel = await connection.channel()
                await channel.queue_delete(f"{self.name}.all")
                await channel.exchange_delete(self.name)
        elif self.kind == "NATS JetStream":
            import nats

            from bastion.adapters.bus.nats import stream_name

            client = await nats.connect(self.url)
            try:
                await client.jetstream().delete_stream(stream_name(self.name))
            finally:
                await client.close()
        elif self.kind == "Redis Streams":
            import redis.asyncio

            from bastion.adapters.bus.redis_streams import stream_key

            store = redis.asyncio.Redis.from_url(self.url)
            try:
                await store.delete(stream_key(self.name))
            finally:
                await store.aclose()


async def _restore_outbox(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(
            f"TRUNCATE {OUTBOX}; INSERT INTO {OUTBOX} SELECT * FROM bench_outbox_copy;"
            f" ANALYZE {OUTBOX}"
        )
    finally:
        await conn.close()


async def _drain(app: BastionApp, kind: str, url: str, batch: int, dsn: str) -> dict[str, Any]:
    """Publish the whole outbox to a fresh channel of one broker; what it measured."""
    channel = _Channel(kind, url)
    # The bench wants throughput, not the timeout a production relay retries on.
    broker = _TimedBroker(broker_from_url(url, channel=channel.name, publish_timeout=60))
    delivered = 0
    if kind == "in-process":

        async def count(_: OutboundMessage) -> None:
            nonlocal delivered
            delivered += 1

        assert isinstance(broker.broker, InProcessBus)
        broker.broker.subscribe(count)
    await _restore_outbox(dsn)
    try:
        await broker.start()
        await channel.prepare()
        events = app.events
        assert events is not None
        relay = OutboxRelay(events.sql_store, broker, keys=events.keys, batch_size=batch)
        started = time.perf_counter()
        published = await relay.drain()
        seconds = time.perf_counter() - started
        kept = delivered if kind == "in-process" else await channel.kept()
    finally:
        await broker.close()
        await channel.delete()
    if published != 2 * RECORDS or (kept is not None and kept != published):
        raise SystemExit(f"{kind}: {published} events published and {kept} kept, not {2 * RECORDS}")
    return {
        "events/s": published / seconds,
        "seconds": seconds,
        "publish share": broker.seconds / seconds,
    }


async def measure_relay(clients: int) -> dict[tuple[str, int], dict[str, Any] | str]:
    """Drain the same 20,000 events to each broker at each batch size, in alternating
    rounds; the median round of each."""
    rounds: dict[tuple[str, int], list[dict[str, Any]]] = {
        (kind, batch): [] for kind in BROKERS for batch in BATCHES
    }
    failed: dict[tuple[str, int], str] = {}
    async with PostgresDatabase("relay") as database:
        app = await _build(database.url, event_log=True)
        try:
            started = time.perf_counter()
            await _fill_outbox(app, clients)
            print(f"outbox filled in {time.perf_counter() - started:.0f} s", file=sys.stderr)
            conn = await asyncpg.connect(database.dsn)
            try:
                await conn.execute(f"CREATE TABLE bench_outbox_copy AS TABLE {OUTBOX}")
            finally:
                await conn.close()
            for _ in range(RELAY_ROUNDS):
                for kind, batch in rounds:
                    if (kind, batch) in failed:
                        continue
                    url = BROKERS[kind]
                    try:
                        rounds[kind, batch].append(
                            await _drain(app, kind, url, batch, database.dsn)
                        )
                    except (BrokerUnavailable, OSError) as exc:
                        failed[kind, batch] = f"not measured: {type(exc).__name__}: {exc}"
                        print(f"{kind}: {failed[kind, batch]}", file=sys.stderr)
        finally:
            await app.stop()
    results: dict[tuple[str, int], dict[str, Any] | str] = {}
    for key, measured in rounds.items():
        if key in failed:
            results[key] = failed[key]
            continue
        median = statistics.median(m["events/s"] for m in measured)
        # The round whose rate is the median (or the nearest), with its drain time and share.
        results[key] = min(measured, key=lambda m: abs(m["events/s"] - median))
    return results


def print_relay(results: dict[tuple[str, int], dict[str, Any] | str], machine: str) -> None:
    """Print the relay table."""
    print(
        f"\nRelay: OutboxRelay.drain() of {2 * RECORDS:,} events ({RECORDS:,} records, "
        f"created then updated), PostgreSQL, one relay, median of {RELAY_ROUNDS} rounds "
        f"({machine})\n"
    )
    print("| broker | batch size (records per round) | events/s | drain, s | in publish |")
    print("|---|---:|---:|---:|---:|")
    for (kind, batch), result in results.items():
        if isinstance(result, str):
            print(f"| {kind} | {batch} | {result} | | |")
            continue
        print(
            f"| {kind} | {batch} | {result['events/s']:,.0f} | {result['seconds']:.1f} "
            f"| {result['publish share']:.0%} |"
        )


# Entry point ----------------------------------------------------------------


def _machine() -> str:
    busy = wait_until_quiet()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"other work on the machine: {busy:.0f} % of the cores busy; load average {load}"


async def _creates() -> dict[str, dict[str, tuple[float, float, float | None]]]:
    results: dict[str, dict[str, tuple[float, float, float | None]]] = {}
    async with PostgresDatabase("creates") as database:
        results["PostgreSQL"] = await measure_creates(
            database.url, CLIENTS["PostgreSQL"], server_dsn=database.dsn
        )
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}"
        await create_tables(BLUEPRINT, url)
        results["SQLite"] = await measure_creates(url, CLIENTS["SQLite"])
    return results


def main() -> None:
    """Run the parts asked for and print their tables."""
    with open(os.devnull, "w") as devnull:
        # Access lines go nowhere: what they cost is `make bench-ops`'s subject.
        configure_logging(level="INFO", levels={}, json=True, stream=devnull)
        if "creates" in PARTS:
            machine = _machine()
            print_creates(asyncio.run(_creates()), machine)
        if "relay" in PARTS:
            machine = _machine()
            print_relay(asyncio.run(measure_relay(CLIENTS["PostgreSQL"])), machine)


if __name__ == "__main__":
    main()
