"""Sort order and keyset positions in SQL, with nulls placed the same on both databases.

Ascending keys put nulls last and descending keys put them first
(PostgreSQL's default; SQLite needs it spelled out). A page resumes with
a predicate on the previous page's last sort values, never an ``OFFSET``:

* every key ascending (or every key descending) and none nullable: one row
  comparison, ``(a, b, id) > (?, ?, ?)``, which both databases read as an
  index range;
* otherwise the expansion ``a after x OR (a = x AND (b after y OR ...))``,
  where "after" and "equal" follow the null placement (a null cursor value
  is matched with ``IS NULL``), plus a redundant bound on the first key
  (``a >= x``) so an index on it limits the scan.

When the first key is nullable, the rows are read as two *regions*, its
non-null values then its nulls (the other way round descending), each with
a plain ``ORDER BY`` an index on ``(key, id)`` serves and its own bound;
the page is their ``UNION ALL``, sorted again (at most twice a page of
rows). SQLite cannot read an index in ``NULLS LAST`` order, and neither
database can bound ``a > x OR a IS NULL``: regions keep deep pages as
cheap as the first on both.

Cursor values are parameters ``k0``, ``k1``...; a null value has none (its
place in the shape says it is null).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from bastion.adapters.sql.conditions import param_type
from bastion.core.query import SortKey

__all__ = ["Region", "order_by", "regions"]


@dataclass(frozen=True, slots=True)
class Region:
    """Rows of a page that share how they are found and ordered."""

    condition: sa.ColumnElement[bool] | None
    order: list[sa.ColumnElement[Any]] = field(default_factory=list)


def order_by(
    columns: sa.ColumnCollection[str, Any],
    order: tuple[SortKey, ...],
    nullable: frozenset[str],
) -> list[sa.ColumnElement[Any]]:
    """ORDER BY clauses for ``order``, nulls last ascending and first descending."""
    clauses: list[sa.ColumnElement[Any]] = []
    for key in order:
        column = columns[key.field]
        clause = column.desc() if key.descending else column.asc()
        if key.field in nullable:
            clause = clause.nulls_first() if key.descending else clause.nulls_last()
        clauses.append(clause)
    return clauses


def _after(column: sa.Column[Any], key: SortKey, param: Any, null: bool) -> Any:
    """Rows strictly after the position on this key alone, or ``None`` for none."""
    if key.descending:
        return column.is_not(None) if null else column < param
    if null:
        return None
    return sa.or_(column > param, column.is_(None)) if column.nullable else column > param


def _expansion(
    columns: list[sa.Column[Any]], order: tuple[SortKey, ...], params: list[Any], nulls: Any
) -> sa.ColumnElement[bool]:
    branches = []
    equal: list[Any] = []
    for column, key, param, null in zip(columns, order, params, nulls, strict=True):
        after = _after(column, key, param, null)
        if after is not None:
            branches.append(sa.and_(*equal, after))
        equal.append(column.is_(None) if null else column == param)
    return sa.or_(*branches)


def regions(
    table: sa.Table, order: tuple[SortKey, ...], nulls: tuple[bool, ...] | None
) -> list[Region]:
    """The regions of the rows after the cursor (every row without one), in page order.

    ``nulls`` says which cursor values are null; ``None`` means no cursor.
    """
    columns = [table.c[key.field] for key in order]
    nullable = frozenset(key.field for key, c in zip(order, columns, strict=True) if c.nullable)
    params = [sa.bindparam(f"k{i}", type_=param_type(c)) for i, c in enumerate(columns)]
    first, key = columns[0], order[0]
    if not first.nullable:
        plain = order_by(table.c, order, nullable)
        if nulls is None:
            return [Region(None, plain)]
        if len({k.descending for k in order}) == 1 and not nullable:
            row, position = sa.tuple_(*columns), sa.tuple_(*params)
            return [Region(row < position if key.descending else row > position, plain)]
        bound = first <= params[0] if key.descending else first >= params[0]
        return [Region(sa.and_(bound, _expansion(columns, order, params, nulls)), plain)]
    rest = order_by(table.c, order[1:], nullable)
    values = Region(first.is_not(None), order_by(table.c, order[:1], frozenset()) + rest)
    empty = Region(first.is_(None), rest)
    if nulls is not None:
        expansion = _expansion(columns, order, params, nulls)
        bound = first <= params[0] if key.descending else first >= params[0]
        if nulls[0]:  # the cursor is among the nulls
            empty = Region(sa.and_(first.is_(None), expansion), rest)
            return [empty, values] if key.descending else [empty]
        values = Region(sa.and_(bound, expansion), values.order)
        if key.descending:
            return [values]
    return [empty, values] if key.descending else [values, empty]
