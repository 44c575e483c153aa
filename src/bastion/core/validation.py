"""Input validation built from the blueprint: one pydantic model per resource.

Types are strict where JSON has the type (a string is never silently turned
into an integer) and parse from strings where JSON has none (dates, UUIDs,
decimals). Every failure becomes a :class:`~bastion.core.errors.FieldError`
with a JSON pointer, so clients can show it next to the right input.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
)

from bastion.blueprint import SYSTEM_FIELDS, AnyField, Resource
from bastion.core.errors import FieldError, InvalidInput
from bastion.core.query_values import NUL_REFUSED, contains_nul

__all__ = ["ResourceValidator", "field_errors"]

_INT64 = 2**63 - 1
_DECIMAL_REPR = re.compile(r"Decimal\('([^']*)'\)")
_URL = TypeAdapter(AnyHttpUrl)


def _only_strings(kind: str) -> Any:
    def check(value: Any) -> Any:
        if not isinstance(value, str | date | UUID):
            raise ValueError(f"must be {kind} written as a JSON string")
        return value

    return BeforeValidator(check)


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_REFUSED)
    return value


def _json_without_nul(value: Any) -> Any:
    if contains_nul(value):
        raise ValueError(NUL_REFUSED)
    return value


_TEXT = AfterValidator(_no_nul)


def _number_not_bool(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("must be a number (or a string holding one)")
    return str(value) if isinstance(value, float) else value


def _finite_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("must be a JSON number")
    return value


def _quantizer(scale: int) -> Any:
    quantum = Decimal(1).scaleb(-scale)
    return AfterValidator(lambda value: value.quantize(quantum))


def _to_utc(value: datetime) -> datetime:
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("is outside the range of date-times (years 1 to 9999 in UTC)") from None


def _end_anchors(pattern: str) -> str:
    """``pattern`` with ``$`` matching only at the very end, as in JSON Schema (ECMA).

    Python's ``$`` also matches before a final newline, so ``^[A-Z]+$`` would
    accept ``"ABC\n"`` although the OpenAPI document says it may not.
    """
    out: list[str] = []
    escaped = in_class = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


def _checked_url(value: str) -> str:
    _URL.validate_python(value)
    return value


def _annotation(field: AnyField) -> Any:
    """The pydantic type that accepts exactly the values ``field`` allows."""
    match field.type:
        case "string":
            return Annotated[
                StrictStr,
                StringConstraints(
                    min_length=field.min_length,
                    max_length=field.max_length,
                    pattern=None if field.pattern is None else _end_anchors(field.pattern),
                ),
                _TEXT,
            ]
        case "text":
            return Annotated[StrictStr, StringConstraints(max_length=field.max_length), _TEXT]
        case "integer":
            low = -_INT64 - 1 if field.min is None else field.min
            high = _INT64 if field.max is None else field.max
            return Annotated[StrictInt, Field(ge=low, le=high)]
        case "float":
            return Annotated[
                float,
                BeforeValidator(_finite_number),
                Field(ge=field.min, le=field.max, allow_inf_nan=False),
            ]
        case "decimal":
            return Annotated[
                Decimal,
                BeforeValidator(_number_not_bool),
                Field(
                    max_digits=field.precision,
                    decimal_places=field.scale,
                    ge=None if field.min is None else Decimal(str(field.min)),
                    le=None if field.max is None else Decimal(str(field.max)),
                    allow_inf_nan=False,
                ),
                _quantizer(field.scale or 0),
            ]
        case "boolean":
            return StrictBool
        case "date":
            return Annotated[date, _only_strings("a date (YYYY-MM-DD)")]
        case "datetime":
            return Annotated[
                AwareDatetime,
                _only_strings("an RFC 3339 date-time with a timezone"),
                AfterValidator(_to_utc),
            ]
        case "uuid" | "belongs_to":
            return Annotated[UUID, _only_strings("a UUID")]
        case "enum":
            return Literal[tuple(field.values)]
        case "email":
            return Annotated[EmailStr, StringConstraints(max_length=field.max_length), _TEXT]
        case "url":
            return Annotated[
                StrictStr,
                StringConstraints(max_length=field.max_length),
                _TEXT,
                AfterValidator(_checked_url),
            ]
        case "json":
            return Annotated[Any, AfterValidator(_json_without_nul)]
    raise AssertionError(f"unhandled field type {field.type!r}")  # pragma: no cover


def field_errors(exc: ValidationError) -> tuple[FieldError, ...]:
    """Pydantic's errors as JSON-pointer field errors."""
    errors = []
    for error in exc.errors(include_url=False):
        pointer = "/" + "/".join(str(part) for part in error["loc"])
        message = _DECIMAL_REPR.sub(r"\1", error["msg"]).removeprefix("Value error, ")
        errors.append(FieldError(pointer=pointer, detail=message))
    return tuple(errors)


def _model(name: str, fields: dict[str, AnyField], *, all_optional: bool) -> type[BaseModel]:
    definitions: dict[str, Any] = {}
    for field_name, field in fields.items():
        annotation = _annotation(field)
        if field.required and not all_optional:
            default = field.default if field.has_default else ...
            definitions[field_name] = (annotation, Field(default, validate_default=True))
        else:
            default = field.default if field.has_default and not all_optional else None
            definitions[field_name] = (annotation | None, Field(default, validate_default=True))
    model: type[BaseModel] = create_model(
        name,
        # Python regexes, as the blueprint validator compiles them (the default engine
        # lacks look-arounds).
        __config__=ConfigDict(extra="forbid", regex_engine="python-re"),
        **definitions,
    )
    return model


class _InputRules:
    """The fields one kind of caller may write, and the model that checks them."""

    def __init__(self, name: str, fields: dict[str, AnyField]) -> None:
        self.fields = fields
        self.model = _model(name, fields, all_optional=False)


class ResourceValidator:
    """Validates bodies for one resource and shapes records for clients.

    Clients may write every field but read-only ones; trusted code (hooks,
    through ``event.records``) may write read-only fields too. Nobody writes
    system fields.
    """

    def __init__(self, name: str, resource: Resource) -> None:
        self.name = name
        self.resource = resource
        self.hidden = frozenset(f for f, spec in resource.fields.items() if spec.write_only)
        self.read_only = frozenset(f for f, spec in resource.fields.items() if spec.read_only)
        writable = {f: spec for f, spec in resource.fields.items() if not spec.read_only}
        self._client = _InputRules(f"{name}_input", writable)
        self._trusted = _InputRules(f"{name}_trusted_input", dict(resource.fields))
        self._stored = _model(f"{name}_stored", dict(resource.fields), all_optional=True)
        read_only_fields = {f: spec for f, spec in resource.fields.items() if spec.read_only}
        self.read_only_defaults: dict[str, Any] = dict(
            _model(f"{name}_read_only", read_only_fields, all_optional=False).model_validate({})
        )
        """Values of read-only fields on create, before hooks set them."""

    @property
    def writable(self) -> dict[str, AnyField]:
        """The fields clients may write."""
        return self._client.fields

    def _rules(self, trusted: bool) -> _InputRules:
        return self._trusted if trusted else self._client

    def _split_keys(self, body: Any, rules: _InputRules) -> tuple[dict[str, Any], list[FieldError]]:
        """The known writable members of ``body`` and an error for each other member."""
        if not isinstance(body, dict):
            raise InvalidInput(
                "the request body must be a JSON object",
                errors=(FieldError("", "must be a JSON object"),),
            )
        errors = []
        for key in body:
            if key in SYSTEM_FIELDS or (key in self.read_only and key not in rules.fields):
                errors.append(FieldError(f"/{key}", "is read-only"))
            elif key not in rules.fields:
                known = ", ".join(sorted(rules.fields)) or "none"
                errors.append(
                    FieldError(f"/{key}", f"is not a field of {self.name} (fields: {known})")
                )
        if not errors:
            return body, errors
        return {k: v for k, v in body.items() if k in rules.fields}, errors

    def _validate(
        self, rules: _InputRules, values: dict[str, Any], key_errors: list[FieldError], what: str
    ) -> BaseModel:
        try:
            model = rules.model.model_validate(values)
        except ValidationError as exc:
            raise InvalidInput(
                f"the {what} does not fit {self.name}",
                errors=(*key_errors, *field_errors(exc)),
            ) from exc
        if key_errors:
            raise InvalidInput(f"the {what} does not fit {self.name}", errors=tuple(key_errors))
        return model

    def validate_input(self, body: Any, *, trusted: bool = False) -> dict[str, Any]:
        """A complete set of writable field values from a create or replace body.

        Raises:
            InvalidInput: listing every invalid, unknown or read-only field.
        """
        rules = self._rules(trusted)
        known, key_errors = self._split_keys(body, rules)
        return dict(self._validate(rules, known, key_errors, "body"))

    def validate_stored(self, record: dict[str, Any]) -> dict[str, Any]:
        """Check a record a hook changed; raises ``InvalidInput`` if it broke the rules."""
        values = {f: record.get(f) for f in self.resource.fields}
        try:
            model = self._stored.model_validate(values)
        except ValidationError as exc:
            raise InvalidInput(
                f"a hook left the {self.name} record invalid", errors=field_errors(exc)
            ) from exc
        return dict(model)

    def merge_patch(
        self, current: dict[str, Any], patch: Any, *, trusted: bool = False
    ) -> dict[str, Any]:
        """Apply a JSON merge patch (RFC 7396) to a record's writable fields and validate.

        The result is validated as a whole record, so a patch cannot leave a
        required field empty; only the fields the patch names are returned.
        """
        rules = self._rules(trusted)
        known, key_errors = self._split_keys(patch, rules)
        body: dict[str, Any] = {}
        for name, value in known.items():
            if rules.fields[name].type == "json":
                value = json_merge_patch(current.get(name), value)
            body[name] = value
        # The stored values as they are: the string-only types also take their own
        # instances (see _only_strings), and only the patched fields are returned.
        stored = {name: value for name in rules.fields if (value := current.get(name)) is not None}
        merged = {**stored, **body}
        model = self._validate(rules, merged, key_errors, "patch")
        return {name: getattr(model, name) for name in known}

    def with_stored(self, body: Any, current: dict[str, Any], fields: Collection[str]) -> Any:
        """``body`` with the stored values of ``fields`` added (in their JSON form)."""
        if not isinstance(body, dict):
            return body
        kept = {name: current.get(name) for name in fields if name in self.writable}
        as_json = _as_input(kept, {name: self.writable[name] for name in kept})
        return {**body, **{name: as_json.get(name) for name in kept}}

    def public(self, record: dict[str, Any]) -> dict[str, Any]:
        """The record as clients see it: write-only fields removed."""
        if not self.hidden:
            return record
        return {key: value for key, value in record.items() if key not in self.hidden}


def _as_input(current: dict[str, Any], fields: dict[str, AnyField]) -> dict[str, Any]:
    # Stored values are already valid; revalidating them through an input
    # model needs their JSON form for the string-only types.
    values: dict[str, Any] = {}
    for name, spec in fields.items():
        value = current.get(name)
        if value is None:
            continue
        if spec.type in ("datetime", "date"):
            value = value.isoformat()
        elif spec.type in ("uuid", "belongs_to"):
            value = str(value)
        values[name] = value
    return values


def json_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396: merge ``patch`` into ``target`` (``null`` removes a member)."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = json_merge_patch(result.get(key), value)
    return result
