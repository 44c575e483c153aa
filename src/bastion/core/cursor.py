"""Opaque keyset cursors: the last record's sort values and id, bound to one query.

A cursor is ``base64url(version, signature, JSON)``. The JSON holds the
record's id and the values of the sort keys before it (tagged where JSON has
no type: decimals, dates, datetimes, UUIDs). The signature is a hash of the
resource, the order, the filters and the search terms, so a cursor passed
with a different sort or filter is refused instead of silently skipping or
repeating records. ``limit``, ``fields`` and ``expand`` may change between
pages. The values are checked against the sort fields' types by
:class:`~bastion.core.query_rules.QueryRules` before a store sees them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import orjson

from bastion.core.errors import FieldError, InvalidQuery
from bastion.core.query import Cursor, QuerySpec

__all__ = ["decode_cursor", "encode_cursor", "query_signature"]

_VERSION = b"\x02"
_SIGNATURE_BYTES = 8


def _tagged(value: Any) -> Any:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, Decimal):
        return ["d", str(value)]
    if isinstance(value, datetime):
        return ["t", value.isoformat()]
    if isinstance(value, date):
        return ["D", value.isoformat()]
    if isinstance(value, UUID):
        return ["u", str(value)]
    if isinstance(value, tuple | list):
        return ["l", [_tagged(item) for item in value]]
    return ["j", value]  # a JSON document (only in signatures: ``contains`` values)


def _untagged(value: Any) -> Any:
    if not isinstance(value, list):
        return value
    tag, text = value
    if tag == "d":
        return Decimal(text)
    if tag == "t":
        return datetime.fromisoformat(text)
    if tag == "D":
        return date.fromisoformat(text)
    if tag == "u":
        return UUID(text)
    raise ValueError(f"unknown tag {tag!r}")


def query_signature(resource: str, spec: QuerySpec) -> bytes:
    """What a cursor is bound to: resource, order, filters and search, hashed."""
    filters = sorted(
        orjson.dumps([f.via, f.field, f.op, _tagged(f.value)], option=orjson.OPT_SORT_KEYS)
        for f in spec.filters
    )
    shape = [
        resource,
        [[key.field, key.descending] for key in spec.order],
        [item.decode() for item in filters],
        spec.search,
    ]
    return hashlib.blake2b(orjson.dumps(shape), digest_size=_SIGNATURE_BYTES).digest()


def encode_cursor(resource: str, spec: QuerySpec, last: dict[str, Any]) -> str:
    """The cursor that resumes ``spec`` after the record ``last`` (a stored row)."""
    values = [_tagged(last[key.field]) for key in spec.order[:-1]]
    body = orjson.dumps([str(last["id"]), values])
    raw = _VERSION + query_signature(resource, spec) + body
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _invalid(detail: str, reason: str) -> InvalidQuery:
    return InvalidQuery(detail, errors=(FieldError("cursor", reason),))


def decode_cursor(token: str, resource: str, spec: QuerySpec) -> Cursor:
    """The position ``token`` stands for, if it was issued for this query.

    Args:
        token: the ``next_cursor`` of a previous page.
        resource: the resource listed.
        spec: the query without its cursor (sort, filters and search count).

    Raises:
        InvalidQuery: if the token is not a cursor of this server, or was
            issued for another sort, filter or search.
    """
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, binascii.Error):
        raw = b""
    head = len(_VERSION) + _SIGNATURE_BYTES
    if len(raw) <= head or raw[:1] != _VERSION:
        raise _invalid(
            "the cursor is not valid: pass the next_cursor of a previous page unchanged",
            "is not a cursor this server issued",
        )
    if raw[1:head] != query_signature(resource, spec):
        raise _invalid(
            "the cursor was issued for another sort, filter or search: send the same sort, "
            "filters and q as the first page, or start again without a cursor",
            "belongs to a different query",
        )
    try:
        record_id, values = orjson.loads(raw[head:])
        position = Cursor(tuple(_untagged(v) for v in values), UUID(record_id))
    except (ValueError, TypeError, InvalidOperation, orjson.JSONDecodeError):
        raise _invalid(
            "the cursor is not valid: pass the next_cursor of a previous page unchanged",
            "is not a cursor this server issued",
        ) from None
    if len(position.values) != len(spec.order) - 1:
        raise _invalid("the cursor does not fit this query", "belongs to a different query")
    return position
