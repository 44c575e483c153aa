"""A :class:`~bastion.core.ports.Store` that answers reads from the cache when it can.

Read-only units of work open a database connection only when the cache
cannot answer, so a request served from the cache runs no SQL and takes no
pooled connection. Write units go to the database and, once committed,
invalidate what they wrote before anything else runs after the commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import datetime
from uuid import UUID

from bastion.core.aggregation import AggregateSpec
from bastion.core.caching.cache import Lookup, RecordCache
from bastion.core.caching.keys import QueryKeys, record_key
from bastion.core.ports import (
    AfterCommit,
    EventRows,
    IdempotencyRecord,
    Row,
    Store,
    UnitOfWork,
)
from bastion.core.query import HasManyLink, QuerySpec

__all__ = ["CachingStore"]


class CachingStore:
    """Wraps ``store`` with ``cache``; implements :class:`bastion.core.ports.Store`."""

    def __init__(self, store: Store, cache: RecordCache, keys: QueryKeys) -> None:
        self.inner = store
        self.cache = cache
        self._keys = keys

    async def start(self) -> None:
        """Open the database, then start hearing about other processes' commits."""
        await self.inner.start()
        await self.cache.start()

    async def close(self) -> None:
        """Stop the cache's feed, then close the database."""
        await self.cache.stop()
        await self.inner.close()

    async def ping(self) -> None:
        """Raise ``StoreUnavailable`` unless the database answers."""
        await self.inner.ping()

    @asynccontextmanager
    async def unit_of_work(self, *, read_only: bool = False) -> AsyncIterator[UnitOfWork]:
        """A read unit that tries the cache first, or a write unit that invalidates it."""
        if not read_only:
            async with self.inner.unit_of_work() as uow:
                yield _WriteUnit(uow, self.cache)
            return
        self.cache.begin_read()
        unit = _ReadUnit(self.inner, self.cache, self._keys)
        async with unit.connection:
            yield unit


class _WriteUnit:
    """The database's unit of work, noting which records it writes."""

    __slots__ = ("_uow", "_written")

    def __init__(self, uow: UnitOfWork, cache: RecordCache) -> None:
        self._uow = uow
        self._written: dict[str, set[UUID]] = {}

        async def invalidate() -> None:
            await cache.committed(self._written)

        # First in line, so later after-commit work already reads fresh values.
        uow.after_commit(invalidate)

    def _wrote(self, resource: str, record_id: UUID) -> None:
        self._written.setdefault(resource, set()).add(record_id)

    async def fetch(
        self, resource: str, record_id: UUID, *, for_update: bool = False
    ) -> Row | None:
        return await self._uow.fetch(resource, record_id, for_update=for_update)

    async def fetch_page(self, resource: str, spec: QuerySpec) -> list[Row]:
        return await self._uow.fetch_page(resource, spec)

    async def count(self, resource: str, spec: QuerySpec) -> int:
        return await self._uow.count(resource, spec)

    async def fetch_many(self, resource: str, record_ids: Sequence[UUID]) -> list[Row]:
        return await self._uow.fetch_many(resource, record_ids)

    async def fetch_children(
        self, link: HasManyLink, parent_ids: Sequence[UUID], limit_per_parent: int
    ) -> list[tuple[UUID, Row]]:
        return await self._uow.fetch_children(link, parent_ids, limit_per_parent)

    async def aggregate(self, resource: str, spec: AggregateSpec) -> list[Row]:
        return await self._uow.aggregate(resource, spec)

    async def exists(self, resource: str, record_id: UUID) -> bool:
        return await self._uow.exists(resource, record_id)

    async def referencing(self, resource: str, field: str, target_id: UUID) -> list[UUID]:
        return await self._uow.referencing(resource, field, target_id)

    async def insert(self, resource: str, row: Row, *, event: EventRows | None = None) -> None:
        await self._uow.insert(resource, row, event=event)
        self._wrote(resource, row["id"])

    async def update(
        self, resource: str, record_id: UUID, changes: Row, *, expected_version: int
    ) -> bool:
        updated = await self._uow.update(
            resource, record_id, changes, expected_version=expected_version
        )
        self._wrote(resource, record_id)
        return updated

    async def delete(self, resource: str, record_id: UUID) -> bool:
        deleted = await self._uow.delete(resource, record_id)
        self._wrote(resource, record_id)
        return deleted

    def after_commit(self, callback: AfterCommit) -> None:
        self._uow.after_commit(callback)

    async def append_event(self, event: Row, outbox: Row) -> None:
        # Events are never cached: nothing to invalidate.
        await self._uow.append_event(event, outbox)

    async def stream_head(self, resource: str, record_id: UUID) -> tuple[int, str] | None:
        return await self._uow.stream_head(resource, record_id)

    async def idempotency_lock(self, scope: str, key: str) -> bool:
        return await self._uow.idempotency_lock(scope, key)

    async def idempotency_get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return await self._uow.idempotency_get(scope, key)

    async def idempotency_put(self, record: IdempotencyRecord) -> None:
        await self._uow.idempotency_put(record)

    async def idempotency_purge(self, *, now: datetime, limit: int) -> int:
        return await self._uow.idempotency_purge(now=now, limit=limit)

    # The event tables are never cached: nothing to invalidate.
    async def prune_delivered(self, *, before: datetime, limit: int) -> tuple[int, int]:
        return await self._uow.prune_delivered(before=before, limit=limit)

    async def prune_processed(self, *, before: datetime, limit: int) -> int:
        return await self._uow.prune_processed(before=before, limit=limit)


class _ReadUnit:
    """Reads from the cache, opening a database unit of work only on a miss."""

    __slots__ = ("_cache", "_db", "_keys", "_store", "connection")

    def __init__(self, store: Store, cache: RecordCache, keys: QueryKeys) -> None:
        self._store = store
        self._cache = cache
        self._keys = keys
        self._db: UnitOfWork | None = None
        self.connection = AsyncExitStack()
        """Closes the database unit of work, if one was opened."""

    async def _database(self) -> UnitOfWork:
        if self._db is None:
            self._db = await self.connection.enter_async_context(
                self._store.unit_of_work(read_only=True)
            )
        return self._db

    async def fetch(
        self, resource: str, record_id: UUID, *, for_update: bool = False
    ) -> Row | None:
        if for_update or not self._cache.caches(resource):
            return await (await self._database()).fetch(resource, record_id, for_update=for_update)
        found = await self._cache.lookup(resource, record_key(resource, record_id))
        if found.value is not None:
            row: Row = found.value
            return row
        row_or_none = await (await self._database()).fetch(resource, record_id)
        if row_or_none is not None:
            await self._cache.fill(found, row_or_none)
        return row_or_none

    async def fetch_page(self, resource: str, spec: QuerySpec) -> list[Row]:
        if not self._cache.caches(resource):
            return await (await self._database()).fetch_page(resource, spec)
        depends_on = self._keys.depends_on(resource, spec)
        found = await self._cache.lookup(resource, self._keys.page(resource, spec), depends_on)
        if found.value is not None:
            rows: list[Row] = found.value
            return rows
        rows = await (await self._database()).fetch_page(resource, spec)
        await self._cache.fill(found, rows)
        return rows

    async def count(self, resource: str, spec: QuerySpec) -> int:
        if not self._cache.caches(resource):
            return await (await self._database()).count(resource, spec)
        depends_on = self._keys.depends_on(resource, spec)
        found = await self._cache.lookup(resource, self._keys.count(resource, spec), depends_on)
        if found.value is not None:
            return int(found.value)
        total = await (await self._database()).count(resource, spec)
        await self._cache.fill(found, total)
        return total

    async def fetch_many(self, resource: str, record_ids: Sequence[UUID]) -> list[Row]:
        if not self._cache.caches(resource):
            return await (await self._database()).fetch_many(resource, record_ids)
        rows: list[Row] = []
        missing: dict[UUID, Lookup] = {}
        for record_id in record_ids:
            found = self._cache.lookup_local(resource, record_key(resource, record_id))
            if found.value is None:
                missing[record_id] = found
            else:
                rows.append(found.value)
        if missing:
            for row in await (await self._database()).fetch_many(resource, list(missing)):
                rows.append(row)
                await self._cache.fill(missing[row["id"]], row)
        return rows

    async def fetch_children(
        self, link: HasManyLink, parent_ids: Sequence[UUID], limit_per_parent: int
    ) -> list[tuple[UUID, Row]]:
        db = await self._database()
        return await db.fetch_children(link, parent_ids, limit_per_parent)

    async def aggregate(self, resource: str, spec: AggregateSpec) -> list[Row]:
        return await (await self._database()).aggregate(resource, spec)

    async def exists(self, resource: str, record_id: UUID) -> bool:
        return await (await self._database()).exists(resource, record_id)

    async def referencing(self, resource: str, field: str, target_id: UUID) -> list[UUID]:
        return await (await self._database()).referencing(resource, field, target_id)

    async def insert(self, resource: str, row: Row, *, event: EventRows | None = None) -> None:
        raise _read_only()

    async def update(
        self, resource: str, record_id: UUID, changes: Row, *, expected_version: int
    ) -> bool:
        raise _read_only()

    async def delete(self, resource: str, record_id: UUID) -> bool:
        raise _read_only()

    def after_commit(self, callback: AfterCommit) -> None:
        raise _read_only()

    async def append_event(self, event: Row, outbox: Row) -> None:
        raise _read_only()

    async def stream_head(self, resource: str, record_id: UUID) -> tuple[int, str] | None:
        return await (await self._database()).stream_head(resource, record_id)

    async def idempotency_lock(self, scope: str, key: str) -> bool:
        return await (await self._database()).idempotency_lock(scope, key)

    async def idempotency_get(self, scope: str, key: str) -> IdempotencyRecord | None:
        return await (await self._database()).idempotency_get(scope, key)

    async def idempotency_put(self, record: IdempotencyRecord) -> None:
        await (await self._database()).idempotency_put(record)

    async def idempotency_purge(self, *, now: datetime, limit: int) -> int:
        return await (await self._database()).idempotency_purge(now=now, limit=limit)

    async def prune_delivered(self, *, before: datetime, limit: int) -> tuple[int, int]:
        raise _read_only()

    async def prune_processed(self, *, before: datetime, limit: int) -> int:
        raise _read_only()


def _read_only() -> RuntimeError:
    # Writes outside a write unit would escape invalidation: refuse them loudly.
    return RuntimeError("a read-only unit of work cannot write; open a write unit of work")
