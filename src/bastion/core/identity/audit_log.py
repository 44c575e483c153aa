"""Reading the auth audit trail: newest first, a page at a time.

Pages are keyed by event id (ids are time-ordered UUIDv7): a page ends with
``next_before``, the id to pass back as ``before`` for the older events.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from bastion.blueprint.identity import AUTH_EVENTS
from bastion.core.errors import FieldError, InvalidQuery
from bastion.core.ports import Row, UnitOfWork
from bastion.core.query import Filter, QuerySpec, SortKey

__all__ = ["MAX_EVENTS_PER_PAGE", "AuditPage", "read_auth_events"]

MAX_EVENTS_PER_PAGE = 200
_PUBLIC_FIELDS = ("id", "created_at", "kind", "user", "actor", "ip", "request_id", "detail")


@dataclass(frozen=True, slots=True)
class AuditPage:
    """One page of auth events, newest first."""

    events: list[Row]
    next_before: UUID | None
    """Pass as ``before`` for the next (older) page; ``None`` on the last page."""

    def as_json(self) -> Row:
        """The page as the API answers it."""
        return {
            "data": self.events,
            "next_before": str(self.next_before) if self.next_before else None,
            "has_more": self.next_before is not None,
        }


async def read_auth_events(
    uow: UnitOfWork,
    *,
    user: UUID | None = None,
    kind: str | None = None,
    limit: int = 50,
    before: UUID | None = None,
) -> AuditPage:
    """Up to ``limit`` events about ``user`` of ``kind``, older than the event ``before``."""
    if not 1 <= limit <= MAX_EVENTS_PER_PAGE:
        raise InvalidQuery(
            f"limit must be between 1 and {MAX_EVENTS_PER_PAGE}",
            errors=(FieldError("limit", f"must be 1 to {MAX_EVENTS_PER_PAGE}"),),
        )
    filters: list[Filter] = []
    if user is not None:
        filters.append(Filter("user", "eq", user))
    if kind is not None:
        filters.append(Filter("kind", "eq", kind))
    if before is not None:
        filters.append(Filter("id", "lt", before))
    spec = QuerySpec(limit=limit, filters=tuple(filters), sort=(SortKey("id", descending=True),))
    rows = await uow.fetch_page(AUTH_EVENTS, spec)
    page = [{name: row.get(name) for name in _PUBLIC_FIELDS} for row in rows[:limit]]
    next_before = page[-1]["id"] if len(rows) > limit else None
    return AuditPage(page, next_before)
