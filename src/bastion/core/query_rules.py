"""What a resource's queries may name, and the checks that turn names into a spec.

One :class:`QueryRules` per resource, built from the blueprint: the fields
it may filter on (declared ``filterable``, plus ``id``, ``created_at`` and
``updated_at``), sort by (``sortable``, plus the same system fields), select
with ``fields``, embed with ``expand``, search and aggregate. API layers
parse their own syntax and call these checks; every refusal is an
:class:`~bastion.core.errors.InvalidQuery` naming the parameter at fault
and listing what is allowed. Write-only fields are never queryable.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bastion.blueprint import AnyField, BelongsTo, Blueprint, PageSize, Resource
from bastion.core.aggregation import Aggregate, AggregateFunction
from bastion.core.errors import FieldError, InvalidQuery
from bastion.core.query import FILTER_OPERATORS, Cursor, Filter, QuerySpec, SortKey
from bastion.core.query_values import (
    NUL_REFUSED,
    STRING_TYPES,
    SYSTEM_FIELD_SPECS,
    parse_value,
    value_fits,
)
from bastion.core.relations import Expansion, expansions_of

__all__ = [
    "MAX_LIST_VALUES",
    "MAX_SEARCH_LENGTH",
    "QueryRules",
    "invalid",
    "operators_for",
    "split_list",
]

MAX_LIST_VALUES = 100
"""Most values one ``in``/``nin`` filter may list."""
MAX_SEARCH_LENGTH = 200
_QUERYABLE_SYSTEM = ("id", "created_at", "updated_at")
_NUMERIC = frozenset({"integer", "float", "decimal"})
_ORDERED = _NUMERIC | STRING_TYPES | {"date", "datetime"}
_AGGREGATABLE: dict[str, frozenset[str]] = {
    "sum": _NUMERIC,
    "avg": _NUMERIC,
    "min": _ORDERED,
    "max": _ORDERED,
    "distinct": _ORDERED | {"boolean", "uuid", "belongs_to"},
}


def invalid(parameter: str, message: str) -> InvalidQuery:
    """The error for a bad query parameter: its name and what is wrong with it."""
    return InvalidQuery(f"{parameter}: {message}", errors=(FieldError(parameter, message),))


def operators_for(field: AnyField) -> tuple[str, ...]:
    """The filter operators that apply to ``field``'s type."""
    if field.type == "json":
        return ("isnull", "contains")
    allowed = {"eq", "ne", "in", "nin", "isnull"}
    if field.type != "boolean":
        allowed |= {"lt", "lte", "gt", "gte"}
    if field.type in STRING_TYPES:
        allowed |= {"like", "ilike", "contains"}
    return tuple(op for op in FILTER_OPERATORS if op in allowed)


def _system(names: tuple[str, ...]) -> dict[str, AnyField]:
    return {name: SYSTEM_FIELD_SPECS[name] for name in names}


def _filterable(resource: Resource) -> dict[str, AnyField]:
    declared = {n: f for n, f in resource.fields.items() if f.filterable and not f.write_only}
    return {**_system(_QUERYABLE_SYSTEM), **declared}


def split_list(text: str) -> list[str]:
    r"""Comma-separated values; ``\,`` is a comma inside a value and ``\\`` a backslash."""
    items, current, escaped = [], [], False
    for char in text:
        if escaped:
            current.append(char if char in ",\\" else "\\" + char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current) + ("\\" if escaped else ""))
    return items


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _pattern(text: str) -> str:
    trailing = len(text) - len(text.rstrip("\\"))
    if trailing % 2:
        raise ValueError(r"ends with a lone \ (write \\ for a backslash)")
    return text


class QueryRules:
    """The queryable parts of one resource."""

    def __init__(self, blueprint: Blueprint, resource: str) -> None:
        spec = blueprint.resources[resource]
        self.resource = resource
        self.page_size: PageSize = spec.page_size
        public = {n: f for n, f in spec.fields.items() if not f.write_only}
        self.readable: dict[str, AnyField] = {**SYSTEM_FIELD_SPECS, **public}
        self.filterable = _filterable(spec)
        self.sortable: dict[str, AnyField] = {
            **_system(_QUERYABLE_SYSTEM),
            **{n: f for n, f in public.items() if f.sortable and f.type != "json"},
        }
        self.searchable = tuple(n for n, f in public.items() if f.searchable)
        self.expansions: dict[str, Expansion] = expansions_of(blueprint, resource)
        self.related: dict[str, dict[str, AnyField]] = {
            name: _filterable(blueprint.resources[field.resource])
            for name, field in public.items()
            if isinstance(field, BelongsTo)
        }

    # --- list parameters -----------------------------------------------------------------

    def limit(self, text: str | None) -> int:
        """The page size: ``text``, or the resource's default when absent."""
        if text is None:
            return self.page_size.default
        largest = self.page_size.max
        if not text.isdigit() or not 1 <= int(text) <= largest:
            raise invalid("limit", f"must be a whole number from 1 to {largest}, got {text!r}")
        return int(text)

    def filter(self, path: str, op: str, text: str, *, parameter: str) -> Filter:
        """A filter on ``path`` (``total`` or ``customer.email``) from its text value."""
        via, _, name = path.rpartition(".")
        fields = self.related.get(via) if via else self.filterable
        if fields is None:
            through = ", ".join(sorted(self.related)) or "none"
            raise invalid(
                parameter,
                f"'{via}' is not a belongs_to field of {self.resource} "
                f"(filters may go through: {through})",
            )
        field = fields.get(name)
        if field is None:
            owner = f"the records {via} refers to" if via else self.resource
            allowed = ", ".join(sorted(fields))
            raise invalid(
                parameter, f"'{name}' is not a filterable field of {owner} (filterable: {allowed})"
            )
        if op not in FILTER_OPERATORS:
            raise invalid(
                parameter, f"unknown operator '{op}' (operators: {', '.join(FILTER_OPERATORS)})"
            )
        allowed_ops = operators_for(field)
        if op not in allowed_ops:
            raise invalid(
                parameter,
                f"{op} does not apply to {field.type} fields (use {', '.join(allowed_ops)})",
            )
        try:
            value = self._value(field, op, text)
        except ValueError as exc:
            raise invalid(parameter, str(exc)) from None
        return Filter(name, op, value, via or None)

    def _value(self, field: AnyField, op: str, text: str) -> Any:
        if "\x00" in text:
            raise ValueError(NUL_REFUSED)
        if op == "isnull":
            if text not in ("true", "false"):
                raise ValueError("must be true or false")
            return text == "true"
        if op in ("in", "nin"):
            items = split_list(text)
            if len(items) > MAX_LIST_VALUES:
                raise ValueError(f"lists at most {MAX_LIST_VALUES} values")
            return tuple(parse_value(field, item) for item in items)
        if op in ("like", "ilike"):
            return _pattern(text)
        if field.type in STRING_TYPES and op not in ("eq", "ne"):
            return text  # ranges and substrings of an enum need not be one of its values
        return parse_value(field, text)

    def sort(self, text: str) -> tuple[SortKey, ...]:
        """Sort keys from ``-created_at,title``."""
        keys: list[SortKey] = []
        for token in text.split(","):
            name = token.strip().removeprefix("-")
            if name not in self.sortable:
                allowed = ", ".join(sorted(self.sortable))
                raise invalid("sort", f"cannot sort by '{name}' (sortable: {allowed})")
            if any(key.field == name for key in keys):
                raise invalid("sort", f"'{name}' is given twice")
            keys.append(SortKey(name, token.strip().startswith("-")))
        return tuple(keys)

    def fields(self, text: str) -> frozenset[str]:
        """A sparse fieldset from ``id,title``; ``id`` is always part of it.

        ``has_many`` names may be listed too (``fields=name,orders&expand=orders``);
        expanded relations are kept whether listed or not.
        """
        names = _names(text)
        known = [*self.readable, *(n for n, e in self.expansions.items() if e.link is not None)]
        unknown = [name for name in names if name not in known]
        if unknown or not names:
            allowed = ", ".join(known)
            raise invalid("fields", f"unknown field(s) {', '.join(unknown)} (fields: {allowed})")
        return frozenset({"id", *names})

    def expand(self, text: str) -> tuple[str, ...]:
        """Relation names from ``customer,items``."""
        names = list(dict.fromkeys(_names(text)))
        unknown = [name for name in names if name not in self.expansions]
        if unknown or not names:
            allowed = ", ".join(self.expansions) or "none"
            raise invalid(
                "expand", f"cannot expand {', '.join(unknown) or 'nothing'} (relations: {allowed})"
            )
        return tuple(names)

    def search(self, text: str) -> str:
        """The full-text search terms of ``q``."""
        if not self.searchable:
            raise invalid("q", f"full-text search is not enabled for {self.resource}")
        terms = text.strip()
        if not terms or len(terms) > MAX_SEARCH_LENGTH:
            raise invalid("q", f"must hold 1 to {MAX_SEARCH_LENGTH} characters")
        return terms

    def check_cursor(self, spec: QuerySpec, cursor: Cursor) -> QuerySpec:
        """``spec`` resuming at ``cursor``, once its values fit the sort fields' types."""
        for key, value in zip(spec.order, cursor.values, strict=False):
            if not value_fits(self.sortable[key.field], value):
                raise invalid("cursor", "does not fit this query's sort")
        return replace(spec, after=cursor)

    # --- aggregations --------------------------------------------------------------------

    def group_by(self, text: str) -> tuple[str, ...]:
        """Group fields from ``status,customer``: filterable fields, json excepted."""
        groupable = [
            name
            for name, field in self.filterable.items()
            if name not in _QUERYABLE_SYSTEM and field.type != "json"
        ]
        names = list(dict.fromkeys(_names(text)))
        unknown = [name for name in names if name not in groupable]
        if unknown or not names:
            allowed = ", ".join(groupable) or "none"
            raise invalid(
                "group_by", f"cannot group by {', '.join(unknown) or 'nothing'} (fields: {allowed})"
            )
        return tuple(names)

    def aggregates(self, function: AggregateFunction, text: str) -> tuple[Aggregate, ...]:
        """The aggregates ``function=text`` asks for (``count=true``, ``sum=total,tax``)."""
        if function == "count":
            if text not in ("true", "false"):
                raise invalid("count", "must be true or false")
            return (Aggregate("count"),) if text == "true" else ()
        kinds = _AGGREGATABLE[function]
        allowed = [name for name, field in self.readable.items() if field.type in kinds]
        names = list(dict.fromkeys(_names(text)))
        unknown = [name for name in names if name not in allowed]
        if unknown or not names:
            raise invalid(
                function,
                f"cannot compute {function} of {', '.join(unknown) or 'nothing'} "
                f"(fields: {', '.join(allowed) or 'none'})",
            )
        return tuple(Aggregate(function, name) for name in names)
