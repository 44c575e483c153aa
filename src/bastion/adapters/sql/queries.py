"""Read statements built from query specs, compiled once per query shape.

Hot path: the shape of a list query is the resource, each filter's field,
operator and relation, whether there is a search, the order and which
cursor values are null; :class:`~.shapes.ShapeCache` compiles each shape
once, and a request then only encodes its values and runs the text on the
driver. ``in`` lists and id lists are one array (PostgreSQL) or JSON
(SQLite) parameter, so their length is not part of the shape.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import orjson
import sqlalchemy as sa

from bastion.adapters.sql.aggregates import AggregateStatement
from bastion.adapters.sql.codecs import ResourceCodec
from bastion.adapters.sql.conditions import Catalog, filter_values, id_list, where
from bastion.adapters.sql.keyset import order_by, regions
from bastion.adapters.sql.schema import Dialect
from bastion.adapters.sql.shapes import ShapeCache
from bastion.blueprint import AnyField, Blueprint
from bastion.core.query import HasManyLink, QuerySpec

__all__ = ["ReadStatements", "Statement"]

Statement = tuple[str, list[Any]]
"""SQL text and its positional arguments."""


def _limited(statement: sa.Select[Any]) -> sa.Select[Any]:
    # A suffix, not .limit(): SQLAlchemy adds "OFFSET 0" to SQLite's LIMIT.
    return statement.suffix_with(sa.text("LIMIT :limit"))


class ReadStatements:
    """Builds (or finds) the statements behind lists, counts and expansions."""

    def __init__(
        self, catalog: Catalog, cache: ShapeCache, fields: dict[str, dict[str, AnyField]]
    ) -> None:
        self.catalog = catalog
        self.cache = cache
        self.aggregates = AggregateStatement(catalog, cache, fields)

    @classmethod
    def of(
        cls,
        blueprint: Blueprint,
        metadata: sa.MetaData,
        dialect: Dialect,
        codecs: Mapping[str, ResourceCodec],
    ) -> ReadStatements:
        """The read statements of ``blueprint``'s tables in ``metadata``."""
        catalog = Catalog.of(blueprint, metadata, dialect, codecs)
        fields = {name: dict(resource.fields) for name, resource in blueprint.resources.items()}
        return cls(catalog, ShapeCache(dialect), fields)

    def page(self, resource: str, spec: QuerySpec) -> Statement:
        """Up to ``spec.limit + 1`` rows of ``spec``, after its cursor."""
        catalog = self.catalog
        values, shape, terms = filter_values(catalog, resource, spec.filters, spec.search)
        order = spec.order
        nulls: tuple[bool, ...] | None = None
        if spec.after is not None:
            encode = catalog.codecs[resource].encode
            position = (*spec.after.values, spec.after.id)
            nulls = tuple(value is None for value in position)
            for index, (key, value) in enumerate(zip(order, position, strict=True)):
                values[f"k{index}"] = encode(key.field, value)
        values["limit"] = spec.limit + 1

        def build() -> sa.ClauseElement:
            table = catalog.tables[resource]
            conditions = where(catalog, resource, spec.filters, terms)
            parts = [
                _limited(
                    sa.select(*table.columns)
                    .where(*conditions, *([] if part.condition is None else [part.condition]))
                    .order_by(*part.order)
                )
                for part in regions(table, order, nulls)
            ]
            if len(parts) == 1:
                return parts[0]
            # Each region is read in index order; the union is sorted again (2 pages at most).
            union = sa.union_all(*(sa.select(part.subquery()) for part in parts)).subquery()
            nullable = frozenset(c.name for c in table.columns if c.nullable)
            return _limited(sa.select(union).order_by(*order_by(union.c, order, nullable)))

        compiled = self.cache.get(("page", resource, shape, order, nulls), build)
        return compiled.sql, compiled.bind(values)

    def count(self, resource: str, spec: QuerySpec) -> Statement:
        """How many rows ``spec``'s filters and search match."""
        catalog = self.catalog
        values, shape, terms = filter_values(catalog, resource, spec.filters, spec.search)

        def build() -> sa.ClauseElement:
            conditions = where(catalog, resource, spec.filters, terms)
            return (
                sa.select(sa.func.count()).select_from(catalog.tables[resource]).where(*conditions)
            )

        compiled = self.cache.get(("count", resource, shape), build)
        return compiled.sql, compiled.bind(values)

    def _ids(self, resource: str, ids: Sequence[UUID]) -> Any:
        encode = self.catalog.codecs[resource].encode_id
        encoded = [encode(value) for value in ids]
        return encoded if self.catalog.dialect == "postgresql" else orjson.dumps(encoded).decode()

    def many(self, resource: str, ids: Sequence[UUID]) -> Statement:
        """The rows with these ids."""

        def build() -> sa.ClauseElement:
            table = self.catalog.tables[resource]
            return sa.select(*table.columns).where(id_list(table.c.id, "ids", self.catalog.dialect))

        compiled = self.cache.get(("many", resource), build)
        return compiled.sql, compiled.bind({"ids": self._ids(resource, ids)})

    def children(self, link: HasManyLink, parents: Sequence[UUID], limit: int) -> Statement:
        """(parent id, row columns...) for up to ``limit`` linked rows per parent, id order."""

        def build() -> sa.ClauseElement:
            target = self.catalog.tables[link.resource]
            if link.through is None:
                parent = target.c[link.via]
                source: sa.FromClause = target
            else:
                joined = self.catalog.tables[link.through]
                parent = joined.c[link.via]
                source = joined.join(target, joined.c[str(link.far)] == target.c.id)
            rank = sa.func.row_number().over(partition_by=parent, order_by=target.c.id)
            inner = (
                sa.select(
                    parent.label("bastion_parent"), *target.columns, rank.label("bastion_rank")
                )
                .select_from(source)
                .where(id_list(parent, "parents", self.catalog.dialect))
                .subquery()
            )
            return (
                sa.select(inner.c.bastion_parent, *(inner.c[c.name] for c in target.columns))
                .where(inner.c.bastion_rank <= sa.bindparam("limit", type_=sa.Integer()))
                .order_by(inner.c.bastion_parent, inner.c.id)
            )

        compiled = self.cache.get(("children", link), build)
        values = {"parents": self._ids(link.through or link.resource, parents), "limit": limit}
        return compiled.sql, compiled.bind(values)
