"""The read cache: an in-process LRU in front of an optional shared cache (Redis).

Entries are *stored* records, list pages (the rows a query selects) and
counts, never responses: access rules and field redaction run after every
hit, exactly as after a database read, so the cache cannot show a caller
more than it may see.

Invalidation is exact, not time-based: after every commit the written
records are dropped and the generations of the written resources move on
(which retires every list page and count that depended on them), in this
process at once and in the others through the :class:`ChangeFeed`. The
time-to-live only bounds how long an entry nobody writes stays in memory.
While the feed cannot vouch for the cache (Redis unreachable), reads go to
the database; the cache comes back by itself, emptied, once the feed does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from bastion.blueprint import BelongsTo, Blueprint
from bastion.core.caching.codec import RowCodec
from bastion.core.caching.local import LocalTier
from bastion.core.ports import ChangeFeed, Changes, SharedCache, Telemetry

__all__ = ["CachePolicy", "Lookup", "RecordCache"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class CachePolicy:
    """Sizes and lifetimes of the read cache."""

    default_ttl: float = 300.0
    """Seconds an entry lives at most, for resources whose blueprint sets no ``ttl``."""
    local_size: int = 10_000
    """Entries the in-process tier holds per worker."""


@dataclass(slots=True)
class Lookup:
    """The result of looking an entry up: the value on a hit, and what a fill needs."""

    value: Any | None
    resource: str
    key: str
    depends_on: tuple[str, ...]
    versioned: bool
    local_generations: tuple[int, ...]
    shared_generations: dict[str, int] | None = field(default=None)


class RecordCache:
    """Looks entries up tier by tier and fills them after a database read."""

    def __init__(
        self,
        blueprint: Blueprint,
        policy: CachePolicy,
        *,
        feed: ChangeFeed,
        shared: SharedCache | None = None,
        telemetry: Telemetry | None = None,
    ) -> None:
        self.feed = feed
        self.shared = shared
        self._telemetry = telemetry
        self._local = LocalTier(policy.local_size)
        self._ttl = {
            name: float(resource.cache.ttl or policy.default_ttl)
            for name, resource in blueprint.resources.items()
            if resource.cache.enabled
        }
        self._codecs = {name: RowCodec(blueprint.resources[name]) for name in self._ttl}
        # Writes that matter: to a cached resource, or to one a cached list filters through.
        self._watched = set(self._ttl).union(
            spec.resource
            for name in self._ttl
            for spec in blueprint.resources[name].fields.values()
            if isinstance(spec, BelongsTo)
        )

    # Lifecycle and the feed's listener ------------------------------------

    async def start(self) -> None:
        """Start hearing about other processes' commits."""
        await self.feed.start(self)

    async def stop(self) -> None:
        """Stop hearing about them."""
        await self.feed.stop()

    def changed(self, changes: Changes | None) -> None:
        """Another process committed ``changes`` (``None``: unknown changes)."""
        self._local.changed(None if changes is None else dict(changes.records))

    # Reads -----------------------------------------------------------------

    def caches(self, resource: str) -> bool:
        """Whether reads of ``resource`` may use the cache right now."""
        return resource in self._ttl and self.feed.live

    def generation(self, resource: str) -> tuple[int, ...]:
        """Where ``resource`` stands in this worker's cache: it changes whenever a commit
        to ``resource`` (this worker's, or one the feed reported) retires its entries."""
        return self._local.generations((resource,))

    def begin_read(self) -> None:
        """Catch up with the feed before a read-only unit of work."""
        self.feed.poll()

    async def lookup(
        self, resource: str, key: str, depends_on: tuple[str, ...] | None = None
    ) -> Lookup:
        """The entry under ``key``: a record (``depends_on`` is ``None``) or a page or
        count depending on ``depends_on``'s generations."""
        versioned = depends_on is not None
        deps = depends_on if depends_on is not None else (resource,)
        found = Lookup(None, resource, key, deps, versioned, self._local.generations(deps))
        value = self._local.get(key, depends_on)
        if value is not None:
            self._count(resource, "local", "hit")
            found.value = _copy(value)
            return found
        shared = self.shared
        if shared is None or not shared.usable:
            self._count(resource, "local", "miss")
            return found
        generations, data = await shared.read(key, deps, current_only=versioned)
        found.shared_generations = generations
        if data is None:
            self._count(resource, "shared", "miss")
            return found
        self._count(resource, "shared", "hit")
        value = self._decode(resource, key, data)
        self._local.put(
            key, value, self._ttl[resource], found.local_generations, deps, versioned=versioned
        )
        found.value = _copy(value)
        return found

    def lookup_local(self, resource: str, key: str) -> Lookup:
        """A record from the in-process tier only (for many ids at once, where a
        round trip per id to the shared tier would cost more than one query)."""
        deps = (resource,)
        found = Lookup(None, resource, key, deps, False, self._local.generations(deps))
        value = self._local.get(key)
        self._count(resource, "local", "miss" if value is None else "hit")
        if value is not None:
            found.value = _copy(value)
        return found

    async def fill(self, found: Lookup, value: Any) -> None:
        """Store what the database answered for ``found`` (unless a commit raced it)."""
        ttl = self._ttl[found.resource]
        self._local.put(
            found.key,
            _copy(value),
            ttl,
            found.local_generations,
            found.depends_on,
            versioned=found.versioned,
        )
        if found.shared_generations is None or self.shared is None:
            return
        data = RowCodec.encode(value)
        if data is not None:
            await self.shared.write(found.key, data, ttl, found.shared_generations)

    # Writes ----------------------------------------------------------------

    async def committed(self, records: dict[str, set[UUID]]) -> None:
        """This process committed writes to ``records``: drop them everywhere."""
        changes = {name: frozenset(ids) for name, ids in records.items() if name in self._watched}
        if not changes:
            return
        self._local.changed(changes)
        if self.shared is not None:
            await self.shared.committed(Changes(changes))

    # ----------------------------------------------------------------------

    def _decode(self, resource: str, key: str, data: bytes) -> Any:
        codec = self._codecs[resource]
        kind = key[0]
        if kind == "r":
            return codec.decode_row(data)
        if kind == "p":
            return codec.decode_rows(data)
        return int(data)

    def _count(self, resource: str, tier: str, result: str) -> None:
        if self._telemetry is not None:
            self._telemetry.count(
                "cache_requests_total",
                labels={"resource": resource, "tier": tier, "result": result},
            )


def _copy(value: Any) -> Any:
    # Readers embed relations into the rows they get: hand out copies, keep the originals.
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        return [dict(row) for row in value]
    return value
