"""The cache ports: a cache shared by every process, and a feed of other processes' commits.

Core's read cache (:mod:`bastion.core.caching`) keeps records and list pages
in an in-process LRU. It may answer from it only while it hears about every
commit made elsewhere: a :class:`ChangeFeed` tells it (Redis pub/sub, or
SQLite's ``PRAGMA data_version``). A :class:`SharedCache` (Redis) sits behind
the LRU so that every worker shares what any of them has read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

__all__ = ["ChangeFeed", "ChangeListener", "Changes", "SharedCache"]


@dataclass(frozen=True, slots=True)
class Changes:
    """What one commit changed: for each resource, the ids of the records written."""

    records: Mapping[str, frozenset[UUID]]


class ChangeListener(Protocol):
    """Told about commits this process did not make."""

    def changed(self, changes: Changes | None) -> None:
        """Drop what ``changes`` made stale; ``None``: anything may have changed."""
        ...


class ChangeFeed(Protocol):
    """Tells the in-process cache about every commit other processes make."""

    async def start(self, listener: ChangeListener) -> None:
        """Begin listening; ``listener`` hears of every later commit made elsewhere."""
        ...

    async def stop(self) -> None:
        """Stop listening."""
        ...

    def poll(self) -> None:
        """Catch up before a read (a feed that must look, rather than be told, looks here).

        Called on the hot path: it must not block for long.
        """
        ...

    @property
    def live(self) -> bool:
        """Whether the feed can vouch for the cache right now (``False`` while cut off)."""
        ...


class SharedCache(Protocol):
    """Entries every process reads and writes, versioned by per-resource generations.

    A *generation* counts the commits that touched a resource. An entry is
    stored only if the generations it was read under are still current, so a
    reader that raced a writer never stores what the writer replaced. All
    methods fail soft: an unreachable cache reads as a miss and stores nothing.
    """

    async def read(
        self, key: str, generations_of: Sequence[str], *, current_only: bool
    ) -> tuple[dict[str, int], bytes | None]:
        """The current generation of each resource in ``generations_of``, and the entry.

        With ``current_only`` (list pages) an entry written under older
        generations reads as missing; without it (records, which a write
        deletes one by one) any stored entry is returned.
        """
        ...

    async def write(
        self,
        key: str,
        value: bytes,
        ttl: float,
        generations: Mapping[str, int],
    ) -> None:
        """Store ``value`` under ``key`` unless a resource's generation has moved on."""
        ...

    async def committed(self, changes: Changes) -> None:
        """A commit of this process: bump generations, drop the written records' entries,
        and tell the other processes (their :class:`ChangeFeed`)."""
        ...

    @property
    def usable(self) -> bool:
        """Whether the cache answers right now."""
        ...
