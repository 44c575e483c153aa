"""One blueprint field as JSON Schema: exactly the values the REST API accepts and serves.

The schemas follow :mod:`bastion.core.validation`: strict JSON types where
JSON has them (an integer is never a string), strings with a ``format`` where
it has none (dates, date-times, UUIDs), and decimals as strings whose
``pattern`` spells out the precision and scale.

Example:
    >>> from bastion.blueprint import DecimalField
    >>> field_schema(DecimalField(precision=6, scale=2, min="0"), mode="create")["pattern"]
    '^[0-9]{1,4}(\\\\.[0-9]{1,2})?$'
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal
from uuid import UUID

from bastion.blueprint import AnyField, BelongsTo, DecimalField, FloatField, IntegerField

__all__ = [
    "INT64_MAX",
    "INT64_MIN",
    "Mode",
    "Schema",
    "decimal_pattern",
    "field_schema",
    "formatted_schema",
    "json_value",
    "nullable",
]

Schema = dict[str, Any]
"""A JSON Schema (draft 2020-12, as OpenAPI 3.1 uses it)."""

Mode = Literal["read", "create", "patch"]
"""Which document a field schema is for: a served record, a create body or a patch body."""

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)

_FORMATTED: dict[str, Schema] = {
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "datetime": {"type": "string", "format": "date-time"},
    "uuid": {"type": "string", "format": "uuid"},
    "belongs_to": {"type": "string", "format": "uuid"},
}


def formatted_schema(kind: str) -> Schema | None:
    """The schema of a type fully described by its JSON type and format (a fresh copy)."""
    schema = _FORMATTED.get(kind)
    return None if schema is None else dict(schema)


_EXAMPLE_ID = "0190a6f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b"


def json_value(value: Any) -> Any:
    """A blueprint value (a default, a bound) as the API writes it in JSON."""
    if isinstance(value, datetime):
        text = value.astimezone(UTC).isoformat() if value.tzinfo else value.isoformat()
        return text.replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def _decimal_text(field: DecimalField, value: Any) -> str | None:
    """``value`` written as the API serves this decimal field, or ``None`` if it cannot be."""
    try:
        number = Decimal(str(value)).quantize(Decimal(1).scaleb(-(field.scale or 0)))
    except InvalidOperation:
        return None
    return format(number, "f")


def decimal_pattern(field: DecimalField, *, signed: bool | None = None) -> str:
    """The pattern of ``field``'s values: digits before and after the point, and a sign.

    ``signed`` defaults to whether the field's ``min`` lets values be negative.
    """
    if signed is None:
        signed = field.min is None or Decimal(str(field.min)) < 0
    scale = field.scale or 0
    whole = "[0-9]+" if field.precision is None else f"[0-9]{{1,{max(field.precision - scale, 1)}}}"
    fraction = rf"(\.[0-9]{{1,{scale}}})?" if scale else ""
    return f"^{'-?' if signed else ''}{whole}{fraction}$"


def _note(field: AnyField) -> str | None:
    """What the schema keywords cannot say about ``field``, in words."""
    if isinstance(field, BelongsTo):
        return f"The id of a {field.resource} record."
    if not isinstance(field, DecimalField):
        return None
    bounds = []
    if field.min is not None:
        bounds.append(f"at least {json_value(field.min)}")
    if field.max is not None:
        bounds.append(f"at most {json_value(field.max)}")
    limits = f"; {' and '.join(bounds)}" if bounds else ""
    return (
        f"An exact decimal written as a JSON string ({field.precision} digits, "
        f"{field.scale} after the point{limits})."
    )


def _value_schema(field: AnyField) -> Schema:
    """The JSON Schema of a non-null value of ``field``."""
    if (formatted := formatted_schema(field.type)) is not None:
        return formatted
    match field.type:
        case "string":
            schema: Schema = {"type": "string", "maxLength": field.max_length}
            if field.min_length:
                schema["minLength"] = field.min_length
            if field.pattern is not None:
                schema["pattern"] = field.pattern
            return schema
        case "text":
            schema = {"type": "string"}
            if field.max_length is not None:
                schema["maxLength"] = field.max_length
            return schema
        case "integer":
            return {
                "type": "integer",
                "format": "int64",
                "minimum": INT64_MIN if field.min is None else field.min,
                "maximum": INT64_MAX if field.max is None else field.max,
            }
        case "float":
            schema = {"type": "number", "format": "double"}
            if field.min is not None:
                schema["minimum"] = field.min
            if field.max is not None:
                schema["maximum"] = field.max
            return schema
        case "decimal":
            return {"type": "string", "format": "decimal", "pattern": decimal_pattern(field)}
        case "enum":
            return {"type": "string", "enum": list(field.values)}
        case "email":
            return {"type": "string", "format": "email", "maxLength": field.max_length}
        case "url":
            return {
                "type": "string",
                "format": "uri",
                "pattern": "^[Hh][Tt][Tt][Pp][Ss]?://",
                "maxLength": field.max_length,
            }
        case "json":
            return {}
    raise AssertionError(f"unhandled field type {field.type!r}")  # pragma: no cover


def _number_example(field: IntegerField | FloatField) -> int | float:
    value: int | float = 1 if field.min is None else field.min
    if field.max is not None:
        value = min(value, field.max)
    return float(value) if isinstance(field, FloatField) else value


def _decimal_example(field: DecimalField) -> str | None:
    value = Decimal("12.5") if field.min is None else Decimal(str(field.min))
    if field.max is not None:
        value = min(value, Decimal(str(field.max)))
    text = _decimal_text(field, value)
    if text is None or not re.fullmatch(decimal_pattern(field), text):
        return None
    return text


def _example(field: AnyField) -> Any:
    """A value that satisfies ``field``'s rules, or ``None`` when none is obvious."""
    if field.has_default:
        if field.type == "decimal":
            return _decimal_text(field, field.default)
        return json_value(field.default)
    match field.type:
        case "string":
            if field.pattern is not None:
                return None
            text = "example"[: field.max_length]
            return text.ljust(field.min_length, "x")
        case "text":
            return "Some longer text."[: field.max_length or None]
        case "integer" | "float":
            return _number_example(field)
        case "decimal":
            return _decimal_example(field)
        case "boolean":
            return True
        case "date":
            return "2026-11-25"
        case "datetime":
            return "2026-11-25T13:47:19Z"
        case "uuid" | "belongs_to":
            return _EXAMPLE_ID
        case "enum":
            return field.values[0] if field.values else None
        case "email":
            return "ada@example.com"
        case "url":
            return "https://example.com/"
        case "json":
            return {"colour": "blue"}
    return None  # pragma: no cover


def nullable(schema: Schema) -> Schema:
    """``schema`` that also admits ``null``."""
    if not schema:
        return schema  # already anything, null included
    result = dict(schema)
    if "enum" in result:
        result["enum"] = [*result["enum"], None]
    kind = result.get("type")
    if isinstance(kind, str):
        result["type"] = [kind, "null"]
        return result
    if "anyOf" in result:
        result["anyOf"] = [*result["anyOf"], {"type": "null"}]
    elif "$ref" in result:
        return {"anyOf": [schema, {"type": "null"}]}
    return result


def field_schema(field: AnyField, *, mode: Mode) -> Schema:
    """The JSON Schema of ``field`` in a served record, a create body or a patch body.

    A field that is not required may be ``null`` (clients may clear it); a
    required one never is. Create bodies show the field's ``default``; read
    schemas mark ``readOnly`` fields, write schemas ``writeOnly`` ones.
    """
    schema = _value_schema(field)
    description = " ".join(part for part in (field.description, _note(field)) if part)
    if not field.required:
        schema = nullable(schema)
    if description:
        schema["description"] = description
    if mode == "create" and field.has_default:
        default = _example(field)
        if default is not None:
            schema["default"] = default
    if mode == "read" and field.read_only:
        schema["readOnly"] = True
    if mode != "read" and field.write_only:
        schema["writeOnly"] = True
    example = _example(field)
    if example is not None:
        schema["examples"] = [example]
    return schema
