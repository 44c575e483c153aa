"""Ports: the small interfaces core needs, implemented by adapters."""

from bastion.core.ports.idempotency import IdempotencyRecord, StoredResponse
from bastion.core.ports.store import AfterCommit, Row, Store, UnitOfWork
from bastion.core.ports.telemetry import MemoryTelemetry, NullTelemetry, Telemetry

__all__ = [
    "AfterCommit",
    "IdempotencyRecord",
    "MemoryTelemetry",
    "NullTelemetry",
    "Row",
    "Store",
    "StoredResponse",
    "Telemetry",
    "UnitOfWork",
]
