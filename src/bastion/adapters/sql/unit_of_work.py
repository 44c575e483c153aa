"""The SQL unit of work: core's ``UnitOfWork`` port on one connection, in one transaction.

:class:`~bastion.adapters.sql.store.SqlStore` opens it; the statements it runs are
compiled once per store (:mod:`bastion.adapters.sql.statements`, ``queries``,
``idempotency``, ``outbox``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

from bastion.adapters.sql.codecs import ResourceCodec, decode_datetime_text
from bastion.adapters.sql.drivers import (
    Connection,
)
from bastion.adapters.sql.errors import translate_error
from bastion.adapters.sql.idempotency import IdempotencyStatements, advisory_lock_key
from bastion.adapters.sql.internal_tables import IDEMPOTENCY_TABLE
from bastion.adapters.sql.outbox import EventStatements, OutboxStatements
from bastion.adapters.sql.queries import ReadStatements
from bastion.adapters.sql.statements import ResourceStatements
from bastion.blueprint.events import (
    DELIVERIES,
    DELIVERY_ATTEMPTS,
    EVENTS,
    OUTBOX,
    PROCESSED_EVENTS,
    SUBJECT_KEYS,
)
from bastion.core.aggregation import AggregateSpec
from bastion.core.errors import BastionError
from bastion.core.ports import (
    AfterCommit,
    EventRows,
    IdempotencyRecord,
    Row,
    Telemetry,
)
from bastion.core.query import HasManyLink, QuerySpec

__all__ = ["SqlUnitOfWork", "StoreTable"]

log = logging.getLogger(__name__)
_T = TypeVar("_T")
_SPAN_SQL_CHARS = 2048
"""Statement text beyond this many characters is cut from its span."""


class StoreTable:
    """What the store knows about one resource's table."""

    __slots__ = ("codec", "statements")

    def __init__(self, codec: ResourceCodec, statements: ResourceStatements) -> None:
        self.codec = codec
        self.statements = statements


class SqlUnitOfWork:
    """A transaction on one connection; implements :class:`bastion.core.ports.UnitOfWork`."""

    __slots__ = (
        "_callbacks",
        "_conn",
        "_events",
        "_idempotency",
        "_index_fields",
        "_outbox",
        "_reads",
        "_span_system",
        "_tables",
        "_telemetry",
    )

    def __init__(
        self,
        conn: Connection,
        tables: dict[str, StoreTable],
        index_fields: dict[str, tuple[str, ...]],
        telemetry: Telemetry | None = None,
        idempotency: IdempotencyStatements | None = None,
        *,
        reads: ReadStatements,
        span_system: str | None = None,
        outbox: OutboxStatements | None = None,
        events: EventStatements | None = None,
    ) -> None:
        self._conn = conn
        self._outbox = outbox
        self._events = events
        self._reads = reads
        self._tables = tables
        self._index_fields = index_fields
        self._telemetry = telemetry
        # The ``db.system.name`` of each statement's span; ``None``: statements are not traced.
        self._span_system = span_system
        self._idempotency = idempotency
        self._callbacks: list[AfterCommit] = []

    def _translate(self, exc: Exception) -> BastionError | None:
        return translate_error(exc, index_fields=self._index_fields)

    async def fetch(
        self, resource: str, record_id: UUID, *, for_update: bool = False
    ) -> Row | None:
        """The record, or ``None``; ``for_update`` locks the row (PostgreSQL)."""
        table = self._tables[resource]
        statement = (
            table.statements.select_for_update if for_update else table.statements.select_by_id
        )
        args = [table.codec.encode_id(record_id)]
        row = await self._run("fetch", resource, self._conn.fetch_one, statement.sql, args)
        return None if row is None else table.codec.decode_row(row)

    async def fetch_page(self, resource: str, spec: QuerySpec) -> list[Row]:
        """Up to ``spec.limit + 1`` records of ``spec``, in its order, after its cursor."""
        sql, args = self._reads.page(resource, spec)
        rows = await self._run("list", resource, self._conn.fetch_all, sql, args)
        decode = self._tables[resource].codec.decode_row
        return [decode(row) for row in rows]

    async def count(self, resource: str, spec: QuerySpec) -> int:
        """How many records ``spec``'s filters and search match."""
        sql, args = self._reads.count(resource, spec)
        row = await self._run("count", resource, self._conn.fetch_one, sql, args)
        return 0 if row is None else int(row[0])

    async def fetch_many(self, resource: str, record_ids: Sequence[UUID]) -> list[Row]:
        """The records with these ids, in one statement."""
        sql, args = self._reads.many(resource, record_ids)
        rows = await self._run("fetch_many", resource, self._conn.fetch_all, sql, args)
        decode = self._tables[resource].codec.decode_row
        return [decode(row) for row in rows]

    async def fetch_children(
        self, link: HasManyLink, parent_ids: Sequence[UUID], limit_per_parent: int
    ) -> list[tuple[UUID, Row]]:
        """(parent id, record) for up to ``limit_per_parent`` records per parent, id order."""
        sql, args = self._reads.children(link, parent_ids, limit_per_parent)
        rows = await self._run("children", link.resource, self._conn.fetch_all, sql, args)
        codec = self._tables[link.resource].codec
        decode_parent = codec.id_decode or (lambda value: value)
        return [(decode_parent(row[0]), codec.decode_row(tuple(row)[1:])) for row in rows]

    async def aggregate(self, resource: str, spec: AggregateSpec) -> list[Row]:
        """One row per group of ``spec``, groups in order."""
        sql, args = self._reads.aggregates.statement(resource, spec)
        rows = await self._run("aggregate", resource, self._conn.fetch_all, sql, args)
        read = self._reads.aggregates.reader(resource, spec)
        return [read(row) for row in rows]

    async def exists(self, resource: str, record_id: UUID) -> bool:
        """Whether the record exists."""
        table = self._tables[resource]
        args = [table.codec.encode_id(record_id)]
        sql = table.statements.exists.sql
        return await self._run("exists", resource, self._conn.fetch_one, sql, args) is not None

    async def referencing(self, resource: str, field: str, target_id: UUID) -> list[UUID]:
        """Ids of ``resource`` records whose ``field`` is ``target_id``."""
        table = self._tables[resource]
        statement = table.statements.referencing[field]
        args = [table.codec.encode_id(target_id)]
        rows = await self._run("referencing", resource, self._conn.fetch_all, statement.sql, args)
        decode = table.codec.id_decode
        return [row[0] if decode is None else decode(row[0]) for row in rows]

    async def insert(self, resource: str, row: Row, *, event: EventRows | None = None) -> None:
        """Store a new record and, with ``event``, its event and outbox row."""
        table = self._tables[resource]
        encode = table.codec.encode
        if event is not None:
            key = event.subject_key
            together = self._event_statements().with_record(
                table.statements.table, key=key is not None
            )
            if together is not None:
                args = together.args(
                    {"r": row, "e": event.event, "o": event.outbox, "k": key or {}},
                    {
                        "r": encode,
                        "e": self._tables[EVENTS].codec.encode,
                        "o": self._tables[OUTBOX].codec.encode,
                        "k": self._tables[SUBJECT_KEYS].codec.encode,
                    },
                )
                await self._run(
                    "insert", resource, self._conn.execute, together.sql, args, keyword="INSERT"
                )
                return
            if key is not None:
                await self.insert(SUBJECT_KEYS, key)
        statement = table.statements.insert
        args = [encode(name, row[name]) for name in statement.params]
        await self._run("insert", resource, self._conn.execute, statement.sql, args)
        if event is not None:
            await self.append_event(event.event, event.outbox)

    async def update(
        self, resource: str, record_id: UUID, changes: Row, *, expected_version: int
    ) -> bool:
        """Write ``changes`` over the record if its version is still ``expected_version``."""
        table = self._tables[resource]
        encode = table.codec.encode
        statements = table.statements
        columns = tuple(name for name in statements.writable if name in changes)
        # One statement per set of columns written, compiled once (hot path).
        statement = self._reads.cache.get(
            ("update", resource, columns), lambda: statements.update_of(columns)
        )
        values = {name: encode(name, changes[name]) for name in columns}
        values["id"] = table.codec.encode_id(record_id)
        values["expected_version"] = expected_version
        args = statement.bind(values)
        return await self._run("update", resource, self._conn.execute, statement.sql, args) == 1

    async def delete(self, resource: str, record_id: UUID) -> bool:
        """Delete the record; ``False`` if it was not there."""
        table = self._tables[resource]
        args = [table.codec.encode_id(record_id)]
        sql = table.statements.delete.sql
        return await self._run("delete", resource, self._conn.execute, sql, args) == 1

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback`` after a successful commit."""
        self._callbacks.append(callback)

    def _keys(self) -> IdempotencyStatements:
        if self._idempotency is None:
            raise RuntimeError("this unit of work was opened without the idempotency table")
        return self._idempotency

    async def idempotency_lock(self, scope: str, key: str) -> bool:
        """Take the key's advisory lock (PostgreSQL); ``True`` on SQLite (see
        :mod:`bastion.adapters.sql.idempotency`)."""
        sql = self._keys().lock
        if sql is None:
            return True
        args = [advisory_lock_key(scope, key)]
        row = await self._run("lock", IDEMPOTENCY_TABLE, self._conn.fetch_one, sql, args)
        return bool(row is not None and row[0])

    async def idempotency_get(self, scope: str, key: str) -> IdempotencyRecord | None:
        """The stored record of the key, or ``None``."""
        keys = self._keys()
        args = keys.key_args(scope, key)
        sql = keys.select.sql
        row = await self._run("fetch", IDEMPOTENCY_TABLE, self._conn.fetch_one, sql, args)
        return None if row is None else keys.decode(row)

    async def idempotency_put(self, record: IdempotencyRecord) -> None:
        """Store the record, replacing an expired one of the same key."""
        keys = self._keys()
        args = keys.record_args(record)
        await self._run("upsert", IDEMPOTENCY_TABLE, self._conn.execute, keys.upsert.sql, args)

    async def idempotency_purge(self, *, now: datetime, limit: int) -> int:
        """Delete up to ``limit`` expired records."""
        keys = self._keys()
        args = keys.purge_args(now, limit)
        return await self._run("purge", IDEMPOTENCY_TABLE, self._conn.execute, keys.purge.sql, args)

    # The event log ---------------------------------------------------------

    def _event_statements(self) -> EventStatements:
        if self._events is None:
            raise RuntimeError("this unit of work was opened without the event log tables")
        return self._events

    async def append_event(self, event: Row, outbox: Row) -> None:
        """Insert an event and its outbox row (one statement on PostgreSQL)."""
        statements = self._event_statements()
        encode_event = self._tables[EVENTS].codec.encode
        encode_outbox = self._tables[OUTBOX].codec.encode
        if statements.together is not None:
            values = {f"e_{n}": encode_event(n, event[n]) for n in statements.event_columns}
            values.update(
                {f"o_{n}": encode_outbox(n, outbox[n]) for n in statements.outbox_columns}
            )
            sql, args = statements.together.sql, statements.together.bind(values)
            await self._run("insert", EVENTS, self._conn.execute, sql, args)
            return
        assert statements.event is not None
        assert statements.outbox is not None
        event_args = statements.event.bind(
            {f"e_{n}": encode_event(n, event[n]) for n in statements.event_columns}
        )
        outbox_args = statements.outbox.bind(
            {f"o_{n}": encode_outbox(n, outbox[n]) for n in statements.outbox_columns}
        )
        await self._run("insert", EVENTS, self._conn.execute, statements.event.sql, event_args)
        await self._run("insert", OUTBOX, self._conn.execute, statements.outbox.sql, outbox_args)

    async def stream_head(self, resource: str, record_id: UUID) -> tuple[int, str] | None:
        """(seq, hash) of the record's latest event, or ``None``."""
        statement = self._event_statements().head
        codec = self._tables[EVENTS].codec
        args = statement.bind(
            {"resource": resource, "record_id": codec.encode("record_id", record_id)}
        )
        row = await self._run("fetch", EVENTS, self._conn.fetch_one, statement.sql, args)
        return None if row is None else (int(row[0]), str(row[1]))

    # The outbox and event deliveries (see :mod:`bastion.adapters.sql.outbox`) ----

    def _queues(self) -> OutboxStatements:
        if self._outbox is None:
            raise RuntimeError("this unit of work was opened without the outbox tables")
        return self._outbox

    async def claim_outbox(self, *, streams: int, events: int) -> list[tuple[UUID, str, int]]:
        """Claim up to ``streams`` records' streams whose oldest pending event no other
        transaction holds; (event id, stream, seq) of up to ``events`` of their pending
        events, in stream order. The claim lasts until the transaction ends."""
        queues = self._queues()
        statement = queues.claim_heads
        heads = await self._run(
            "claim",
            OUTBOX,
            self._conn.fetch_all,
            statement.sql,
            statement.bind({"streams": streams}),
        )
        if not heads:
            return []
        keys = [row[0] for row in heads]
        pending = queues.pending_of_streams(len(keys))
        args = pending.bind({**queues.id_values(keys), "events": events})
        rows = await self._run("claim", OUTBOX, self._conn.fetch_all, pending.sql, args)
        decode = self._tables[OUTBOX].codec.id_decode
        return [(row[0] if decode is None else decode(row[0]), row[1], row[2]) for row in rows]

    async def release_outbox(self, event_ids: Sequence[UUID]) -> None:
        """Delete the outbox rows of these (published) events."""
        if not event_ids:
            return
        queues = self._queues()
        encode = self._tables[OUTBOX].codec.encode_id
        statement = queues.delete_outbox(len(event_ids))
        args = statement.bind(queues.id_values([encode(i) for i in event_ids]))
        await self._run("delete", OUTBOX, self._conn.execute, statement.sql, args)

    async def outbox_lag(self) -> tuple[int, datetime | None]:
        """How many events wait in the outbox, and when the oldest was written."""
        statement = self._queues().lag
        row = await self._run("count", OUTBOX, self._conn.fetch_one, statement.sql, [])
        if row is None or not row[0]:
            return 0, None
        oldest = row[1]
        if isinstance(oldest, str):
            oldest = decode_datetime_text(oldest)
        return int(row[0]), oldest

    async def claim_deliveries(self, *, now: datetime, until: datetime, limit: int) -> list[UUID]:
        """Lease up to ``limit`` due deliveries (each the oldest pending one of its record
        for its target) until ``until``, counting an attempt; their ids."""
        queues = self._queues()
        codec = self._tables[DELIVERIES].codec
        statement = queues.claim_due_deliveries
        args = statement.bind({"now": codec.encode("next_attempt_at", now), "limit": limit})
        rows = await self._run("claim", DELIVERIES, self._conn.fetch_all, statement.sql, args)
        if not rows:
            return []
        ids = [row[0] for row in rows]
        lease = queues.lease_deliveries(len(ids))
        values = {**queues.id_values(ids), "until": codec.encode("next_attempt_at", until)}
        await self._run("lease", DELIVERIES, self._conn.execute, lease.sql, lease.bind(values))
        decode = codec.id_decode
        return [i if decode is None else decode(i) for i in ids]

    async def prune_delivered(self, *, before: datetime, limit: int) -> tuple[int, int]:
        """Delete up to ``limit`` delivered deliveries older than ``before`` and their
        attempts (see :mod:`bastion.adapters.sql.outbox`); ``(deliveries, attempts)``."""
        queues = self._queues()
        values = {
            "before": self._tables[DELIVERIES].codec.encode("delivered_at", before),
            "limit": limit,
        }
        if queues.prune_delivered_together is not None:
            statement = queues.prune_delivered_together
            args = statement.bind(values)
            row = await self._run("prune", DELIVERIES, self._conn.fetch_one, statement.sql, args)
            assert row is not None  # counts: always one row
            return int(row[0]), int(row[1])
        assert queues.prune_attempts is not None
        assert queues.prune_deliveries is not None
        logged, gone = queues.prune_attempts, queues.prune_deliveries
        attempts = await self._run(
            "prune", DELIVERY_ATTEMPTS, self._conn.execute, logged.sql, logged.bind(values)
        )
        deliveries = await self._run(
            "prune", DELIVERIES, self._conn.execute, gone.sql, gone.bind(values)
        )
        return deliveries, attempts

    async def prune_processed(self, *, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` processed-event notes created before ``before``."""
        statement = self._queues().prune_processed
        encode = self._tables[PROCESSED_EVENTS].codec.encode
        args = statement.bind({"before": encode("created_at", before), "limit": limit})
        return await self._run("prune", PROCESSED_EVENTS, self._conn.execute, statement.sql, args)

    async def _run(
        self,
        operation: str,
        resource: str,
        call: Callable[[str, list[Any]], Awaitable[_T]],
        sql: str,
        args: list[Any],
        *,
        keyword: str | None = None,
    ) -> _T:
        # Hot path: with tracing off, one test more than before; the traced copy is apart.
        if self._span_system is not None:
            return await self._run_in_span(operation, resource, call, sql, args, keyword)
        started = time.perf_counter() if self._telemetry is not None else 0.0
        try:
            return await call(sql, args)
        except Exception as exc:
            if (error := self._translate(exc)) is not None:
                raise error from exc
            raise
        finally:
            if self._telemetry is not None:
                self._telemetry.observe(
                    "db_query_seconds",
                    time.perf_counter() - started,
                    {"resource": resource, "operation": operation},
                )

    async def _run_in_span(
        self,
        operation: str,
        resource: str,
        call: Callable[[str, list[Any]], Awaitable[_T]],
        sql: str,
        args: list[Any],
        keyword: str | None,
    ) -> _T:
        """:meth:`_run` inside a span naming the statement (its text, never its values);
        ``keyword`` names what a statement opening with ``WITH`` does."""
        assert self._telemetry is not None
        assert self._span_system is not None
        keyword = keyword or sql.split(None, 1)[0].upper()
        attributes = {
            "db.system": self._span_system,
            "db.system.name": self._span_system,
            "db.operation.name": keyword,
            "db.collection.name": resource,
            "db.query.text": sql if len(sql) <= _SPAN_SQL_CHARS else sql[:_SPAN_SQL_CHARS] + "...",
            "bastion.operation": operation,
        }
        with self._telemetry.span(f"{keyword} {resource}", attributes):
            started = time.perf_counter()
            try:
                return await call(sql, args)
            except Exception as exc:
                if (error := self._translate(exc)) is not None:
                    raise error from exc
                raise
            finally:
                self._telemetry.observe(
                    "db_query_seconds",
                    time.perf_counter() - started,
                    {"resource": resource, "operation": operation},
                )

    @property
    def has_callbacks(self) -> bool:
        """Whether anything waits for the commit."""
        return bool(self._callbacks)

    async def run_after_commit(self) -> None:
        """Run the registered callbacks; one failing does not stop the others."""
        for callback in self._callbacks:
            try:
                await callback()
            except Exception:
                log.exception("an after-commit callback failed")
