"""Commands on records: create, read, list, update, replace, delete.

Every write runs in one unit of work: the change, its hooks, cascades, its
events (:mod:`bastion.core.events`) and idempotency record commit together.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal
from uuid import UUID

from bastion.blueprint import BelongsTo, Blueprint, OnDelete
from bastion.core.access import AccessRules, CallerAccess, RowScope
from bastion.core.aggregation import AggregateSpec
from bastion.core.batch import insert_batch, validate_batch
from bastion.core.context import RequestContext
from bastion.core.errors import (
    Conflict,
    DeleteRestricted,
    FieldError,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    PreconditionRequired,
)
from bastion.core.events import ChangeKind, EventLog
from bastion.core.hooks import HookEvent, HookMoment, Hooks
from bastion.core.ids import new_id
from bastion.core.ports import Row, Store, Telemetry, UnitOfWork
from bastion.core.query import Page, QuerySpec
from bastion.core.query_rules import QueryRules
from bastion.core.reading import RecordReader
from bastion.core.validation import ResourceValidator

__all__ = ["ExpectedVersion", "RecordService", "TransactionRecords"]

ExpectedVersion = int | Literal["*"] | None
"""From ``If-Match``: a version, ``"*"`` (any existing record) or ``None`` (not sent)."""

_Rows = list[Row]  # spelled here: inside RecordService, ``list`` is the method


@dataclass(frozen=True, slots=True)
class _Reference:
    """A ``belongs_to`` field of ``resource`` that points at another resource."""

    resource: str
    field: str
    on_delete: OnDelete


def _utcnow() -> datetime:
    return datetime.now(UTC)


class RecordService:
    """Runs record commands against a store, with validation, hooks and cascades."""

    def __init__(
        self,
        *,
        blueprint: Blueprint,
        store: Store,
        hooks: Hooks | None = None,
        telemetry: Telemetry | None = None,
        clock: Callable[[], datetime] = _utcnow,
        access: AccessRules | None = None,
        events: EventLog | None = None,
    ) -> None:
        self.blueprint = blueprint
        self.events = events
        """Appends an event per change; ``None`` keeps no event log."""
        self.access = access
        """Who may do what; ``None`` trusts every caller (embedding, tests, scripts)."""
        self.store = store
        self.hooks = hooks or Hooks()
        self.telemetry = telemetry
        self.clock = clock
        self.validators = {
            name: ResourceValidator(name, resource)
            for name, resource in blueprint.resources.items()
        }
        self.reader = RecordReader(blueprint=blueprint, store=store, validators=self.validators)
        self._references: dict[str, list[_Reference]] = {name: [] for name in blueprint.resources}
        self._belongs_to: dict[str, tuple[tuple[str, str], ...]] = {
            name: tuple(
                (field, spec.resource)
                for field, spec in resource.fields.items()
                if isinstance(spec, BelongsTo)
            )
            for name, resource in blueprint.resources.items()
        }
        """Resource -> (belongs_to field, the resource it refers to), for reference checks."""
        for name, resource in blueprint.resources.items():
            for field_name, spec in resource.fields.items():
                if isinstance(spec, BelongsTo):
                    self._references[spec.resource].append(
                        _Reference(name, field_name, spec.on_delete)
                    )

    def caller(self, ctx: RequestContext) -> CallerAccess | None:
        """The access rules bound to ``ctx`` (``None`` when access is not enforced)."""
        return None if self.access is None else self.access.caller(ctx)

    def _permit(
        self, resource: str, ctx: RequestContext, action: Any
    ) -> tuple[CallerAccess | None, RowScope | None]:
        self.validator(resource)
        caller = self.caller(ctx)
        if caller is None:
            return None, None
        return caller, caller.require(resource, action)

    def validator(self, resource: str) -> ResourceValidator:
        """The validator of ``resource``; ``NotFound`` for an unknown resource."""
        try:
            return self.validators[resource]
        except KeyError:
            raise NotFound(f"there is no resource called {resource!r}") from None

    # Reads ---------------------------------------------------------------

    def query_rules(self, resource: str) -> QueryRules:
        """What queries on ``resource`` may name; ``NotFound`` for an unknown resource."""
        self.validator(resource)
        return self.reader.rules[resource]

    async def get(
        self,
        resource: str,
        record_id: UUID,
        *,
        ctx: RequestContext,
        expand: Sequence[str] = (),
    ) -> Row:
        """The record as the caller may see it, with the relations ``expand`` names embedded."""
        caller, scope = self._permit(resource, ctx, "read")
        if caller is not None and expand:  # without expand the query names nothing to check
            caller.check_query(resource, QuerySpec(expand=tuple(expand)))
        return await self.reader.get(resource, record_id, expand=expand, caller=caller, scope=scope)

    async def aggregate(
        self, resource: str, spec: AggregateSpec, *, ctx: RequestContext
    ) -> Sequence[Row]:
        """Counts, sums, averages and extremes of the records ``spec`` selects, per group."""
        caller, scope = self._permit(resource, ctx, "list")
        if caller is not None and scope is not None:
            caller.check_aggregate(resource, spec)
            confined = caller.row_filters(resource, scope)
            confined += caller.related_row_filters(resource, spec.filters)
            spec = replace(spec, filters=spec.filters + confined)
        return await self.reader.aggregate(resource, spec)

    async def list(self, resource: str, spec: QuerySpec, *, ctx: RequestContext) -> Page:
        """One page of the records ``spec`` selects (see :mod:`bastion.core.query`)."""
        caller, scope = self._permit(resource, ctx, "list")
        asked = spec
        if caller is not None and scope is not None:
            caller.check_query(resource, spec)
            confined = caller.row_filters(resource, scope)
            confined += caller.related_row_filters(resource, spec.filters)
            if confined:
                spec = replace(spec, filters=spec.filters + confined)
        # The cursor is bound to the query the client sent, which holds no row filters.
        return await self.reader.page(resource, spec, caller=caller, cursor_spec=asked)

    # Writes --------------------------------------------------------------

    async def create(self, resource: str, body: Any, *, ctx: RequestContext) -> Row:
        """Validate ``body`` and insert a new record; the stored record, as clients see it."""
        caller, values = self.permitted_create(resource, body, ctx=ctx)
        async with self.store.unit_of_work() as uow:
            row = await TransactionRecords(self, uow, ctx).insert_values(resource, values)
        return self.shown(resource, row, caller)

    def permitted_create(
        self, resource: str, body: Any, *, ctx: RequestContext
    ) -> tuple[CallerAccess | None, dict[str, Any]]:
        """The caller's rules and the values of the record ``body`` creates, once the
        caller may create it (owner and tenant stamped); what every create path checks."""
        validator = self.validator(resource)
        caller, scope = self._permit(resource, ctx, "create")
        if caller is not None:
            caller.check_body(resource, body)
        values = validator.validate_input(body)
        if caller is not None and scope is not None:
            values = caller.stamp_new(resource, scope, values)
        return caller, values

    def permitted_create_many(
        self, resource: str, bodies: Sequence[Any], *, ctx: RequestContext, pointer: str = ""
    ) -> tuple[CallerAccess | None, _Rows]:
        """:meth:`permitted_create` for every record of a batch."""
        validator = self.validator(resource)
        caller, scope = self._permit(resource, ctx, "create")
        if caller is not None:
            for body in bodies:
                caller.check_body(resource, body)
        values = validate_batch(validator, bodies, pointer=pointer)
        if caller is not None and scope is not None:
            values = [caller.stamp_new(resource, scope, v) for v in values]
        return caller, values

    def shown(self, resource: str, row: Row, caller: CallerAccess | None) -> Row:
        """``row`` as ``caller`` may see it (write-only and hidden fields left out)."""
        return self.reader.shown(resource, row, caller)

    async def create_many(
        self, resource: str, bodies: Sequence[Any], *, ctx: RequestContext, pointer: str = ""
    ) -> _Rows:
        """Create every record of ``bodies`` in one transaction, or none of them.

        Errors point at the item: with ``pointer="/records"``, a bad ``email``
        in the fourth item is ``/records/3/email`` (see :mod:`bastion.core.batch`).
        """
        caller, values = self.permitted_create_many(resource, bodies, ctx=ctx, pointer=pointer)
        async with self.store.unit_of_work() as uow:
            records = TransactionRecords(self, uow, ctx)
            rows = await insert_batch(records, resource, values, pointer=pointer)
        return [self.shown(resource, row, caller) for row in rows]

    async def update(
        self,
        resource: str,
        record_id: UUID,
        patch: Any,
        *,
        ctx: RequestContext,
        expected_version: ExpectedVersion = None,
    ) -> Row:
        """Apply a JSON merge patch; every accepted update bumps ``version``."""
        validator = self.validator(resource)
        caller, scope = self._permit(resource, ctx, "update")
        if caller is not None:
            caller.check_body(resource, patch)
        self._require_if_match(resource, expected_version)
        async with self.store.unit_of_work() as uow:
            current = await _current(uow, resource, record_id, expected_version, caller, scope)
            values = validator.merge_patch(current, patch)
            if caller is not None and scope is not None:
                # ``values`` holds only the patched fields: an owner left out is kept.
                caller.check_owner_kept(resource, scope, current, {**current, **values})
            row = await TransactionRecords(self, uow, ctx).write_update(resource, current, values)
        return self.shown(resource, row, caller)

    async def replace(
        self,
        resource: str,
        record_id: UUID,
        body: Any,
        *,
        ctx: RequestContext,
        expected_version: ExpectedVersion = None,
        keep: Collection[str] = (),
    ) -> Row:
        """Replace every writable field (``PUT``); omitted ones become null or their default.

        Fields in ``keep`` (those an API version hides) keep their stored values.
        """
        validator = self.validator(resource)
        caller, scope = self._permit(resource, ctx, "update")
        if caller is not None:
            caller.check_body(resource, body)
            # What the caller may not write keeps its stored value instead of being cleared.
            keep = {*keep, *caller.unwritable(resource)}
        self._require_if_match(resource, expected_version)
        if not keep:
            values = validator.validate_input(body)
        async with self.store.unit_of_work() as uow:
            current = await _current(uow, resource, record_id, expected_version, caller, scope)
            if keep:
                values = validator.validate_input(validator.with_stored(body, current, keep))
            if caller is not None and scope is not None:
                caller.check_owner_kept(resource, scope, current, values)
            row = await TransactionRecords(self, uow, ctx).write_update(resource, current, values)
        return self.shown(resource, row, caller)

    async def delete(
        self,
        resource: str,
        record_id: UUID,
        *,
        ctx: RequestContext,
        expected_version: ExpectedVersion = None,
    ) -> None:
        """Delete the record and, by its relations' rules, the records that refer to it."""
        caller, scope = self._permit(resource, ctx, "delete")
        self._require_if_match(resource, expected_version)
        async with self.store.unit_of_work() as uow:
            current = await _current(uow, resource, record_id, expected_version, caller, scope)
            await TransactionRecords(self, uow, ctx).delete_record(resource, current, set())

    def _require_if_match(self, resource: str, expected: ExpectedVersion) -> None:
        if expected is None and self.blueprint.resources[resource].require_if_match:
            raise PreconditionRequired(
                f'{resource} requires If-Match with the version you read (e.g. If-Match: "3")'
            )


async def _current(
    uow: UnitOfWork,
    resource: str,
    record_id: UUID,
    expected: ExpectedVersion,
    caller: CallerAccess | None = None,
    scope: RowScope | None = None,
) -> Row:
    current = await uow.fetch(resource, record_id, for_update=True)
    if current is None:
        raise _missing(resource, record_id)
    if caller is not None and scope is not None and not caller.in_scope(resource, scope, current):
        # Out of the caller's rows: answered as missing, so existence does not leak.
        raise _missing(resource, record_id)
    if isinstance(expected, int) and current["version"] != expected:
        raise PreconditionFailed(
            f"the {resource} record is at version {current['version']}, not {expected}; "
            "read it again and retry",
            current_version=current["version"],
        )
    return current


def _same(new: Any, stored: Any) -> bool:
    """Whether writing ``new`` over ``stored`` would store the same thing.

    Containers and floats are never taken as the same: ``{"a": 1} == {"a": True}``
    and ``0.0 == -0.0`` in Python, not in the database.
    """
    return type(new) is type(stored) and not isinstance(new, dict | list | float) and new == stored


def _missing(resource: str, record_id: UUID) -> NotFound:
    return NotFound(f"there is no {resource} record with id {record_id}")


class TransactionRecords:
    """Record commands inside one open unit of work (what hooks use).

    Example, in a hook::

        customer = await event.records.get("customers", event.record["customer"])
    """

    def __init__(self, service: RecordService, uow: UnitOfWork, ctx: RequestContext) -> None:
        self._service = service
        self._uow = uow
        self._ctx = ctx

    async def get(self, resource: str, record_id: UUID, *, for_update: bool = False) -> Row | None:
        """The stored record (write-only fields included), or ``None``.

        With ``for_update`` the record stays locked until the transaction
        ends, so a read-modify-write in a hook cannot lose a concurrent update.
        """
        self._service.validator(resource)
        return await self._uow.fetch(resource, record_id, for_update=for_update)

    async def create(self, resource: str, values: dict[str, Any]) -> Row:
        """Create a record from JSON-like values (read-only fields may be set)."""
        validated = self._service.validator(resource).validate_input(values, trusted=True)
        return await self.insert_values(resource, validated)

    async def update(self, resource: str, record_id: UUID, patch: dict[str, Any]) -> Row:
        """Apply a merge patch to a record (read-only fields may be set)."""
        current = await _current(self._uow, resource, record_id, None)
        values = self._service.validator(resource).merge_patch(current, patch, trusted=True)
        return await self.write_update(resource, current, values)

    async def delete(self, resource: str, record_id: UUID) -> None:
        """Delete a record (with its cascades)."""
        current = await _current(self._uow, resource, record_id, None)
        await self.delete_record(resource, current, set())

    def after_commit(self, callback: Any) -> None:
        """Run ``callback`` (an async function) after the transaction commits."""
        self._uow.after_commit(callback)

    @property
    def service(self) -> RecordService:
        """The record service these records belong to."""
        return self._service

    @property
    def unit_of_work(self) -> UnitOfWork:
        """The open transaction (for code that reads stores directly, e.g. identity)."""
        return self._uow

    # Internals shared by the service and hooks ----------------------------

    async def _run_hooks(
        self, moment: HookMoment, resource: str, record: Row, previous: Row | None
    ) -> Row:
        hooks = self._service.hooks
        if not hooks.has(moment, resource):
            return record
        if not moment.startswith("before") or moment == "before_delete":
            # What is stored is final: after-hooks (and delete hooks) get a copy,
            # so the response can never differ from what a later read returns.
            await hooks.run(HookEvent(resource, moment, dict(record), previous, self._ctx, self))
            return record
        event = HookEvent(resource, moment, record, previous, self._ctx, self)
        await hooks.run(event)
        validator = self._service.validators[resource]
        system = {k: record[k] for k in ("id", "created_at", "updated_at", "version")}
        return {**system, **validator.validate_stored(event.record)}

    def _event_log(self, resource: str) -> EventLog | None:
        """The event log, if ``resource``'s changes are logged."""
        events = self._service.events
        return events if events is not None and events.records(resource) else None

    async def _log(
        self, kind: ChangeKind, resource: str, before: Row | None, after: Row | None
    ) -> None:
        if (events := self._event_log(resource)) is not None:
            at = after["updated_at"] if after is not None else self._service.clock()
            await events.append(self._uow, self._ctx, resource, kind, before, after, at=at)

    async def _check_references(self, resource: str, row: Row, changed: set[str] | None) -> None:
        errors = []
        for name, target in self._service._belongs_to[resource]:
            if row.get(name) is None:
                continue
            if changed is not None and name not in changed:
                continue
            if not await self._uow.exists(target, row[name]):
                errors.append(
                    FieldError(f"/{name}", f"there is no {target} record with id {row[name]}")
                )
        if errors:
            raise InvalidInput(
                f"the {resource} record refers to records that do not exist", errors=tuple(errors)
            )

    async def insert_values(self, resource: str, values: dict[str, Any]) -> Row:
        """Insert a record from validated values, running hooks and reference checks."""
        now = self._service.clock()
        defaults = self._service.validators[resource].read_only_defaults
        row: Row = {
            "id": new_id(),
            "created_at": now,
            "updated_at": now,
            "version": 1,
            **defaults,
            **values,
        }
        row = await self._run_hooks("before_create", resource, row, None)
        await self._check_references(resource, row, None)
        if (events := self._event_log(resource)) is not None:
            # The event goes in with the record: one statement on PostgreSQL.
            logged = await events.prepare(
                self._uow, self._ctx, resource, "created", None, row, at=row["updated_at"]
            )
            await self._uow.insert(resource, row, event=logged)
        else:
            await self._uow.insert(resource, row)
        return await self._run_hooks("after_create", resource, row, None)

    async def write_update(self, resource: str, current: Row, values: dict[str, Any]) -> Row:
        """Write ``values`` over ``current`` as the next version."""
        row: Row = {
            **current,
            **values,
            "version": current["version"] + 1,
            "updated_at": self._service.clock(),
        }
        row = await self._run_hooks("before_update", resource, row, current)
        changed = {k for k in row if row[k] != current.get(k)}
        await self._check_references(resource, row, changed)
        # What the patch names, and what else differs from the stored record (hooks,
        # the version): rewriting unchanged columns only costs index updates.
        changes = {
            k: v
            for k, v in row.items()
            if k not in ("id", "created_at") and (k in values or not _same(v, current.get(k)))
        }
        if not await self._uow.update(
            resource, current["id"], changes, expected_version=current["version"]
        ):
            raise Conflict(f"the {resource} record changed while it was being updated; retry")
        await self._log("updated", resource, current, row)
        return await self._run_hooks("after_update", resource, row, current)

    async def delete_record(self, resource: str, current: Row, seen: set[tuple[str, UUID]]) -> None:
        """Delete ``current`` after applying its incoming relations' on-delete rules."""
        key = (resource, current["id"])
        if key in seen:
            return
        seen.add(key)
        await self._run_hooks("before_delete", resource, current, current)
        touched = self._service.hooks.has("before_delete", resource)
        for ref in self._service._references[resource]:
            child_ids = await self._uow.referencing(ref.resource, ref.field, current["id"])
            child_ids = [cid for cid in child_ids if (ref.resource, cid) not in seen]
            if not child_ids:
                continue
            if ref.on_delete is OnDelete.RESTRICT:
                raise DeleteRestricted(
                    f"{len(child_ids)} {ref.resource} record(s) still refer to this {resource} "
                    f"record through {ref.field!r}; delete or reassign them first"
                )
            touched = True
            for child_id in child_ids:
                child = await self._uow.fetch(ref.resource, child_id, for_update=True)
                if child is None:
                    continue
                if ref.on_delete is OnDelete.CASCADE:
                    await self.delete_record(ref.resource, child, seen)
                else:
                    await self.write_update(ref.resource, child, {ref.field: None})
        if touched:
            # A hook or a cascade may have changed the record meanwhile (an item's
            # delete hook updating its order's total): its event shows the last state.
            current = await self._uow.fetch(resource, current["id"]) or current
        if not await self._uow.delete(resource, current["id"]):
            raise _missing(resource, current["id"])
        await self._log("deleted", resource, current, None)
        await self._run_hooks("after_delete", resource, current, current)
