"""The hash chain of each record's events: tamper evidence for the event log.

Every event stores ``prev_hash`` (the ``hash`` of the record's previous event,
or :data:`GENESIS_HASH` for its first) and ``hash``: SHA-256 over the
canonical JSON of the event's stored fields, ``prev_hash`` included. Altering,
removing or reordering a stored event breaks the chain at that event, which
:func:`check_stream` reports. A stream is one record, so writes to different
records never wait on each other.

Personal data is stored encrypted (``sealed``) and the hash covers the
ciphertext: deleting the record's key erases the data and leaves every hash
valid.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

__all__ = ["GENESIS_HASH", "HASHED_FIELDS", "ChainBreak", "StreamChecker", "event_hash"]

GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of a record's first event."""

HASHED_FIELDS = (
    "id",
    "created_at",
    "resource",
    "record_id",
    "seq",
    "type",
    "record_version",
    "changes",
    "sealed",
    "actor_kind",
    "actor_id",
    "request_id",
    "trace_id",
    "prev_hash",
)
"""Every stored field of an event but ``hash`` itself (and the unused system ones)."""


def event_hash(event: Mapping[str, Any]) -> str:
    """The hash of ``event`` (a stored event row, or one about to be stored)."""
    material = {name: event.get(name) for name in HASHED_FIELDS}
    canonical = orjson.dumps(material, option=orjson.OPT_SORT_KEYS | orjson.OPT_UTC_Z)
    return hashlib.sha256(canonical).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainBreak:
    """An event whose place in its record's chain does not hold."""

    event_id: UUID
    resource: str
    record_id: UUID
    seq: int
    reason: str

    def describe(self) -> str:
        """One line for a report."""
        return (
            f"event {self.event_id} ({self.resource} {self.record_id}, #{self.seq}): {self.reason}"
        )


class StreamChecker:
    """Checks events fed in stream order: (resource, record id, seq) ascending.

    Feed every event with :meth:`check`; it returns the breaks that event shows.
    """

    def __init__(self) -> None:
        self._stream: tuple[str, UUID] | None = None
        self._last_hash = GENESIS_HASH
        self._last_seq = 0
        self.events = 0
        """How many events were checked."""
        self.streams = 0
        """How many records' streams were checked."""

    def check(self, event: Mapping[str, Any]) -> list[ChainBreak]:
        """The breaks ``event`` shows against the events fed before it."""
        stream = (event["resource"], event["record_id"])
        if stream != self._stream:
            self._stream = stream
            self._last_hash = GENESIS_HASH
            self._last_seq = 0
            self.streams += 1
        self.events += 1
        breaks: list[str] = []
        if event["seq"] != self._last_seq + 1:
            breaks.append(
                f"expected event #{self._last_seq + 1} of this record, found #{event['seq']} "
                "(an event is missing)"
            )
        if event["prev_hash"] != self._last_hash:
            breaks.append("prev_hash does not match the previous event's hash")
        if event_hash(event) != event["hash"]:
            breaks.append("its content does not match its hash (it was altered)")
        self._last_hash = event["hash"]
        self._last_seq = event["seq"]
        return [
            ChainBreak(event["id"], event["resource"], event["record_id"], event["seq"], reason)
            for reason in breaks
        ]

    def check_all(self, events: Iterable[Mapping[str, Any]]) -> list[ChainBreak]:
        """:meth:`check` for each of ``events``, in order."""
        return [found for event in events for found in self.check(event)]
