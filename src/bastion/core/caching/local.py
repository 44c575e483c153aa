"""The in-process tier: a bounded LRU of decoded entries, and per-resource generations.

Records are dropped one by one when written; list pages and counts remember
the generations of the resources they depend on and count as missing once
any of them moved on. A reader takes the generations *before* it reads the
database and fills only if they are unchanged afterwards, so a read that
raced a commit never stores the value the commit replaced.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from cachetools import LRUCache

from bastion.core.caching.keys import record_key

__all__ = ["LocalTier"]


@dataclass(slots=True)
class _Entry:
    value: Any
    expires: float
    generations: tuple[int, ...] | None
    """For pages and counts: the generations of the resources depended on."""


class LocalTier:
    """Decoded rows, pages and counts of this process, at most ``size`` entries."""

    def __init__(self, size: int) -> None:
        self._entries: LRUCache[str, _Entry] = LRUCache(maxsize=size)
        self._generations: dict[str, int] = {}
        self._resets = 0

    def generations(self, resources: Iterable[str]) -> tuple[int, ...]:
        """The current generation of each resource (after the count of full resets)."""
        known = self._generations
        return (self._resets, *(known.get(name, 0) for name in resources))

    def get(self, key: str, depends_on: tuple[str, ...] | None = None) -> Any | None:
        """The live entry under ``key`` (checked against ``depends_on``'s generations)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry.expires < time.monotonic() or (
            depends_on is not None and entry.generations != self.generations(depends_on)
        ):
            self._entries.pop(key, None)
            return None
        return entry.value

    def put(
        self,
        key: str,
        value: Any,
        ttl: float,
        read_under: tuple[int, ...],
        depends_on: tuple[str, ...],
        *,
        versioned: bool,
    ) -> None:
        """Store ``value`` if ``depends_on``'s generations are still ``read_under``."""
        if self._entries.maxsize == 0 or self.generations(depends_on) != read_under:
            return
        self._entries[key] = _Entry(
            value, time.monotonic() + ttl, read_under if versioned else None
        )

    def changed(self, records: dict[str, frozenset[UUID]] | None) -> None:
        """Drop what a commit made stale; ``None`` drops everything."""
        if records is None:
            self._entries.clear()
            self._resets += 1
            return
        for resource, ids in records.items():
            self._generations[resource] = self._generations.get(resource, 0) + 1
            for record_id in ids:
                self._entries.pop(record_key(resource, record_id), None)

    def __len__(self) -> int:
        return len(self._entries)
