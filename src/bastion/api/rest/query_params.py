"""Query strings of the REST API read into query specs.

The syntax is the REST layer's (``field[op]=value``, ``sort=-a,b``,
comma-separated lists); what the names and values may be is core's
(:class:`~bastion.core.QueryRules`). Any parameter that is neither a word
of the endpoint nor a field of the resource is refused, all of them in one
problem. On ``:aggregate`` the aggregate words win: a field named ``max`` is
filtered there with ``max[eq]=...``.
"""

from __future__ import annotations

import re

from starlette.datastructures import QueryParams

from bastion.core import (
    AGGREGATE_FUNCTIONS,
    Aggregate,
    AggregateSpec,
    FieldError,
    Filter,
    InvalidQuery,
    QueryRules,
    QuerySpec,
    decode_cursor,
)

__all__ = ["aggregate_spec", "item_view", "list_spec"]

LIST_PARAMETERS = ("limit", "cursor", "sort", "fields", "expand", "count", "q")
ITEM_PARAMETERS = ("fields", "expand", "as_of")
AGGREGATE_PARAMETERS = ("group_by", *AGGREGATE_FUNCTIONS, "q")
_FILTER = re.compile(r"(?P<path>[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)?)(?:\[(?P<op>[a-z]+)\])?")


def _single(params: QueryParams, name: str) -> str | None:
    values = params.getlist(name)
    if len(values) > 1:
        raise InvalidQuery(
            f"{name} is given {len(values)} times; give it once",
            errors=(FieldError(name, "is given more than once"),),
        )
    return values[0] if values else None


def _is_field_path(rules: QueryRules, path: str) -> bool:
    via, _, name = path.rpartition(".")
    if via:
        return via in rules.related
    return name in rules.readable


def _filters(rules: QueryRules, params: QueryParams, words: tuple[str, ...]) -> tuple[Filter, ...]:
    """Every filter parameter; unknown parameters and bad filters refused together."""
    unknown: list[str] = []
    found: list[Filter] = []
    errors: list[FieldError] = []
    for key, value in params.multi_items():
        if key in words:
            continue
        match = _FILTER.fullmatch(key)
        if match is None or not _is_field_path(rules, match["path"]):
            unknown.append(key)
            continue
        try:
            found.append(rules.filter(match["path"], match["op"] or "eq", value, parameter=key))
        except InvalidQuery as exc:
            errors.extend(exc.errors)
    if unknown:
        filterable = ", ".join(sorted(rules.filterable)) or "none"
        raise InvalidQuery(
            f"unknown query parameter(s): {', '.join(unknown)}; this endpoint accepts "
            f"{', '.join(words)} and filters on {filterable}",
            errors=tuple(FieldError(name, "is not a known parameter") for name in unknown),
        )
    if errors:
        detail = "; ".join(f"{error.pointer}: {error.detail}" for error in errors)
        raise InvalidQuery(detail, errors=tuple(errors))
    return tuple(found)


def list_spec(rules: QueryRules, params: QueryParams) -> QuerySpec:
    """The spec of ``GET /v1/{resource}?...``."""
    filters = _filters(rules, params, LIST_PARAMETERS)
    sort = _single(params, "sort")
    fields = _single(params, "fields")
    expand = _single(params, "expand")
    count = _single(params, "count")
    search = _single(params, "q")
    if count not in (None, "exact"):
        raise InvalidQuery(
            "count=exact is the only way to count",
            errors=(FieldError("count", f"must be exact, got {count!r}"),),
        )
    spec = QuerySpec(
        limit=rules.limit(_single(params, "limit")),
        filters=filters,
        sort=rules.sort(sort) if sort is not None else (),
        fields=rules.fields(fields) if fields is not None else None,
        expand=rules.expand(expand) if expand is not None else (),
        count=count == "exact",
        search=rules.search(search) if search is not None else None,
    )
    cursor = _single(params, "cursor")
    if cursor:
        spec = rules.check_cursor(spec, decode_cursor(cursor, rules.resource, spec))
    return spec


def item_view(
    rules: QueryRules, params: QueryParams
) -> tuple[frozenset[str] | None, tuple[str, ...]]:
    """The sparse fieldset and expansions of ``GET /v1/{resource}/{id}?...``."""
    unknown = sorted(key for key in params if key not in ITEM_PARAMETERS)
    if unknown:
        raise InvalidQuery(
            f"unknown query parameter(s): {', '.join(unknown)}; a single record accepts "
            "fields, expand and as_of",
            errors=tuple(FieldError(name, "is not a known parameter") for name in unknown),
        )
    fields = _single(params, "fields")
    expand = _single(params, "expand")
    return (
        rules.fields(fields) if fields is not None else None,
        rules.expand(expand) if expand is not None else (),
    )


def aggregate_spec(rules: QueryRules, params: QueryParams) -> AggregateSpec:
    """The spec of ``GET /v1/{resource}:aggregate?...``."""
    filters = _filters(rules, params, AGGREGATE_PARAMETERS)
    aggregates: list[Aggregate] = []
    for function in AGGREGATE_FUNCTIONS:
        text = _single(params, function)
        if text is not None:
            aggregates += rules.aggregates(function, text)
    if not aggregates:
        raise InvalidQuery(
            "ask for at least one aggregate: count=true, sum=, avg=, min=, max= or distinct=",
            errors=(FieldError("count", "no aggregate was asked for"),),
        )
    group_by = _single(params, "group_by")
    search = _single(params, "q")
    return AggregateSpec(
        aggregates=tuple(aggregates),
        group_by=rules.group_by(group_by) if group_by is not None else (),
        filters=filters,
        search=rules.search(search) if search is not None else None,
    )
