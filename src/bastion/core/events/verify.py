"""Checking the whole event log's hash chains, a page at a time.

The log is read in stream order (resource, record id, seq) with keyset pages,
each in a short read-only transaction of its own, so a log of any size is
checked in constant memory while the server keeps writing: events appended
meanwhile extend chains at their end and never break them.

What a chain shows: any altered, removed or reordered event *followed* by
another event of its record. It cannot show that a record's *last* events
(or all its events) were deleted, since nothing after them refers to their
hash; only a copy of the latest hashes kept elsewhere (an anchor) shows that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bastion.blueprint.events import EVENTS
from bastion.core.events.chain import ChainBreak, StreamChecker
from bastion.core.ports import Store
from bastion.core.query import Cursor, QuerySpec, SortKey

__all__ = ["STREAM_ORDER", "VerifyProgress", "VerifyReport", "verify_event_log"]

STREAM_ORDER = (SortKey("resource"), SortKey("record_id"), SortKey("seq"))
"""The order chains are checked in: each record's events together, oldest first."""

VerifyProgress = Callable[[int, int], None]
"""Told (events checked so far, events counted at the start) after each page."""


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """What checking the event log found."""

    events: int
    """How many events were checked."""
    records: int
    """How many records' chains (streams) they belong to."""
    breaks: list[ChainBreak] = field(default_factory=list)
    """The first ``max_breaks`` breaks, in stream order."""
    break_count: int = 0
    """How many breaks there are in all (more than ``len(breaks)`` past the cap)."""

    @property
    def intact(self) -> bool:
        """Whether every chain holds."""
        return self.break_count == 0


async def verify_event_log(
    store: Store,
    *,
    page_size: int = 1000,
    progress: VerifyProgress | None = None,
    max_breaks: int = 1000,
) -> VerifyReport:
    """Check every record's chain in ``store``'s event log.

    ``progress`` is called after each page; at most ``max_breaks`` breaks are
    kept (all are counted), so a thoroughly damaged log cannot exhaust memory.
    """
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    async with store.unit_of_work(read_only=True) as uow:
        total = await uow.count(EVENTS, QuerySpec())
    checker = StreamChecker()
    breaks: list[ChainBreak] = []
    found = 0
    after: Cursor | None = None
    while True:
        spec = QuerySpec(limit=page_size, sort=STREAM_ORDER, after=after)
        async with store.unit_of_work(read_only=True) as uow:
            rows = await uow.fetch_page(EVENTS, spec)
        page = rows[:page_size]
        for event in page:
            for broken in checker.check(event):
                found += 1
                if len(breaks) < max_breaks:
                    breaks.append(broken)
        if progress is not None:
            progress(checker.events, max(total, checker.events))
        if len(rows) <= page_size:
            break
        last = page[-1]
        after = Cursor(values=(last["resource"], last["record_id"], last["seq"]), id=last["id"])
    return VerifyReport(
        events=checker.events, records=checker.streams, breaks=breaks, break_count=found
    )
