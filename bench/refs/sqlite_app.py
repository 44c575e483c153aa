"""Reference (b): the Python ceiling on SQLite — Starlette + stdlib ``sqlite3`` by hand.

Serves a copy of Bastion's SQLite file (same table, same storage format: ids
as text with dashes, datetimes as fixed-width UTC text, prices as integer
cents) at the same URLs and with the same JSON as Bastion, for the requests
bench/run.py sends.

Each worker holds ONE connection and calls sqlite3 straight from the event
loop, without a thread hop: a point query on a warm file takes microseconds,
less than handing it to a thread would cost. That is the fastest a Python
service can serve this file, which is what a ceiling is for. Writes are
single autocommit statements (``UPDATE ... RETURNING``); WAL, foreign keys,
``synchronous=NORMAL`` and a 5 s busy timeout, as Bastion configures them.

Run (bench/run.py does): ``BENCH_SQLITE_PATH=items.db uvicorn sqlite_app:app --workers 2``
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import orjson
from items import (
    COLUMNS,
    InputError,
    check_item,
    encode_cursor,
    json_response,
    parse_if_match,
    parse_list_query,
    parse_uuid,
    problem,
)
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from uuid_utils.compat import uuid7

_SELECT = f"SELECT {', '.join(COLUMNS)} FROM items"
_INSERT = f"INSERT INTO items ({', '.join(COLUMNS)}) VALUES ({', '.join('?' for _ in COLUMNS)})"
_DEFAULTS = {
    "description": None,
    "status": "draft",
    "quantity": 0,
    "featured": False,
    "released_at": None,
}
_TIME = "%Y-%m-%dT%H:%M:%S.%fZ"
db: sqlite3.Connection


def _record(row: tuple[Any, ...]) -> dict[str, Any]:
    # Stored text is already what the API serves (ids, RFC 3339 UTC times);
    # only cents and booleans need turning back.
    record = dict(zip(COLUMNS, row, strict=True))
    cents = record["price"]
    record["price"] = f"{cents // 100}.{cents % 100:02d}"
    record["featured"] = bool(record["featured"])
    return record


def _encode(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "price":
        return int(value * 100)
    if name in ("released_at", "created_at", "updated_at"):
        return value.astimezone(UTC).strftime(_TIME)
    if name == "featured":
        return int(value)
    return value


@lru_cache(maxsize=64)
def _list_sql(filters: tuple[str, ...], sort: str | None, descending: bool, after: bool) -> str:
    where = [f"{name} = ?" for name in filters]
    if after:
        op = "<" if descending else ">"
        where.append(f"({sort}, id) {op} (?, ?)" if sort else "id > ?")
    direction = " DESC" if descending else ""
    order = f"{sort}{direction}, id{direction}" if sort else "id"
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"{_SELECT}{clause} ORDER BY {order} LIMIT ?"


@lru_cache(maxsize=64)
def _update_sql(fields: tuple[str, ...], check_version: bool) -> str:
    sets = "".join(f"{name} = ?, " for name in fields)
    guard = " AND version = ?" if check_version else ""
    return (
        f"UPDATE items SET {sets}version = version + 1, updated_at = ? "
        f"WHERE id = ?{guard} RETURNING {', '.join(COLUMNS)}"
    )


async def _json_body(request: Request) -> Any:
    if "json" not in request.headers.get("content-type", ""):
        raise InputError(415, "send application/json")
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise InputError(400, "malformed JSON") from None


async def get_item(request: Request) -> Response:
    item_id = str(parse_uuid(request.path_params["id"]))
    row = db.execute(f"{_SELECT} WHERE id = ?", (item_id,)).fetchone()
    if row is None:
        raise InputError(404, "no such item")
    record = _record(row)
    return json_response(record, headers={"ETag": f'"{record["version"]}"'})


async def list_items(request: Request) -> Response:
    limit, filters, sort, descending, cursor = parse_list_query(request.query_params)
    args: list[Any] = list(filters.values())
    if cursor is not None:
        value, after_id = cursor
        if sort == "price":
            args.append(round(float(value) * 100))
        elif sort:
            args.append(value)
        args.append(after_id)
    args.append(limit + 1)
    rows = db.execute(_list_sql(tuple(filters), sort, descending, cursor is not None), args)
    records = [_record(row) for row in rows.fetchall()]
    has_more = len(records) > limit
    records = records[:limit]
    next_cursor = None
    if has_more:
        last = records[-1]
        next_cursor = encode_cursor(last[sort] if sort else None, last["id"])
    return json_response({"data": records, "next_cursor": next_cursor, "has_more": has_more})


async def create_item(request: Request) -> Response:
    values = _DEFAULTS | check_item(await _json_body(request), partial=False)
    now = datetime.now(UTC)
    record = {"id": str(uuid7()), "created_at": now, "updated_at": now, "version": 1, **values}
    try:
        db.execute(_INSERT, [_encode(name, record[name]) for name in COLUMNS])
    except sqlite3.IntegrityError:
        raise InputError(409, "an item with this sku exists") from None
    headers = {"Location": f"/v1/items/{record['id']}", "ETag": '"1"'}
    return json_response(record, 201, headers)


async def update_item(request: Request) -> Response:
    item_id = str(parse_uuid(request.path_params["id"]))
    expected = parse_if_match(request.headers.get("if-match"))
    values = check_item(await _json_body(request), partial=True)
    args = [_encode(name, value) for name, value in values.items()]
    args += [_encode("updated_at", datetime.now(UTC)), item_id]
    if expected is not None:
        args.append(expected)
    try:
        # fetchall() steps the statement to its end, so the autocommit write is done.
        rows = db.execute(_update_sql(tuple(values), expected is not None), args).fetchall()
    except sqlite3.IntegrityError:
        raise InputError(409, "an item with this sku exists") from None
    if not rows:
        exists = db.execute("SELECT 1 FROM items WHERE id = ?", (item_id,)).fetchone()
        raise InputError(404 if exists is None else 412, "no such item, or another version")
    record = _record(rows[0])
    return json_response(record, headers={"ETag": f'"{record["version"]}"'})


def _handle(handlers: dict[str, Any]) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            return await handlers[request.method](request)
        except InputError as error:
            return problem(error)

    return endpoint


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global db
    db = sqlite3.connect(os.environ["BENCH_SQLITE_PATH"], isolation_level=None, timeout=5.0)
    for pragma in (
        "journal_mode=WAL",
        "foreign_keys=ON",
        "busy_timeout=5000",
        "synchronous=NORMAL",
    ):
        db.execute(f"PRAGMA {pragma}")
    try:
        yield
    finally:
        db.close()


app = Starlette(
    routes=[
        Route(
            "/v1/items", _handle({"GET": list_items, "POST": create_item}), methods=["GET", "POST"]
        ),
        Route(
            "/v1/items/{id}",
            _handle({"GET": get_item, "PATCH": update_item}),
            methods=["GET", "PATCH"],
        ),
    ],
    lifespan=lifespan,
)
