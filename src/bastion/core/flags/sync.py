"""Keeping a worker's flags in step with the overrides stored in the database.

Overrides live in the internal resource ``bastion_flags``. :meth:`FlagSync.refresh`
reads them and, when they changed, installs a new snapshot on the board. It
runs before every request, and costs what it must where it is:

- where the store is behind the read cache (SQLite; or PostgreSQL with
  Redis), the cache already hears of every worker's commits (Redis pub/sub,
  or SQLite's ``data_version``). Its generation of ``bastion_flags``, the
  ``changes`` token, moves when they may have changed: the overrides are
  read again then, and only then. A request costs a comparison of two
  tuples; a change applies at the next request after the cache heard of it;
- where there is no such cache (PostgreSQL without Redis), or while it
  cannot vouch for itself (Redis unreachable), a worker reads them at most
  once every ``interval`` seconds (``BASTION_FLAGS_REFRESH_SECONDS``):
  another worker's change takes up to that long to apply here.

A worker's own change applies at once either way (:meth:`refresh` with
``force``). If the overrides cannot be read (the database is down), the
snapshot in force stays, and reading is tried again a second later
(:data:`RETRY_SECONDS`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable
from typing import Any

from bastion.blueprint.identity import FLAGS
from bastion.core.errors import InvalidInput
from bastion.core.flags.board import FlagBoard
from bastion.core.flags.overrides import Override, override_from_record
from bastion.core.ports import Row, Store
from bastion.core.query import Filter, QuerySpec

__all__ = ["RETRY_SECONDS", "FlagSync"]

log = logging.getLogger("bastion.flags")

RETRY_SECONDS = 1.0
"""After a failed read, the overrides are not read again for this long."""


class FlagSync:
    """Refreshes ``board`` from the overrides ``store`` holds.

    Args:
        board: the worker's flags.
        store: the served store (behind the read cache where there is one).
        interval: seconds between reads when ``changes`` cannot tell.
        changes: a token that moves whenever the stored overrides may have changed
            (the read cache's generation of ``bastion_flags``), or ``None`` while it
            cannot tell; cheap, called before every request.
        clock: monotonic seconds (tests move it).
    """

    def __init__(
        self,
        board: FlagBoard,
        store: Store,
        *,
        interval: float = 1.0,
        changes: Callable[[], Hashable | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.board = board
        self.store = store
        self.interval = interval
        self._changes = changes
        self._token: Hashable | None = None
        self._clock = clock
        self._due = 0.0
        self._retry_at = 0.0
        self._seen: tuple[tuple[Any, ...], ...] | None = None
        self._failing = False
        self._reads = 0
        """Reads started so far; each is numbered, and only the newest read lands."""
        self._landed = 0
        names = tuple(board.declared)
        # Only the declared flags' records: an override of a flag since removed from the
        # blueprint is left alone (and reappears if the flag does).
        self._query = QuerySpec(limit=max(len(names), 1), filters=(Filter("flag", "in", names),))

    async def refresh(self, *, force: bool = False) -> None:
        """Install the stored overrides if they changed (and it is time to look)."""
        if not self.board.declared:
            return
        token = self._changes() if self._changes is not None else None
        now = self._clock()
        if not force:
            if now < self._retry_at:
                return
            if token is not None:
                if token == self._token:
                    return
            elif now < self._due:
                return
        # Taken before the read: a change landing meanwhile moves it, and is read next time.
        self._token = token
        self._due = now + self.interval
        self._reads += 1
        number = self._reads
        try:
            records = await self._read()
        # The flags must never take the API down: whatever the database says (down, a
        # table not migrated yet), the snapshot in force stays until a read succeeds.
        except Exception as exc:
            self._token = None
            self._retry_at = self._clock() + RETRY_SECONDS
            if not self._failing:
                log.warning(
                    "cannot read the feature flag overrides; keeping those in force: %s", exc
                )
                self._failing = True
            return
        if self._failing:
            log.info("feature flag overrides readable again")
            self._failing = False
        if number < self._landed:
            return  # a read that started later (after a change, say) has landed already
        self._landed = number
        seen = tuple((r["flag"], r["id"], r["version"]) for r in records)
        if seen != self._seen:
            self._install(records)
            self._seen = seen

    async def _read(self) -> list[Row]:
        async with self.store.unit_of_work(read_only=True) as uow:
            return await uow.fetch_page(FLAGS, self._query)

    def _install(self, records: list[Row]) -> None:
        overrides: dict[str, Override] = {}
        rejected: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {}
        for record in records:
            name = record["flag"]
            spec = self.board.declared.get(name)
            if spec is None:
                continue
            try:
                overrides[name] = override_from_record(spec, record, roles=self.board.roles)
            except InvalidInput as exc:
                problems = tuple(f"{e.pointer or '/'}: {e.detail}" for e in exc.errors)
                log.warning("the override of flag %s no longer fits the blueprint: %s", name, exc)
                stored = {
                    "default": record.get("default_value"),
                    "rules": record.get("rules"),
                    "enabled": record.get("enabled", True),
                    "updated_at": record.get("updated_at"),
                    "updated_by": record.get("updated_by"),
                }
                rejected[name] = (stored, problems)
        self.board.install(overrides, rejected)
