"""No list query the example blueprint allows reads a table row by row, at a million rows.

Each table of ``examples/bastion.yaml`` gets 1,000,000 rows in a PostgreSQL
database of its own; then ``EXPLAIN`` runs on every list query shape the
blueprint allows, built the way the product builds it: a query string read
by the REST layer (:func:`list_spec` and the query rules), the row filters the
access rules add, and the SQL of the store's statement builders
(:class:`ReadStatements`). A plan reading a loaded table with a sequential
scan fails the test, which names the query. Both plans a query may run with
are checked: the one made for its values, and the generic one PostgreSQL may
switch to once the driver's prepared statement has run five times.

The shapes are enumerated from the blueprint, so a new filterable or
sortable field is covered without touching this file:

* each filterable field (system fields included) with each operator family
  that applies to its type (``lte``/``gte`` read the index like ``lt``/``gt``),
  on the resource and through each ``belongs_to`` relation
  (``customer.email=...``);
* each sortable field, ascending and descending, alone and with each ``eq``
  filter;
* full-text search (``q``) where fields are searchable;
* each as a first page and as a later page (``cursor``; for a nullable sort
  key, one cursor among the values and one among the nulls);
* each again with the row filters access rules add for a signed-in caller.
  The example declares no access rules, so its tables are created as in a
  multi-tenant service (:func:`_multi_tenant`): every resource
  ``tenant_scoped`` and with an ``owner``, listed by owners (owner and tenant
  filters) and by a ``manager`` role (tenant filter).

Filter values come from the loaded rows and select few of them, the case an
index is for: a value near the 1% quantile for ranges, the least common value
of a few-valued field, a median value for equality.

What is loaded, and why. A million rows in each of the example's tables,
because on a small table a sequential scan is the right plan and proves
nothing about indexes. The built-in ``users`` and ``tenants`` get 100,000:
only admins list them, and at that size a filter without an index still
makes PostgreSQL read the whole table, so the check holds for them at a
tenth of the cost. Bastion's internal tables are never
listed and stay empty. Loading is most of the run time: the indexes and
foreign keys are made after the rows are in (their DDL read back from what
the product created, so the schema is the product's), the tables are
unlogged, and two connections load two tables at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from uuid import UUID

import asyncpg
import orjson
import pytest
import yaml
from starlette.datastructures import QueryParams

from bastion.adapters.sql.codecs import ResourceCodec
from bastion.adapters.sql.queries import ReadStatements
from bastion.adapters.sql.schema import build_metadata
from bastion.api.rest.query_params import list_spec
from bastion.blueprint import (
    AnyField,
    BelongsTo,
    Blueprint,
    load_blueprint,
    parse_blueprint,
    with_identity,
)
from bastion.blueprint.identity import TENANT_FIELD
from bastion.core.access import AccessRules
from bastion.core.context import RequestContext
from bastion.core.cursor import encode_cursor
from bastion.core.errors import Forbidden, NotAuthenticated
from bastion.core.query import Filter, QuerySpec
from bastion.core.query_rules import QueryRules, operators_for
from schema_support import create_schema

pytestmark = pytest.mark.postgres

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "bastion.yaml"
ROWS = 1_000_000
"""Rows of each of the example's tables."""
BUILT_IN_ROWS = 100_000
"""Rows of ``users`` and ``tenants`` (see the module documentation)."""
TENANTS_IN_USE = 1_000
"""Tenants the records belong to (1,000 records of each table each; owners have 10)."""

EXEMPT: dict[str, str] = {
    "ne": "the rows left are anywhere in any index; excluding the common value leaves few",
    "nin": "as ne: kind[nin]=person,service matches no row, which only reading them all shows",
    "ilike": "case-insensitive patterns: a b-tree orders bytes, not case-folded text",
    "like %x": "a pattern starting with a wildcard has no prefix for a b-tree to seek",
    "contains": "a substring or JSON fragment can be anywhere in the value",
}
"""Filters allowed to scan, and why no b-tree the schema could derive serves them.

Most of their plans read the order's index and stop at the page's ``LIMIT``;
when the planner expects few matches it reads the table instead, and no
index the blueprint implies would do better. A trigram or JSON GIN index
serves patterns and containment, at the price of a large index slowing every
write of the column: a blueprint asks for one, Bastion does not make one for
every filterable field.
"""

_OPERATORS = ("eq", "ne", "lt", "gt", "in", "nin", "like", "ilike", "isnull", "contains")
"""One operator of each family; ``lte``/``gte`` are read from the index as ``lt``/``gt``."""


def _multi_tenant(example: Path) -> Blueprint:
    """The example as a multi-tenant service would declare it: every resource
    ``tenant_scoped``, with an ``owner``; owners list their records, managers
    their tenant's."""
    data = yaml.safe_load(example.read_text(encoding="utf-8"))
    for key in ("hooks", "routes"):  # code, not schema
        data.pop(key, None)
    data["auth"] = {"roles": ["manager"]}
    for resource in data["resources"].values():
        resource["tenant_scoped"] = True
        resource["fields"]["owner"] = {"type": "belongs_to", "resource": "users", "owner": True}
        resource["access"] = {
            "authenticated": {"actions": ["list", "read"], "rows": "own"},
            "manager": {"actions": ["list", "read"], "rows": "all"},
        }
    return parse_blueprint(yaml.safe_dump(data, sort_keys=False))


# --- loading ---------------------------------------------------------------------------

_PRIMES = (7919, 104_729, 1_299_709, 15_485_863, 32_452_843, 49_979_687)
"""Multipliers scrambling the row number: coprime with ROWS, so ``i * p % ROWS`` is a
permutation (a belongs_to field filled this way refers to every target row once)."""


def _id_sql(row: str) -> str:
    """Row ``row``'s id: UUIDv7-shaped and ascending with the row number, like real ids."""
    return f"('00000000-0000-7000-8000-' || lpad(to_hex({row}), 12, '0'))::uuid"


def _enum_sql(values: Sequence[str]) -> str:
    # Skewed like real states: 70% of the rows in the first value, 70% of the rest in
    # the next... (pending 70%, paid 21%, shipped 6%, cancelled 3%).
    share, branches = 0, []
    for value in values[:-1]:
        share += (100 - share) * 7 // 10
        branches.append(f"WHEN i % 100 < {share} THEN '{value}'")
    return f"CASE {' '.join(branches)} ELSE '{values[-1]}' END"


def _field_sql(name: str, field: AnyField, scrambled: str, sizes: dict[str, int]) -> str:
    """A SQL expression of row ``i`` filling ``field``: many distinct values, a few for enums."""
    s = scrambled
    distinct = s if field.unique else f"({s} % {ROWS // 2})"
    match field.type:
        case "belongs_to":
            assert isinstance(field, BelongsTo)
            if name == TENANT_FIELD:
                return _id_sql(f"{s} % {TENANTS_IN_USE} + 1")
            # Each target row referred to alike: once from a table of its size (so the
            # first field of a unique pair, like order_items.order, never repeats).
            return _id_sql(f"{s} % {sizes[field.resource]} + 1")
        case "string" | "url" | "text":
            # Two words of a 5,000-word vocabulary: as many distinct values as rows, and
            # as few distinct words as real text (a search index over a million distinct
            # words takes longer to build than every other index together).
            text = f"'w' || ({distinct} % 5000) || ' w' || ({distinct} / 5000)"
            return text if field.max_length is None else f"left({text}, {field.max_length})"
        case "email":
            return f"'user' || {distinct} || '@example.com'"
        case "enum":
            return _enum_sql(field.values)
        case "integer":
            return distinct if field.unique else f"({s} % 1000)"
        case "float":
            return f"({distinct} / 100.0)"
        case "decimal":
            digits = min(field.precision or 7, 7)
            return f"(({s} % {10**digits})::numeric / {10 ** (field.scale or 0)})"
        case "boolean":
            return "(i % 10 = 1)"
        case "date":
            return f"(date '2015-01-01' + ({s} % 3650)::int)"
        case "datetime":
            return f"(timestamptz '2015-01-01' + {distinct} * interval '5 minutes')"
        case "uuid":
            return _id_sql(f"{s} + 1")
        case "json":
            return f"jsonb_build_object('n', {s} % 10)"
    raise AssertionError(f"no generator for {field.type} fields")


def _insert_sql(table: str, fields: dict[str, AnyField], sizes: dict[str, int]) -> str:
    """The rows of ``table`` in one INSERT ... SELECT over generate_series."""
    columns = {
        "id": _id_sql("i"),
        "created_at": "timestamptz '2015-01-01' + i * interval '5 minutes'",
        "updated_at": f"timestamptz '2015-01-01' + (i * {_PRIMES[0]} % {ROWS}) * interval '5 min'",
        "version": "1 + i % 3",
    }
    for index, (name, field) in enumerate(fields.items()):
        scrambled = f"(i * {_PRIMES[index % len(_PRIMES)]} % {ROWS})"
        value = _field_sql(name, field, scrambled, sizes)
        nullable = not (field.required or field.unique or field.has_default)
        columns[name] = f"CASE WHEN i % 10 = 0 THEN NULL ELSE {value} END" if nullable else value
    names = ", ".join(f'"{name}"' for name in columns)
    return (
        f'INSERT INTO "{table}" ({names}) SELECT {", ".join(columns.values())} '
        f"FROM generate_series(1::bigint, {sizes[table]}) AS i"
    )


async def _defer_indexes(conn: asyncpg.Connection) -> tuple[dict[str, list[str]], list[str]]:
    """Drop the secondary indexes and foreign keys the product created; their DDL, by table."""
    indexes: dict[str, list[str]] = {}
    for row in await conn.fetch(
        """SELECT t.relname AS tbl, i.indexrelid::regclass::text AS name,
                  pg_get_indexdef(i.indexrelid) AS ddl
           FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
           WHERE t.relnamespace = 'public'::regnamespace
             AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid)"""
    ):
        indexes.setdefault(row["tbl"], []).append(row["ddl"])
        await conn.execute(f"DROP INDEX {row['name']}")
    foreign_keys = []
    for row in await conn.fetch(
        """SELECT conrelid::regclass::text AS tbl, conname, pg_get_constraintdef(oid) AS ddl
           FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace"""
    ):
        table, name = row["tbl"], row["conname"]
        # NOT VALID: the rows are right by construction, and checking them takes seconds.
        foreign_keys.append(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {row["ddl"]} NOT VALID')
        await conn.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for row in await conn.fetch(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
    ):
        await conn.execute(f'ALTER TABLE "{row["relname"]}" SET UNLOGGED')
    return indexes, foreign_keys


async def _load(url: str, blueprint: Blueprint, sizes: dict[str, int]) -> None:
    """Rows in each table ``sizes`` names, then the product's indexes, foreign keys, statistics."""
    conn = await asyncpg.connect(url)
    try:
        indexes, foreign_keys = await _defer_indexes(conn)
    finally:
        await conn.close()
    # The costliest tables first, so that both loaders finish at about the same time.
    queue = sorted(
        (t for t, size in sizes.items() if size), key=lambda t: (sizes[t], len(indexes.get(t, [])))
    )

    async def worker() -> None:
        conn = await asyncpg.connect(url)
        try:
            # Two loaders keep two cores busy: parallel index builds would only contend.
            await conn.execute("SET maintenance_work_mem = '256MB'")
            await conn.execute("SET max_parallel_maintenance_workers = 0")
            while queue:
                table = queue.pop()
                fields = blueprint.resources[table].fields
                await conn.execute(_insert_sql(table, fields, sizes))
                for ddl in indexes.pop(table, []):
                    await conn.execute(ddl)
                await conn.execute(f'ANALYZE "{table}"')
        finally:
            await conn.close()

    await asyncio.gather(worker(), worker())
    conn = await asyncpg.connect(url)
    try:
        for ddl in [*(d for ddls in indexes.values() for d in ddls), *foreign_keys]:
            await conn.execute(ddl)
    finally:
        await conn.close()


# --- values the filters and cursors use -----------------------------------------------


def _text(value: Any) -> str:
    """``value`` as a query string writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date | Decimal | UUID | int | float):
        return str(value)
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class _Samples:
    """Values of one column that select few rows."""

    ordered: list[Any]
    """The column's histogram bounds (about 1% of the rows apart), or its common values."""
    rare: Any
    """The least common value of a few-valued column, the median of a many-valued one."""

    @property
    def low(self) -> Any:
        return self.ordered[min(1, len(self.ordered) - 1)]

    @property
    def high(self) -> Any:
        return self.ordered[max(-2, -len(self.ordered))]


class _Rows:
    """Reads statistics and rows of the loaded tables."""

    def __init__(
        self, conn: asyncpg.Connection, blueprint: Blueprint, sizes: dict[str, int]
    ) -> None:
        self.conn = conn
        self.sizes = sizes
        self.codecs = {n: ResourceCodec(r, "postgresql") for n, r in blueprint.resources.items()}
        self._samples: dict[tuple[str, str], _Samples | None] = {}
        self._rows: dict[tuple[str, str], dict[str, Any] | None] = {}

    async def samples(self, table: str, column: str) -> _Samples | None:
        """Values of ``column`` from its statistics; ``None`` for json or empty columns."""
        key = (table, column)
        if key not in self._samples:
            self._samples[key] = await self._read_samples(table, column)
        return self._samples[key]

    async def _read_samples(self, table: str, column: str) -> _Samples | None:
        kind = await self.conn.fetchval(
            "SELECT format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = $1::regclass AND attname = $2",
            f'"{table}"',
            column,
        )
        if kind == "jsonb":
            return None
        stats = await self.conn.fetchrow(
            f"SELECT histogram_bounds::text::{kind}[] AS bounds, "
            f"most_common_vals::text::{kind}[] AS common, most_common_freqs AS freqs "
            "FROM pg_stats WHERE schemaname = 'public' AND tablename = $1 AND attname = $2",
            table,
            column,
        )
        if stats is None or (stats["bounds"] is None and stats["common"] is None):
            return None  # every value null

        def plain(value: Any) -> Any:  # asyncpg's UUID class is not the standard one
            return UUID(str(value)) if isinstance(value, UUID) else value

        if stats["bounds"] is not None:
            ordered = [plain(v) for v in stats["bounds"]]
            return _Samples(ordered, ordered[len(ordered) // 2])
        common = [plain(v) for v in stats["common"]]
        rare = min(zip(stats["freqs"], range(len(common)), strict=True))[1]
        return _Samples(sorted(common), common[rare])

    async def row(self, table: str, where: str = "true") -> dict[str, Any] | None:
        """The first row of ``table`` from half-way on, in id order, meeting ``where``,
        as core reads it: a typical row."""
        where = f"id >= {_id_sql(str(self.sizes[table] // 2))} AND {where}"
        if (table, where) not in self._rows:
            self._rows[table, where] = await self._read_row(table, where)
        return self._rows[table, where]

    async def _read_row(self, table: str, where: str) -> dict[str, Any] | None:
        codec = self.codecs[table]
        names = ", ".join(f'"{name}"' for name in codec.columns)
        values = await self.conn.fetchrow(
            f'SELECT {names} FROM "{table}" WHERE {where} ORDER BY id LIMIT 1'
        )
        return None if values is None else codec.decode_row(values)


# --- the shapes -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Shape:
    """One list request: its query string, and the exemption its filter falls under."""

    resource: str
    params: tuple[tuple[str, str], ...]
    exempt: str = ""
    """An EXEMPT key, for filters no b-tree serves."""

    @property
    def label(self) -> str:
        shown = [(k, "…" if k == "cursor" else v) for k, v in self.params]
        return f"GET /v1/{self.resource}?{urlencode(shown, safe='[]…,:%@')}"


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _listed(values: Sequence[Any]) -> str:
    return ",".join(
        _text(v).replace("\\", "\\\\").replace(",", "\\,") for v in dict.fromkeys(values)
    )


async def _filters_of(
    rows: _Rows, table: str, name: str, field: AnyField, path: str
) -> list[_Shape]:
    """One filter of each operator family ``field`` allows, with a selective value."""
    samples = await rows.samples(table, name)
    found: list[tuple[str, str, str]] = []
    for op in (op for op in _OPERATORS if op in operators_for(field)):
        key = f"{path}[{op}]"
        if op == "isnull":
            found += [(key, "true", ""), (key, "false", "")]
        elif field.type == "json":
            found.append((key, '{"n":1}', "contains"))
        elif samples is None:
            continue
        elif op in ("eq", "ne"):
            found.append((key, _text(samples.rare), op if op == "ne" else ""))
        elif op in ("in", "nin"):
            found.append((key, _listed([samples.rare, samples.low]), op if op == "nin" else ""))
        elif op in ("lt", "gt"):
            found.append((key, _text(samples.low if op == "lt" else samples.high), ""))
        elif op == "contains":
            found.append((key, _text(samples.rare)[1:], "contains"))
        else:  # like, ilike: a prefix (a b-tree range under the C collation), an infix
            text = _text(samples.rare)
            found.append((key, _like(text[:-2]) + "%", "ilike" if op == "ilike" else ""))
            if op == "like":
                found.append((key, "%" + _like(text[1:]), "like %x"))
    return [_Shape(table, ((key, value),), exempt) for key, value, exempt in found]


async def _shapes(rows: _Rows, blueprint: Blueprint, resource: str) -> list[_Shape]:
    """Every first page a client may ask of ``resource`` (see the module documentation)."""
    rules = QueryRules(blueprint, resource)
    filters: list[_Shape] = []
    for name, field in rules.filterable.items():
        filters += await _filters_of(rows, resource, name, field, name)
    for via, fields in rules.related.items():
        relation = blueprint.resources[resource].fields[via]
        assert isinstance(relation, BelongsTo)
        for name, field in fields.items():
            filters += await _filters_of(rows, relation.resource, name, field, f"{via}.{name}")
    shapes = [_Shape(resource, ()), *(replace(shape, resource=resource) for shape in filters)]
    equal = [shape.params[0] for shape in filters if shape.params[0][0].endswith("[eq]")]
    for name in rules.sortable:
        for sort in (("sort", name), ("sort", f"-{name}")):
            shapes += [_Shape(resource, (sort,)), *(_Shape(resource, (eq, sort)) for eq in equal)]
    if rules.searchable:
        middle = await rows.row(resource)
        assert middle is not None
        shapes.append(_Shape(resource, (("q", middle[rules.searchable[0]].split()[-1]),)))
    return shapes


async def _pages(
    rows: _Rows, blueprint: Blueprint, shape: _Shape
) -> list[tuple[_Shape, QuerySpec]]:
    """The first page of ``shape``, and later pages resuming at typical positions."""
    resource = shape.resource
    rules = QueryRules(blueprint, resource)
    spec = list_spec(rules, QueryParams(shape.params))
    pages = [(shape, spec)]
    positions = ["true"]
    first = spec.order[0].field
    field = blueprint.resources[resource].fields.get(first)
    if field is not None and not field.required:
        positions.append(f'"{first}" IS NULL')
    for where in positions:
        last = await rows.row(resource, where)
        if last is not None:
            params = (*shape.params, ("cursor", encode_cursor(resource, spec, last)))
            pages.append((replace(shape, params=params), list_spec(rules, QueryParams(params))))
    return pages


def _row_filters(
    blueprint: Blueprint, resource: str, spec: QuerySpec, callers: Sequence[RequestContext]
) -> list[tuple[Filter, ...]]:
    """The distinct sets of row filters the access rules add to ``spec`` for ``callers``."""
    rules = AccessRules(blueprint, open_by_default=False)
    found: dict[tuple[Any, ...], tuple[Filter, ...]] = {}
    for ctx in callers:
        caller = rules.caller(ctx)
        try:
            scope = caller.require(resource, "list")
        except (Forbidden, NotAuthenticated):
            continue
        added = caller.row_filters(resource, scope)
        added += caller.related_row_filters(resource, spec.filters)
        if added:
            found[tuple((f.via, f.field) for f in added)] = added
    return list(found.values())


# --- plans ------------------------------------------------------------------------------


def _seq_scans(plan: dict[str, Any]) -> Iterator[str]:
    """The tables a plan reads with a sequential scan."""
    if plan.get("Node Type") == "Seq Scan":
        yield str(plan["Relation Name"])
    for child in plan.get("Plans", []):
        yield from _seq_scans(child)


async def _plans(conn: asyncpg.Connection, sql: str, args: list[Any]) -> dict[str, Any]:
    """The plan PostgreSQL makes for these values, and the one it makes for any values.

    The driver prepares its statements, and after five runs PostgreSQL may keep
    one generic plan instead of planning each run with its values; that plan
    must read indexes too. ``conn`` has ``plan_cache_mode = force_generic_plan``,
    which leaves the first EXPLAIN (values bound by the protocol) alone.
    """
    custom = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *args)
    await conn.execute(f"PREPARE bastion_shape AS {sql}")
    try:
        nulls = ", ".join("NULL" for _ in args)  # a generic plan does not look at them
        generic = await conn.fetchval(f"EXPLAIN (FORMAT JSON) EXECUTE bastion_shape({nulls})")
    finally:
        await conn.execute("DEALLOCATE bastion_shape")
    return {"": orjson.loads(custom), " (generic plan)": orjson.loads(generic)}


async def test_no_list_query_of_the_example_scans_a_table_of_a_million_rows(
    postgres_url: str,
) -> None:
    declared = load_blueprint(EXAMPLE)
    example = with_identity(declared)
    served = with_identity(_multi_tenant(EXAMPLE))
    sizes = {
        name: 0 if resource.internal else ROWS if name in declared.resources else BUILT_IN_ROWS
        for name, resource in served.resources.items()
    }
    await create_schema(served, postgres_url.replace("postgresql://", "postgresql+asyncpg://"))
    await _load(postgres_url, served, sizes)

    conns = [await asyncpg.connect(postgres_url) for _ in range(2)]
    try:
        rows = _Rows(conns[0], served, sizes)
        reads = ReadStatements.of(
            served, build_metadata(served, "postgresql"), "postgresql", rows.codecs
        )
        owner = await rows.row("users", f"{TENANT_FIELD} IS NOT NULL")
        assert owner is not None
        callers = [
            RequestContext(actor=str(owner["id"]), roles=roles, tenant=str(owner[TENANT_FIELD]))
            for roles in (frozenset(), frozenset({"manager"}))
        ]
        queries: list[tuple[str, str, QuerySpec, str]] = []
        for resource in (name for name, size in sizes.items() if size):
            for shape in await _shapes(rows, example, resource):
                for page, spec in await _pages(rows, example, shape):
                    queries.append((page.label, resource, spec, page.exempt))
                    for added in _row_filters(served, resource, spec, callers):
                        names = ", ".join(f"{f.via}.{f.field}" if f.via else f.field for f in added)
                        widened = replace(spec, filters=spec.filters + added)
                        queries.append(
                            (f"{page.label} + rows where {names}", resource, widened, page.exempt)
                        )

        async def explain(
            conn: asyncpg.Connection, share: list[tuple[str, str, QuerySpec, str]]
        ) -> list[str]:
            await conn.execute("SET plan_cache_mode = force_generic_plan")
            failures = []
            for label, resource, spec, exempt in share:
                for kind, plan in (await _plans(conn, *reads.page(resource, spec))).items():
                    scanned = sorted(set(_seq_scans(plan[0]["Plan"])))
                    if scanned and exempt not in EXEMPT:
                        failures.append(f"{label}{kind}: sequential scan of {', '.join(scanned)}")
            return failures

        found = await asyncio.gather(
            *(explain(c, queries[i :: len(conns)]) for i, c in enumerate(conns))
        )
    finally:
        for conn in conns:
            await conn.close()
    failures = [failure for share in found for failure in share]
    assert len(queries) > 1000  # the enumeration found the shapes
    summary = f"{len(failures)} of {len(queries)} list queries scan a table"
    assert not failures, "\n".join([summary, *failures])
