"""What the two hand-written references share: the ``items`` fields, input checks, cursors.

Written as a careful engineer writes one small service by hand: explicit
checks per field, plain dicts, orjson, no framework beyond Starlette. It
implements what bench/run.py calls (get, list with ``limit``/``cursor``,
one equality filter and one sort, create, merge-patch update with
``If-Match``), with the same JSON shapes and status codes as Bastion, and
nothing more. It imports nothing of Bastion, on purpose.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from uuid import UUID

import orjson
from starlette.responses import Response

FIELDS = (
    "sku",
    "name",
    "description",
    "status",
    "price",
    "quantity",
    "featured",
    "released_at",
)
COLUMNS = ("id", "created_at", "updated_at", "version", *FIELDS)
STATUSES = frozenset({"draft", "active", "archived"})
FILTERABLE = frozenset({"status", "quantity"})
SORTABLE = frozenset({"price", "quantity"})
LIST_PARAMETERS = frozenset({"limit", "cursor", "sort"}) | FILTERABLE
_CENTS = Decimal("0.01")


class InputError(Exception):
    """A request the reference refuses: its status and a short detail."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):  # asyncpg's own UUID class is not the one orjson knows
        return str(value)
    raise TypeError(type(value).__name__)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON response; datetimes in UTC with ``Z``, decimals as strings."""
    payload = orjson.dumps(body, default=_default, option=orjson.OPT_UTC_Z)
    return Response(payload, status, headers, media_type="application/json")


def problem(error: InputError) -> Response:
    """An RFC 9457 problem document for ``error``."""
    body = orjson.dumps({"status": error.status, "title": "Error", "detail": error.detail})
    return Response(body, error.status, media_type="application/problem+json")


def parse_uuid(text: str) -> UUID:
    """The id in a path; 404 when it is not a UUID."""
    try:
        return UUID(text)
    except ValueError:
        raise InputError(404, "no such item") from None


def parse_if_match(header: str | None) -> int | None:
    """``If-Match``: ``None`` for absent or ``*``, else the version it names (-1: no match)."""
    if header is None or header.strip() == "*":
        return None
    tag = header.strip().strip('"')
    return int(tag) if tag.isdigit() else -1


def _text(body: dict[str, Any], name: str, limit: int) -> str | None:
    value = body[name]
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > limit:
        raise InputError(422, f"{name} must be a string of at most {limit} characters")
    return value


def check_item(body: Any, *, partial: bool) -> dict[str, Any]:
    """The item's values from a JSON body (all required fields unless ``partial``)."""
    if not isinstance(body, dict):
        raise InputError(422, "the body must be a JSON object")
    unknown = body.keys() - set(FIELDS)
    if unknown:
        raise InputError(422, f"unknown fields: {', '.join(sorted(unknown))}")
    required = ("sku", "name", "price")
    missing = [n for n in required if (n in body or not partial) and body.get(n) is None]
    if missing:
        raise InputError(422, f"missing required fields: {', '.join(missing)}")
    values: dict[str, Any] = {}
    if "sku" in body:
        values["sku"] = _text(body, "sku", 32)
    if "name" in body:
        values["name"] = _text(body, "name", 200)
    if "description" in body:
        values["description"] = _text(body, "description", 2000)
    if "status" in body:
        if body["status"] not in STATUSES:
            raise InputError(422, "status must be draft, active or archived")
        values["status"] = body["status"]
    if "price" in body:
        try:
            price = Decimal(str(body["price"]))
        except InvalidOperation:
            raise InputError(422, "price must be a decimal number") from None
        if price < 0 or price != price.quantize(_CENTS) or price >= Decimal("1e8"):
            raise InputError(422, "price must be 0 to 99999999.99 with 2 decimals")
        values["price"] = price.quantize(_CENTS)
    if "quantity" in body:
        quantity = body["quantity"]
        if type(quantity) is not int or quantity < 0:
            raise InputError(422, "quantity must be a whole number >= 0")
        values["quantity"] = quantity
    if "featured" in body:
        if type(body["featured"]) is not bool:
            raise InputError(422, "featured must be true or false")
        values["featured"] = body["featured"]
    if "released_at" in body:
        raw = body["released_at"]
        try:
            released = None if raw is None else datetime.fromisoformat(raw)
        except (TypeError, ValueError):
            raise InputError(422, "released_at must be an RFC 3339 date-time") from None
        if released is not None and released.tzinfo is None:
            raise InputError(422, "released_at needs a time zone")
        values["released_at"] = released
    return values


def encode_cursor(value: Any, item_id: str) -> str:
    """An opaque keyset cursor: the sort value and id of the page's last row."""
    raw = orjson.dumps([value, item_id], default=_default)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_cursor(token: str) -> tuple[Any, str]:
    """The (sort value, id) a cursor stands for; 400 when it was not ours."""
    try:
        value, item_id = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        return value, str(UUID(item_id))
    except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
        raise InputError(400, "the cursor is not valid") from None


def parse_list_query(params: Any) -> tuple[int, dict[str, Any], str | None, bool, Any]:
    """``(limit, filters, sort field, descending, cursor)`` from the query string."""
    unknown = set(params.keys()) - LIST_PARAMETERS
    if unknown:
        raise InputError(400, f"unknown query parameters: {', '.join(sorted(unknown))}")
    raw_limit = params.get("limit", "20")
    if not raw_limit.isdigit() or not 1 <= int(raw_limit) <= 100:
        raise InputError(400, "limit must be 1 to 100")
    filters: dict[str, Any] = {}
    if "status" in params:
        filters["status"] = params["status"]
    if "quantity" in params:
        if not params["quantity"].isdigit():
            raise InputError(400, "quantity must be a whole number")
        filters["quantity"] = int(params["quantity"])
    sort = params.get("sort")
    descending = bool(sort) and sort.startswith("-")
    field = sort.lstrip("-") if sort else None
    if field is not None and field not in SORTABLE:
        raise InputError(400, f"cannot sort by {field}")
    cursor = decode_cursor(params["cursor"]) if "cursor" in params else None
    return int(raw_limit), filters, field, descending, cursor
