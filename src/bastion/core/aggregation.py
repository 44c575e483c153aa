"""Aggregations over a resource's records: counts, sums, averages, extremes, per group.

``GET /v1/orders:aggregate?group_by=status&count=true&sum=total`` becomes::

    AggregateSpec(
        group_by=("status",),
        aggregates=(Aggregate("count"), Aggregate("sum", "total")),
    )

and each result row holds the group's values under the field names and each
aggregate under :attr:`Aggregate.name` (``count``, ``sum_total``). Nulls are
left out of every aggregate but ``count``; a sum or average over no values
is null. Groups come sorted by their values, nulls last.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal
from fractions import Fraction
from typing import Any, Literal

from bastion.blueprint import AnyField, DecimalField
from bastion.core.query import Filter

__all__ = [
    "AGGREGATE_FUNCTIONS",
    "Aggregate",
    "AggregateFunction",
    "AggregateSpec",
    "mean",
]

AggregateFunction = Literal["count", "sum", "avg", "min", "max", "distinct"]
AGGREGATE_FUNCTIONS: tuple[AggregateFunction, ...] = (
    "count",
    "sum",
    "avg",
    "min",
    "max",
    "distinct",
)
"""Every aggregate function; ``distinct`` counts the distinct non-null values."""

_DIVISION = Context(prec=80)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """One aggregate: ``count`` of records, or a function of one field."""

    function: AggregateFunction
    field: str | None = None

    @property
    def name(self) -> str:
        """The key of the result in each row: ``count``, ``sum_total``, ``distinct_customer``."""
        return "count" if self.field is None else f"{self.function}_{self.field}"


@dataclass(frozen=True, slots=True)
class AggregateSpec:
    """What to aggregate, over which records, grouped by which fields."""

    aggregates: tuple[Aggregate, ...]
    group_by: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    search: str | None = None
    max_groups: int = 1000
    """Most groups answered; a query producing more is refused (narrow it with filters)."""


def mean(total: Any, count: int, field: AnyField) -> Any:
    """The average of ``count`` values summing to ``total``, by the field's type.

    Decimals give a decimal rounded half-to-even to the field's scale plus 4
    places; integers the float nearest the exact quotient; floats
    ``total / count``. ``None`` when there are no values.
    """
    if count == 0 or total is None:
        return None
    if isinstance(field, DecimalField):
        quantum = Decimal(1).scaleb(-((field.scale or 0) + 4))
        quotient = _DIVISION.divide(Decimal(total), Decimal(count))
        return quotient.quantize(quantum, rounding=ROUND_HALF_EVEN, context=_DIVISION)
    if field.type == "integer":
        return float(Fraction(int(total), count))
    return float(total) / count
