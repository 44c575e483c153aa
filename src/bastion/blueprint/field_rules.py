"""A field's own rules: its options agree with each other, and its default obeys them.

``max_length: 5`` with ``min_length: 10``, a pattern that does not compile, a
decimal without precision, an enum default that is not one of its values:
each is found here, one field at a time, without looking at the rest of the
blueprint. :mod:`bastion.blueprint.validate` places the problems in the file.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from bastion.blueprint.model import (
    AnyField,
    BelongsTo,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EmailField,
    EnumField,
    FloatField,
    IntegerField,
    JsonField,
    StringField,
    TextField,
    UrlField,
    UuidField,
)

__all__ = ["MAX_DECIMAL_PRECISION", "constraint_problems", "default_problem"]

MAX_DECIMAL_PRECISION = 18
"""SQLite stores decimals as exact scaled 64-bit integers: 18 digits always fit."""

Finding = tuple[str, str]
"""A problem as (message, hint)."""

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def constraint_problems(field: AnyField) -> list[tuple[str, str, str]]:
    """What is wrong with the options of ``field``, as (option key, message, hint).

    The key is the option at fault (``precision``), or ``""`` for the field as a whole.
    """
    found: list[tuple[str, str, str]] = []
    match field:
        case DecimalField():
            found += _decimal_problems(field)
        case StringField():
            if field.min_length > field.max_length:
                found.append(
                    (
                        "min_length",
                        f"min_length {field.min_length} is more than max_length {field.max_length}",
                        f"write min_length: {field.max_length} or less",
                    )
                )
            if field.pattern is not None:
                try:
                    re.compile(field.pattern)
                except re.error as exc:
                    found.append(
                        (
                            "pattern",
                            f"pattern '{field.pattern}' is not a valid regular expression: {exc}",
                            "write a Python regular expression, in single quotes in YAML",
                        )
                    )
        case IntegerField() | FloatField():
            if field.min is not None and field.max is not None and field.min > field.max:
                found.append(_min_above_max(field.min, field.max))
        case EnumField():
            found += _enum_problems(field)
        case _:
            pass
    return found


def _min_above_max(low: object, high: object) -> tuple[str, str, str]:
    return ("min", f"min {low} is more than max {high}", "write a min at most max")


def _decimal_problems(field: DecimalField) -> list[tuple[str, str, str]]:
    if field.precision is None or field.scale is None:
        missing = " and ".join(
            f"{key}: {example}"
            for key, value, example in (
                ("precision", field.precision, 12),
                ("scale", field.scale, 2),
            )
            if value is None
        )
        return [
            (
                "precision" if field.precision is None else "scale",
                "a decimal needs precision (digits in all) and scale (digits after the point)",
                f"write {missing}",
            )
        ]
    found: list[tuple[str, str, str]] = []
    if not 1 <= field.precision <= MAX_DECIMAL_PRECISION:
        found.append(
            (
                "precision",
                f"precision {field.precision} is out of range: it must be 1 to "
                f"{MAX_DECIMAL_PRECISION} (SQLite stores decimals as exact scaled 64-bit "
                "integers)",
                f"write precision: {MAX_DECIMAL_PRECISION} or less",
            )
        )
    elif not 0 <= field.scale <= field.precision:
        found.append(
            (
                "scale",
                f"scale {field.scale} must be from 0 to precision ({field.precision})",
                f"write scale: {min(max(field.scale, 0), field.precision)}",
            )
        )
    bounds: dict[str, Decimal] = {}
    for key in ("min", "max"):
        value = getattr(field, key)
        if value is None:
            continue
        number = _decimal(value)
        if number is None:
            found.append(
                (key, f"{key} {value!r} is not a decimal number", f'write e.g. {key}: "0.00"')
            )
        else:
            bounds[key] = number
    if "min" in bounds and "max" in bounds and bounds["min"] > bounds["max"]:
        found.append(_min_above_max(field.min, field.max))
    return found


def _enum_problems(field: EnumField) -> list[tuple[str, str, str]]:
    if not field.values:
        return [
            (
                "values",
                "an enum needs values: the list of strings it may take",
                "write values: [draft, published]",
            )
        ]
    found: list[tuple[str, str, str]] = []
    seen: set[object] = set()
    for position, value in enumerate(field.values):
        key = f"values.{position}"
        if not isinstance(value, str):
            found.append((key, f"enum value {value!r} is not text", f'quote it: "{value}"'))
        elif value in seen:
            found.append((key, f"enum value '{value}' is listed twice", "list each value once"))
        seen.add(value)
    return found


def default_problem(field: AnyField) -> Finding | None:
    """What is wrong with the default of ``field``, if anything.

    The default must be a value the field itself would accept: its type, its
    length, pattern, range, precision or values. Assumes the field's options
    are consistent (see :func:`constraint_problems`).
    """
    value = field.default
    if value is None:
        return None
    match field:
        case BelongsTo():
            return (
                "a belongs_to field cannot have a default",
                "remove default; fill the reference in a hook if it must be automatic",
            )
        case StringField() | TextField() | EmailField() | UrlField():
            return _text_default_problem(field, value)
        case EnumField():
            if value not in field.values:
                return (
                    f"the default {value!r} is not one of the values: {', '.join(field.values)}",
                    f"write default: {field.values[0]}, or add it to values",
                )
        case IntegerField():
            return _integer_default_problem(field, value)
        case FloatField():
            if isinstance(value, bool) or not isinstance(value, int | float):
                return (f"the default {value!r} is not a number", "write e.g. default: 0.0")
            if not math.isfinite(value):
                return ("the default is not a finite number", "write e.g. default: 0.0")
            return _range_problem(value, field.min, field.max)
        case DecimalField():
            return _decimal_default_problem(field, value)
        case BooleanField():
            if not isinstance(value, bool):
                return (f"the default {value!r} is not true or false", "write default: false")
        case DateField():
            return _date_default_problem(value)
        case DateTimeField():
            return _datetime_default_problem(value)
        case UuidField():
            return _uuid_default_problem(value)
        case JsonField():
            if not _is_json(value):
                return (
                    "the default is not a JSON value",
                    "write null, true, a number, text, a list or a mapping",
                )
    return None


def _text_default_problem(
    field: StringField | TextField | EmailField | UrlField, value: Any
) -> Finding | None:
    if not isinstance(value, str):
        return (f"the default {value!r} is not text", f'quote it: default: "{value}"')
    if field.max_length is not None and len(value) > field.max_length:
        return (
            f"the default is {len(value)} characters long, more than max_length {field.max_length}",
            f"write a default of at most {field.max_length} characters, or raise max_length",
        )
    if isinstance(field, StringField):
        if len(value) < field.min_length:
            return (
                f"the default is {len(value)} characters long, less than min_length "
                f"{field.min_length}",
                f"write a default of at least {field.min_length} characters",
            )
        if field.pattern is not None and re.search(field.pattern, value) is None:
            return (
                f"the default {value!r} does not match pattern '{field.pattern}'",
                "write a default that matches the pattern",
            )
    if isinstance(field, EmailField):
        try:
            validate_email(value, check_deliverability=False)
        except EmailNotValidError as exc:
            return (
                f"the default {value!r} is not an e-mail address: {exc}",
                "write e.g. default: someone@example.com",
            )
    if isinstance(field, UrlField):
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            return (
                f"the default {value!r} is not an absolute http(s) URL",
                "write e.g. default: https://example.com/",
            )
    return None


def _integer_default_problem(field: IntegerField, value: Any) -> Finding | None:
    if isinstance(value, bool):
        return (
            f"the default {str(value).lower()} is a boolean, not an integer",
            "write a whole number, e.g. default: 0",
        )
    if not isinstance(value, int):
        return (
            f"the default {value!r} is not a whole number",
            f"write a whole number, e.g. default: {_whole_example(value)}",
        )
    return _range_problem(value, field.min, field.max)


def _whole_example(value: Any) -> int:
    if isinstance(value, float) and math.isfinite(value):
        return round(value)
    return 0


def _range_problem(value: Any, low: Any, high: Any) -> Finding | None:
    if low is not None and value < low:
        return (f"the default {value} is below min {low}", f"write default: {low} or more")
    if high is not None and value > high:
        return (f"the default {value} is above max {high}", f"write default: {high} or less")
    return None


def _decimal_default_problem(field: DecimalField, value: Any) -> Finding | None:
    number = _decimal(value)
    if number is None:
        return (
            f"the default {value!r} is not a decimal number",
            'write it as quoted text, e.g. default: "0.00"',
        )
    if field.precision is None or field.scale is None:  # reported by constraint_problems
        return None
    sign_digits_exponent = number.as_tuple()
    exponent = int(sign_digits_exponent.exponent)  # finite: see _decimal
    after = max(-exponent, 0)
    before = max(len(sign_digits_exponent.digits) + exponent, 0)
    if after > field.scale:
        return (
            f"the default {value} has {after} digits after the point; scale allows {field.scale}",
            f"write a default with at most {field.scale} digits after the point",
        )
    if before > field.precision - field.scale:
        return (
            f"the default {value} has {before} digits before the point; precision "
            f"{field.precision} with scale {field.scale} allows {field.precision - field.scale}",
            "write a smaller default, or raise precision",
        )
    low = _decimal(field.min) if field.min is not None else None
    high = _decimal(field.max) if field.max is not None else None
    return _range_problem(number, low, high)


def _decimal(value: Any) -> Decimal | None:
    """``value`` as an exact finite decimal (floats by their shortest text), or None."""
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _date_default_problem(value: Any) -> Finding | None:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return None
    hint = "write a date as YYYY-MM-DD, e.g. default: 2026-01-31"
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        return (f"the default {value!r} is not a date", hint)
    try:
        dt.date.fromisoformat(value)
    except ValueError as exc:
        return (f"the default {value!r} is not a date: {exc}", hint)
    return None


def _datetime_default_problem(value: Any) -> Finding | None:
    hint = "write an RFC 3339 date and time with a timezone, e.g. default: 2026-01-31T09:00:00Z"
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError:
            return (f"the default {value!r} is not a date and time", hint)
    else:
        return (f"the default {value!r} is not a date and time", hint)
    if moment.tzinfo is None or moment.utcoffset() is None:
        return (f"the default {value!s} has no timezone", hint)
    return None


def _uuid_default_problem(value: Any) -> Finding | None:
    if isinstance(value, uuid.UUID):
        return None
    try:
        uuid.UUID(str(value))
    except ValueError:
        return (
            f"the default {value!r} is not a UUID",
            "write e.g. default: 0190b4f2-8c3a-7c4e-9f1a-2b3c4d5e6f70",
        )
    return None


def _is_json(value: Any) -> bool:
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_is_json(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(key, str) and _is_json(item) for key, item in value.items())
    return False
