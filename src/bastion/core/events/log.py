"""Appending events: one per create, update and delete, in the change's own transaction.

:class:`EventLog` is called by :class:`~bastion.core.records.TransactionRecords`
after each write, inside the same unit of work, so an event exists exactly
when its change committed: a failed write (validation, conflict, a crash
before commit) leaves none. Each event also gets an outbox row, which the
relay (``bastion worker``) deletes once the event is published.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from uuid import UUID

from bastion.blueprint import Blueprint
from bastion.blueprint.events import EVENTS, SUBJECT_KEYS
from bastion.core.context import RequestContext
from bastion.core.events.chain import GENESIS_HASH, event_hash
from bastion.core.events.changes import ChangeKind, EventFields, changes_json
from bastion.core.events.personal import SEALED, SubjectKeys, seal, subject_of
from bastion.core.ids import new_id
from bastion.core.ports import EventRows, Row, SecretBox, UnitOfWork
from bastion.core.query import Filter, QuerySpec, SortKey

__all__ = ["EventLog", "actor_kind", "event_type", "last_event"]


def event_type(resource: str, kind: ChangeKind) -> str:
    """The event type of a change: ``orders.created``, ``orders.updated``, ``orders.deleted``."""
    return f"{resource}.{kind}"


def actor_kind(ctx: RequestContext) -> str:
    """Who made a change: ``user``, ``service`` (a service account), ``anonymous`` (an
    unauthenticated caller of an open resource) or ``system`` (the server itself: the
    command line, hooks run outside a request)."""
    if ctx.actor is not None:
        return "service" if ctx.actor_kind == "service" else "user"
    if ctx.credential is None and ctx.request_id is not None:
        return "anonymous"
    return "system"


async def last_event(uow: UnitOfWork, resource: str, record_id: UUID) -> Row | None:
    """The latest event of the record, or ``None``."""
    spec = QuerySpec(
        limit=1,
        filters=(Filter("resource", "eq", resource), Filter("record_id", "eq", record_id)),
        sort=(SortKey("seq", descending=True),),
    )
    rows = await uow.fetch_page(EVENTS, spec)
    return rows[0] if rows else None


class EventLog:
    """Appends the events of the blueprint's resources (those with ``events`` on)."""

    def __init__(
        self,
        blueprint: Blueprint,
        *,
        secret_box: SecretBox | None = None,
        on_commit: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._fields = {
            name: EventFields.of(resource)
            for name, resource in blueprint.served_resources().items()
            if resource.events
        }
        self.keys = SubjectKeys(secret_box)
        """The per-record keys of personal data."""
        self._on_commit = on_commit

    def records(self, resource: str) -> bool:
        """Whether changes of ``resource`` are logged."""
        return resource in self._fields

    def fields(self, resource: str) -> EventFields:
        """How ``resource``'s events carry its fields."""
        return self._fields[resource]

    async def append(
        self,
        uow: UnitOfWork,
        ctx: RequestContext,
        resource: str,
        kind: ChangeKind,
        before: Row | None,
        after: Row | None,
        *,
        at: datetime,
    ) -> Row:
        """Append the event of one change (and its outbox row) in ``uow``; the stored event."""
        rows = await self.prepare(uow, ctx, resource, kind, before, after, at=at)
        if rows.subject_key is not None:
            await uow.insert(SUBJECT_KEYS, rows.subject_key)
        await uow.append_event(rows.event, rows.outbox)
        return rows.event

    async def prepare(
        self,
        uow: UnitOfWork,
        ctx: RequestContext,
        resource: str,
        kind: ChangeKind,
        before: Row | None,
        after: Row | None,
        *,
        at: datetime,
    ) -> EventRows:
        """The event of one change and its outbox row, for ``uow`` to store with the change
        (:meth:`UnitOfWork.insert` takes a creation's), not yet written. An update or a
        delete reads the record's stream head in ``uow`` (and creates its personal fields'
        key there if it has none); a creation's new key comes back in ``subject_key``."""
        record: Row = after if after is not None else before  # type: ignore[assignment]
        record_id = record["id"]
        seq, prev_hash = 1, GENESIS_HASH
        if kind != "created":
            head = await uow.stream_head(resource, record_id)
            if head is not None:
                seq, prev_hash = head[0] + 1, head[1]
        public, personal = self._fields[resource].split(kind, before, after)
        sealed = None
        key_row: Row | None = None
        if personal:
            subject = subject_of(resource, record_id)
            if kind == "created":
                # A new record (a new id) has no key yet: no need to look for one. The
                # key is stored with the record (EventRows.subject_key).
                key, key_row = self.keys.new(subject)
            else:
                key = await self.keys.find_or_create(uow, subject)
            sealed = seal(key, personal)
            public.update((name, dict(SEALED)) for name in personal)
        event: dict[str, Any] = {
            "id": new_id(),
            "created_at": at,
            "updated_at": at,
            "version": 1,
            "resource": resource,
            "record_id": record_id,
            "seq": seq,
            "type": event_type(resource, kind),
            "record_version": record["version"],
            "changes": changes_json(public),
            "sealed": sealed,
            "actor_kind": actor_kind(ctx),
            "actor_id": ctx.actor,
            "request_id": ctx.request_id,
            "trace_id": ctx.trace_id,
            "prev_hash": prev_hash,
        }
        event["hash"] = event_hash(event)
        outbox = {
            "id": event["id"],
            "created_at": at,
            "updated_at": at,
            "version": 1,
            "stream": subject_of(resource, record_id),
            "seq": seq,
        }
        if self._on_commit is not None:
            uow.after_commit(self._on_commit)
        return EventRows(event, outbox, key_row)
