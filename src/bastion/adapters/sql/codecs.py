"""Conversion between core's Python values and what each driver stores.

Hot path: encoders and decoders are chosen once per resource column and kept
in tuples, so a row costs one function call per non-trivial column.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from bastion.adapters.sql.schema import Dialect
from bastion.blueprint import AnyField, DecimalField, Resource

__all__ = [
    "Codec",
    "ResourceCodec",
    "codec_for",
    "decode_datetime_text",
    "encode_datetime_text",
]

Codec = Callable[[Any], Any] | None
"""Converts one value; ``None`` means the value passes unchanged."""


_last_datetime_text: tuple[datetime | None, str] = (None, "")
"""The last instant encoded and its text. A write encodes one instant many times: a
create's ``created_at`` and ``updated_at`` and those of its event and outbox row are
one object (measured: six encodings, 10 µs, become one)."""


def encode_datetime_text(value: datetime) -> str:
    """An instant as SQLite stores it: fixed-width UTC text, ``YYYY-MM-DDTHH:MM:SS.ffffffZ``."""
    global _last_datetime_text
    last = _last_datetime_text  # one read: another thread may replace the pair meanwhile
    if last[0] is value:
        return last[1]
    # isoformat, not strftime: strftime does not pad years before 1000 to four digits,
    # and the text must be fixed-width to sort and compare like the instants it holds.
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"
    _last_datetime_text = (value, text)
    return text


def decode_datetime_text(value: str) -> datetime:
    """The aware UTC instant of text written by :func:`encode_datetime_text`."""
    # Hot path: fromisoformat (C, reads the trailing Z as UTC) is ~20x faster
    # than strptime with the same fixed-width format.
    return datetime.fromisoformat(value)


_decode_datetime: Codec = datetime.fromisoformat
""":func:`decode_datetime_text` without a Python call around it (rows decode many)."""


def _decode_uuid(value: Any) -> UUID:
    # asyncpg returns its own UUID subclass, which orjson refuses; from its int is the
    # quickest way to the stdlib class.
    return value if type(value) is UUID else UUID(int=value.int)


def _encode_json_text(value: Any) -> str:
    return orjson.dumps(value).decode()


def _scaled_decimal_codecs(scale: int) -> tuple[Codec, Codec]:
    factor = Decimal(10) ** scale
    exponent = -scale

    def encode(value: Decimal) -> int:
        return int((value * factor).to_integral_value())

    def decode(value: int) -> Decimal:
        # The stored integer is the coefficient: 12345 at scale 2 is Decimal("123.45"),
        # already at the field's scale (100 is "1.00").
        return Decimal(value).scaleb(exponent)

    return encode, decode


def _quantized_decimal(scale: int) -> Codec:
    quantum = Decimal(1).scaleb(-scale)

    def decode(value: Decimal) -> Decimal:
        return value.quantize(quantum)

    return decode


def _field_codecs(field: AnyField | None, dialect: Dialect) -> tuple[Codec, Codec]:
    """(encode, decode) for a field; ``None`` stands for a system id column."""
    kind = "id" if field is None else field.type
    if dialect == "postgresql":
        if kind in ("id", "uuid", "belongs_to"):
            return None, _decode_uuid
        if isinstance(field, DecimalField) and field.precision is None:
            # An unconstrained NUMERIC keeps the scale a value was written with;
            # NUMERIC(p, s) returns every value at scale s already.
            return None, _quantized_decimal(field.scale or 0)
        return None, None
    match kind:
        case "id" | "uuid" | "belongs_to":
            return str, UUID
        case "datetime":
            return encode_datetime_text, _decode_datetime
        case "date":
            return date.isoformat, date.fromisoformat
        case "boolean":
            return int, bool
        case "json":
            return _encode_json_text, orjson.loads
        case "decimal":
            assert isinstance(field, DecimalField)
            return _scaled_decimal_codecs(field.scale or 0)
    return None, None


def _row_decoder(decoders: tuple[tuple[str, Codec], ...]) -> Callable[[Any], dict[str, Any]]:
    """A function from a driver row to a core row, written out for these columns.

    Hot path: the function is generated source, as dataclasses generate
    ``__init__``: one dict display with a call per converted column, no loop
    and no lookups per value. It decodes a row in about half the time of a
    loop over ``decoders``. Like ``zip(strict=True)``, it refuses a row of
    another length.
    """
    namespace: dict[str, Any] = {}
    items = []
    for index, (column, decode) in enumerate(decoders):
        if decode is None:
            items.append(f"{column!r}: v{index}")
        else:
            namespace[f"decode{index}"] = decode
            items.append(f"{column!r}: None if v{index} is None else decode{index}(v{index})")
    values = "".join(f"v{index}, " for index in range(len(decoders)))
    source = f"def decode_row(row):\n    {values}= row\n    return {{{', '.join(items)}}}\n"
    exec(source, namespace)  # the source holds only column names (repr) and generated names
    decode_row: Callable[[Any], dict[str, Any]] = namespace["decode_row"]
    return decode_row


class ResourceCodec:
    """Encodes a resource's rows for one driver and decodes them back."""

    __slots__ = ("columns", "decode_row", "decoders", "encoders", "id_decode", "id_encode")

    def __init__(self, resource: Resource, dialect: Dialect) -> None:
        system: list[tuple[str, AnyField | None]] = [("id", None)]
        datetime_codecs = (
            (None, None) if dialect == "postgresql" else (encode_datetime_text, _decode_datetime)
        )
        pairs: list[tuple[str, tuple[Codec, Codec]]] = [
            (name, _field_codecs(field, dialect)) for name, field in system
        ]
        pairs += [("created_at", datetime_codecs), ("updated_at", datetime_codecs)]
        pairs += [("version", (None, None))]
        pairs += [(name, _field_codecs(f, dialect)) for name, f in resource.fields.items()]
        self.columns: tuple[str, ...] = tuple(name for name, _ in pairs)
        self.encoders: dict[str, Codec] = {name: codecs[0] for name, codecs in pairs}
        self.decoders: tuple[tuple[str, Codec], ...] = tuple(
            (name, codecs[1]) for name, codecs in pairs
        )
        self.id_encode, self.id_decode = _field_codecs(None, dialect)
        self.decode_row = _row_decoder(self.decoders)
        """A core row from a driver row whose columns are in ``self.columns`` order."""

    def encode(self, name: str, value: Any) -> Any:
        """The driver value for column ``name``."""
        if value is None:
            return None
        encoder = self.encoders[name]
        return value if encoder is None else encoder(value)

    def encode_id(self, value: UUID) -> Any:
        """The driver value of an id."""
        return value if self.id_encode is None else self.id_encode(value)


def codec_for(resource: Resource, dialect: Dialect) -> ResourceCodec:
    """The codec for ``resource`` on ``dialect``."""
    return ResourceCodec(resource, dialect)
