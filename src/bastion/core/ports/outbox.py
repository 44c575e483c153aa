"""The outbox port: what the relay and the delivery runner need of the database,
beside an ordinary unit of work (see :mod:`bastion.adapters.sql.outbox`)."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Protocol
from uuid import UUID

from bastion.core.ports.store import UnitOfWork

__all__ = ["OutboxStore", "OutboxUnit"]


class OutboxUnit(UnitOfWork, Protocol):
    """A unit of work that can also claim outbox events and due deliveries."""

    async def claim_outbox(self, *, streams: int, events: int) -> list[tuple[UUID, str, int]]:
        """Claim the pending events of up to ``streams`` records no other transaction
        holds: (event id, stream, seq) of up to ``events`` of them, in stream order."""
        ...

    async def release_outbox(self, event_ids: Sequence[UUID]) -> None:
        """Delete the outbox rows of these published events."""
        ...

    async def outbox_lag(self) -> tuple[int, datetime | None]:
        """How many events wait to be published, and when the oldest was written."""
        ...

    async def claim_deliveries(self, *, now: datetime, until: datetime, limit: int) -> list[UUID]:
        """Lease up to ``limit`` due deliveries until ``until`` (an attempt is counted)."""
        ...


class OutboxStore(Protocol):
    """Opens :class:`OutboxUnit` transactions (the SQL store does)."""

    def unit_of_work(self, *, read_only: bool = False) -> AbstractAsyncContextManager[OutboxUnit]:
        """A transaction: committed when the block exits normally, rolled back on error."""
        ...

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers."""
        ...
