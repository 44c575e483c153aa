"""Filter parameters of a list: ``field=value`` and ``field[op]=value``, one per operator.

Which operators a field takes follows from its type, as the query rules of
the core decide (:func:`bastion.core.query_rules.operators_for`): every
field but a json one compares with ``eq``/``ne``/``in``/``nin`` and, unless
boolean, ``lt``/``lte``/``gt``/``gte``; text (enums included) also matches
``like``/``ilike`` patterns and ``contains`` substrings; a json field takes
``contains`` (a JSON document) and ``isnull``, which every field takes.
Filters on ``id``, ``created_at`` and ``updated_at`` are the same for every
resource, so they live once in ``components.parameters``.
"""

from __future__ import annotations

from bastion.api.rest.openapi.fields import (
    INT64_MAX,
    INT64_MIN,
    Schema,
    decimal_pattern,
    formatted_schema,
)
from bastion.blueprint import AnyField, DecimalField

__all__ = [
    "FILTER_OPERATORS",
    "MAX_LIST_VALUES",
    "field_filters",
    "system_filter_components",
    "system_filter_refs",
]

MAX_LIST_VALUES = 100
"""Most values one ``in``/``nin`` filter may list."""

FILTER_OPERATORS: dict[str, str] = {
    "eq": "equals",
    "ne": "differs from",
    "lt": "is less than",
    "lte": "is at most",
    "gt": "is greater than",
    "gte": "is at least",
    "in": "is one of (comma-separated; `\\,` for a comma inside a value)",
    "nin": "is none of (comma-separated; `\\,` for a comma inside a value)",
    "like": "matches the pattern, case-sensitively (`%` any run of characters, `_` one)",
    "ilike": "matches the pattern, ignoring case (`%` any run of characters, `_` one)",
    "isnull": "is null (`true`) or is not null (`false`)",
    "contains": "contains the value (text: a substring; json: a JSON document, "
    'e.g. `{"size": "L"}`)',
}
"""Every operator of the query language and what it tests."""

_TEXT = frozenset({"string", "text", "email", "url", "enum"})
_SYSTEM = {"id": "uuid", "created_at": "datetime", "updated_at": "datetime"}


def _operators(kind: str) -> list[str]:
    if kind == "json":
        return ["isnull", "contains"]
    operators = ["eq", "ne"]
    if kind != "boolean":
        operators += ["lt", "lte", "gt", "gte"]
    operators += ["in", "nin"]
    if kind in _TEXT:
        operators += ["like", "ilike"]
    operators.append("isnull")
    if kind in _TEXT:
        operators.append("contains")
    return operators


def _value(kind: str, field: AnyField | None, operator: str) -> Schema:
    """The schema of one value compared with a field of type ``kind``."""
    if (formatted := formatted_schema(kind)) is not None:
        return formatted
    match kind:
        case "integer":
            return {
                "type": "integer",
                "format": "int64",
                "minimum": INT64_MIN,
                "maximum": INT64_MAX,
            }
        case "float":
            return {"type": "number", "format": "double"}
        case "decimal":
            assert isinstance(field, DecimalField)
            pattern = decimal_pattern(field, signed=True)
            return {"type": "string", "format": "decimal", "pattern": pattern}
        case "enum" if operator in ("eq", "ne", "in", "nin"):
            return {"type": "string", "enum": list(getattr(field, "values", []))}
    return {"type": "string"}


def _parameter(key: str, name: str, kind: str, operator: str, field: AnyField | None) -> Schema:
    parameter: Schema = {
        "name": key,
        "in": "query",
        "required": False,
        "description": f"Only records whose `{name}` {FILTER_OPERATORS[operator]}.",
    }
    if operator in ("in", "nin"):
        item = _value(kind, field, operator)
        parameter["schema"] = {
            "type": "array",
            "items": item,
            "minItems": 1,
            "maxItems": MAX_LIST_VALUES,
        }
        parameter["style"] = "form"
        parameter["explode"] = False
    elif operator == "isnull":
        parameter["schema"] = {"type": "boolean"}
    elif operator in ("like", "ilike", "contains"):
        parameter["schema"] = {"type": "string", "minLength": 1}
    else:
        parameter["schema"] = _value(kind, field, operator)
    return parameter


def _filters(name: str, kind: str, field: AnyField | None) -> list[Schema]:
    operators = _operators(kind)
    # ``field=value`` means ``field[eq]=value``: both spellings are listed.
    plain = [_parameter(name, name, kind, "eq", field)] if "eq" in operators else []
    return plain + [_parameter(f"{name}[{op}]", name, kind, op, field) for op in operators]


def field_filters(name: str, field: AnyField) -> list[Schema]:
    """Every filter parameter of one filterable field, under the name given.

    ``name`` is the field's name in the API version, or ``customer.email``
    for a field of the record a ``belongs_to`` field refers to.
    """
    return _filters(name, field.type, field)


def system_filter_components() -> dict[str, Schema]:
    """The filters on system fields, for ``components.parameters``."""
    components: dict[str, Schema] = {}
    for name, kind in _SYSTEM.items():
        for parameter in _filters(name, kind, None):
            key = "filter." + parameter["name"].replace("[", ".").rstrip("]")
            components[key] = parameter
    return components


def system_filter_refs() -> list[Schema]:
    """References to every system-field filter."""
    return [{"$ref": f"#/components/parameters/{key}"} for key in system_filter_components()]
