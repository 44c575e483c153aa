"""Ports: the small interfaces core needs, implemented by adapters."""

from bastion.core.ports.cache import ChangeFeed, ChangeListener, Changes, SharedCache
from bastion.core.ports.credentials import (
    PasswordHasher,
    SigningKey,
    SigningKeyRepository,
    TokenRejected,
)
from bastion.core.ports.idempotency import IdempotencyRecord, StoredResponse
from bastion.core.ports.signing import (
    ExternalClaims,
    ExternalVerifier,
    SecretBox,
    TokenSigner,
    open_text,
    seal_text,
)
from bastion.core.ports.store import AfterCommit, EventRows, Row, Store, UnitOfWork
from bastion.core.ports.telemetry import MemoryTelemetry, NullTelemetry, PoolStats, Telemetry
from bastion.core.ports.throttle import LoginThrottle

__all__ = [
    "AfterCommit",
    "ChangeFeed",
    "ChangeListener",
    "Changes",
    "EventRows",
    "ExternalClaims",
    "ExternalVerifier",
    "IdempotencyRecord",
    "LoginThrottle",
    "MemoryTelemetry",
    "NullTelemetry",
    "PasswordHasher",
    "PoolStats",
    "Row",
    "SecretBox",
    "SharedCache",
    "SigningKey",
    "SigningKeyRepository",
    "Store",
    "StoredResponse",
    "Telemetry",
    "TokenRejected",
    "TokenSigner",
    "UnitOfWork",
    "open_text",
    "seal_text",
]
