"""Reading the delivery log: deliveries newest first, each with its attempts.

Pages are keyed by delivery id (ids are time-ordered UUIDv7): a page ends with
``next_before``, the id to pass back as ``before`` for the older deliveries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, get_args
from uuid import UUID

from bastion.blueprint.events import DELIVERIES, DELIVERY_ATTEMPTS
from bastion.core.errors import FieldError, InvalidQuery
from bastion.core.ports import Row, UnitOfWork
from bastion.core.query import Filter, QuerySpec, SortKey

__all__ = [
    "DELIVERY_STATUSES",
    "MAX_ATTEMPTS_SHOWN",
    "MAX_DELIVERIES_PER_PAGE",
    "TARGET_KINDS",
    "DeliveryPage",
    "DeliveryQuery",
    "delivery_json",
    "read_deliveries",
    "read_delivery",
]

DeliveryStatusName = Literal["pending", "delivered", "dead"]
DELIVERY_STATUSES: tuple[str, ...] = get_args(DeliveryStatusName)
"""What ``?status=`` may ask for."""
TARGET_KINDS = ("webhook", "consumer")
"""What ``?target_kind=`` may ask for."""
MAX_DELIVERIES_PER_PAGE = 200
MAX_ATTEMPTS_SHOWN = 100
"""The latest attempts shown per delivery (a replayed delivery may have had many)."""


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    """Which deliveries to list.

    Raises:
        InvalidQuery: On construction, for an unknown status or target kind, or a
            limit out of range (pointing at the query parameter).
    """

    status: str | None = None
    target_kind: str | None = None
    target: str | None = None
    limit: int = 50
    before: UUID | None = None

    def __post_init__(self) -> None:
        if self.status is not None and self.status not in DELIVERY_STATUSES:
            raise InvalidQuery(
                f"status must be one of {', '.join(DELIVERY_STATUSES)}",
                errors=(FieldError("status", f"{self.status!r} is no delivery status"),),
            )
        if self.target_kind is not None and self.target_kind not in TARGET_KINDS:
            raise InvalidQuery(
                f"target_kind must be one of {', '.join(TARGET_KINDS)}",
                errors=(FieldError("target_kind", f"{self.target_kind!r} is no target kind"),),
            )
        if not 1 <= self.limit <= MAX_DELIVERIES_PER_PAGE:
            raise InvalidQuery(
                f"limit must be between 1 and {MAX_DELIVERIES_PER_PAGE}",
                errors=(FieldError("limit", f"must be 1 to {MAX_DELIVERIES_PER_PAGE}"),),
            )

    def filters(self) -> tuple[Filter, ...]:
        """The store filters of this query."""
        equal = {"status": self.status, "target_kind": self.target_kind, "target": self.target}
        filters = [Filter(name, "eq", value) for name, value in equal.items() if value is not None]
        if self.before is not None:
            filters.append(Filter("id", "lt", self.before))
        return tuple(filters)


@dataclass(frozen=True, slots=True)
class DeliveryPage:
    """One page of deliveries, newest first."""

    deliveries: list[Row]
    next_before: UUID | None
    """Pass as ``before`` for the next (older) page; ``None`` on the last page."""

    def as_json(self) -> Row:
        """The page as the API answers it."""
        return {
            "data": self.deliveries,
            "next_before": str(self.next_before) if self.next_before else None,
            "has_more": self.next_before is not None,
        }


def _attempt_json(row: Row) -> Row:
    return {
        "attempt": row["attempt"],
        "ok": bool(row["ok"]),
        "status": row.get("status"),
        "error": row.get("error"),
        "duration_ms": row.get("duration_ms"),
        "at": row["created_at"],
    }


def delivery_json(row: Row, attempts: Sequence[Row] = ()) -> Row:
    """A delivery as the admin API shows it, with its attempts (oldest first)."""
    return {
        "id": row["id"],
        "target_kind": row["target_kind"],
        "target": row["target"],
        "event": row["event"],
        "event_type": row["event_type"],
        "subject": row["stream"],
        "sequence": row["seq"],
        "status": row["status"],
        "attempt_count": row["attempts"],
        "next_attempt_at": row.get("next_attempt_at"),
        "last_status": row.get("last_status"),
        "last_error": row.get("last_error"),
        "delivered_at": row.get("delivered_at"),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "attempts": [_attempt_json(a) for a in attempts],
    }


async def _attempts_of(uow: UnitOfWork, delivery_ids: Sequence[UUID]) -> dict[UUID, list[Row]]:
    if not delivery_ids:
        return {}
    spec = QuerySpec(
        limit=MAX_ATTEMPTS_SHOWN * len(delivery_ids),
        filters=(Filter("delivery", "in", tuple(delivery_ids)),),
        sort=(SortKey("id", descending=True),),
    )
    by_delivery: dict[UUID, list[Row]] = {d: [] for d in delivery_ids}
    for row in await uow.fetch_page(DELIVERY_ATTEMPTS, spec):
        kept = by_delivery[row["delivery"]]
        if len(kept) < MAX_ATTEMPTS_SHOWN:
            kept.append(row)
    return {d: rows[::-1] for d, rows in by_delivery.items()}


async def read_deliveries(uow: UnitOfWork, query: DeliveryQuery) -> DeliveryPage:
    """The deliveries ``query`` asks for, newest first, each with its attempts."""
    spec = QuerySpec(
        limit=query.limit, filters=query.filters(), sort=(SortKey("id", descending=True),)
    )
    rows = await uow.fetch_page(DELIVERIES, spec)
    page = rows[: query.limit]
    attempts = await _attempts_of(uow, [row["id"] for row in page])
    next_before = page[-1]["id"] if len(rows) > query.limit else None
    return DeliveryPage([delivery_json(row, attempts[row["id"]]) for row in page], next_before)


async def read_delivery(uow: UnitOfWork, delivery_id: UUID) -> Row | None:
    """One delivery with its attempts, or ``None``."""
    row = await uow.fetch(DELIVERIES, delivery_id)
    if row is None:
        return None
    attempts = await _attempts_of(uow, [delivery_id])
    return delivery_json(row, attempts[delivery_id])
