"""Filters and search as SQL conditions that answer the same on SQLite and PostgreSQL.

Each condition is built once per query shape (see :mod:`.queries`) with
named parameters (``f0``, ``f1``...); :func:`bind_filter` computes the values
for a request without building anything. Where the databases differ, the
SQL differs so the answers do not:

=================  ============================  ===============================
operator           PostgreSQL                    SQLite
=================  ============================  ===============================
in / nin           ``= ANY($1)`` / ``<> ALL``    ``IN (SELECT value FROM json_each(?))``
like (case-sens.)  ``LIKE`` (column is C)        ``GLOB`` with the pattern translated
ilike (ASCII)      ``ILIKE`` (C: ASCII folding)  ``LIKE ... ESCAPE '\\'``
contains (text)    ``strpos(col, $1) > 0``       ``instr(col, ?) > 0``
contains (json)    ``col @> $1::jsonb``          ``bastion_json_contains(col, ?)``
search (``q``)     ``tsvector @@ to_tsquery``    ``rowid IN (... MATCH ?)`` (FTS5)
=================  ============================  ===============================

One statement shape serves any length of ``in`` list, so lists do not
multiply the compiled statements.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from bastion.adapters.sql.codecs import ResourceCodec
from bastion.adapters.sql.schema import Dialect
from bastion.adapters.sql.search import match_condition, match_query
from bastion.blueprint import BelongsTo, Blueprint
from bastion.core.query import Filter

__all__ = ["Catalog", "filter_values", "id_list", "param_type", "where"]


@dataclass(frozen=True, slots=True)
class Catalog:
    """Everything statement builders need to know about the database's tables."""

    dialect: Dialect
    tables: Mapping[str, sa.Table]
    codecs: Mapping[str, ResourceCodec]
    targets: Mapping[str, Mapping[str, str]]
    """resource -> belongs_to field -> the resource it refers to."""
    searchable: Mapping[str, tuple[str, ...]]
    json_fields: Mapping[str, frozenset[str]]
    """resource -> its json fields (``contains`` means containment there)."""

    @classmethod
    def of(
        cls,
        blueprint: Blueprint,
        metadata: sa.MetaData,
        dialect: Dialect,
        codecs: Mapping[str, ResourceCodec],
    ) -> Catalog:
        """The catalog of ``blueprint``'s tables in ``metadata``."""
        resources = blueprint.resources.items()
        return cls(
            dialect=dialect,
            tables=metadata.tables,
            codecs=codecs,
            targets={
                name: {f: s.resource for f, s in r.fields.items() if isinstance(s, BelongsTo)}
                for name, r in resources
            },
            searchable={
                name: tuple(f for f, s in r.fields.items() if s.searchable) for name, r in resources
            },
            json_fields={
                name: frozenset(f for f, s in r.fields.items() if s.type == "json")
                for name, r in resources
            },
        )

    def owner(self, resource: str, item: Filter) -> str:
        """The resource whose field ``item`` tests (another one through ``via``)."""
        return self.targets[resource][item.via] if item.via else resource


def param_type(column: sa.ColumnElement[Any]) -> sa.types.TypeEngine[Any]:
    """A parameter type that compares with ``column`` without truncating or rounding.

    PostgreSQL casts parameters to their declared type: ``$1::VARCHAR(20)``
    would cut a longer value, ``NUMERIC(10, 2)`` round one.
    """
    kind = column.type
    if isinstance(kind, sa.String):
        return sa.String()
    if isinstance(kind, sa.Numeric) and not isinstance(kind, sa.Float):
        return sa.Numeric()
    return kind


def id_list(column: sa.ColumnElement[Any], name: str, dialect: Dialect) -> sa.ColumnElement[bool]:
    """``column`` is one of the values of the list parameter ``name``."""
    if dialect == "postgresql":
        return column == sa.any_(sa.bindparam(name, type_=postgresql.ARRAY(param_type(column))))
    values = sa.func.json_each(sa.bindparam(name, type_=sa.Text())).table_valued("value")
    return column.in_(sa.select(values.c.value))


def filter_shape(item: Filter) -> Hashable:
    """What about a filter changes its SQL (not its value, but ``isnull``'s)."""
    return (item.via, item.field, item.op, item.value if item.op == "isnull" else None)


def filter_condition(
    catalog: Catalog, resource: str, item: Filter, name: str
) -> sa.ColumnElement[bool]:
    """The condition for ``item``, its value bound to the parameter ``name``."""
    owner = catalog.owner(resource, item)
    table = catalog.tables[owner]
    json = item.field in catalog.json_fields[owner]
    condition = _operator(catalog.dialect, table.c[item.field], item, name, json=json)
    if item.via is None:
        return condition
    # customer.email=x: customer IN (SELECT id FROM customers WHERE email = x)
    inner = sa.select(table.c.id).where(condition)
    return catalog.tables[resource].c[item.via].in_(inner)


def _operator(
    dialect: Dialect, column: sa.Column[Any], item: Filter, name: str, *, json: bool
) -> sa.ColumnElement[bool]:
    param = sa.bindparam(name, type_=param_type(column))
    postgres = dialect == "postgresql"
    match item.op:
        case "eq":
            return column == param
        case "ne":
            return column != param
        case "lt":
            return column < param
        case "lte":
            return column <= param
        case "gt":
            return column > param
        case "gte":
            return column >= param
        case "in":
            return id_list(column, name, dialect)
        case "nin":
            return sa.not_(id_list(column, name, dialect))
        case "like":
            return column.like(param) if postgres else column.op("GLOB")(param)
        case "ilike":
            return column.ilike(param) if postgres else column.like(param, escape="\\")
        case "isnull":
            return column.is_(None) if item.value else column.is_not(None)
        case "contains" if json and postgres:
            return column.op("@>")(sa.bindparam(name, type_=column.type))
        case "contains" if json:
            return sa.func.bastion_json_contains(column, param) == sa.literal_column("1")
        case "contains":
            position = sa.func.strpos if postgres else sa.func.instr
            return position(column, param) > sa.literal_column("0")
    raise AssertionError(f"unhandled operator {item.op!r}")  # pragma: no cover


def like_to_glob(pattern: str) -> str:
    r"""A LIKE pattern (``%``, ``_``, ``\`` escapes) as the GLOB pattern matching the same."""
    out: list[str] = []
    escaped = False
    for char in pattern:
        if not escaped and char == "\\":
            escaped = True
            continue
        if not escaped and char in "%_":
            out.append("*" if char == "%" else "?")
        else:
            out.append(f"[{char}]" if char in "*?[" else char)
        escaped = False
    return "".join(out)


def bind_filter(
    catalog: Catalog, resource: str, item: Filter, name: str, values: dict[str, Any]
) -> None:
    """Put the driver value of ``item`` under ``name`` in ``values``."""
    if item.op == "isnull":
        return
    codec = catalog.codecs[catalog.owner(resource, item)]
    if item.op in ("in", "nin"):
        items = [codec.encode(item.field, value) for value in item.value]
        values[name] = items if catalog.dialect == "postgresql" else orjson.dumps(items).decode()
    elif item.op == "like" and catalog.dialect == "sqlite":
        values[name] = like_to_glob(item.value)
    elif item.op in ("like", "ilike"):
        values[name] = item.value
    else:
        values[name] = codec.encode(item.field, item.value)


def where(
    catalog: Catalog, resource: str, filters: Sequence[Filter], terms: int
) -> list[sa.ColumnElement[bool]]:
    """The conditions of ``filters`` (parameters ``f0``...) and of the search (``terms`` > 0)."""
    conditions = [
        filter_condition(catalog, resource, item, f"f{index}") for index, item in enumerate(filters)
    ]
    if terms:
        conditions.append(search_condition(catalog, resource, terms))
    return conditions


def filter_values(
    catalog: Catalog, resource: str, filters: Sequence[Filter], search: str | None
) -> tuple[dict[str, Any], Hashable, int]:
    """The parameter values of filters and search, their shape, and the search parameters."""
    values: dict[str, Any] = {}
    for index, item in enumerate(filters):
        bind_filter(catalog, resource, item, f"f{index}", values)
    terms = bind_search(search, values, catalog.dialect) if search else 0
    return values, (tuple(filter_shape(item) for item in filters), terms), terms


def search_condition(catalog: Catalog, resource: str, terms: int) -> sa.ColumnElement[bool]:
    """The ``q`` condition: records matching every search word (parameter ``s0``).

    Full-text search through each database's index (see
    :mod:`bastion.adapters.sql.search`): on PostgreSQL the generated
    ``tsvector`` column, on SQLite the FTS5 table. ``terms`` is the number of
    search parameters :func:`bind_search` bound: the words all travel in one.
    """
    query = sa.bindparam("s0", type_=sa.String())
    return match_condition(catalog.tables[resource], catalog.dialect, query)


def bind_search(search: str, values: dict[str, Any], dialect: Dialect) -> int:
    """Put the parameter of :func:`search_condition` in ``values``; how many it takes (1)."""
    values["s0"] = match_query(search.split(), dialect)
    return 1
