"""What a list request asks for, independent of HTTP and SQL.

A :class:`QuerySpec` is built by an API layer (the REST query-string parser,
later GraphQL) after :class:`~bastion.core.query_rules.QueryRules` checked
every name and value against the blueprint, so a store adapter can trust it::

    QuerySpec(
        limit=20,
        filters=(Filter("status", "eq", "paid"), Filter("email", "eq", "a@x.io", via="customer")),
        sort=(SortKey("created_at", descending=True),),
        expand=("customer",),
    )

Records come back in :attr:`QuerySpec.order`: the requested sort keys, then
``id`` so the order is total. Pages are keyset-based: ``after`` holds the
last record's sort values, so deep pages cost the same as the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal
from uuid import UUID

__all__ = [
    "FILTER_OPERATORS",
    "Cursor",
    "Filter",
    "FilterOperator",
    "HasManyLink",
    "Page",
    "QuerySpec",
    "SortKey",
]

FilterOperator = Literal[
    "eq", "ne", "lt", "lte", "gt", "gte", "in", "nin", "like", "ilike", "isnull", "contains"
]
FILTER_OPERATORS: tuple[FilterOperator, ...] = (
    "eq",
    "ne",
    "lt",
    "lte",
    "gt",
    "gte",
    "in",
    "nin",
    "like",
    "ilike",
    "isnull",
    "contains",
)
"""Every filter operator, in the order the documentation lists them."""


@dataclass(frozen=True, slots=True)
class Filter:
    """One condition on a field; all of a query's filters must hold.

    ``value`` has the field's Python type (``Decimal``, aware ``datetime``,
    ``UUID``...); a tuple of them for ``in``/``nin``; a ``bool`` for
    ``isnull``; any JSON value for ``contains`` on a json field. A null field
    matches no operator but ``isnull``.
    """

    field: str
    op: FilterOperator
    value: Any
    via: str | None = None
    """A ``belongs_to`` field of the listed resource: ``field`` is then a field
    of the record it refers to (``customer.email=...``)."""


@dataclass(frozen=True, slots=True)
class SortKey:
    """One sort key: ascending puts nulls last, descending puts them first."""

    field: str
    descending: bool = False


@dataclass(frozen=True, slots=True)
class Cursor:
    """A position in a sorted listing: the last record's sort values and id."""

    values: tuple[Any, ...]
    """One value per key of :attr:`QuerySpec.order` before ``id``."""
    id: UUID


@dataclass(frozen=True, slots=True)
class QuerySpec:
    """One page of a resource's records: which, in what order, and in what shape."""

    limit: int = 20
    filters: tuple[Filter, ...] = ()
    sort: tuple[SortKey, ...] = ()
    """The requested order; :attr:`order` adds the ``id`` tie-breaker."""
    after: Cursor | None = None
    """Return the records that sort after this position."""
    fields: frozenset[str] | None = None
    """Sparse fieldset: only these fields (and ``id``); ``None`` for all."""
    expand: tuple[str, ...] = ()
    """Relations to embed: ``belongs_to`` fields and ``has_many`` names."""
    count: bool = False
    """Also count every record the filters match (``Page.total``)."""
    search: str | None = None
    """Full-text search terms (``?q=``); only for resources with searchable fields."""

    @property
    def order(self) -> tuple[SortKey, ...]:
        """The complete order: the sort keys up to ``id``, then ``id``.

        Ties are broken by ``id`` in the direction of the last sort key, so a
        one-key sort is served by one index on ``(key, id)`` read either way.
        """
        keys: list[SortKey] = []
        for key in self.sort:
            keys.append(key)
            if key.field == "id":
                return tuple(keys)
        descending = keys[-1].descending if keys else False
        return (*keys, SortKey("id", descending))


@dataclass(frozen=True, slots=True)
class Page:
    """One page of records, whether more follow, and where the next page starts."""

    records: list[dict[str, Any]]
    has_more: bool
    next_cursor: str | None = None
    total: int | None = None
    """Every record the filters match (only when the query asked to count)."""


@dataclass(frozen=True, slots=True)
class HasManyLink:
    """How the records of a ``has_many`` relation are found from their parents' ids.

    Without ``through``, ``resource.via`` refers to the parent. With
    ``through`` (many-to-many), ``through.via`` refers to the parent and
    ``through.far`` to the ``resource`` record.
    """

    resource: str
    via: str
    through: str | None = None
    far: str | None = None
