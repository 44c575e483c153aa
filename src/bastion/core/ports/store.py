"""The storage port: a transactional unit of work over resource records.

A *row* is a ``dict`` from field name to a Python value of the field's type
(``str``, ``int``, ``float``, ``Decimal``, ``bool``, ``date``, aware
``datetime`` in UTC, ``UUID``, JSON-compatible ``dict``/``list``), system
fields included. Adapters convert to and from their database's types.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, NamedTuple, Protocol
from uuid import UUID

from bastion.core.aggregation import AggregateSpec
from bastion.core.ports.idempotency import IdempotencyRecord
from bastion.core.query import HasManyLink, QuerySpec

__all__ = ["AfterCommit", "EventRows", "Row", "Store", "UnitOfWork"]

Row = dict[str, Any]
AfterCommit = Callable[[], Awaitable[None]]


class EventRows(NamedTuple):
    """An event (a ``bastion_events`` row) and its outbox row, always stored together,
    and the new per-record key of its personal fields (a ``bastion_subject_keys`` row)
    if the change created one."""

    event: Row
    outbox: Row
    subject_key: Row | None = None


class UnitOfWork(Protocol):
    """One database transaction; everything a command writes commits together.

    Errors an adapter raises are core errors (:mod:`bastion.core.errors`):
    ``UniqueViolation`` for a taken unique value, ``StoreUnavailable`` when
    the database cannot be reached.
    """

    async def fetch(
        self, resource: str, record_id: UUID, *, for_update: bool = False
    ) -> Row | None:
        """The record, or ``None``; ``for_update`` locks it until the end of the transaction."""
        ...

    async def fetch_page(self, resource: str, spec: QuerySpec) -> list[Row]:
        """Up to ``spec.limit + 1`` records matching ``spec``'s filters and search,
        in ``spec.order``, after the position ``spec.after``."""
        ...

    async def count(self, resource: str, spec: QuerySpec) -> int:
        """How many records match ``spec``'s filters and search (its cursor ignored)."""
        ...

    async def fetch_many(self, resource: str, record_ids: Sequence[UUID]) -> list[Row]:
        """The records with these ids, in no particular order (missing ones left out)."""
        ...

    async def fetch_children(
        self, link: HasManyLink, parent_ids: Sequence[UUID], limit_per_parent: int
    ) -> list[tuple[UUID, Row]]:
        """(parent id, record) for up to ``limit_per_parent`` linked records per parent,
        each parent's records in id order, in one statement."""
        ...

    async def aggregate(self, resource: str, spec: AggregateSpec) -> list[Row]:
        """Up to ``spec.max_groups + 1`` result rows, sorted by group values (nulls last)."""
        ...

    async def exists(self, resource: str, record_id: UUID) -> bool:
        """Whether the record exists."""
        ...

    async def referencing(self, resource: str, field: str, target_id: UUID) -> list[UUID]:
        """Ids of ``resource`` records whose ``field`` refers to ``target_id``."""
        ...

    async def insert(self, resource: str, row: Row, *, event: EventRows | None = None) -> None:
        """Store a new record (all fields given, system fields included) and, with
        ``event``, the event of its creation and the rows that go with it (one statement
        on PostgreSQL)."""
        ...

    async def update(
        self, resource: str, record_id: UUID, changes: Row, *, expected_version: int
    ) -> bool:
        """Write ``changes`` (system fields included) if the stored version is
        ``expected_version``; ``False`` if it is not (or the record is gone)."""
        ...

    async def delete(self, resource: str, record_id: UUID) -> bool:
        """Delete the record; ``False`` if it did not exist."""
        ...

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback`` once the transaction has committed (never on rollback)."""
        ...

    # The event log: appended in the command's own transaction ------------

    async def append_event(self, event: Row, outbox: Row) -> None:
        """Store an event (``bastion_events``) and its outbox row together."""
        ...

    async def stream_head(self, resource: str, record_id: UUID) -> tuple[int, str] | None:
        """``(seq, hash)`` of the record's latest event, or ``None`` if it has none."""
        ...

    # Idempotency keys: stored in the command's own transaction ----------

    async def idempotency_lock(self, scope: str, key: str) -> bool:
        """Claim ``(scope, key)`` until the transaction ends; ``False`` if another
        transaction holds it. Call it first in the transaction.

        A database whose write transactions already exclude each other (SQLite)
        returns ``True``: a duplicate waits for the first to commit instead.
        """
        ...

    async def idempotency_get(self, scope: str, key: str) -> IdempotencyRecord | None:
        """The record stored for the key, expired or not, or ``None``."""
        ...

    async def idempotency_put(self, record: IdempotencyRecord) -> None:
        """Store ``record``, replacing any (expired) record of the same key."""
        ...

    async def idempotency_purge(self, *, now: datetime, limit: int) -> int:
        """Delete up to ``limit`` records that expired before ``now``; how many went."""
        ...

    # Event retention: what delivery leaves behind, pruned in bounded batches ----

    async def prune_delivered(self, *, before: datetime, limit: int) -> tuple[int, int]:
        """Delete up to ``limit`` deliveries that are ``delivered`` with ``delivered_at``
        before ``before``, with every attempt at them, in set-based statements;
        ``(deliveries, attempts)`` deleted. Dead and pending deliveries stay, and so
        does the event log."""
        ...

    async def prune_processed(self, *, before: datetime, limit: int) -> int:
        """Delete up to ``limit`` processed-event notes created before ``before``, in one
        statement; how many went."""
        ...


class Store(Protocol):
    """Opens units of work on one database."""

    def unit_of_work(self, *, read_only: bool = False) -> AbstractAsyncContextManager[UnitOfWork]:
        """A transaction: committed when the block exits normally, rolled back on error."""
        ...

    async def start(self) -> None:
        """Open connections (called once at start-up)."""
        ...

    async def close(self) -> None:
        """Close every connection."""
        ...

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers."""
        ...
