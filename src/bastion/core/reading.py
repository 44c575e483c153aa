"""Reads: one record, a page of records, aggregations; with relations embedded.

Every read runs in one read-only unit of work and costs a fixed number of
statements, whatever the page holds: one for the page, one more for
``count``, and one per expanded relation (a ``belongs_to`` fetches every
referred record at once; a ``has_many`` fetches up to ``expand_limit``
records per parent in one windowed statement).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any
from uuid import UUID

from bastion.blueprint import Blueprint
from bastion.core.access import CallerAccess, RowScope
from bastion.core.aggregation import AggregateSpec
from bastion.core.cursor import encode_cursor
from bastion.core.errors import FieldError, InvalidQuery, NotFound
from bastion.core.ports import Row, Store, UnitOfWork
from bastion.core.query import Page, QuerySpec
from bastion.core.query_rules import QueryRules
from bastion.core.relations import expansions_of
from bastion.core.validation import ResourceValidator

__all__ = ["RecordReader", "select_fields"]


def select_fields(record: Row, fields: frozenset[str] | None, expand: Iterable[str] = ()) -> Row:
    """The record cut to a sparse fieldset; expanded relations always stay."""
    if fields is None:
        return record
    keep = fields.union(expand)
    return {name: value for name, value in record.items() if name in keep}


class RecordReader:
    """Serves the read side of :class:`~bastion.core.records.RecordService`."""

    def __init__(
        self, *, blueprint: Blueprint, store: Store, validators: dict[str, ResourceValidator]
    ) -> None:
        self.store = store
        self.validators = validators
        self.expansions = {name: expansions_of(blueprint, name) for name in blueprint.resources}
        self.rules = {name: QueryRules(blueprint, name) for name in blueprint.resources}
        """What queries on each resource may name (for the API layers' parsers)."""

    async def get(
        self,
        resource: str,
        record_id: UUID,
        *,
        expand: Iterable[str] = (),
        caller: CallerAccess | None = None,
        scope: RowScope | None = None,
    ) -> Row:
        """The record as clients see it, with the relations ``expand`` names embedded.

        With ``caller``, a record outside ``scope`` is missing, hidden fields are
        left out, and embedded records obey their own resource's rules.
        """
        async with self.store.unit_of_work(read_only=True) as uow:
            row = await uow.fetch(resource, record_id)
            if row is None or (
                caller is not None
                and scope is not None
                and not caller.in_scope(resource, scope, row)
            ):
                raise NotFound(f"there is no {resource} record with id {record_id}")
            if expand:
                await self._expand(uow, resource, [row], expand, caller)
        return self.shown(resource, row, caller)

    async def page(
        self,
        resource: str,
        spec: QuerySpec,
        *,
        caller: CallerAccess | None = None,
        cursor_spec: QuerySpec | None = None,
    ) -> Page:
        """One page of the records ``spec`` selects, in its order (``spec`` already holds
        the caller's row filters; ``cursor_spec``, the query as the client sent it, is what
        the next cursor is bound to)."""
        async with self.store.unit_of_work(read_only=True) as uow:
            rows = await uow.fetch_page(resource, spec)
            has_more = len(rows) > spec.limit
            del rows[spec.limit :]
            # The cursor holds stored values: take it before expansion replaces ids.
            signed = spec if cursor_spec is None else cursor_spec
            next_cursor = encode_cursor(resource, signed, rows[-1]) if has_more else None
            total = await uow.count(resource, spec) if spec.count else None
            if spec.expand:
                await self._expand(uow, resource, rows, spec.expand, caller)
        return Page(
            records=self._shown_page(resource, rows, caller, spec),
            has_more=has_more,
            next_cursor=next_cursor,
            total=total,
        )

    def _shown_page(
        self, resource: str, rows: list[Row], caller: CallerAccess | None, spec: QuerySpec
    ) -> list[Row]:
        """Each row as :meth:`shown` and the sparse fieldset make it.

        Hot path: what to leave out is worked out once per page, not per row,
        and a page with nothing to leave out is served as it is.
        """
        hidden = self.validators[resource].hidden
        if caller is not None:
            hidden = hidden | caller.hidden(resource)
        if spec.fields is not None:
            keep = spec.fields.union(spec.expand)
            return [{k: v for k, v in row.items() if k in keep and k not in hidden} for row in rows]
        if hidden:
            return [{k: v for k, v in row.items() if k not in hidden} for row in rows]
        return rows

    def shown(self, resource: str, row: Row, caller: CallerAccess | None) -> Row:
        """``row`` as ``caller`` may see it (write-only and hidden fields left out)."""
        public = self.validators[resource].public(row)
        return public if caller is None else caller.redact(resource, public)

    async def aggregate(self, resource: str, spec: AggregateSpec) -> list[Row]:
        """One row per group (or one row without ``group_by``)."""
        async with self.store.unit_of_work(read_only=True) as uow:
            rows = await uow.aggregate(resource, spec)
        if len(rows) > spec.max_groups:
            raise InvalidQuery(
                f"the aggregation has more than {spec.max_groups} groups; "
                "narrow it with filters or group by fewer fields",
                errors=(FieldError("group_by", f"gives more than {spec.max_groups} groups"),),
            )
        return rows

    async def _expand(
        self,
        uow: UnitOfWork,
        resource: str,
        rows: list[Row],
        names: Iterable[str],
        caller: CallerAccess | None,
    ) -> None:
        for name in names:
            expansion = self.expansions[resource][name]
            target = expansion.target

            def visible(row: Row, target: str = target) -> bool:
                return caller is None or caller.readable_row(target, row)

            def public(row: Row, target: str = target) -> Row:
                return self.shown(target, row, caller)

            if expansion.link is None:
                ids = list(dict.fromkeys(row[name] for row in rows if row.get(name) is not None))
                found: dict[Any, Row] = {}
                if ids:
                    # A referred record the caller may not read embeds as null.
                    found = {
                        r["id"]: public(r) for r in await uow.fetch_many(target, ids) if visible(r)
                    }
                for row in rows:
                    if row.get(name) is not None:
                        row[name] = found.get(row[name])
                continue
            children: dict[UUID, list[Row]] = {row["id"]: [] for row in rows}
            if children:
                linked = await uow.fetch_children(expansion.link, list(children), expansion.limit)
                for parent, child in linked:
                    if visible(child):
                        children[parent].append(public(child))
            for row in rows:
                row[name] = children[row["id"]]
