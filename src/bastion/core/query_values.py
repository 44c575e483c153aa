"""Query values: text from a URL read as a field's type, and checks of decoded values.

Filter values arrive as text (``?total[gt]=10.50``) and become the field's
Python type here, so every API layer reads them the same way. A value that
does not fit raises ``ValueError`` with a message for the client; callers
name the parameter.

Decimals must fit the field's precision and scale (``10.505`` is refused
for a field with scale 2): that keeps comparisons exact on both databases,
which store the same value differently.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import orjson

from bastion.blueprint import (
    AnyField,
    DateTimeField,
    DecimalField,
    EnumField,
    IntegerField,
    UuidField,
)

__all__ = [
    "NUL_REFUSED",
    "STRING_TYPES",
    "SYSTEM_FIELD_SPECS",
    "contains_nul",
    "parse_value",
    "value_fits",
]

SYSTEM_FIELD_SPECS: dict[str, AnyField] = {
    "id": UuidField(required=True),
    "created_at": DateTimeField(required=True),
    "updated_at": DateTimeField(required=True),
    "version": IntegerField(required=True),
}
"""The system fields, described as the field types they hold."""

STRING_TYPES = frozenset({"string", "text", "email", "url", "enum"})
"""Field types that hold text and compare by code point."""

_INT64 = 2**63
_INTEGER = re.compile(r"[+-]?[0-9]+")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A "+" in a query string arrives as a space: "10:30:00 02:00" meant "10:30:00+02:00".
_SPACED_OFFSET = re.compile(r"(T[0-9:.]+) ([0-9]{2}:?[0-9]{2})$")


def _integer(text: str) -> int:
    if not _INTEGER.fullmatch(text) or not -_INT64 <= int(text) < _INT64:
        raise ValueError("must be a whole number (64-bit)")
    return int(text)


def _float(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise ValueError("must be a number")
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError("is too large")
    return value


def _decimal(field: DecimalField, text: str) -> Decimal:
    if not _NUMBER.fullmatch(text):
        raise ValueError("must be a decimal number, e.g. 10.50")
    try:
        value = Decimal(text)
        scale = field.scale or 0
        exact = value.quantize(Decimal(1).scaleb(-scale))
    except InvalidOperation:
        raise ValueError("is too large") from None
    if exact != value:
        raise ValueError(f"has more than {scale} decimal places")
    if field.precision is not None and abs(exact) >= Decimal(10) ** (field.precision - scale):
        raise ValueError(f"has more than {field.precision - scale} digits before the point")
    return exact


def _datetime(text: str) -> datetime:
    text = _SPACED_OFFSET.sub(r"\1+\2", text)
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("must be an RFC 3339 date-time, e.g. 2026-03-01T10:30:00Z") from None
    if value.tzinfo is None:
        raise ValueError("must include a timezone (Z or +hh:mm)")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of date-times (years 1 to 9999 in UTC)") from None


def _date(text: str) -> date:
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError("must be a date (YYYY-MM-DD)")


def _uuid(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise ValueError("must be a UUID") from None


NUL_REFUSED = "must not contain the NUL character (U+0000): no database column can store it"
"""Why a value holding U+0000 is refused (PostgreSQL's text and jsonb cannot hold it:
refused up front, it is a client error on every database, not a server error on one)."""


def contains_nul(value: Any) -> bool:
    """Whether ``value`` (text, or a JSON document's keys and strings) holds U+0000."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


def parse_value(field: AnyField, text: str) -> Any:
    """The value ``text`` stands for, as ``field``'s Python type.

    Raises:
        ValueError: with a message saying what the value must be.
    """
    if "\x00" in text:
        raise ValueError(NUL_REFUSED)
    match field.type:
        case "integer":
            return _integer(text)
        case "float":
            return _float(text)
        case "decimal":
            assert isinstance(field, DecimalField)
            return _decimal(field, text)
        case "boolean":
            if text not in ("true", "false"):
                raise ValueError("must be true or false")
            return text == "true"
        case "date":
            return _date(text)
        case "datetime":
            return _datetime(text)
        case "uuid" | "belongs_to":
            return _uuid(text)
        case "enum":
            assert isinstance(field, EnumField)
            if text not in field.values:
                raise ValueError(f"must be one of {', '.join(field.values)}")
            return text
        case "json":
            try:
                document = orjson.loads(text)
            except orjson.JSONDecodeError:
                raise ValueError('must be a JSON document, e.g. {"gift":true}') from None
            if contains_nul(document):
                raise ValueError(NUL_REFUSED)
            return document
    return text


def value_fits(field: AnyField, value: Any) -> bool:
    """Whether a decoded value (from a cursor) has ``field``'s Python type."""
    if value is None:
        return True
    match field.type:
        case "integer":
            return type(value) is int and -_INT64 <= value < _INT64
        case "float":
            return type(value) is float
        case "decimal":
            if not isinstance(value, Decimal) or not value.is_finite():
                return False
            assert isinstance(field, DecimalField)
            try:
                return _decimal(field, format(value, "f")) == value
            except ValueError:
                return False
        case "boolean":
            return type(value) is bool
        case "date":
            return type(value) is date
        case "datetime":
            return isinstance(value, datetime) and value.utcoffset() is not None
        case "uuid" | "belongs_to":
            return isinstance(value, UUID)
        case "json":
            return False
    return isinstance(value, str)
