"""A record's history and its state at a past instant, rebuilt from its events.

:class:`RecordHistory` serves both reads through the same access rules as
reading the record itself (:meth:`~bastion.core.records.RecordService.get`):

- the caller needs the ``read`` grant of the resource;
- the record must be one of the caller's rows (``rows: own``, tenants) as it
  stands now, or, once deleted, as it stood when it was deleted (so owners
  keep the history of what they deleted); otherwise it is missing (404), as
  a record that never existed is;
- fields hidden from the caller (``hidden_from``, a flag that is off) are
  left out; ``write_only`` fields stay :data:`~bastion.core.events.changes.REDACTED`
  in changes and are never part of a rebuilt record; personal fields are
  decrypted with the record's key, :data:`~bastion.core.events.changes.ERASED`
  once it was erased.

A rebuilt record folds the ``after`` values of every event up to the
instant asked for, so it is the record exactly as a read returned it right
after that write (values in their JSON form, as the REST API writes them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from cryptography.fernet import Fernet

from bastion.blueprint.events import EVENTS
from bastion.core.access import CallerAccess, RowScope
from bastion.core.errors import NotFound
from bastion.core.events.changes import ERASED, Changes, read_changes
from bastion.core.events.log import EventLog, last_event
from bastion.core.events.personal import SEALED, reveal, subject_of
from bastion.core.ports import Row, UnitOfWork
from bastion.core.query import Filter, QuerySpec, SortKey
from bastion.core.query_rules import invalid
from bastion.core.query_values import SYSTEM_FIELD_SPECS, parse_value

if TYPE_CHECKING:
    from bastion.core.context import RequestContext
    from bastion.core.records import RecordService

__all__ = [
    "DEFAULT_HISTORY_LIMIT",
    "MAX_HISTORY_LIMIT",
    "HistoryPage",
    "PastRecord",
    "Rebuilt",
    "RecordHistory",
    "decode_history_cursor",
    "encode_history_cursor",
    "fold",
    "parse_as_of",
    "parse_history_limit",
]

DEFAULT_HISTORY_LIMIT = 20
"""Events per history page when ``limit`` is not given."""
MAX_HISTORY_LIMIT = 100
"""The most events one history page holds."""

_CURSOR_VERSION = b"h"
_CURSOR_SIGNATURE_BYTES = 8
_CHUNK = 500
"""Events read per statement when a whole stream is folded."""
_SCAN_CHUNKS = 4
"""Statements one history page reads events with, at most (see ``_visible_page``)."""


# --- parameters ------------------------------------------------------------------------------


def parse_history_limit(text: str | None) -> int:
    """The page size of a history read: ``text``, or :data:`DEFAULT_HISTORY_LIMIT`."""
    if text is None:
        return DEFAULT_HISTORY_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_HISTORY_LIMIT:
        raise invalid(
            "limit", f"must be a whole number from 1 to {MAX_HISTORY_LIMIT}, got {text!r}"
        )
    return int(text)


def parse_as_of(text: str, *, now: datetime) -> datetime:
    """The instant ``as_of`` names (RFC 3339, with a timezone), no later than ``now``."""
    try:
        at: datetime = parse_value(SYSTEM_FIELD_SPECS["updated_at"], text)
    except ValueError as exc:
        raise invalid("as_of", str(exc)) from None
    if at > now:
        raise invalid(
            "as_of",
            "is in the future; leave as_of out to read the record as it is now",
        )
    return at


def _signature(resource: str, record_id: UUID) -> bytes:
    stream = subject_of(resource, record_id).encode()
    return hashlib.blake2b(stream, digest_size=_CURSOR_SIGNATURE_BYTES).digest()


def encode_history_cursor(resource: str, record_id: UUID, seq: int) -> str:
    """The opaque cursor resuming a record's history after the event numbered ``seq``."""
    raw = _CURSOR_VERSION + _signature(resource, record_id) + str(seq).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_history_cursor(token: str, resource: str, record_id: UUID) -> int:
    """The event number a :func:`encode_history_cursor` cursor resumes after.

    Raises:
        InvalidQuery: for a token this server did not issue for this record's history.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, binascii.Error):
        raw = b""
    head = len(_CURSOR_VERSION) + _CURSOR_SIGNATURE_BYTES
    body = raw[head:]
    # At most 18 digits: any event number fits, and no tampered one overflows a query.
    if raw[:1] != _CURSOR_VERSION or not body.isdigit() or len(body) > 18:
        raise invalid(
            "cursor", "is not a history cursor: pass the next_cursor of a previous page unchanged"
        )
    if raw[1:head] != _signature(resource, record_id):
        raise invalid(
            "cursor",
            "was issued for another record's history: start again without a cursor",
        )
    return int(body)


# --- folding ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """A record's state after a run of its events.

    ``values`` are the fields' values in their JSON form; after a delete, the
    values it deleted. ``complete`` is false when the run does not begin with
    the record's creation (its changes before were not logged).
    """

    values: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    deleted: bool
    complete: bool


def _kind(event: Row) -> str:
    return str(event["type"]).rpartition(".")[2]


def fold(events: Iterable[tuple[Row, Changes]]) -> Rebuilt | None:
    """The state the ``(event, changes)`` pairs of one record leave, in ``seq`` order
    (``None`` for no events)."""
    values: dict[str, Any] = {}
    first: Row | None = None
    last: Row | None = None
    for event, changes in events:
        kind = _kind(event)
        if kind == "created":
            values, first = {}, event
        side = "before" if kind == "deleted" else "after"
        values.update((name, change.get(side)) for name, change in changes.items())
        last = event
    if last is None:
        return None
    return Rebuilt(
        values=values,
        created_at=(first or last)["created_at"],
        updated_at=last["created_at"],
        version=last["record_version"],
        deleted=_kind(last) == "deleted",
        complete=first is not None,
    )


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """One page of a record's history, oldest event first."""

    entries: list[dict[str, Any]]
    """``{"id", "type", "sequence", "version", "time", "actor": {"kind", "id"},
    "request_id", "trace_id", "changes"}`` per event."""
    has_more: bool
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class PastRecord:
    """A record as it was at an instant, as the caller may see it."""

    record: dict[str, Any]
    """System fields and every visible field, values in their JSON form."""
    erased: tuple[str, ...]
    """Personal fields left out of ``record`` because their values were erased."""


class _Stream:
    """One record's events, read in one unit of work; personal data opened on demand."""

    def __init__(self, uow: UnitOfWork, log: EventLog, resource: str, record_id: UUID) -> None:
        self.uow = uow
        self.log = log
        self.resource = resource
        self.record_id = record_id
        self._key: Fernet | None = None
        self._key_read = False

    async def rows(self, *, after: int = 0, limit: int, until: datetime | None = None) -> list[Row]:
        """Up to ``limit + 1`` events after event number ``after`` (and up to ``until``)."""
        filters = [
            Filter("resource", "eq", self.resource),
            Filter("record_id", "eq", self.record_id),
        ]
        if after:
            filters.append(Filter("seq", "gt", after))
        if until is not None:
            filters.append(Filter("created_at", "lte", until))
        spec = QuerySpec(limit=limit, filters=tuple(filters), sort=(SortKey("seq"),))
        return await self.uow.fetch_page(EVENTS, spec)

    async def everything(self, *, until: datetime | None = None) -> list[Row]:
        """Every event (up to ``until``), oldest first."""
        found: list[Row] = []
        while True:
            rows = await self.rows(
                after=found[-1]["seq"] if found else 0, limit=_CHUNK, until=until
            )
            found += rows[:_CHUNK]
            if len(rows) <= _CHUNK:
                return found

    async def changes(self, event: Row, *, opened: bool) -> Changes:
        """The event's changes; with ``opened``, personal fields decrypted (or erased)."""
        changes = read_changes(event["changes"])
        sealed = event.get("sealed")
        if not opened or sealed is None:
            return changes
        if not self._key_read:
            subject = subject_of(self.resource, self.record_id)
            self._key = await self.log.keys.find(self.uow, subject)
            self._key_read = True
        return reveal(changes, self._key, sealed, event_type=event["type"])

    async def pairs(self, events: list[Row], *, opened: bool) -> list[tuple[Row, Changes]]:
        """Each event with its changes."""
        return [(event, await self.changes(event, opened=opened)) for event in events]


def _missing(resource: str, record_id: UUID) -> NotFound:
    # The words of a plain read: a record the caller may not see does not exist for them.
    return NotFound(f"there is no {resource} record with id {record_id}")


def _scope_holds(
    caller: CallerAccess, resource: str, scope: RowScope, record_id: UUID, values: Mapping[str, Any]
) -> bool:
    """:meth:`CallerAccess.in_scope` for values in their JSON form (ids as text)."""
    row = {**values, "id": record_id}
    for condition in caller.row_filters(resource, scope):
        if condition.op == "isnull" or str(row.get(condition.field)) != str(condition.value):
            return False
    return True


class RecordHistory:
    """Reads records' histories and past states for callers, under their access rules."""

    def __init__(self, service: RecordService) -> None:
        self._service = service

    def _log(self, resource: str, *, parameter: str | None) -> EventLog:
        log = self._service.events
        if log is None or not log.records(resource):
            reason = (
                "this server keeps no event log (BASTION_EVENT_LOG is off)"
                if log is None
                else f"{resource} does not log its changes (events: false in the blueprint)"
            )
            if parameter is not None:
                raise invalid(parameter, f"cannot be used: {reason}")
            raise NotFound(f"{resource} records have no history: {reason}")
        return log

    def _permit(
        self, resource: str, ctx: RequestContext
    ) -> tuple[CallerAccess | None, RowScope | None]:
        self._service.validator(resource)
        caller = self._service.caller(ctx)
        if caller is None:
            return None, None
        return caller, caller.require(resource, "read")

    def _hidden(self, resource: str, caller: CallerAccess | None) -> frozenset[str]:
        return frozenset() if caller is None else caller.hidden(resource)

    def _opened(self, resource: str, hidden: frozenset[str]) -> bool:
        """Whether the caller sees any personal field (else nothing is decrypted)."""
        personal = self._log(resource, parameter=None).fields(resource).personal
        return bool(personal - hidden)

    async def _check_visible(
        self, stream: _Stream, caller: CallerAccess | None, scope: RowScope | None
    ) -> None:
        """Raise ``NotFound`` unless the record exists (or existed) and is the caller's to
        read: its current state, or once deleted its last one, is in the caller's rows."""
        resource, record_id = stream.resource, stream.record_id
        current = await stream.uow.fetch(resource, record_id)
        if caller is None or scope is None or scope.unrestricted:
            if current is None and await last_event(stream.uow, resource, record_id) is None:
                raise _missing(resource, record_id)
            return
        if current is not None:
            if not caller.in_scope(resource, scope, current):
                raise _missing(resource, record_id)
            return
        last = await last_event(stream.uow, resource, record_id)
        if last is None:
            raise _missing(resource, record_id)
        if _kind(last) == "deleted":
            changes = await stream.changes(last, opened=True)
            values = {name: change.get("before") for name, change in changes.items()}
        else:  # deleted while its changes were not logged: its last logged state
            rebuilt = fold(await stream.pairs(await stream.everything(), opened=True))
            values = {} if rebuilt is None else rebuilt.values
        if not _scope_holds(caller, resource, scope, record_id, values):
            raise _missing(resource, record_id)

    async def page(
        self,
        resource: str,
        record_id: UUID,
        *,
        ctx: RequestContext,
        limit: int = DEFAULT_HISTORY_LIMIT,
        cursor: str | None = None,
    ) -> HistoryPage:
        """One page of the record's events, oldest first, as the caller may see them.

        An update that changed only fields hidden from the caller is left out (the
        versions of the entries show that something else happened); see
        :func:`_visible_page`."""
        caller, scope = self._permit(resource, ctx)
        log = self._log(resource, parameter=None)
        after = decode_history_cursor(cursor, resource, record_id) if cursor else 0
        hidden = self._hidden(resource, caller)
        shown = frozenset(self._service.blueprint.resources[resource].fields) - hidden
        opened = self._opened(resource, hidden)
        async with self._service.store.unit_of_work(read_only=True) as uow:
            stream = _Stream(uow, log, resource, record_id)
            await self._check_visible(stream, caller, scope)
            entries, has_more, last_seq = await _visible_page(
                stream, after=after, limit=limit, shown=shown, opened=opened
            )
        next_cursor = encode_history_cursor(resource, record_id, last_seq) if has_more else None
        return HistoryPage(entries=entries, has_more=has_more, next_cursor=next_cursor)

    async def as_of(
        self, resource: str, record_id: UUID, at: datetime, *, ctx: RequestContext
    ) -> PastRecord:
        """The record as it was at ``at``, as the caller may see it.

        Raises:
            NotFound: the caller may not read the record, or it did not exist at
                ``at`` (not created yet, or deleted by then).
            InvalidQuery: the resource's changes are not logged.
        """
        caller, scope = self._permit(resource, ctx)
        log = self._log(resource, parameter="as_of")
        hidden = self._hidden(resource, caller)
        opened = self._opened(resource, hidden)
        async with self._service.store.unit_of_work(read_only=True) as uow:
            stream = _Stream(uow, log, resource, record_id)
            await self._check_visible(stream, caller, scope)
            rebuilt = fold(await stream.pairs(await stream.everything(until=at), opened=opened))
            # Nothing before ``at``: created later, or logged only since the log began.
            origin = await stream.rows(after=0, limit=1, until=None) if rebuilt is None else []
        stamp = at.isoformat().replace("+00:00", "Z")
        if rebuilt is None and origin and _kind(origin[0]) == "created":
            raise NotFound(f"the {resource} record {record_id} did not exist yet at {stamp}")
        if rebuilt is None:
            raise NotFound(
                f"the {resource} record {record_id} cannot be rebuilt as of {stamp}: its event "
                "log does not reach back to then (it began after the record was created)"
            )
        if rebuilt.deleted:
            raise NotFound(f"the {resource} record {record_id} had been deleted by {stamp}")
        if not rebuilt.complete:
            raise NotFound(
                f"the {resource} record {record_id} cannot be rebuilt as of {stamp}: its event "
                "log does not reach back to its creation"
            )
        return self._past(resource, record_id, rebuilt, caller)

    def _past(
        self, resource: str, record_id: UUID, rebuilt: Rebuilt, caller: CallerAccess | None
    ) -> PastRecord:
        spec = self._service.blueprint.resources[resource]
        personal = self._log(resource, parameter=None).fields(resource).personal
        record: Row = {
            "id": record_id,
            "created_at": rebuilt.created_at,
            "updated_at": rebuilt.updated_at,
            "version": rebuilt.version,
        }
        erased: list[str] = []
        for name in spec.fields:
            if name not in rebuilt.values:
                continue  # a field added to the blueprint after that time
            value = rebuilt.values[name]
            if name in personal and value in (ERASED, SEALED):
                erased.append(name)
                continue
            record[name] = value
        hidden = self._hidden(resource, caller)
        return PastRecord(
            record=self._service.shown(resource, record, caller),
            erased=tuple(name for name in erased if name not in hidden),
        )


async def _visible_page(
    stream: _Stream, *, after: int, limit: int, shown: frozenset[str], opened: bool
) -> tuple[list[dict[str, Any]], bool, int]:
    """Up to ``limit`` entries the caller may see after event number ``after``, whether
    another follows, and the event number the next page starts after.

    The first statement reads ``limit + 1`` events (enough when the caller sees them
    all), the next ones :data:`_CHUNK`, at most :data:`_SCAN_CHUNKS` in all: a run of
    updates hidden from the caller costs a few queries, and however long it is, one
    page's work is bounded. A page that reached that bound before filling up is
    short, with ``has_more`` and a cursor past what it read.
    """
    entries: list[dict[str, Any]] = []
    cursor = scanned = after
    size = limit + 1
    for _ in range(_SCAN_CHUNKS):
        rows = await stream.rows(after=scanned, limit=size)
        for event, changes in await stream.pairs(rows[:size], opened=opened):
            visible = {n: c for n, c in changes.items() if n in shown}
            # An update of fields hidden from the caller only is not theirs to see.
            if visible or not event["type"].endswith(".updated"):
                if len(entries) == limit:
                    return entries, True, cursor  # one more the caller may see
                entries.append(_entry(event, visible))
                cursor = event["seq"]
            scanned = event["seq"]
        if len(rows) <= size:
            return entries, False, cursor  # the end of the stream
        size = _CHUNK
    return entries, True, scanned if len(entries) < limit else cursor


def _entry(event: Row, changes: Changes) -> dict[str, Any]:
    return {
        "id": event["id"],
        "type": event["type"],
        "sequence": event["seq"],
        "version": event["record_version"],
        "time": event["created_at"],
        "actor": {"kind": event["actor_kind"], "id": event.get("actor_id")},
        "request_id": event.get("request_id"),
        "trace_id": event.get("trace_id"),
        "changes": changes,
    }
