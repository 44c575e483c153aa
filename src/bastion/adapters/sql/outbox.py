"""Statements of the outbox relay and of event delivery, compiled once per store.

Claiming follows one rule on both queues: only the *oldest* pending item of a
stream (a record's events; for deliveries, a record's events owed to one
target) can be claimed, so a stream is handled by one worker at a time and in
order, while different streams go to different workers in parallel.

- Outbox: a worker locks stream heads with ``FOR UPDATE SKIP LOCKED``
  (PostgreSQL), so concurrent workers skip each other's streams instead of
  waiting, then takes every pending event of the streams it locked. Nothing
  tracks progress as "ids above the last one": an id allocated earlier may
  commit later, and such a scan would skip it. A worker that dies releases its
  locks with its connection; its events are claimed again (at least once).
- Deliveries: a claim is a lease (``next_attempt_at`` moved past the attempt's
  timeout), committed at once, so a slow webhook holds no transaction; a worker
  that dies leaves leases that expire and are claimed again.

On SQLite, write transactions exclude each other (``BEGIN IMMEDIATE``), so the
same statements without ``FOR UPDATE`` are already exclusive.

Pruning (``bastion events prune``) deletes a bounded batch per transaction with
``DELETE ... WHERE id IN (SELECT id ... LIMIT n)``, a form both databases
accept. On PostgreSQL a batch of delivered deliveries and their attempts is one
statement (the deletes in a ``WITH``); on SQLite, which has no ``DELETE`` in a
``WITH``, it is two, attempts first, both choosing the same first ``n`` by id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from bastion.adapters.sql.schema import Dialect
from bastion.adapters.sql.statements import Compiled, compile_statement
from bastion.blueprint.events import (
    DELIVERIES,
    DELIVERY_ATTEMPTS,
    EVENTS,
    OUTBOX,
    PROCESSED_EVENTS,
    SUBJECT_KEYS,
)
from bastion.core.ports import Row

__all__ = ["EventStatements", "OutboxStatements", "RecordInsert"]


class OutboxStatements:
    """The compiled claim, release, lag and prune statements."""

    def __init__(self, metadata: sa.MetaData, dialect: Dialect) -> None:
        self._postgres = dialect == "postgresql"
        outbox = metadata.tables[OUTBOX]
        older = outbox.alias("older")
        heads = (
            sa.select(outbox.c.stream)
            .where(
                ~sa.exists().where(
                    (older.c.stream == outbox.c.stream) & (older.c.seq < outbox.c.seq)
                )
            )
            .order_by(outbox.c.id)
            .limit(sa.bindparam("streams"))
        )
        if self._postgres:
            heads = heads.with_for_update(skip_locked=True, of=outbox)
        self.claim_heads: Compiled = compile_statement(heads, dialect)
        self.lag: Compiled = compile_statement(
            sa.select(sa.func.count(), sa.func.min(outbox.c.created_at)), dialect
        )
        self._outbox = outbox
        self._dialect = dialect

        deliveries = metadata.tables[DELIVERIES]
        earlier = deliveries.alias("earlier")
        due = (
            sa.select(deliveries.c.id)
            .where(
                (deliveries.c.status == "pending")
                & (deliveries.c.next_attempt_at <= sa.bindparam("now"))
                & ~sa.exists().where(
                    (earlier.c.target_kind == deliveries.c.target_kind)
                    & (earlier.c.target == deliveries.c.target)
                    & (earlier.c.stream == deliveries.c.stream)
                    & (earlier.c.seq < deliveries.c.seq)
                    & (earlier.c.status == "pending")
                )
            )
            .order_by(deliveries.c.next_attempt_at)
            .limit(sa.bindparam("limit"))
        )
        if self._postgres:
            due = due.with_for_update(skip_locked=True, of=deliveries)
        self.claim_due_deliveries: Compiled = compile_statement(due, dialect)
        self._deliveries = deliveries
        self._prune_statements(metadata, dialect)

        self._sized: dict[tuple[str, int], Compiled] = {}

    def _prune_statements(self, metadata: sa.MetaData, dialect: Dialect) -> None:
        deliveries, attempts = self._deliveries, metadata.tables[DELIVERY_ATTEMPTS]
        old_delivered = (
            sa.select(deliveries.c.id)
            .where(
                (deliveries.c.status == "delivered")
                & (deliveries.c.delivered_at < sa.bindparam("before"))
            )
            .order_by(deliveries.c.id)
            .limit(sa.bindparam("limit"))
        )
        self.prune_delivered_together: Compiled | None = None
        """PostgreSQL: up to ``limit`` delivered deliveries older than ``before`` and their
        attempts, deleted in one statement that returns how many of each went."""
        self.prune_attempts: Compiled | None = None
        """SQLite: the attempts at the deliveries :attr:`prune_deliveries` will delete."""
        self.prune_deliveries: Compiled | None = None
        """SQLite: up to ``limit`` delivered deliveries older than ``before``."""
        if self._postgres:
            # Locked as chosen: a delivery a replay made pending meanwhile is read again
            # and left out, and its attempts with it.
            gone = (
                sa.delete(deliveries)
                .where(deliveries.c.id.in_(old_delivered.with_for_update()))
                .returning(deliveries.c.id)
                .cte("gone")
            )
            logged = (
                sa.delete(attempts)
                .where(attempts.c.delivery.in_(sa.select(gone.c.id)))
                .returning(attempts.c.id)
                .cte("logged")
            )
            self.prune_delivered_together = compile_statement(
                sa.select(
                    sa.select(sa.func.count()).select_from(gone).scalar_subquery(),
                    sa.select(sa.func.count()).select_from(logged).scalar_subquery(),
                ),
                dialect,
            )
        else:
            # One write transaction at a time: both statements see the same deliveries.
            self.prune_attempts = compile_statement(
                sa.delete(attempts).where(attempts.c.delivery.in_(old_delivered)), dialect
            )
            self.prune_deliveries = compile_statement(
                sa.delete(deliveries).where(deliveries.c.id.in_(old_delivered)), dialect
            )
        notes = metadata.tables[PROCESSED_EVENTS]
        # Any ``limit`` of them (no order): the prune repeats until none is left.
        old_notes = (
            sa.select(notes.c.id)
            .where(notes.c.created_at < sa.bindparam("before"))
            .limit(sa.bindparam("limit"))
        )
        self.prune_processed: Compiled = compile_statement(
            sa.delete(notes).where(notes.c.id.in_(old_notes)), dialect
        )
        """Up to ``limit`` processed-event notes created before ``before``."""

    def _of_size(self, kind: str, count: int) -> Compiled:
        # One statement per list length, compiled on first use (batches repeat sizes).
        key = (kind, count)
        statement = self._sized.get(key)
        if statement is None:
            marks: list[sa.BindParameter[Any]] = [sa.bindparam(f"id_{i}") for i in range(count)]
            outbox, deliveries = self._outbox, self._deliveries
            built: sa.ClauseElement
            if kind == "pending":
                built = (
                    sa.select(outbox.c.id, outbox.c.stream, outbox.c.seq)
                    .where(outbox.c.stream.in_(marks))
                    .order_by(outbox.c.stream, outbox.c.seq)
                    .limit(sa.bindparam("events"))
                )
            elif kind == "delete":
                built = sa.delete(outbox).where(outbox.c.id.in_(marks))
            else:
                built = (
                    sa.update(deliveries)
                    .where(deliveries.c.id.in_(marks))
                    .values(
                        next_attempt_at=sa.bindparam("until"),
                        attempts=deliveries.c.attempts + 1,
                    )
                )
            statement = self._sized[key] = compile_statement(built, self._dialect)
        return statement

    def pending_of_streams(self, count: int) -> Compiled:
        """Every pending event of ``count`` streams (``id_0``...), in (stream, seq) order,
        up to ``events``."""
        return self._of_size("pending", count)

    def delete_outbox(self, count: int) -> Compiled:
        """``DELETE`` of ``count`` outbox rows by id (``id_0``...)."""
        return self._of_size("delete", count)

    def lease_deliveries(self, count: int) -> Compiled:
        """Move ``count`` deliveries' (``id_0``...) next attempt to ``until``; count the attempt."""
        return self._of_size("lease", count)

    @staticmethod
    def id_values(ids: Sequence[Any]) -> dict[str, Any]:
        """Named values ``id_0``... for :meth:`delete_outbox` and :meth:`lease_deliveries`."""
        return {f"id_{i}": value for i, value in enumerate(ids)}


class EventStatements:
    """Appending an event with its outbox row, and reading a record's stream head.

    On PostgreSQL both rows go in one statement (an ``INSERT`` in a ``WITH``): every
    change pays one round trip for its event, not two (measured: each statement costs
    the server process about 170 µs of CPU, whatever its size).
    """

    def __init__(self, metadata: sa.MetaData, dialect: Dialect) -> None:
        events, outbox = metadata.tables[EVENTS], metadata.tables[OUTBOX]
        self.event_columns = tuple(c.name for c in events.columns)
        self.outbox_columns = tuple(c.name for c in outbox.columns)
        insert_event = sa.insert(events).values(
            {name: sa.bindparam(f"e_{name}") for name in self.event_columns}
        )
        insert_outbox = sa.insert(outbox).values(
            {name: sa.bindparam(f"o_{name}") for name in self.outbox_columns}
        )
        self.together: Compiled | None = None
        self.event: Compiled | None = None
        self.outbox: Compiled | None = None
        self._dialect = dialect
        self._insert_event, self._insert_outbox = insert_event, insert_outbox
        keys = metadata.tables[SUBJECT_KEYS]
        self._insert_key = sa.insert(keys).values(
            {c.name: sa.bindparam(f"k_{c.name}") for c in keys.columns}
        )
        self._with_record: dict[tuple[str, bool], RecordInsert] = {}
        if dialect == "postgresql":
            self.together = compile_statement(
                insert_outbox.add_cte(insert_event.cte("appended")), dialect
            )
        else:  # in process: two statements cost no round trip
            self.event = compile_statement(insert_event, dialect)
            self.outbox = compile_statement(insert_outbox, dialect)
        self.head: Compiled = compile_statement(
            sa.select(events.c.seq, events.c.hash)
            .where(
                (events.c.resource == sa.bindparam("resource"))
                & (events.c.record_id == sa.bindparam("record_id"))
            )
            .order_by(events.c.seq.desc())
            .limit(1),
            dialect,
        )

    def with_record(self, table: sa.Table, *, key: bool) -> RecordInsert | None:
        """On PostgreSQL, the ``INSERT`` of a ``table`` record together with its event,
        its outbox row and, with ``key``, its personal fields' new key (inserts in its
        ``WITH``), compiled once per table; ``None`` on SQLite, where a statement costs
        no round trip."""
        if self._dialect != "postgresql":
            return None
        found = self._with_record.get((table.name, key))
        if found is None:
            insert_record = table.insert().values(
                {c.name: sa.bindparam(f"r_{c.name}") for c in table.columns}
            )
            ctes = [self._insert_event.cte("appended"), self._insert_outbox.cte("queued")]
            if key:
                ctes.append(self._insert_key.cte("keyed"))
            found = self._with_record[(table.name, key)] = RecordInsert(
                compile_statement(insert_record.add_cte(*ctes), self._dialect)
            )
        return found


class RecordInsert:
    """A compiled record ``INSERT`` carrying an event and its outbox row, and the order
    its arguments come in: parameters ``r_<column>`` from the record, ``e_<column>`` from
    the event, ``o_<column>`` from the outbox row, ``k_<column>`` from the key."""

    __slots__ = ("params", "sql")

    def __init__(self, compiled: Compiled) -> None:
        self.sql = compiled.sql
        self.params = tuple((name[0], name[2:]) for name in compiled.params)

    def args(
        self,
        rows: dict[str, Row],
        encoders: dict[str, Callable[[str, Any], Any]],
    ) -> list[Any]:
        """Positional arguments from ``rows`` and ``encoders``, keyed by parameter prefix."""
        return [encoders[source](name, rows[source][name]) for source, name in self.params]
