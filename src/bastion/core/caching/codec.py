"""Stored rows as bytes for the shared cache, and back, with their Python types intact.

JSON (orjson) rather than pickle: whoever can write to the cache server must
not be able to run code in Bastion. JSON loses types, so each resource gets
one decoder per field that needs one (ids, instants, dates, decimals), chosen
once from the blueprint.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from bastion.blueprint import (
    BelongsTo,
    DateField,
    DateTimeField,
    DecimalField,
    Resource,
    UuidField,
)
from bastion.core.ports import Row

__all__ = ["RowCodec"]

_Decode = Callable[[Any], Any]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot cache a {type(value).__name__}")


def _decoder(spec: Any) -> _Decode | None:
    if isinstance(spec, BelongsTo | UuidField):
        return UUID
    if isinstance(spec, DateTimeField):
        return datetime.fromisoformat
    if isinstance(spec, DateField):
        return date.fromisoformat
    if isinstance(spec, DecimalField):
        return Decimal
    return None


class RowCodec:
    """Encodes one resource's stored rows (or lists of them) and decodes them back."""

    __slots__ = ("_decoders",)

    def __init__(self, resource: Resource) -> None:
        decoders: dict[str, _Decode] = {
            "id": UUID,
            "created_at": datetime.fromisoformat,
            "updated_at": datetime.fromisoformat,
        }
        for name, spec in resource.fields.items():
            if (decode := _decoder(spec)) is not None:
                decoders[name] = decode
        self._decoders = tuple(decoders.items())

    @staticmethod
    def encode(value: Row | list[Row] | int) -> bytes | None:
        """``value`` as JSON bytes; ``None`` when it holds something JSON cannot carry
        (such an entry is simply not cached)."""
        try:
            return orjson.dumps(value, default=_default)
        except (TypeError, orjson.JSONEncodeError):
            return None

    def row(self, raw: dict[str, Any]) -> Row:
        """A decoded row with its types restored (in place)."""
        for name, decode in self._decoders:
            value = raw.get(name)
            if value is not None:
                raw[name] = decode(value)
        return raw

    def decode_row(self, data: bytes) -> Row:
        """One row from :meth:`encode`'s bytes."""
        return self.row(orjson.loads(data))

    def decode_rows(self, data: bytes) -> list[Row]:
        """A list of rows from :meth:`encode`'s bytes."""
        return [self.row(raw) for raw in orjson.loads(data)]
