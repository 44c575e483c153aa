"""Properties of the list query language, against a plain Python model of its rules.

Random records (nulls, unicode text, decimals, datetimes, ties) and random
filters, sorts and page sizes: every page walk through the REST API must
return exactly what filtering and sorting the same rows in Python returns,
on SQLite and on PostgreSQL; and a walk must stay exact while records are
inserted between its pages. SQLite's ``bastion_json_contains`` is checked
against PostgreSQL's ``@>`` directly.

Each example runs in its own event loop (``asyncio.run``) with its own
application, as hypothesis drives synchronous tests.
"""

from __future__ import annotations

import asyncio
import functools
import itertools
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bastion.adapters.sql.sqlite_functions import json_contains
from bastion.app import BastionApp, create_app
from bastion.blueprint import (
    Blueprint,
    BooleanField,
    DateField,
    DateTimeField,
    DecimalField,
    EnumField,
    FloatField,
    IntegerField,
    PageSize,
    Resource,
    StringField,
)
from bastion.core import QuerySpec, new_id
from bastion.core.query_rules import operators_for
from bastion.settings import Settings
from schema_support import create_schema

FIELDS = {
    "label": StringField(max_length=20, filterable=True, sortable=True),
    "amount": DecimalField(precision=12, scale=3, filterable=True, sortable=True),
    "count": IntegerField(filterable=True, sortable=True),
    "ratio": FloatField(filterable=True, sortable=True),
    "moment": DateTimeField(filterable=True, sortable=True),
    "day": DateField(filterable=True, sortable=True),
    "flag": BooleanField(filterable=True, sortable=True),
    "kind": EnumField(values=["a", "b", "c"], filterable=True, sortable=True),
}
BLUEPRINT = Blueprint(
    resources={"items": Resource(fields=FIELDS, page_size=PageSize(default=5, max=100))}
)
SORTABLE = [*FIELDS, "id", "created_at"]

# Small pools make ties, equal filter values and duplicates likely.
_labels = st.sampled_from(
    ["", "a", "A", "b", "B", "ab", "aB", "a%", "a_b", "é", "É", "z", "ß", "😀", "a\\b", "a,b"]
) | st.text(st.sampled_from("aAbé_%😀"), max_size=3)
_amounts = st.sampled_from(["-1.5", "0", "0.001", "1.5", "1.500", "2", "999999999.999"]).map(
    lambda text: Decimal(text).quantize(Decimal("0.001"))
)
_counts = st.sampled_from([-(2**63), -3, 0, 1, 2, 2**63 - 1])
_ratios = st.sampled_from([-1.5, -0.0, 0.0, 0.1, 1e-5, 2.5, 1e300])
_moments = st.sampled_from(
    [
        datetime(1999, 12, 31, 23, 59, 59, 999999, UTC),
        datetime(2026, 3, 1, 10, 0, tzinfo=UTC),
        datetime(2026, 3, 1, 10, 0, 0, 1, UTC),
        datetime(2026, 3, 1, 12, 0, tzinfo=timezone(timedelta(hours=2))).astimezone(UTC),
        datetime(2030, 1, 1, tzinfo=UTC),
    ]
)
_days = st.sampled_from([date(1000, 1, 1), date(2026, 3, 1), date(2026, 3, 2), date(9999, 12, 31)])
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "label": _labels,
    "amount": _amounts,
    "count": _counts,
    "ratio": _ratios,
    "moment": _moments,
    "day": _days,
    "flag": st.booleans(),
    "kind": st.sampled_from(["a", "b", "c"]),
    "created_at": _moments,
}
_rows = st.lists(
    st.fixed_dictionaries(
        {name: st.none() | strategy for name, strategy in VALUES.items() if name != "created_at"}
        | {"created_at": _moments}
    ),
    max_size=14,
)


def _text(value: Any) -> str:
    """A value as the query string writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value) if not isinstance(value, float) else repr(value)


def _list_text(values: list[Any]) -> str:
    return ",".join(_text(v).replace("\\", "\\\\").replace(",", "\\,") for v in values)


@st.composite
def _filters(
    draw: st.DrawFn, names: tuple[str, ...] = ("label", "label", *VALUES)
) -> tuple[str, str, Callable[[Any], bool]]:
    """(parameter, text value, the rule in Python) for one random filter."""
    name = draw(st.sampled_from(names))  # text, with the most operators, comes up more
    spec = FIELDS.get(name) or DateTimeField()
    op = draw(st.sampled_from(operators_for(spec)))
    values = VALUES[name]
    if op == "isnull":
        wanted = draw(st.booleans())
        return f"{name}[isnull]", _text(wanted), lambda v: (v is None) == wanted
    if op in ("in", "nin"):
        items = draw(st.lists(values, min_size=1, max_size=4))
        inside = op == "in"
        return (
            f"{name}[{op}]",
            _list_text(items),
            lambda v: v is not None and (v in items) == inside,
        )
    if op in ("like", "ilike"):
        pattern = draw(st.text(st.sampled_from("aAbBé%_\\"), max_size=4).filter(_complete))
        matcher = _like(pattern, fold=op == "ilike")
        return f"{name}[{op}]", pattern, lambda v: v is not None and matcher(v)
    value = draw(values)
    if op == "contains":
        return f"{name}[contains]", value, lambda v: v is not None and value in v
    compare: dict[str, Callable[[Any], bool]] = {
        "eq": lambda v: v == value,
        "ne": lambda v: v != value,
        "lt": lambda v: v < value,
        "lte": lambda v: v <= value,
        "gt": lambda v: v > value,
        "gte": lambda v: v >= value,
    }
    rule = compare[op]
    return f"{name}[{op}]", _text(value), lambda v: v is not None and rule(v)


def _complete(pattern: str) -> bool:
    return (len(pattern) - len(pattern.rstrip("\\"))) % 2 == 0


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _like(pattern: str, *, fold: bool) -> Callable[[str], bool]:
    """LIKE as documented: % any run, _ one character, \\ escapes; ilike folds ASCII only."""
    if fold:
        pattern = pattern.translate(_ASCII_LOWER)
    parts, escaped = [], False
    for char in pattern:
        if escaped:
            parts.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        else:
            parts.append({"%": ".*", "_": "."}.get(char) or re.escape(char))
    regex = re.compile("".join(parts), re.DOTALL)
    return lambda v: regex.fullmatch(v.translate(_ASCII_LOWER) if fold else v) is not None


_sorts = st.lists(st.sampled_from(SORTABLE), max_size=3, unique=True).flatmap(
    lambda names: st.tuples(*(st.tuples(st.just(n), st.booleans()) for n in names))
)


def _order(sort: tuple[tuple[str, bool], ...]) -> list[tuple[str, bool]]:
    """The complete order: sort keys up to id, then id in the last key's direction."""
    keys: list[tuple[str, bool]] = []
    for name, descending in sort:
        keys.append((name, descending))
        if name == "id":
            return keys
    return [*keys, ("id", keys[-1][1] if keys else False)]


def _comparator(order: list[tuple[str, bool]]) -> Callable[[dict[str, Any], dict[str, Any]], int]:
    def compare(left: dict[str, Any], right: dict[str, Any]) -> int:
        for name, descending in order:
            a, b = left[name], right[name]
            if a == b and (a is None) == (b is None):
                continue
            if a is None or b is None:  # nulls last ascending, first descending
                result = 1 if a is None else -1
                return -result if descending else result
            result = (a > b) - (a < b)
            return -result if descending else result
        return 0

    return compare


def _sort_param(sort: tuple[tuple[str, bool], ...]) -> list[tuple[str, str]]:
    if not sort:
        return []
    return [("sort", ",".join(("-" if desc else "") + name for name, desc in sort))]


# Fixtures and plumbing ------------------------------------------------------------------------


@pytest.fixture
def items_url(database_url: str) -> str:
    asyncio.run(create_schema(BLUEPRINT, database_url))
    return database_url


async def _insert(app: BastionApp, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    stored = []
    async with app.store.unit_of_work() as uow:
        for values in rows:
            row = {"id": new_id(), "updated_at": values["created_at"], "version": 1, **values}
            await uow.insert("items", row)
            stored.append(row)
    return stored


async def _reset(app: BastionApp, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    async with app.store.unit_of_work() as uow:
        for old in await uow.fetch_page("items", QuerySpec(limit=10_000)):
            await uow.delete("items", old["id"])
    return await _insert(app, rows)


async def _walk(
    api: httpx.AsyncClient,
    params: list[tuple[str, str]],
    limit: int,
    between: Callable[[list[UUID]], Any] | None = None,
) -> tuple[list[UUID], int]:
    seen: list[UUID] = []
    cursor = None
    total = -1
    while True:
        query = [*params, ("limit", str(limit)), ("count", "exact")]
        if cursor:
            query.append(("cursor", cursor))
        response = await api.get("/v1/items", params=query)
        assert response.status_code == 200, (query, response.text)
        page = response.json()
        assert len(page["data"]) <= limit
        total = page["total"]
        seen += [UUID(record["id"]) for record in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen, total
        if between is not None:
            await between(seen)


async def _with_app(url: str, run: Callable[[BastionApp, httpx.AsyncClient], Any]) -> None:
    app = create_app(BLUEPRINT, settings=Settings(database_url=url))
    await app.start()
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as api:
            await run(app, api)
    finally:
        await app.stop()


_SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


# Properties -----------------------------------------------------------------------------------


@_SETTINGS
@given(
    rows=_rows,
    filters=st.lists(_filters(), max_size=3),
    sort=_sorts,
    limit=st.integers(1, 6),
)
def test_every_page_walk_returns_what_python_filtering_and_sorting_return(
    items_url: str,
    rows: list[dict[str, Any]],
    filters: list[tuple[str, str, Callable[[Any], bool]]],
    sort: tuple[tuple[str, bool], ...],
    limit: int,
) -> None:
    async def run(app: BastionApp, api: httpx.AsyncClient) -> None:
        stored = await _reset(app, rows)
        expected = [
            row for row in stored if all(rule(row[p.split("[")[0]]) for p, _, rule in filters)
        ]
        expected.sort(key=functools.cmp_to_key(_comparator(_order(sort))))
        params = [(parameter, text) for parameter, text, _ in filters] + _sort_param(sort)
        seen, total = await _walk(api, params, limit)
        assert seen == [row["id"] for row in expected], params
        assert total == len(expected)

    asyncio.run(_with_app(items_url, run))


@_SETTINGS
@given(
    rows=_rows,
    batches=st.lists(_rows.map(lambda rows: rows[:3]), max_size=4),
    sort=_sorts,
    limit=st.integers(1, 4),
)
def test_a_walk_stays_exact_while_records_are_inserted_between_pages(
    items_url: str,
    rows: list[dict[str, Any]],
    batches: list[list[dict[str, Any]]],
    sort: tuple[tuple[str, bool], ...],
    limit: int,
) -> None:
    compare = _comparator(_order(sort))

    async def run(app: BastionApp, api: httpx.AsyncClient) -> None:
        stored = {row["id"]: row for row in await _reset(app, rows)}
        must_appear = set(stored)
        pending = list(batches)

        async def insert(seen: list[UUID]) -> None:
            if not pending:
                return
            position = stored[seen[-1]]
            for row in await _insert(app, pending.pop(0)):
                stored[row["id"]] = row
                if compare(row, position) > 0:
                    must_appear.add(row["id"])  # after the cursor: the walk must reach it

        seen, _ = await _walk(api, _sort_param(sort), limit, insert)
        assert len(seen) == len(set(seen)), "a record came twice"
        assert must_appear <= set(seen), "a record was skipped"
        for before, after in itertools.pairwise(seen):
            assert compare(stored[before], stored[after]) < 0, "the walk went backwards"

    asyncio.run(_with_app(items_url, run))


@_SETTINGS
@given(
    labels=st.lists(_labels, max_size=12),
    filters=st.lists(_filters(names=("label",)), min_size=1, max_size=2),
    descending=st.booleans(),
)
def test_text_compares_by_code_point_and_ilike_folds_ascii_only(
    items_url: str,
    labels: list[str],
    filters: list[tuple[str, str, Callable[[Any], bool]]],
    descending: bool,
) -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [{**dict.fromkeys(FIELDS), "label": label, "created_at": moment} for label in labels]

    async def run(app: BastionApp, api: httpx.AsyncClient) -> None:
        stored = await _reset(app, rows)
        expected = [row for row in stored if all(rule(row["label"]) for _, _, rule in filters)]
        sort = (("label", descending),)
        expected.sort(key=functools.cmp_to_key(_comparator(_order(sort))))
        params = [(parameter, text) for parameter, text, _ in filters] + _sort_param(sort)
        seen, _ = await _walk(api, params, 5)
        assert seen == [row["id"] for row in expected], params

    asyncio.run(_with_app(items_url, run))


_json = st.recursive(
    st.none() | st.booleans() | st.sampled_from([0, 1, 1.0, 2.5, -1]) | st.sampled_from("ab"),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from("xy"), inner, max_size=2)
    ),
    max_leaves=6,
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(pairs=st.lists(st.tuples(_json, _json), min_size=1, max_size=20))
def test_sqlite_json_containment_answers_like_postgresql(
    postgres_url: str, pairs: list[tuple[Any, Any]]
) -> None:
    async def postgres_answers() -> list[bool]:
        conn = await asyncpg.connect(postgres_url)
        try:
            rows = await conn.fetch(
                "SELECT d::jsonb @> c::jsonb FROM unnest($1::text[], $2::text[]) AS t(d, c)",
                [orjson.dumps(d).decode() for d, _ in pairs],
                [orjson.dumps(c).decode() for _, c in pairs],
            )
            return [row[0] for row in rows]
        finally:
            await conn.close()

    expected = asyncio.run(postgres_answers())
    ours = [
        bool(json_contains(orjson.dumps(d).decode(), orjson.dumps(c).decode())) for d, c in pairs
    ]
    assert ours == expected, pairs
