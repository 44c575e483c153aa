"""Reference (a): the Python ceiling on PostgreSQL — Starlette + asyncpg + orjson by hand.

Serves Bastion's ``items`` table (created by Bastion's migrations, loaded
with the same rows) at the same URLs, with the same JSON, ETags and status
codes, for the requests bench/run.py sends. Each request is one SQL
statement on a pooled connection (asyncpg prepares and caches it): a PATCH is
a single ``UPDATE ... RETURNING`` guarded by the version when ``If-Match``
names one. Same pool size as Bastion's default (1..10 per worker).

Run (bench/run.py does): ``BENCH_DSN=postgresql://... uvicorn asyncpg_app:app --workers 2``
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

import asyncpg
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
_INSERT = (
    f"INSERT INTO items ({', '.join(COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(COLUMNS) + 1))})"
)
_DEFAULTS = {
    "description": None,
    "status": "draft",
    "quantity": 0,
    "featured": False,
    "released_at": None,
}
pool: asyncpg.Pool


@lru_cache(maxsize=64)
def _list_sql(filters: tuple[str, ...], sort: str | None, descending: bool, after: bool) -> str:
    where = [f"{name} = ${i}" for i, name in enumerate(filters, 1)]
    n = len(filters)
    key = f"{sort}, id" if sort else "id"
    if after:
        op = "<" if descending else ">"
        where.append(f"({key}) {op} (${n + 1}, ${n + 2})" if sort else f"id > ${n + 1}")
        n += 2 if sort else 1
    direction = " DESC" if descending else ""
    order = f"{sort}{direction}, id{direction}" if sort else "id"
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    return f"{_SELECT}{clause} ORDER BY {order} LIMIT ${n + 1}"


@lru_cache(maxsize=64)
def _update_sql(fields: tuple[str, ...], check_version: bool) -> str:
    sets = "".join(f"{name} = ${i}, " for i, name in enumerate(fields, 3))
    guard = f" AND version = ${len(fields) + 3}" if check_version else ""
    return (
        f"UPDATE items SET {sets}version = version + 1, updated_at = $2 "
        f"WHERE id = $1{guard} RETURNING {', '.join(COLUMNS)}"
    )


def _record(row: asyncpg.Record) -> dict[str, Any]:
    return dict(row)


async def _json_body(request: Request) -> Any:
    if "json" not in request.headers.get("content-type", ""):
        raise InputError(415, "send application/json")
    try:
        return orjson.loads(await request.body())
    except orjson.JSONDecodeError:
        raise InputError(400, "malformed JSON") from None


async def get_item(request: Request) -> Response:
    item_id = parse_uuid(request.path_params["id"])
    row = await pool.fetchrow(f"{_SELECT} WHERE id = $1", item_id)
    if row is None:
        raise InputError(404, "no such item")
    return json_response(_record(row), headers={"ETag": f'"{row["version"]}"'})


async def list_items(request: Request) -> Response:
    limit, filters, sort, descending, cursor = parse_list_query(request.query_params)
    args: list[Any] = list(filters.values())
    if cursor is not None:
        value, after_id = cursor
        if sort == "price":
            args.append(Decimal(value))
        elif sort:
            args.append(value)
        args.append(UUID(after_id))
    args.append(limit + 1)
    sql = _list_sql(tuple(filters), sort, descending, cursor is not None)
    rows = await pool.fetch(sql, *args)
    records = [_record(row) for row in rows[:limit]]
    has_more = len(rows) > limit
    next_cursor = None
    if has_more:
        last = records[-1]
        next_cursor = encode_cursor(last[sort] if sort else None, str(last["id"]))
    return json_response({"data": records, "next_cursor": next_cursor, "has_more": has_more})


async def create_item(request: Request) -> Response:
    values = _DEFAULTS | check_item(await _json_body(request), partial=False)
    now = datetime.now(UTC)
    record = {"id": uuid7(), "created_at": now, "updated_at": now, "version": 1, **values}
    try:
        await pool.execute(_INSERT, *(record[name] for name in COLUMNS))
    except asyncpg.UniqueViolationError:
        raise InputError(409, "an item with this sku exists") from None
    headers = {"Location": f"/v1/items/{record['id']}", "ETag": '"1"'}
    return json_response(record, 201, headers)


async def update_item(request: Request) -> Response:
    item_id = parse_uuid(request.path_params["id"])
    expected = parse_if_match(request.headers.get("if-match"))
    values = check_item(await _json_body(request), partial=True)
    args: list[Any] = [item_id, datetime.now(UTC), *values.values()]
    if expected is not None:
        args.append(expected)
    try:
        row = await pool.fetchrow(_update_sql(tuple(values), expected is not None), *args)
    except asyncpg.UniqueViolationError:
        raise InputError(409, "an item with this sku exists") from None
    if row is None:
        exists = await pool.fetchval("SELECT version FROM items WHERE id = $1", item_id)
        raise InputError(404 if exists is None else 412, "no such item, or another version")
    return json_response(_record(row), headers={"ETag": f'"{row["version"]}"'})


def _handle(handlers: dict[str, Any]) -> Any:
    async def endpoint(request: Request) -> Response:
        try:
            return await handlers[request.method](request)
        except InputError as error:
            return problem(error)

    return endpoint


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    global pool
    pool = await asyncpg.create_pool(os.environ["BENCH_DSN"], min_size=1, max_size=10)
    try:
        yield
    finally:
        await pool.close()


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
