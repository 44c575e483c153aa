"""``GET /{version}/{resource}:aggregate``: its parameters and its answer.

``group_by`` names filterable fields to group on; ``count=true`` counts each
group; ``sum``, ``avg``, ``min``, ``max`` and ``distinct`` each name the
fields to compute them over (system fields included); at least one of them
is needed. The list filters (and ``q``) narrow the records first. Each row
of the answer holds the group's values under their field names and each
result under ``<function>_<field>``
(``{"status": "paid", "count": 3, "sum_total": "120.00"}``), as
:mod:`bastion.core.aggregation` computes them.
"""

from __future__ import annotations

from bastion.api.rest.openapi.fields import Schema, field_schema, nullable
from bastion.api.rest.openapi.parameters import (
    names_parameter,
    resource_filters,
    search_parameter,
)
from bastion.api.rest.openapi.views import ApiView, ResourceView
from bastion.blueprint import AnyField, DateTimeField, IntegerField, UuidField

__all__ = ["aggregate_parameters", "aggregate_schema"]

_NUMERIC = frozenset({"integer", "float", "decimal"})
_ORDERED = _NUMERIC | {"string", "text", "email", "url", "enum", "date", "datetime"}

_FUNCTIONS: dict[str, tuple[frozenset[str], str]] = {
    "sum": (_NUMERIC, "The sum of these fields in each group (null over no values)."),
    "avg": (_NUMERIC, "The mean of these fields in each group (null over no values)."),
    "min": (_ORDERED, "The smallest value of these fields in each group."),
    "max": (_ORDERED, "The largest value of these fields in each group."),
    "distinct": (
        _ORDERED | {"boolean", "uuid", "belongs_to"},
        "The number of distinct non-null values of these fields in each group.",
    ),
}

_SYSTEM_FIELDS: dict[str, AnyField] = {
    "id": UuidField(required=True),
    "created_at": DateTimeField(required=True),
    "updated_at": DateTimeField(required=True),
    "version": IntegerField(required=True, min=1),
}


def _groupable(view: ResourceView) -> list[str]:
    return [
        name for name, field in view.readable.items() if field.filterable and field.type != "json"
    ]


def _fields_for(view: ResourceView, kinds: frozenset[str]) -> dict[str, AnyField]:
    every = {**_SYSTEM_FIELDS, **view.readable}
    return {name: field for name, field in every.items() if field.type in kinds}


def aggregate_parameters(api: ApiView, view: ResourceView) -> list[Schema]:
    """Every parameter of the aggregate endpoint of one resource."""
    parameters: list[Schema] = []
    groupable = _groupable(view)
    if groupable:
        parameters.append(names_parameter("group_by", groupable, "Fields to group on."))
    parameters.append(
        {
            "name": "count",
            "in": "query",
            "required": False,
            "description": "`true` adds `count`, the number of records in each group.",
            "schema": {"type": "boolean"},
        }
    )
    for function, (kinds, description) in _FUNCTIONS.items():
        fields = _fields_for(view, kinds)
        if fields:
            parameters.append(names_parameter(function, list(fields), description))
    return parameters + search_parameter(view) + resource_filters(api, view)


_ANNOTATIONS = frozenset({"description", "examples", "readOnly"})


def _result(function: str, field: AnyField) -> Schema:
    """The schema of ``<function>_<field>`` in a row."""
    if function == "distinct":
        return {"type": "integer", "minimum": 0}
    if function in ("min", "max"):
        schema = field_schema(field, mode="read")
        return nullable({k: v for k, v in schema.items() if k not in _ANNOTATIONS})
    if field.type == "decimal":
        # Exact, at the field's scale (sum) or four places more (avg).
        return {"type": ["string", "null"], "format": "decimal"}
    if function == "sum" and field.type == "integer":
        return {"type": ["integer", "null"]}
    return {"type": ["number", "null"]}


def aggregate_schema(view: ResourceView) -> Schema:
    """The answer of the aggregate endpoint: ``{"data": [row, ...]}``, one row per group."""
    properties: Schema = {
        name: field_schema(view.readable[name], mode="read") for name in _groupable(view)
    }
    properties["count"] = {"type": "integer", "minimum": 0}
    for function, (kinds, _) in _FUNCTIONS.items():
        for name, field in _fields_for(view, kinds).items():
            properties[f"{function}_{name}"] = _result(function, field)
    row: Schema = {
        "type": "object",
        "description": "One group: its values of the `group_by` fields and what was asked for "
        "(`count`, `sum_<field>`, `avg_<field>`, ...).",
        "properties": properties,
    }
    return {
        "type": "object",
        "description": f"Aggregates over {view.name} records: one row per group, sorted by the "
        "group's values (nulls last).",
        "properties": {"data": {"type": "array", "items": row}},
        "required": ["data"],
    }
