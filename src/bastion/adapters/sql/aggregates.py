"""Aggregation statements (``GROUP BY``) and the decoding of their results.

Each aggregate becomes SQL columns: ``count`` is ``count(*)``, ``distinct``
``count(DISTINCT col)``, ``min``/``max`` the column's extremes (code-point
order for text, instants for datetimes, exact for decimals: SQLite's scaled
integers and PostgreSQL's numerics order alike), ``sum`` the sum, and
``avg`` the sum and the count of non-null values, divided in Python by
:func:`bastion.core.aggregation.mean` so the rounding is the same on both
databases. Groups are sorted by their values, nulls last.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from bastion.adapters.sql.codecs import Codec
from bastion.adapters.sql.conditions import Catalog, filter_values, where
from bastion.adapters.sql.shapes import ShapeCache
from bastion.blueprint import AnyField
from bastion.core.aggregation import AggregateSpec, mean
from bastion.core.ports import Row
from bastion.core.query_values import SYSTEM_FIELD_SPECS

__all__ = ["AggregateStatement"]


def _columns(table: sa.Table, spec: AggregateSpec) -> list[sa.ColumnElement[Any]]:
    columns: list[sa.ColumnElement[Any]] = [table.c[name] for name in spec.group_by]
    for aggregate in spec.aggregates:
        if aggregate.field is None:
            columns.append(sa.func.count())
            continue
        column = table.c[aggregate.field]
        match aggregate.function:
            case "distinct":
                columns.append(sa.func.count(column.distinct()))
            case "avg":
                columns += [sa.func.sum(column), sa.func.count(column)]
            case "sum" | "min" | "max":
                columns.append(getattr(sa.func, aggregate.function)(column))
    return columns


def _decoded(decode: Codec, value: Any) -> Any:
    return value if value is None or decode is None else decode(value)


def _sum(field: AnyField, decode: Codec, value: Any) -> Any:
    if value is None:
        return None
    if field.type == "integer":
        return int(value)  # PostgreSQL sums bigints as numeric
    if field.type == "float":
        return float(value)
    return _decoded(decode, value)


class AggregateStatement:
    """Builds (or finds) one aggregation's statement and reads its rows."""

    def __init__(
        self, catalog: Catalog, cache: ShapeCache, fields: dict[str, dict[str, AnyField]]
    ) -> None:
        self._catalog = catalog
        self._cache = cache
        self._fields = fields

    def statement(self, resource: str, spec: AggregateSpec) -> tuple[str, list[Any]]:
        """The SQL and arguments for ``spec`` on ``resource``."""
        catalog = self._catalog
        values, shape, terms = filter_values(catalog, resource, spec.filters, spec.search)
        values["limit"] = spec.max_groups + 1

        def build() -> sa.ClauseElement:
            table = catalog.tables[resource]
            groups = [table.c[name] for name in spec.group_by]
            order = [
                column.asc().nulls_last() if column.nullable else column.asc() for column in groups
            ]
            statement = sa.select(*_columns(table, spec)).select_from(table)
            statement = statement.where(*where(catalog, resource, spec.filters, terms))
            if groups:
                statement = statement.group_by(*groups).order_by(*order)
            return statement.suffix_with(sa.text("LIMIT :limit"))

        key = ("aggregate", resource, shape, spec.group_by, spec.aggregates)
        compiled = self._cache.get(key, build)
        return compiled.sql, compiled.bind(values)

    def reader(self, resource: str, spec: AggregateSpec) -> Callable[[Sequence[Any]], Row]:
        """Turns one result row of :meth:`statement` into a core row."""
        fields = {**SYSTEM_FIELD_SPECS, **self._fields[resource]}
        decoders = dict(self._catalog.codecs[resource].decoders)

        def read(values: Sequence[Any]) -> Row:
            row: Row = {}
            position = 0
            for name in spec.group_by:
                row[name] = _decoded(decoders[name], values[position])
                position += 1
            for aggregate in spec.aggregates:
                value = values[position]
                position += 1
                field = aggregate.field
                if field is None or aggregate.function == "distinct":
                    row[aggregate.name] = int(value)
                elif aggregate.function == "avg":
                    total = _sum(fields[field], decoders[field], value)
                    row[aggregate.name] = mean(total, int(values[position]), fields[field])
                    position += 1
                elif aggregate.function == "sum":
                    row[aggregate.name] = _sum(fields[field], decoders[field], value)
                else:
                    row[aggregate.name] = _decoded(decoders[field], value)
            return row

        return read
