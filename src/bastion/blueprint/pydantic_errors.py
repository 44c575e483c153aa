"""Pydantic validation errors, said in the blueprint's own terms.

Pydantic reports ``('resources', 'orders', 'fields', 'total', 'decimal', 'requird')``
and "Extra inputs are not permitted"; a blueprint author needs
``resources.orders.fields.total.requird: unknown key 'requird'; did you mean
'required'?`` and the line. This module makes the second from the first.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from bastion.blueprint.errors import BlueprintProblem, line_of
from bastion.blueprint.model import FIELD_TYPES, AnyField, Blueprint

__all__ = ["problems_from_validation_error"]

_TYPE_SYNONYMS: dict[str, str] = {
    "str": "string",
    "varchar": "string",
    "char": "string",
    "int": "integer",
    "bigint": "integer",
    "number": "decimal",
    "numeric": "decimal",
    "money": "decimal",
    "currency": "decimal",
    "price": "decimal",
    "double": "float",
    "real": "float",
    "bool": "boolean",
    "timestamp": "datetime",
    "timestamptz": "datetime",
    "time": "datetime",
    "guid": "uuid",
    "choice": "enum",
    "mail": "email",
    "uri": "url",
    "link": "url",
    "jsonb": "json",
    "object": "json",
    "dict": "json",
    "array": "json",
    "list": "json",
    "reference": "belongs_to",
    "relation": "belongs_to",
    "foreign_key": "belongs_to",
    "belongsto": "belongs_to",
}
"""Words people write for a field type, and the Bastion type that means it."""

_EXAMPLES: dict[str, str] = {
    "precision": "12",
    "scale": "2",
    "max_length": "200",
    "min_length": "1",
    "min": "0",
    "max": "100",
    "resource": "customers",
    "fields": "[customer, status]",
    "values": "[draft, published]",
}


def problems_from_validation_error(
    exc: ValidationError, *, data: Any, source: str | None, lines: Mapping[str, int] | None
) -> list[BlueprintProblem]:
    """One problem for each error pydantic found validating ``data`` as a blueprint.

    Args:
        exc: The error raised by ``Blueprint.model_validate(data)``.
        data: The data that was validated (to tell its keys from pydantic's tags).
        source: The file the data was read from, if any.
        lines: The line of each dotted path in the file, if known.
    """
    return [_problem(error, data, source, lines) for error in exc.errors()]


def _problem(
    error: ErrorDetails, data: Any, source: str | None, lines: Mapping[str, int] | None
) -> BlueprintProblem:
    """Translate one pydantic error into a problem at its place in the file."""
    parts = _data_path(error["loc"], data)
    kind = error["type"]
    key = str(parts[-1]) if parts else ""
    ctx = error.get("ctx") or {}
    given = error["input"]
    message: str
    hint: str | None
    if kind in {"union_tag_invalid", "union_tag_not_found"}:
        parts = [*parts, "type"]
        message, hint = _field_type_problem(ctx.get("tag") if kind == "union_tag_invalid" else None)
    elif kind == "extra_forbidden":
        message, hint = _unknown_key_problem(key, _model_at(parts[:-1], data))
    elif kind == "missing":
        message = f"missing required key '{key}'"
        hint = f"add {key}: {_EXAMPLES.get(key, '...')}"
    else:
        message, hint = _value_problem(kind, key, given, ctx, error["msg"])
    path = ".".join(str(part) for part in parts)
    return BlueprintProblem(
        file=source, path=path, line=line_of(path, lines), message=message, hint=hint
    )


def _data_path(loc: tuple[int | str, ...], data: Any) -> list[int | str]:
    """The parts of a pydantic ``loc`` that are keys or indexes of ``data``.

    Pydantic adds the tag of a discriminated union (``'decimal'``) and ``'[key]'``
    for dictionary keys to its locations; they are not in the file. The last
    part may name a key that is absent (a missing key): it is kept.
    """
    kept: list[int | str] = []
    node = data
    for position, part in enumerate(loc):
        in_data = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if in_data:
            node = node[part]
        elif position == len(loc) - 1 and isinstance(node, dict) and part != "[key]":
            node = None
        else:
            continue
        kept.append(part)
    return kept


def _model_at(parts: list[int | str], data: Any) -> type[BaseModel] | None:
    """The model class that validates the mapping at ``parts`` of ``data``, if any."""
    annotation: Any = Blueprint
    node = data
    for part in parts:
        model = _as_model(annotation, node)
        if model is not None:
            field = model.model_fields.get(str(part))
            if field is None:
                return None
            annotation = field.annotation
        elif get_origin(annotation) in {dict, list}:
            annotation = get_args(annotation)[-1]
        else:
            return None
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            node = None
    return _as_model(annotation, node)


def _as_model(annotation: Any, node: Any) -> type[BaseModel] | None:
    """The model class ``annotation`` stands for, choosing a union member by ``type``."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if get_origin(annotation) in {Union, types.UnionType}:
        tag = node.get("type") if isinstance(node, dict) else None
        for member in _union_models(annotation):
            tag_field = member.model_fields.get("type")
            if tag_field is not None and tag_field.default == tag:
                return member
    return None


def _union_models(annotation: Any) -> list[type[BaseModel]]:
    return [
        member
        for member in get_args(annotation)
        if isinstance(member, type) and issubclass(member, BaseModel)
    ]


def _field_type_problem(tag: str | None) -> tuple[str, str]:
    known = ", ".join(FIELD_TYPES)
    if tag is None:
        return (
            "the field has no type",
            f"add one of {known}, e.g. type: string",
        )
    if tag == "has_many":
        return (
            "has_many is not a field type: it is declared beside fields, on the resource",
            "write has_many: {items: {resource: order_items, via: order}} on the resource, "
            "and a belongs_to field on the other side",
        )
    return (
        f"unknown type '{tag}'. Known types: {known}",
        f"write one of these, e.g. type: {_closest_type(tag)}",
    )


def _closest_type(tag: str) -> str:
    word = tag.strip().lower()
    if word in FIELD_TYPES:
        return word
    if word in _TYPE_SYNONYMS:
        return _TYPE_SYNONYMS[word]
    close = difflib.get_close_matches(word, FIELD_TYPES, n=1, cutoff=0.6)
    return close[0] if close else "string"


def _unknown_key_problem(key: str, model: type[BaseModel] | None) -> tuple[str, str]:
    allowed = sorted(model.model_fields) if model else []
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    listed = f"keys allowed here: {', '.join(allowed)}" if allowed else "remove it"
    if close:
        return f"unknown key '{key}'; did you mean '{close[0]}'?", f"write {close[0]}; {listed}"
    owners = _field_types_with_key(key) if model and "type" in model.model_fields else []
    if owners:
        return (
            f"unknown key '{key}' for this field type",
            f"{key} applies to fields of type {', '.join(owners)}; {listed}",
        )
    return f"unknown key '{key}'", f"remove it; {listed}" if allowed else listed


def _field_types_with_key(key: str) -> list[str]:
    members = _union_models(get_args(AnyField)[0])
    return [
        str(member.model_fields["type"].default) for member in members if key in member.model_fields
    ]


def _value_problem(
    kind: str, key: str, given: Any, ctx: Mapping[str, Any], fallback: str
) -> tuple[str, str | None]:
    """A wrong value: say what was expected, what was given, and what to write."""
    got = _describe(given)
    example = _EXAMPLES.get(key)
    if kind in {"int_parsing", "int_type", "int_from_float"}:
        return f"expected a whole number, got {got}", f"write e.g. {key}: {example or '10'}"
    if kind in {"float_parsing", "float_type"}:
        return f"expected a number, got {got}", f"write e.g. {key}: {example or '0.5'}"
    if kind in {"bool_parsing", "bool_type"}:
        return f"expected true or false, got {got}", f"write {key}: true or {key}: false"
    if kind == "string_type":
        if isinstance(given, bool):
            return (
                f"expected text, got {got}",
                "quote it: YAML reads unquoted yes/no/on/off/true/false as booleans",
            )
        return f"expected text, got {got}", "write text, quoted if it looks like a number"
    if kind in {"dict_type", "model_type", "model_attributes_type"}:
        hint = "write key: value pairs here"
        if not key:
            hint = "a blueprint is a mapping: write version: 1, name: ... and resources: ..."
        return f"expected a mapping of keys to values, got {got}", hint
    if kind == "list_type":
        return f"expected a list, got {got}", f"write a list, e.g. {key}: {example or '[a, b]'}"
    if kind in {"literal_error", "enum"}:
        expected = re.findall(r"'([^']*)'", str(ctx.get("expected", ""))) or [
            str(ctx.get("expected", ""))
        ]
        close = difflib.get_close_matches(str(given), expected, n=1, cutoff=0.5)
        return (
            f"expected one of {', '.join(expected)}, got {got}",
            f"write {key}: {close[0] if close else expected[0]}",
        )
    if kind == "too_short":
        return (
            f"must list at least {ctx.get('min_length', 1)} item",
            f"write e.g. {key}: {example or '[a]'}",
        )
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "less_than_equal": ("at most", "le"),
        "greater_than": ("more than", "gt"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, bound = bounds[kind]
        return f"must be {words} {ctx.get(bound)}, got {got}", f"write {key}: {ctx.get(bound)}"
    if kind == "recursion_loop":
        return "the YAML refers to itself through an alias", "remove the recursive alias"
    return f"{fallback[:1].lower()}{fallback[1:]}, got {got}", None


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value) if isinstance(value, str) else str(value)
