"""The audit/event log: events appended with each change, hash-chained per record,
relayed through the outbox to brokers, webhooks and in-app consumers."""

from bastion.core.events.chain import GENESIS_HASH, ChainBreak, StreamChecker, event_hash
from bastion.core.events.changes import ERASED, REDACTED, ChangeKind, EventFields
from bastion.core.events.log import EventLog, actor_kind, event_type, last_event

__all__ = [
    "ERASED",
    "GENESIS_HASH",
    "REDACTED",
    "ChainBreak",
    "ChangeKind",
    "EventFields",
    "EventLog",
    "StreamChecker",
    "actor_kind",
    "event_hash",
    "event_type",
    "last_event",
]
